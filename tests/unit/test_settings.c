/*
 * settings_load() and settings_parse_number(): defaults, environment,
 * flags, roles, and the errors that name the bad value.
 */

#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"
#include "unit.h"

#define ARGS_MAX	12
#define ENVS_MAX	6
#define WANTS_MAX	10
#define ERR_LEN		SETTINGS_ERR_MAX

#define F_LL		1
#define F_INT		2
#define F_STR		3

struct field {
	const char	*name;
	int		 type;
	size_t		 off;
};

#define FLD(n, t, f)	{ n, t, offsetof(struct settings, f) }

static const struct field	fields[] = {
	FLD("role", F_INT, role),
	FLD("bind", F_STR, bind),
	FLD("port", F_LL, port),
	FLD("workers", F_LL, workers),
	FLD("upstream", F_STR, upstream),
	FLD("xkcd_upstream", F_STR, xkcd_upstream),
	FLD("xkcd_cache", F_LL, xkcd_cache),
	FLD("xkcd_latest_ttl", F_LL, xkcd_latest_ttl),
	FLD("sim_port", F_LL, sim_port),
	FLD("call_timeout_ms", F_LL, call_timeout_ms),
	FLD("connect_timeout_ms", F_LL, connect_timeout_ms),
	FLD("deadline_ms", F_LL, deadline_ms),
	FLD("sync_pages", F_LL, sync_pages),
	FLD("fanout_limit", F_LL, fanout_limit),
	FLD("max_calls", F_LL, max_calls),
	FLD("max_body", F_LL, max_body),
	FLD("upstream_conns", F_LL, upstream_conns),
	FLD("seccomp_trace", F_LL, seccomp_trace),
	FLD("error_detail", F_LL, error_detail),
	FLD("status_from", F_STR, status_from),
	FLD("pidfile", F_STR, pidfile),
	FLD("sim_embedded", F_INT, sim_embedded),
	FLD("foreground", F_INT, foreground),
	FLD("skip_chroot", F_INT, skip_chroot),
	FLD("skip_runas", F_INT, skip_runas),
	FLD("quiet", F_INT, quiet),
};

/*
 * One call of settings_load(): argv after argv[0], the environment, the
 * expected return, a substring of the error (ERR) and the fields
 * expected afterwards, as "field=value".
 */
struct load_case {
	int		 line;
	const char	*args[ARGS_MAX];
	const char	*envs[ENVS_MAX];
	int		 ret;
	const char	*err;
	const char	*want[WANTS_MAX];
};

/* Every default, as settings_load() leaves them with no flags. */
static const char	*defaults[] = {
	"role=0", "bind=127.0.0.1", "port=8888", "workers=0",
	"upstream=http://127.0.0.1:8889",
	"xkcd_upstream=http://127.0.0.1:8889/xkcd", "xkcd_cache=1000",
	"xkcd_latest_ttl=3600", "sim_port=8889",
	"call_timeout_ms=10000", "connect_timeout_ms=2000",
	"deadline_ms=15000", "sync_pages=0", "fanout_limit=10",
	"max_calls=100", "max_body=1048576", "upstream_conns=4096",
	"seccomp_trace=0",
	"pidfile=/tmp/kore-fanout-8888.pid", "sim_embedded=1",
	"foreground=0", "skip_chroot=0", "skip_runas=0", "quiet=0",
};

#define S(...)		{ __VA_ARGS__ }

/* settings_load()'s return codes, short enough for the rows. */
#define OK		SETTINGS_OK
#define ERR		SETTINGS_ERROR
#define HELP		SETTINGS_HELP
#define VERS		SETTINGS_VERSION

/*
 * Rows where every upstream is given (sim_embedded 0) name the delay and
 * xkcd upstreams themselves and take any later ones from here: through
 * the environment, which a build without those settings ignores.
 */
#define OTHER_UPSTREAMS	"FANOUT_ANALYTICS_UPSTREAM=http://an", \
			"FANOUT_PARTNER_UPSTREAM=http://pa"

static const struct load_case	load_cases[] = {
	/* Defaults. */
	{ __LINE__, S(NULL), S(NULL), OK, NULL, S("port=8888") },
	{ __LINE__, S(NULL), S("PATH=/bin", "HOME=/", "FANOUT=1"), OK, NULL,
	    S("port=8888", "upstream=http://127.0.0.1:8889") },

	/* --name value and --name=value. */
	{ __LINE__, S("--port", "9000"), S(NULL), OK, NULL,
	    S("port=9000", "pidfile=/tmp/kore-fanout-9000.pid",
	    "upstream=http://127.0.0.1:8889", "sim_embedded=1") },
	{ __LINE__, S("--port=9000"), S(NULL), OK, NULL, S("port=9000") },
	{ __LINE__, S("--port", "1"), S(NULL), OK, NULL, S("port=1") },
	{ __LINE__, S("--port", "65535"), S(NULL), OK, NULL,
	    S("port=65535") },
	{ __LINE__, S("--port", "09000"), S(NULL), OK, NULL,
	    S("port=9000") },
	{ __LINE__, S("--port", "9000", "--port", "9001"), S(NULL), OK, NULL,
	    S("port=9001") },
	{ __LINE__, S("--bind", "0.0.0.0", "--workers", "64",
	    "--call-timeout", "600000", "--connect-timeout", "60000",
	    "--deadline", "1", "--fanout-limit", "1000"), S(NULL), OK, NULL,
	    S("bind=0.0.0.0", "workers=64", "call_timeout_ms=600000",
	    "connect_timeout_ms=60000", "deadline_ms=1",
	    "fanout_limit=1000") },
	{ __LINE__, S("--max-calls=1", "--max-body=67108864",
	    "--upstream-conns=65536", "--pidfile=/run/x.pid"), S(NULL), OK,
	    NULL, S("max_calls=1", "max_body=67108864",
	    "upstream_conns=65536", "pidfile=/run/x.pid") },

	/* A choice is stored as its index; anything else names them all. */
	{ __LINE__, S("--sync-pages", "off"), S(NULL), OK, NULL,
	    S("sync_pages=1") },
	{ __LINE__, S(NULL), S("FANOUT_SYNC_PAGES=limit"), OK, NULL,
	    S("sync_pages=2") },
	{ __LINE__, S("--sync-pages=on"), S("FANOUT_SYNC_PAGES=off"), OK, NULL,
	    S("sync_pages=0") },
	{ __LINE__, S("--sync-pages", "of"), S(NULL), ERR,
	    "invalid value 'of' for --sync-pages (FANOUT_SYNC_PAGES): "
	    "expected one of on|off|limit", S(NULL) },
	{ __LINE__, S("--sync-pages", "offf"), S(NULL), ERR, "'offf'",
	    S(NULL) },
	{ __LINE__, S("--sync-pages", ""), S(NULL), ERR, "expected one of",
	    S(NULL) },
	{ __LINE__, S("--sync-pages", "on|off"), S(NULL), ERR,
	    "expected one of", S(NULL) },

	/* Bad numbers: the error names the value, flag and variable. */
	{ __LINE__, S("--port", "0"), S(NULL), ERR,
	    "invalid value '0' for --port (FANOUT_PORT): expected an integer "
	    "from 1 to 65535", S(NULL) },
	{ __LINE__, S("--port", "65536"), S(NULL), ERR, "'65536' for --port",
	    S(NULL) },
	{ __LINE__, S("--port", "abc"), S(NULL), ERR, "'abc' for --port",
	    S(NULL) },
	{ __LINE__, S("--port="), S(NULL), ERR, "'' for --port", S(NULL) },
	{ __LINE__, S("--port", ""), S(NULL), ERR, "'' for --port", S(NULL) },
	{ __LINE__, S("--port", "+80"), S(NULL), ERR, "'+80' for --port",
	    S(NULL) },
	{ __LINE__, S("--port", "-80"), S(NULL), ERR, "'-80' for --port",
	    S(NULL) },
	{ __LINE__, S("--port", " 80"), S(NULL), ERR, "' 80' for --port",
	    S(NULL) },
	{ __LINE__, S("--port", "80 "), S(NULL), ERR, "'80 ' for --port",
	    S(NULL) },
	{ __LINE__, S("--port", "0x50"), S(NULL), ERR, "'0x50' for --port",
	    S(NULL) },
	{ __LINE__, S("--port", "8e3"), S(NULL), ERR, "'8e3' for --port",
	    S(NULL) },
	{ __LINE__, S("--port", "99999999999999999999"), S(NULL), ERR,
	    "'99999999999999999999' for --port", S(NULL) },
	{ __LINE__, S("--workers", "65"), S(NULL), ERR,
	    "from 0 to 64", S(NULL) },
	{ __LINE__, S("--max-body", "67108865"), S(NULL), ERR,
	    "--max-body (FANOUT_MAX_BODY)", S(NULL) },
	{ __LINE__, S("--deadline", "0"), S(NULL), ERR,
	    "--deadline (FANOUT_DEADLINE_MS)", S(NULL) },
	{ __LINE__, S("--sim-port", "65536"), S(NULL), ERR,
	    "--sim-port (FANOUT_SIM_PORT)", S(NULL) },

	/* The environment, and flags over the environment. */
	{ __LINE__, S(NULL), S("FANOUT_PORT=9100"), OK, NULL,
	    S("port=9100", "pidfile=/tmp/kore-fanout-9100.pid") },
	{ __LINE__, S("--port", "9200"), S("FANOUT_PORT=9100"), OK, NULL,
	    S("port=9200") },
	{ __LINE__, S("--port=9200"), S("FANOUT_PORT=9100"), OK, NULL,
	    S("port=9200") },
	{ __LINE__, S(NULL), S("FANOUT_PORT=abc"), ERR,
	    "invalid value 'abc' for --port (FANOUT_PORT)", S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_PORT="), ERR, "'' for --port",
	    S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_PORTS=1", "FANOUT_PORT",
	    "XFANOUT_PORT=2", "fanout_port=3"), OK, NULL, S("port=8888") },
	{ __LINE__, S(NULL), S("FANOUT_UPSTREAM_CONNS=10"), OK, NULL,
	    S("upstream_conns=10", "upstream=http://127.0.0.1:8889",
	    "sim_embedded=1") },
	{ __LINE__, S(NULL), S("FANOUT_UPSTREAM=http://env:1/"), OK, NULL,
	    S("upstream=http://env:1",
	    "xkcd_upstream=http://127.0.0.1:8889/xkcd", "sim_embedded=1") },
	{ __LINE__, S(NULL), S("FANOUT_UPSTREAM=http://env:1/",
	    "FANOUT_XKCD_UPSTREAM=https://xkcd.test/", OTHER_UPSTREAMS), OK,
	    NULL, S("upstream=http://env:1", "xkcd_upstream=https://xkcd.test",
	    "sim_embedded=0") },
	{ __LINE__, S("--xkcd-upstream", "http://flag"),
	    S("FANOUT_XKCD_UPSTREAM=http://env"), OK, NULL,
	    S("xkcd_upstream=http://flag") },
	{ __LINE__, S(NULL), S("FANOUT_XKCD_CACHE=5",
	    "FANOUT_XKCD_LATEST_TTL=60", "FANOUT_SECCOMP_TRACE=1"), OK, NULL,
	    S("xkcd_cache=5", "xkcd_latest_ttl=60", "seccomp_trace=1",
	    "sim_embedded=1") },
	{ __LINE__, S("--xkcd-cache", "6", "--xkcd-latest-ttl=7",
	    "--seccomp-trace", "0"), S("FANOUT_XKCD_CACHE=5",
	    "FANOUT_XKCD_LATEST_TTL=60", "FANOUT_SECCOMP_TRACE=1"), OK, NULL,
	    S("xkcd_cache=6", "xkcd_latest_ttl=7", "seccomp_trace=0") },
	{ __LINE__, S(NULL), S("FANOUT_XKCD_CACHE=abc"), ERR,
	    "invalid value 'abc' for --xkcd-cache (FANOUT_XKCD_CACHE)",
	    S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_XKCD_LATEST_TTL=86401"), ERR,
	    "invalid value '86401' for --xkcd-latest-ttl "
	    "(FANOUT_XKCD_LATEST_TTL)", S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_SECCOMP_TRACE=2"), ERR,
	    "invalid value '2' for --seccomp-trace (FANOUT_SECCOMP_TRACE)",
	    S(NULL) },
	/* Near misses of the new variables' names are not them. */
	{ __LINE__, S(NULL), S("FANOUT_XKCD_UPSTREAMS=ftp://x",
	    "FANOUT_XKCD_CACHE_SIZE=x", "FANOUT_XKCD=1",
	    "XFANOUT_XKCD_LATEST_TTL=x", "fanout_xkcd_cache=x"), OK, NULL,
	    S("xkcd_upstream=http://127.0.0.1:8889/xkcd", "xkcd_cache=1000",
	    "xkcd_latest_ttl=3600") },
	{ __LINE__, S("--upstream", "http://flag"),
	    S("FANOUT_UPSTREAM=http://env"), OK, NULL,
	    S("upstream=http://flag") },
	{ __LINE__, S(NULL), S("FANOUT_LIMIT=5", "FANOUT_MAX_CALLS=7",
	    "FANOUT_BIND=::1", "FANOUT_WORKERS=3"), OK, NULL,
	    S("fanout_limit=5", "max_calls=7", "bind=::1", "workers=3") },
	{ __LINE__, S(NULL), S("FANOUT_PIDFILE=/tmp/p.pid",
	    "FANOUT_SIM_PORT=7777", "FANOUT_CALL_TIMEOUT_MS=5",
	    "FANOUT_CONNECT_TIMEOUT_MS=6", "FANOUT_DEADLINE_MS=7",
	    "FANOUT_MAX_BODY=8"), OK, NULL,
	    S("pidfile=/tmp/p.pid", "sim_port=7777",
	    "upstream=http://127.0.0.1:7777", "call_timeout_ms=5",
	    "connect_timeout_ms=6", "deadline_ms=7", "max_body=8") },

	/* Options that are not known, or lack their value. */
	{ __LINE__, S("--bogus"), S(NULL), ERR, "unknown option '--bogus'",
	    S(NULL) },
	{ __LINE__, S("--bogus=1"), S(NULL), ERR, "unknown option '--bogus=1'",
	    S(NULL) },
	{ __LINE__, S("-x"), S(NULL), ERR, "unknown option '-x'", S(NULL) },
	{ __LINE__, S("-fx"), S(NULL), ERR, "unknown option '-x'", S(NULL) },
	{ __LINE__, S("-xf"), S(NULL), ERR, "unknown option '-x", S(NULL) },
	{ __LINE__, S("--port", "1", "-xq"), S(NULL), ERR,
	    "unknown option '-x", S(NULL) },
	{ __LINE__, S("--simulator=1"), S(NULL), ERR, "--simulator=1",
	    S(NULL) },
	{ __LINE__, S("--port"), S(NULL), ERR, "option --port needs a value",
	    S(NULL) },
	{ __LINE__, S("-f", "--upstream"), S(NULL), ERR,
	    "option --upstream needs a value", S(NULL) },
	{ __LINE__, S("--port", "--simulator"), S(NULL), ERR,
	    "'--simulator' for --port", S(NULL) },
	{ __LINE__, S("extra"), S(NULL), ERR, "unexpected argument 'extra'",
	    S(NULL) },
	{ __LINE__, S("extra", "--port", "9000"), S(NULL), ERR,
	    "unexpected argument 'extra'", S(NULL) },
	{ __LINE__, S("--", "--port"), S(NULL), ERR,
	    "unexpected argument '--port'", S(NULL) },
	{ __LINE__, S("-"), S(NULL), ERR, "unexpected argument '-'", S(NULL) },
	{ __LINE__, S("--port", "9000", "--"), S(NULL), OK, NULL,
	    S("port=9000") },

	/* --upstream: http(s) only, trailing slashes dropped. */
	{ __LINE__, S("--upstream", "ftp://x"), S(NULL), ERR,
	    "invalid value 'ftp://x' for --upstream (FANOUT_UPSTREAM): "
	    "expected an http:// or https:// URL", S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_UPSTREAM=ftp://x"), ERR,
	    "'ftp://x' for --upstream", S(NULL) },
	{ __LINE__, S("--upstream", "127.0.0.1:8889"), S(NULL), ERR,
	    "--upstream", S(NULL) },
	{ __LINE__, S("--upstream", "http:/x"), S(NULL), ERR, "--upstream",
	    S(NULL) },
	{ __LINE__, S("--upstream", "/"), S(NULL), ERR, "--upstream",
	    S(NULL) },
	{ __LINE__, S("--upstream", "http://x/"), S(NULL), OK, NULL,
	    S("upstream=http://x", "sim_embedded=1",
	    "xkcd_upstream=http://127.0.0.1:8889/xkcd") },
	{ __LINE__, S("--upstream", "http://x"), S(NULL), OK, NULL,
	    S("upstream=http://x", "sim_embedded=1") },
	{ __LINE__, S("--upstream=https://x:1/api/"), S(NULL), OK, NULL,
	    S("upstream=https://x:1/api", "sim_embedded=1") },
	{ __LINE__, S("--upstream", "http://x//"), S(NULL), OK, NULL,
	    S("upstream=http://x") },
	{ __LINE__, S("--upstream", ""), S(NULL), OK, NULL,
	    S("upstream=http://127.0.0.1:8889", "sim_embedded=1") },

	/* The embedded simulator's port and the derived upstream. */
	{ __LINE__, S("--sim-port", "9999"), S(NULL), OK, NULL,
	    S("sim_port=9999", "upstream=http://127.0.0.1:9999",
	    "sim_embedded=1", "port=8888") },
	{ __LINE__, S("--sim-port", "0"), S(NULL), ERR,
	    "--upstream (FANOUT_UPSTREAM) is required when --sim-port is 0",
	    S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_SIM_PORT=0"), ERR,
	    "is required when --sim-port is 0", S(NULL) },
	/* --sim-port 0: every upstream must be given; the error names the
	 * first one missing. */
	{ __LINE__, S("--sim-port", "0", "--upstream", "http://up/"), S(NULL),
	    ERR, "--xkcd-upstream (FANOUT_XKCD_UPSTREAM) is required when "
	    "--sim-port is 0", S(NULL) },
	{ __LINE__, S("--sim-port", "0", "--xkcd-upstream", "http://xk/"),
	    S(NULL), ERR, "--upstream (FANOUT_UPSTREAM) is required when "
	    "--sim-port is 0", S(NULL) },
	{ __LINE__, S("--sim-port", "0", "--upstream", "http://up/",
	    "--xkcd-upstream", "http://xk/"), S(OTHER_UPSTREAMS), OK, NULL,
	    S("sim_port=0", "upstream=http://up", "xkcd_upstream=http://xk",
	    "sim_embedded=0") },
	{ __LINE__, S(NULL), S("FANOUT_SIM_PORT=0", "FANOUT_UPSTREAM=http://u",
	    "FANOUT_XKCD_UPSTREAM=https://xkcd.test", OTHER_UPSTREAMS), OK,
	    NULL, S("sim_port=0", "upstream=http://u",
	    "xkcd_upstream=https://xkcd.test", "sim_embedded=0") },
	{ __LINE__, S(NULL), S("FANOUT_SIM_PORT=0", "FANOUT_UPSTREAM=http://u"),
	    ERR, "--xkcd-upstream (FANOUT_XKCD_UPSTREAM) is required when "
	    "--sim-port is 0", S(NULL) },
	{ __LINE__, S("--sim-port", "0", "--upstream", "http://up",
	    "--xkcd-upstream", ""), S(NULL), ERR,
	    "--xkcd-upstream (FANOUT_XKCD_UPSTREAM) is required", S(NULL) },

	/* --sim-port equal to --port: an error only when some upstream is
	 * defaulted to the simulator. */
	{ __LINE__, S("--port", "8889"), S(NULL), ERR,
	    "--sim-port must differ from --port (both 8889)", S(NULL) },
	{ __LINE__, S("--port", "8889", "--upstream", "http://x"), S(NULL),
	    ERR, "--sim-port must differ from --port (both 8889)", S(NULL) },
	{ __LINE__, S("--port", "8889", "--xkcd-upstream", "http://x"),
	    S(NULL), ERR, "--sim-port must differ from --port (both 8889)",
	    S(NULL) },
	{ __LINE__, S("--port", "8889", "--upstream", "http://x",
	    "--xkcd-upstream", "https://xkcd.test"), S(OTHER_UPSTREAMS), OK,
	    NULL,
	    S("port=8889", "sim_port=8889", "sim_embedded=0") },
	{ __LINE__, S("--port", "7000", "--sim-port", "7000"), S(NULL), ERR,
	    "(both 7000)", S(NULL) },
	{ __LINE__, S("--port", "7000", "--sim-port", "7000", "--upstream",
	    "http://x"), S(NULL), ERR, "(both 7000)", S(NULL) },
	{ __LINE__, S("--port", "7000", "--sim-port", "7000", "--upstream",
	    "http://x", "--xkcd-upstream", "http://y"), S(OTHER_UPSTREAMS), OK,
	    NULL,
	    S("port=7000", "sim_port=7000", "sim_embedded=0") },

	/* --xkcd-upstream: defaulted to the simulator's /xkcd path, http(s)
	 * only, trailing slashes dropped. */
	{ __LINE__, S("--xkcd-upstream", "https://xkcd.test"), S(NULL), OK,
	    NULL, S("xkcd_upstream=https://xkcd.test",
	    "upstream=http://127.0.0.1:8889", "sim_embedded=1") },
	{ __LINE__, S("--xkcd-upstream", "https://xkcd.test",
	    "--upstream", "http://delay:9/"), S(OTHER_UPSTREAMS), OK, NULL,
	    S("xkcd_upstream=https://xkcd.test", "upstream=http://delay:9",
	    "sim_embedded=0") },
	{ __LINE__, S("--xkcd-upstream=https://xkcd.test/"), S(NULL), OK, NULL,
	    S("xkcd_upstream=https://xkcd.test") },
	{ __LINE__, S("--xkcd-upstream", "https://xkcd.test///"), S(NULL), OK,
	    NULL, S("xkcd_upstream=https://xkcd.test") },
	{ __LINE__, S("--xkcd-upstream", "http://h:81/a/b/"), S(NULL), OK,
	    NULL, S("xkcd_upstream=http://h:81/a/b") },
	{ __LINE__, S("--xkcd-upstream", "http://h/a/b"), S(NULL), OK,
	    NULL, S("xkcd_upstream=http://h/a/b") },
	{ __LINE__, S(NULL), S("FANOUT_XKCD_UPSTREAM=http://env/x/"), OK, NULL,
	    S("xkcd_upstream=http://env/x", "sim_embedded=1") },
	{ __LINE__, S("--xkcd-upstream", ""), S(NULL), OK, NULL,
	    S("xkcd_upstream=http://127.0.0.1:8889/xkcd", "sim_embedded=1") },
	{ __LINE__, S("--xkcd-upstream", "ftp://upstream.test"), S(NULL), ERR,
	    "invalid value 'ftp://upstream.test' for --xkcd-upstream "
	    "(FANOUT_XKCD_UPSTREAM): expected an http:// or https:// URL",
	    S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_XKCD_UPSTREAM=ftp://x"), ERR,
	    "'ftp://x' for --xkcd-upstream (FANOUT_XKCD_UPSTREAM)", S(NULL) },
	{ __LINE__, S("--xkcd-upstream", "upstream.test"), S(NULL), ERR,
	    "'upstream.test' for --xkcd-upstream", S(NULL) },
	{ __LINE__, S("--xkcd-upstream", "https:/upstream.test"), S(NULL), ERR,
	    "'https:/upstream.test' for --xkcd-upstream", S(NULL) },
	{ __LINE__, S("--xkcd-upstream", "HTTPS://upstream.test"), S(NULL), ERR,
	    "'HTTPS://upstream.test' for --xkcd-upstream", S(NULL) },
	{ __LINE__, S("--xkcd-upstream", " https://xkcd.test"), S(NULL), ERR,
	    "' https://xkcd.test' for --xkcd-upstream", S(NULL) },
	{ __LINE__, S("--xkcd-upstream"), S(NULL), ERR,
	    "option --xkcd-upstream needs a value", S(NULL) },
	{ __LINE__, S("--sim-port", "9999"), S(NULL), OK, NULL,
	    S("xkcd_upstream=http://127.0.0.1:9999/xkcd",
	    "upstream=http://127.0.0.1:9999") },
	{ __LINE__, S("--sim-port", "65535", "--upstream", "http://u"),
	    S(NULL), OK, NULL,
	    S("xkcd_upstream=http://127.0.0.1:65535/xkcd", "sim_embedded=1") },
	{ __LINE__, S(NULL), S("FANOUT_SIM_PORT=7777"), OK, NULL,
	    S("xkcd_upstream=http://127.0.0.1:7777/xkcd") },

	/* --xkcd-cache 0-100000, --xkcd-latest-ttl 0-86400. */
	{ __LINE__, S("--xkcd-cache", "0", "--xkcd-latest-ttl", "0"), S(NULL),
	    OK, NULL, S("xkcd_cache=0", "xkcd_latest_ttl=0") },
	{ __LINE__, S("--xkcd-cache", "100000", "--xkcd-latest-ttl", "86400"),
	    S(NULL), OK, NULL,
	    S("xkcd_cache=100000", "xkcd_latest_ttl=86400") },
	{ __LINE__, S("--xkcd-cache=1"), S(NULL), OK, NULL,
	    S("xkcd_cache=1") },
	{ __LINE__, S("--xkcd-cache", "100001"), S(NULL), ERR,
	    "invalid value '100001' for --xkcd-cache (FANOUT_XKCD_CACHE): "
	    "expected an integer from 0 to 100000", S(NULL) },
	{ __LINE__, S("--xkcd-cache", "-1"), S(NULL), ERR,
	    "'-1' for --xkcd-cache", S(NULL) },
	{ __LINE__, S("--xkcd-cache", ""), S(NULL), ERR,
	    "'' for --xkcd-cache", S(NULL) },
	{ __LINE__, S("--xkcd-latest-ttl", "86401"), S(NULL), ERR,
	    "invalid value '86401' for --xkcd-latest-ttl "
	    "(FANOUT_XKCD_LATEST_TTL): expected an integer from 0 to 86400",
	    S(NULL) },
	{ __LINE__, S("--xkcd-latest-ttl", "1h"), S(NULL), ERR,
	    "'1h' for --xkcd-latest-ttl", S(NULL) },
	{ __LINE__, S(NULL), S("FANOUT_XKCD_CACHE=100000",
	    "FANOUT_XKCD_LATEST_TTL=86400"), OK, NULL,
	    S("xkcd_cache=100000", "xkcd_latest_ttl=86400") },
	{ __LINE__, S(NULL), S("FANOUT_XKCD_CACHE=100001"), ERR,
	    "'100001' for --xkcd-cache (FANOUT_XKCD_CACHE)", S(NULL) },

	/* --seccomp-trace 0 or 1. */
	{ __LINE__, S("--seccomp-trace", "0"), S(NULL), OK, NULL,
	    S("seccomp_trace=0") },
	{ __LINE__, S("--seccomp-trace", "1"), S(NULL), OK, NULL,
	    S("seccomp_trace=1") },
	{ __LINE__, S("--seccomp-trace=1"), S(NULL), OK, NULL,
	    S("seccomp_trace=1") },
	{ __LINE__, S("--seccomp-trace", "2"), S(NULL), ERR,
	    "invalid value '2' for --seccomp-trace (FANOUT_SECCOMP_TRACE): "
	    "expected an integer from 0 to 1", S(NULL) },
	{ __LINE__, S("--seccomp-trace", "yes"), S(NULL), ERR,
	    "'yes' for --seccomp-trace", S(NULL) },
	{ __LINE__, S("--seccomp-trace", "-1"), S(NULL), ERR,
	    "'-1' for --seccomp-trace", S(NULL) },

	/* --error-detail 0 (default) or 1. */
	{ __LINE__, S(NULL), S(NULL), OK, NULL, S("error_detail=0") },
	{ __LINE__, S("--error-detail", "1"), S(NULL), OK, NULL,
	    S("error_detail=1") },
	{ __LINE__, S(NULL), S("FANOUT_ERROR_DETAIL=1"), OK, NULL,
	    S("error_detail=1") },
	{ __LINE__, S("--error-detail", "0"), S("FANOUT_ERROR_DETAIL=1"), OK,
	    NULL, S("error_detail=0") },
	{ __LINE__, S("--error-detail", "2"), S(NULL), ERR,
	    "invalid value '2' for --error-detail (FANOUT_ERROR_DETAIL): "
	    "expected an integer from 0 to 1", S(NULL) },

	/* --status-from: addresses or any, comma-separated. */
	{ __LINE__, S(NULL), S(NULL), OK, NULL, S("status_from=") },
	{ __LINE__, S("--status-from", "any"), S(NULL), OK, NULL,
	    S("status_from=any") },
	{ __LINE__, S(NULL), S("FANOUT_STATUS_FROM=192.0.2.1,::1,any"), OK,
	    NULL, S("status_from=192.0.2.1,::1,any") },
	{ __LINE__, S("--status-from", "192.0.2.1,"), S(NULL), ERR,
	    "invalid value '192.0.2.1,' for --status-from "
	    "(FANOUT_STATUS_FROM): expected IP addresses or 'any'", S(NULL) },
	{ __LINE__, S("--status-from", ",any"), S(NULL), ERR,
	    "for --status-from", S(NULL) },
	{ __LINE__, S("--status-from", "localhost"), S(NULL), ERR,
	    "for --status-from", S(NULL) },
	{ __LINE__, S("--status-from", "10.0.0.0/8"), S(NULL), ERR,
	    "for --status-from", S(NULL) },
	{ __LINE__, S("--status-from", "ANY"), S(NULL), ERR,
	    "for --status-from", S(NULL) },
	{ __LINE__, S("--status-from", "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,"
	    "1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9,1.1.1.10,1.1.1.11,"
	    "1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16"), S(NULL), OK, NULL,
	    S(NULL) },
	{ __LINE__, S("--status-from", "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,"
	    "1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9,1.1.1.10,1.1.1.11,"
	    "1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16,1.1.1.17"), S(NULL),
	    ERR, "--status-from (FANOUT_STATUS_FROM): at most 16 addresses",
	    S(NULL) },

	/* The simulator role. */
	{ __LINE__, S("--simulator"), S(NULL), OK, NULL,
	    S("role=1", "port=8889", "upstream=", "xkcd_upstream=",
	    "sim_embedded=0", "pidfile=/tmp/kore-fanout-8889.pid") },
	{ __LINE__, S("--simulator", "--port", "7000"), S(NULL), OK, NULL,
	    S("role=1", "port=7000", "pidfile=/tmp/kore-fanout-7000.pid") },
	{ __LINE__, S("--port", "7000", "--simulator"), S(NULL), OK, NULL,
	    S("role=1", "port=7000") },
	{ __LINE__, S("--simulator", "--sim-port", "7001"), S(NULL), OK, NULL,
	    S("role=1", "port=7001") },
	{ __LINE__, S("--simulator", "--sim-port", "0"), S(NULL), OK, NULL,
	    S("role=1", "port=8889", "upstream=", "xkcd_upstream=",
	    "sim_embedded=0") },
	{ __LINE__, S("--simulator", "--port", "8889"), S(NULL), OK, NULL,
	    S("role=1", "port=8889", "sim_port=8889", "sim_embedded=0") },
	{ __LINE__, S("--simulator", "--xkcd-upstream", "https://xkcd.test/"),
	    S(NULL), OK, NULL, S("role=1", "xkcd_upstream=https://xkcd.test",
	    "upstream=", "sim_embedded=0") },
	{ __LINE__, S("--simulator", "--xkcd-upstream", "ftp://x"), S(NULL),
	    ERR, "'ftp://x' for --xkcd-upstream", S(NULL) },
	{ __LINE__, S("--simulator", "--port", "8888"), S(NULL), OK, NULL,
	    S("role=1", "port=8888") },
	{ __LINE__, S("--simulator"), S("FANOUT_PORT=7002"), OK, NULL,
	    S("role=1", "port=7002") },
	{ __LINE__, S("--simulator", "--upstream", "http://x/"), S(NULL), OK,
	    NULL, S("role=1", "upstream=http://x", "sim_embedded=0") },

	/* Kore's flags, alone and bundled. */
	{ __LINE__, S("-f", "-n", "-q", "-r"), S(NULL), OK, NULL,
	    S("foreground=1", "skip_chroot=1", "quiet=1", "skip_runas=1") },
	{ __LINE__, S("-fnqr"), S(NULL), OK, NULL,
	    S("foreground=1", "skip_chroot=1", "quiet=1", "skip_runas=1") },
	{ __LINE__, S("-rf", "--port", "9000"), S(NULL), OK, NULL,
	    S("foreground=1", "skip_chroot=0", "quiet=0", "skip_runas=1",
	    "port=9000") },

	/* --help/-h and -v. */
	{ __LINE__, S("-h"), S(NULL), HELP, NULL, S(NULL) },
	{ __LINE__, S("--help"), S(NULL), HELP, NULL, S(NULL) },
	{ __LINE__, S("-v"), S(NULL), VERS, NULL, S(NULL) },
	{ __LINE__, S("--version"), S(NULL), VERS, NULL, S(NULL) },
	{ __LINE__, S("--version=1"), S(NULL), ERR, "--version", S(NULL) },
	{ __LINE__, S("-fv"), S(NULL), VERS, NULL, S(NULL) },
	{ __LINE__, S("--help", "--port", "0"), S(NULL), HELP, NULL, S(NULL) },
	{ __LINE__, S("--port", "0", "--help"), S(NULL), ERR,
	    "'0' for --port", S(NULL) },
	{ __LINE__, S("--sim-port", "0", "--help"), S(NULL), HELP, NULL,
	    S(NULL) },
};

static void	getopt_reset(void);
static int	load(struct settings *, const char *const *,
		    const char *const *, int, char *, size_t);
static void	field_str(const struct settings *, const char *, char *,
		    size_t);
static void	check_want(const char *, int, const struct settings *,
		    const char *);
static void	test_load_table(void);
static void	test_load_defaults(void);
static void	test_load_long(void);
static void	test_load_small_err(void);
static void	test_load_repeated(void);
static void	test_parse_number(void);
static void	test_tail_rules(void);

void
test_settings(void)
{
	test_parse_number();
	test_load_defaults();
	test_load_table();
	test_load_long();
	test_load_small_err();
	test_load_repeated();
	test_tail_rules();
	getopt_reset();
}

/*
 * Forget any state glibc's getopt keeps between calls (optind = 0 asks it
 * to reinitialise), so each table row starts as a fresh process would.
 */
static void
getopt_reset(void)
{
#if defined(__GLIBC__)
	char		*argv[] = { "reset", NULL };

	optind = 0;
	opterr = 0;
	(void)getopt(1, argv, ":");
#endif
	optind = 1;
}

/*
 * settings_load() with argv = "unit" + args and envp = envs (NULL: pass
 * envp NULL).  getopt_long() permutes argv, so both are built fresh.
 */
static int
load(struct settings *s, const char *const *args, const char *const *envs,
    int nullenv, char *err, size_t errlen)
{
	char		*argv[ARGS_MAX + 2], *envp[ENVS_MAX + 1];
	int		argc, i;

	argc = 0;
	argv[argc++] = "unit";
	for (i = 0; i < ARGS_MAX && args[i] != NULL; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;

	for (i = 0; i < ENVS_MAX && envs[i] != NULL; i++)
		envp[i] = (char *)envs[i];
	envp[i] = NULL;

	memset(s, 0xa5, sizeof(*s));
	if (err != NULL && errlen > 0) {
		memset(err, 'E', errlen - 1);
		err[errlen - 1] = '\0';
	}

	return (settings_load(s, argc, argv, nullenv ? NULL : envp, err,
	    errlen));
}

static void
field_str(const struct settings *s, const char *name, char *buf, size_t len)
{
	const char	*p;
	size_t		i;

	for (i = 0; i < NELEM(fields); i++) {
		if (strcmp(fields[i].name, name) == 0)
			break;
	}
	if (i == NELEM(fields)) {
		(void)snprintf(buf, len, "<no field %s>", name);
		return;
	}

	p = (const char *)s + fields[i].off;
	switch (fields[i].type) {
	case F_LL:
		(void)snprintf(buf, len, "%lld", *(const long long *)p);
		break;
	case F_INT:
		(void)snprintf(buf, len, "%d", *(const int *)p);
		break;
	case F_STR:
		(void)snprintf(buf, len, "%.*s", SETTINGS_STR_MAX - 1, p);
		break;
	}
}

/* want is "field=value". */
static void
check_want(const char *file, int line, const struct settings *s,
    const char *want)
{
	char		name[64], what[96], got[SETTINGS_STR_MAX + 32];
	const char	*eq;

	if ((eq = strchr(want, '=')) == NULL ||
	    (size_t)(eq - want) >= sizeof(name)) {
		unit_check(0, file, line, "bad expectation %s", want);
		return;
	}
	memcpy(name, want, (size_t)(eq - want));
	name[eq - want] = '\0';

	field_str(s, name, got, sizeof(got));
	(void)snprintf(what, sizeof(what), "settings.%s", name);
	(void)unit_str(file, line, what, eq + 1, got);
}

static void
test_load_table(void)
{
	const struct load_case	*c;
	struct settings		 s;
	char			 err[ERR_LEN], what[64];
	size_t			 i, j;
	int			 r;

	for (i = 0; i < NELEM(load_cases); i++) {
		c = &load_cases[i];
		getopt_reset();
		r = load(&s, c->args, c->envs, 0, err, sizeof(err));
		(void)snprintf(what, sizeof(what), "settings_load row %zu "
		    "return (err %s)", i,
		    r == ERR ? unit_quote(err, strlen(err)) : "-");
		if (!unit_num(__FILE__, c->line, what, c->ret, r))
			continue;
		if (r == ERR)
			(void)unit_has(__FILE__, c->line, "settings_load err",
			    c->err, err);
		for (j = 0; j < WANTS_MAX && c->want[j] != NULL; j++)
			check_want(__FILE__, c->line, &s, c->want[j]);
	}
}

static void
test_load_defaults(void)
{
	const char	*none[] = { NULL };
	struct settings	 s;
	char		 err[ERR_LEN];
	size_t		 i;
	int		 r;

	getopt_reset();
	r = load(&s, none, none, 0, err, sizeof(err));
	CHECK(r == OK, "defaults: settings_load returned %d (%s)", r, err);
	for (i = 0; i < NELEM(defaults); i++)
		check_want(__FILE__, __LINE__, &s, defaults[i]);

	/* envp may be NULL. */
	getopt_reset();
	r = load(&s, none, none, 1, err, sizeof(err));
	CHECK(r == OK, "NULL envp: settings_load returned %d (%s)", r, err);
	for (i = 0; i < NELEM(defaults); i++)
		check_want(__FILE__, __LINE__, &s, defaults[i]);
}

/* String settings: up to SETTINGS_STR_MAX - 1 bytes, longer is an error. */
static void
test_load_long(void)
{
	static char	 val[SETTINGS_STR_MAX + 16], env[SETTINGS_STR_MAX + 64];
	const char	*args[4], *envs[2], *none[] = { NULL };
	struct settings	 s;
	char		 err[ERR_LEN];
	int		 r;

	memset(val, 'b', SETTINGS_STR_MAX - 1);
	val[SETTINGS_STR_MAX - 1] = '\0';
	args[0] = "--bind";
	args[1] = val;
	args[2] = NULL;
	getopt_reset();
	r = load(&s, args, none, 0, err, sizeof(err));
	CHECK(r == OK, "--bind of %d bytes: returned %d (%s)",
	    SETTINGS_STR_MAX - 1, r, err);
	CHECK(strcmp(s.bind, val) == 0, "--bind of %d bytes not kept",
	    SETTINGS_STR_MAX - 1);

	memset(val, 'b', SETTINGS_STR_MAX);
	val[SETTINGS_STR_MAX] = '\0';
	getopt_reset();
	r = load(&s, args, none, 0, err, sizeof(err));
	CHECK(r == ERR, "--bind of %d bytes: returned %d", SETTINGS_STR_MAX, r);
	(void)unit_str(__FILE__, __LINE__, "--bind too long err",
	    "value for --bind (FANOUT_BIND) is longer than 511 bytes", err);

	/* A long URL: the error quotes it, err must not overflow. */
	(void)snprintf(env, sizeof(env), "FANOUT_UPSTREAM=http://%s", val);
	envs[0] = env;
	envs[1] = NULL;
	getopt_reset();
	r = load(&s, none, envs, 0, err, sizeof(err));
	CHECK(r == ERR, "FANOUT_UPSTREAM too long: returned %d", r);
	(void)unit_has(__FILE__, __LINE__, "upstream too long err",
	    "longer than 511 bytes", err);

	(void)snprintf(env, sizeof(env), "FANOUT_XKCD_UPSTREAM=http://%s",
	    val);
	getopt_reset();
	r = load(&s, none, envs, 0, err, sizeof(err));
	CHECK(r == ERR, "FANOUT_XKCD_UPSTREAM too long: returned %d", r);
	(void)unit_str(__FILE__, __LINE__, "xkcd upstream too long err",
	    "value for --xkcd-upstream (FANOUT_XKCD_UPSTREAM) is longer than "
	    "511 bytes", err);

	/* 511 bytes of URL ending in '/': kept, minus the slash. */
	memset(val, 'u', SETTINGS_STR_MAX - 1 - 8);
	val[SETTINGS_STR_MAX - 1 - 8] = '\0';
	(void)snprintf(env, sizeof(env), "https://%s", val);
	env[strlen(env) - 1] = '/';
	args[0] = "--upstream";
	args[1] = env;
	getopt_reset();
	r = load(&s, args, none, 0, err, sizeof(err));
	CHECK(r == OK && strlen(s.upstream) == SETTINGS_STR_MAX - 2 &&
	    s.upstream[strlen(s.upstream) - 1] == 'u',
	    "--upstream of 511 bytes ending in '/': returned %d, %zu bytes",
	    r, strlen(s.upstream));

	args[0] = "--xkcd-upstream";
	getopt_reset();
	r = load(&s, args, none, 0, err, sizeof(err));
	CHECK(r == OK && strlen(s.xkcd_upstream) == SETTINGS_STR_MAX - 2 &&
	    s.xkcd_upstream[strlen(s.xkcd_upstream) - 1] == 'u',
	    "--xkcd-upstream of 511 bytes ending in '/': returned %d, "
	    "%zu bytes", r, strlen(s.xkcd_upstream));
}

/* A short err buffer is truncated, never overrun (ASan watches). */
static void
test_load_small_err(void)
{
	const char	*args[] = { "--port", "99999999999999999999", NULL };
	const char	*none[] = { NULL };
	struct settings	 s;
	char		 err[8];
	int		 r;

	getopt_reset();
	r = load(&s, args, none, 0, err, sizeof(err));
	CHECK(r == ERR, "small err buffer: returned %d", r);
	(void)unit_str(__FILE__, __LINE__, "small err buffer", "invalid",
	    err);

	args[0] = "--bogus";
	args[1] = NULL;
	getopt_reset();
	r = load(&s, args, none, 0, err, 1);
	CHECK(r == ERR && err[0] == '\0', "err buffer of 1: returned %d, "
	    "err %s", r, unit_quote(err, strlen(err)));
}

/*
 * settings_load() resets optind itself: calls in a row, with no reset in
 * between, must each see only their own argv.
 */
static const struct load_case	seq_cases[] = {
	{ __LINE__, S("--port", "9000", "-f"), S(NULL), OK, NULL,
	    S("port=9000", "foreground=1") },
	{ __LINE__, S(NULL), S(NULL), OK, NULL,
	    S("port=8888", "foreground=0") },
	{ __LINE__, S("--port", "0"), S(NULL), ERR, "'0' for --port", S(NULL) },
	{ __LINE__, S("--port=9001"), S(NULL), OK, NULL, S("port=9001") },
	{ __LINE__, S("extra", "--port", "1"), S(NULL), ERR,
	    "unexpected argument 'extra'", S(NULL) },
	{ __LINE__, S("--port", "2"), S(NULL), OK, NULL, S("port=2") },
	{ __LINE__, S("--port"), S(NULL), ERR, "needs a value", S(NULL) },
	{ __LINE__, S("--simulator"), S(NULL), OK, NULL,
	    S("role=1", "port=8889") },
	{ __LINE__, S(NULL), S(NULL), OK, NULL, S("role=0", "port=8888") },
	/* Stopped inside a bundle of short flags: "f" is left over. */
	{ __LINE__, S("-hf"), S(NULL), HELP, NULL, S(NULL) },
	{ __LINE__, S("-q", "-n"), S(NULL), OK, NULL,
	    S("quiet=1", "skip_chroot=1", "foreground=0") },
	{ __LINE__, S("-vr"), S(NULL), VERS, NULL, S(NULL) },
	{ __LINE__, S("--port", "9002"), S(NULL), OK, NULL,
	    S("port=9002", "skip_runas=0") },
	{ __LINE__, S("-xn"), S(NULL), ERR, "unknown option", S(NULL) },
	{ __LINE__, S("-q"), S(NULL), OK, NULL,
	    S("quiet=1", "skip_chroot=0") },
	{ __LINE__, S(NULL), S(NULL), OK, NULL,
	    S("quiet=0", "skip_chroot=0", "foreground=0", "skip_runas=0") },
	/* A given upstream is not remembered by the next call. */
	{ __LINE__, S("--upstream", "http://u", "--xkcd-upstream", "http://x",
	    "--xkcd-cache", "5", "--seccomp-trace", "1"), S(OTHER_UPSTREAMS),
	    OK, NULL,
	    S("upstream=http://u", "xkcd_upstream=http://x", "xkcd_cache=5",
	    "seccomp_trace=1", "sim_embedded=0") },
	{ __LINE__, S(NULL), S(NULL), OK, NULL,
	    S("upstream=http://127.0.0.1:8889",
	    "xkcd_upstream=http://127.0.0.1:8889/xkcd", "xkcd_cache=1000",
	    "seccomp_trace=0", "sim_embedded=1") },
	{ __LINE__, S("--sim-port", "0", "--upstream", "http://u"), S(NULL),
	    ERR, "--xkcd-upstream (FANOUT_XKCD_UPSTREAM) is required",
	    S(NULL) },
	{ __LINE__, S("--xkcd-upstream", "http://x"), S(NULL), OK, NULL,
	    S("upstream=http://127.0.0.1:8889", "xkcd_upstream=http://x",
	    "sim_port=8889", "sim_embedded=1") },
};

static void
test_load_repeated(void)
{
	const struct load_case	*c;
	struct settings		 s;
	char			 err[ERR_LEN], what[64];
	size_t			 i, j;
	int			 r;

	getopt_reset();
	for (i = 0; i < NELEM(seq_cases); i++) {
		c = &seq_cases[i];
		r = load(&s, c->args, c->envs, 0, err, sizeof(err));
		(void)snprintf(what, sizeof(what), "repeated call %zu return "
		    "(err %s)", i,
		    r == ERR ? unit_quote(err, strlen(err)) : "-");
		if (!unit_num(__FILE__, c->line, what, c->ret, r))
			continue;
		if (r == ERR)
			(void)unit_has(__FILE__, c->line, "repeated call err",
			    c->err, err);
		for (j = 0; j < WANTS_MAX && c->want[j] != NULL; j++)
			check_want(__FILE__, c->line, &s, c->want[j]);
	}
}

struct number_case {
	int		 line;
	const char	*in;
	long long	 min;
	long long	 max;
	int		 ok;
	long long	 out;
};

static const struct number_case	number_cases[] = {
	{ __LINE__, "0", 0, 10, 1, 0 },
	{ __LINE__, "10", 0, 10, 1, 10 },
	{ __LINE__, "11", 0, 10, 0, 0 },
	{ __LINE__, "0", 1, 10, 0, 0 },
	{ __LINE__, "1", 1, 10, 1, 1 },
	{ __LINE__, "007", 0, 10, 1, 7 },
	{ __LINE__, "00000000000000000000000000001", 0, 10, 1, 1 },
	{ __LINE__, "", 0, 10, 0, 0 },
	{ __LINE__, " ", 0, 10, 0, 0 },
	{ __LINE__, " 5", 0, 10, 0, 0 },
	{ __LINE__, "\t5", 0, 10, 0, 0 },
	{ __LINE__, "5 ", 0, 10, 0, 0 },
	{ __LINE__, "5\n", 0, 10, 0, 0 },
	{ __LINE__, "+5", 0, 10, 0, 0 },
	{ __LINE__, "-5", 0, 10, 0, 0 },
	{ __LINE__, "-0", 0, 10, 0, 0 },
	{ __LINE__, "-5", -10, 10, 0, 0 },
	{ __LINE__, "0x5", 0, 10, 0, 0 },
	{ __LINE__, "0x10", 0, 100, 0, 0 },
	{ __LINE__, "5.0", 0, 10, 0, 0 },
	{ __LINE__, "5e0", 0, 10, 0, 0 },
	{ __LINE__, "5a", 0, 10, 0, 0 },
	{ __LINE__, "a5", 0, 10, 0, 0 },
	{ __LINE__, "99999999999999999999", 0, LLONG_MAX, 0, 0 },
	{ __LINE__, "9223372036854775807", 0, LLONG_MAX, 1, LLONG_MAX },
	{ __LINE__, "9223372036854775808", 0, LLONG_MAX, 0, 0 },
	{ __LINE__, "18446744073709551616", 0, LLONG_MAX, 0, 0 },
	{ __LINE__, "65535", 1, 65535, 1, 65535 },
	{ __LINE__, "65536", 1, 65535, 0, 0 },
	{ __LINE__, "4294967296", 0, 65535, 0, 0 },
};

static void
test_parse_number(void)
{
	const struct number_case	*c;
	long long			 out;
	char				 what[96];
	size_t				 i;
	int				 r;

	for (i = 0; i < NELEM(number_cases); i++) {
		c = &number_cases[i];
		out = -42;
		r = settings_parse_number(c->in, c->min, c->max, &out);
		(void)snprintf(what, sizeof(what),
		    "settings_parse_number(%s, %lld, %lld) return",
		    unit_quote(c->in, strlen(c->in)), c->min, c->max);
		(void)unit_num(__FILE__, c->line, what, c->ok, r);
		(void)snprintf(what, sizeof(what),
		    "settings_parse_number(%s) out",
		    unit_quote(c->in, strlen(c->in)));
		/* On failure the output is left alone. */
		(void)unit_num(__FILE__, c->line, what, c->ok ? c->out : -42,
		    out);
	}
}

/* --tail-rules: the spec, then the error or one upstream's five values. */
struct rules_case {
	int		line;
	const char	*spec;
	const char	*err;		/* NULL: valid */
	int		up;		/* SETTINGS_UP_* checked when valid */
	long long	v[SETTINGS_RULES];
};

#define NONE	-1, -1, -1, -1, -1
#define BAD(spec, msg)	{ __LINE__, (spec), (msg), 0, { NONE } }

static const struct rules_case	rules_cases[] = {
	{ __LINE__, "", NULL, SETTINGS_UP_PARTNER, { NONE } },
	{ __LINE__, "partner:retries=0", NULL, SETTINGS_UP_PARTNER,
	    { 0, -1, -1, -1, -1 } },
	{ __LINE__, "partner:retries=0", NULL, SETTINGS_UP_XKCD, { NONE } },
	{ __LINE__, "xkcd:hedge=p95,hedge-budget=10;partner:retries=1",
	    NULL, SETTINGS_UP_XKCD, { -1, -1, SETTINGS_HEDGE_P95, -1, 10 } },
	{ __LINE__, "xkcd:hedge=p95;delay:hedge=fixed,hedge-delay=30,"
	    "retry-budget=50", NULL, SETTINGS_UP_DELAY,
	    { -1, 50, SETTINGS_HEDGE_FIXED, 30, -1 } },
	{ __LINE__, "analytics:hedge=off,retries=3", NULL,
	    SETTINGS_UP_ANALYTICS, { 3, -1, SETTINGS_HEDGE_OFF, -1, -1 } },
	/* A key given twice: the last wins. */
	{ __LINE__, "partner:retries=1,retries=4", NULL, SETTINGS_UP_PARTNER,
	    { 4, -1, -1, -1, -1 } },
	BAD("partner", "invalid rule 'partner' for --tail-rules "
	    "(FANOUT_TAIL_RULES): expected upstream:key=value"),
	BAD("partner:", "'' is not key=value"),
	BAD("bogus:retries=1", "invalid upstream 'bogus' for "
	    "--tail-rules (FANOUT_TAIL_RULES): expected delay, xkcd, "
	    "analytics or partner"),
	BAD("delay,xkcd:retries=1", "invalid upstream 'delay,xkcd'"),
	BAD(":retries=1", "invalid upstream ''"),
	BAD("partner:foo=1", "'foo' is not key=value with key one "
	    "of retries"),
	BAD("partner:retries", "'retries' is not key=value"),
	BAD("partner:retries=11", "--tail-rules (FANOUT_TAIL_RULES), "
	    "partner: invalid value '11' for --retries (FANOUT_RETRIES): "
	    "expected an integer from 0 to 10"),
	BAD("partner:hedge=maybe", "invalid value 'maybe' for "
	    "--hedge (FANOUT_HEDGE): expected one of off|fixed|p95"),
	BAD("partner:hedge-delay=0", "for --hedge-delay"),
	BAD("partner:hedge-budget=101", "for --hedge-budget"),
	BAD("partner:retries=1;", "invalid rule '' for --tail-rules"),
};

static void
test_tail_rules(void)
{
	const struct rules_case	*c;
	struct settings_rule	rules[SETTINGS_UPS];
	char			err[SETTINGS_ERR_MAX], what[96];
	size_t			i, k;
	int			r;

	for (i = 0; i < NELEM(rules_cases); i++) {
		c = &rules_cases[i];
		err[0] = '\0';
		r = settings_tail_rules(c->spec, rules, err, sizeof(err));
		(void)snprintf(what, sizeof(what), "settings_tail_rules(%s)",
		    unit_quote(c->spec, strlen(c->spec)));
		(void)unit_num(__FILE__, c->line, what, c->err == NULL, r);
		if (c->err != NULL) {
			(void)unit_has(__FILE__, c->line, what, c->err, err);
			continue;
		}
		for (k = 0; k < SETTINGS_RULES; k++) {
			(void)unit_num(__FILE__, c->line, what, c->v[k],
			    rules[c->up].v[k]);
		}
	}
}
