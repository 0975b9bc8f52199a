/*
 * Run-time settings.
 *
 * One table names every setting once: its flag, its environment variable,
 * its default, its range and its field (offset and size).  settings_load()
 * applies the defaults, then the environment, then the command line; then
 * the role's defaults (the app points unset upstreams at the embedded
 * simulator), the checks of settings that go together, and the pid file.
 * It fails with the first bad value, named by its row ("--flag (ENV)").
 * What a page makes of a value (--stats-products) the page checks.  libc
 * only, so the unit tests can call it.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "url.h"

#define SET_INT		1
#define SET_STR		2
#define SET_URL		3
#define SET_CHOICE	4	/* one of choices, stored as its index */

struct setting {
	const char	*name;
	const char	*env;
	int		type;
	const char	*def;
	long long	min;
	long long	max;
	size_t		off;
	size_t		size;	/* the field's: a string's room, NUL included */
	const char	*help;
};

#define OFF(f)		offsetof(struct settings, f)
#define FIELD(f)	OFF(f), SETTINGS_SIZE(f)

static const struct setting	table[] = {
	{ "bind", "FANOUT_BIND", SET_STR, "127.0.0.1", 0, 0, FIELD(bind),
	    "address to listen on" },
	{ "port", "FANOUT_PORT", SET_INT, "8888", 1, 65535, FIELD(port),
	    "port to listen on (the simulator role defaults to 8889)" },
	{ "workers", "FANOUT_WORKERS", SET_INT, "0", 0, 64, FIELD(workers),
	    "worker processes (0: one per CPU)" },
	{ "upstream", "FANOUT_UPSTREAM", SET_URL, "", 0, 0, FIELD(upstream),
	    "delay service base URL" },
	{ "xkcd-upstream", "FANOUT_XKCD_UPSTREAM", SET_URL, "",
	    0, 0, FIELD(xkcd_upstream),
	    "xkcd base URL, e.g. https://xkcd.com" },
	{ "xkcd-cache", "FANOUT_XKCD_CACHE", SET_INT, "1000", 0, 100000,
	    FIELD(xkcd_cache), "comics cached per worker (0: no cache)" },
	{ "xkcd-latest-ttl", "FANOUT_XKCD_LATEST_TTL", SET_INT, "3600", 0,
	    86400, FIELD(xkcd_latest_ttl),
	    "seconds the latest comic number is reused" },
	{ "analytics-upstream", "FANOUT_ANALYTICS_UPSTREAM", SET_URL, "",
	    0, 0, FIELD(analytics_upstream),
	    "analytics service base URL" },
	{ "partner-upstream", "FANOUT_PARTNER_UPSTREAM", SET_URL, "",
	    0, 0, FIELD(partner_upstream),
	    "partner API base URL" },
	{ "partner-key", "FANOUT_PARTNER_KEY", SET_STR, "", 0, 0,
	    FIELD(partner_key), "partner API key (prefer the environment)" },
	{ "stats-products", "FANOUT_STATS_PRODUCTS", SET_STR,
	    "p01,p02,p03,p04,p05,p06,p07,p08,p09,p10,p11,p12,p13,p14,p15,"
	    "p16,p17,p18,p19,p20", 0, 0, FIELD(stats_products),
	    "products on the stats page, comma-separated" },
	{ "stats-limit", "FANOUT_STATS_LIMIT", SET_INT, "5", 1, 1000,
	    FIELD(stats_limit), "stats page: upstream calls in flight" },
	{ "stats-ttl", "FANOUT_STATS_TTL", SET_INT, "30", 0, 86400,
	    FIELD(stats_ttl), "seconds a complete stats result is reused" },
	{ "redis", "FANOUT_REDIS", SET_STR, "", 0, 0, FIELD(redis),
	    "share caches, coalescing and partner limits through Redis: "
	    "redis://host:port/db or a unix socket path (none: in-process)" },
	{ "redis-prefix", "FANOUT_REDIS_PREFIX", SET_STR, "fanout", 0, 0,
	    FIELD(redis_prefix), "namespace of the app's Redis keys" },
	{ "redis-timeout", "FANOUT_REDIS_TIMEOUT_MS", SET_INT, "200", 1, 10000,
	    FIELD(redis_timeout_ms), "timeout of one Redis operation, ms "
	    "(then in-process until Redis is back)" },
	{ "sim-port", "FANOUT_SIM_PORT", SET_INT, "8889", 0, 65535,
	    FIELD(sim_port),
	    "port of the embedded simulator (0: do not start)" },
	{ "call-timeout", "FANOUT_CALL_TIMEOUT_MS", SET_INT, "10000", 1,
	    600000, FIELD(call_timeout_ms), "per upstream call timeout, ms" },
	{ "connect-timeout", "FANOUT_CONNECT_TIMEOUT_MS", SET_INT, "2000", 1,
	    60000, FIELD(connect_timeout_ms), "upstream connect timeout, ms" },
	{ "deadline", "FANOUT_DEADLINE_MS", SET_INT, "15000", 1, 600000,
	    FIELD(deadline_ms), "overall deadline for one page's calls, ms" },
	{ "sync-pages", "FANOUT_SYNC_PAGES", SET_CHOICE, "on", 0, 0,
	    FIELD(sync_pages), "sync pages: on, off (404) or limit (503 before "
	    "the last free worker)" },
	{ "fanout-limit", "FANOUT_LIMIT", SET_INT, "10", 1, 1000,
	    FIELD(fanout_limit), "upstream calls in flight per request" },
	{ "max-calls", "FANOUT_MAX_CALLS", SET_INT, "100", 1, 1000,
	    FIELD(max_calls), "upstream calls allowed per request" },
	{ "max-body", "FANOUT_MAX_BODY", SET_INT, "1048576", 1, 67108864,
	    FIELD(max_body), "largest upstream body accepted, bytes" },
	{ "max-connections", "FANOUT_MAX_CONNECTIONS", SET_INT, "0", 0, 1000000,
	    FIELD(max_connections), "client connections per worker (0: a third "
	    "of the file limit)" },
	{ "upstream-conns", "FANOUT_UPSTREAM_CONNS", SET_INT, "4096", 1,
	    65536, FIELD(upstream_conns),
	    "idle upstream connections kept per worker" },
	{ "max-fanouts", "FANOUT_MAX_FANOUTS", SET_INT, "0", 0, 1000000,
	    FIELD(max_fanouts), "fan-outs in progress per worker, 503 beyond "
	    "(0: half of --max-inflight)" },
	{ "max-inflight", "FANOUT_MAX_INFLIGHT", SET_INT, "0", 0, 1000000,
	    FIELD(max_inflight), "upstream calls in flight per worker, 503 "
	    "beyond (0: from the file limit)" },
	{ "retries", "FANOUT_RETRIES", SET_INT, "2", 0, 10, FIELD(retries),
	    "retries per idempotent call after a connect failure or 502/503/"
	    "504 (0: none)" },
	{ "retry-backoff", "FANOUT_RETRY_BACKOFF_MS", SET_INT, "50", 1, 10000,
	    FIELD(retry_backoff_ms), "first retry's back-off, ms (doubles per "
	    "retry, at most 1000, half of it random)" },
	{ "retry-budget", "FANOUT_RETRY_BUDGET", SET_INT, "20", 0, 100,
	    FIELD(retry_budget), "retries per upstream origin, % of its calls "
	    "in the last 5-10 s (3 always allowed)" },
	{ "hedge", "FANOUT_HEDGE", SET_CHOICE, "off", 0, 0, FIELD(hedge),
	    "hedged requests: off, fixed (after --hedge-delay) or p95 (after "
	    "the origin's recent p95)" },
	{ "hedge-delay", "FANOUT_HEDGE_DELAY_MS", SET_INT, "50", 1, 60000,
	    FIELD(hedge_delay_ms), "wait before a hedge, ms (p95: until 20 "
	    "answers are known)" },
	{ "hedge-budget", "FANOUT_HEDGE_BUDGET", SET_INT, "5", 0, 100,
	    FIELD(hedge_budget), "hedges per upstream origin, % of its calls "
	    "in the last 5-10 s" },
	{ "breaker-failures", "FANOUT_BREAKER_FAILURES", SET_INT, "10", 0,
	    100000, FIELD(breaker_failures), "consecutive failures that open "
	    "an origin's circuit (0: rule off)" },
	{ "breaker-ratio", "FANOUT_BREAKER_RATIO", SET_INT, "50", 0, 100,
	    FIELD(breaker_ratio), "failure % that opens the circuit, over at "
	    "least --breaker-min-calls (0: rule off)" },
	{ "breaker-min-calls", "FANOUT_BREAKER_MIN_CALLS", SET_INT, "20", 1,
	    100000, FIELD(breaker_min_calls), "outcomes in the last 5-10 s "
	    "before --breaker-ratio applies" },
	{ "breaker-cooldown", "FANOUT_BREAKER_COOLDOWN_MS", SET_INT, "2000", 1,
	    600000, FIELD(breaker_cooldown_ms), "ms an open circuit fails "
	    "calls at once before one probe is let through" },
	{ "stale-if-error", "FANOUT_STALE_IF_ERROR", SET_INT, "300", 0, 86400,
	    FIELD(stale_if_error), "seconds past its ttl a stats result or the "
	    "latest comic number is served, marked stale, when a refresh "
	    "fails (0: never)" },
	{ "stale-while-revalidate", "FANOUT_STALE_WHILE_REVALIDATE", SET_INT,
	    "30", 0, 86400, FIELD(stale_while_revalidate), "seconds past its "
	    "ttl a result is served at once while a background fan-out "
	    "refreshes it" },
	{ "tail-off", "FANOUT_TAIL_OFF", SET_STR, "", 0, 0, FIELD(tail_off),
	    "upstreams whose calls are never retried or hedged: delay, xkcd, "
	    "analytics, partner (comma-separated)" },
	{ "tail-rules", "FANOUT_TAIL_RULES", SET_STR, "", 0, 0,
	    FIELD(tail_rules), "per-upstream retries and hedges, e.g. "
	    "'partner:retries=0;xkcd:hedge=p95,hedge-budget=10' (keys: "
	    "retries, retry-budget, hedge, hedge-delay, hedge-budget; what "
	    "a rule leaves out, the global setting gives)" },
	{ "tls-cert", "FANOUT_TLS_CERT", SET_STR, "", 0, 0, FIELD(tls_cert),
	    "serve HTTPS with this certificate chain (PEM)" },
	{ "tls-key", "FANOUT_TLS_KEY", SET_STR, "", 0, 0, FIELD(tls_key),
	    "private key for --tls-cert (PEM)" },
	{ "http-port", "FANOUT_HTTP_PORT", SET_INT, "0", 0, 65535,
	    FIELD(http_port), "with TLS: plain HTTP port that redirects to "
	    "HTTPS (0: none)" },
	{ "runas", "FANOUT_RUNAS", SET_STR, "", 0, 0, FIELD(runas),
	    "user to run as when started as root (without -r)" },
	{ "root", "FANOUT_ROOT", SET_STR, "", 0, 0, FIELD(root),
	    "directory to chroot into (without -n)" },
	{ "accesslog", "FANOUT_ACCESSLOG", SET_STR, "", 0, 0, FIELD(accesslog),
	    "append one line per request to this file (-: standard output)" },
	{ "log-format", "FANOUT_LOG_FORMAT", SET_CHOICE, "plain", 0, 0,
	    FIELD(log_format), "access log lines: plain or json (one object "
	    "per request)" },
	{ "ca-file", "FANOUT_CA_FILE", SET_STR,
	    "/etc/ssl/certs/ca-certificates.crt", 0, 0, FIELD(ca_file),
	    "CA bundle that https upstreams are verified against" },
	{ "trusted-proxies", "FANOUT_TRUSTED_PROXIES", SET_STR, "", 0, 0,
	    FIELD(trusted_proxies), "addresses whose X-Forwarded-For/-Proto "
	    "are believed, comma-separated" },
	{ "csp-img-src", "FANOUT_CSP_IMG_SRC", SET_STR, "", 0, 0,
	    FIELD(csp_img_src), "extra image origins for the CSP (default: the "
	    "xkcd upstream's)" },
	{ "error-detail", "FANOUT_ERROR_DETAIL", SET_INT, "0", 0, 1,
	    FIELD(error_detail), "1: show libcurl's error detail to clients "
	    "(development; never the API key)" },
	{ "admin-port", "FANOUT_ADMIN_PORT", SET_INT, "0", 0, 65535,
	    FIELD(admin_port), "a listener of its own for /metrics, /healthz, "
	    "/readyz and /_/ only, open to whoever reaches it (0: none)" },
	{ "admin-bind", "FANOUT_ADMIN_BIND", SET_STR, "127.0.0.1", 0, 0,
	    FIELD(admin_bind), "address of the --admin-port listener" },
	{ "status-from", "FANOUT_STATUS_FROM", SET_STR, "", 0, 0,
	    FIELD(status_from), "clients besides loopback allowed /_/stats, "
	    "/_/whoami and /metrics (addresses or any)" },
	{ "seccomp-trace", "FANOUT_SECCOMP_TRACE", SET_INT, "0", 0, 1,
	    FIELD(seccomp_trace),
	    "log sandbox violations instead of dying (1)" },
	{ "pidfile", "FANOUT_PIDFILE", SET_STR, "", 0, 0, FIELD(pidfile),
	    "pid file" },
};

#define TABLE_LEN	(sizeof(table) / sizeof(table[0]))

/* "--" name " (" env ")", as errors name a setting. */
#define LABEL_MAX	64

/* The words a SET_CHOICE setting takes, stored as their index. */
static const struct {
	size_t		off;
	const char	*words;
} choices[] = {
	{ OFF(sync_pages), "on|off|limit" },
	{ OFF(hedge), "off|fixed|p95" },
	{ OFF(log_format), "plain|json" },
};

/*
 * --help shows the settings in these groups, in this order; a setting
 * none of them names is listed last, under "other".
 */
static const struct {
	const char	*title;
	const char	*names[16];
} groups[] = {
	{ "server", { "bind", "port", "workers", "accesslog", "log-format",
	    "pidfile", "trusted-proxies", "status-from", "admin-port",
	    "admin-bind", "csp-img-src", "error-detail", NULL } },
	{ "upstreams", { "upstream", "sim-port", "call-timeout",
	    "connect-timeout", "deadline", "max-body", "upstream-conns",
	    "ca-file", NULL } },
	{ "xkcd", { "xkcd-upstream", "xkcd-cache", "xkcd-latest-ttl", NULL } },
	{ "stats", { "analytics-upstream", "partner-upstream", "partner-key",
	    "stats-products", "stats-limit", "stats-ttl", NULL } },
	{ "limits", { "sync-pages", "fanout-limit", "max-calls",
	    "max-connections", "max-fanouts", "max-inflight", NULL } },
	{ "TLS and privileges", { "tls-cert", "tls-key", "http-port", "runas",
	    "root", "seccomp-trace", NULL } },
	{ "sharing between instances", { "redis", "redis-prefix",
	    "redis-timeout", NULL } },
	{ "tail tolerance", { "retries", "retry-backoff", "retry-budget",
	    "hedge", "hedge-delay", "hedge-budget", "breaker-failures",
	    "breaker-ratio", "breaker-min-calls", "breaker-cooldown",
	    "stale-if-error", "stale-while-revalidate", "tail-off",
	    "tail-rules", NULL } },
};

#define GROUPS_LEN	(sizeof(groups) / sizeof(groups[0]))

/* Where an upstream left unset points on the embedded simulator. */
static const struct {
	size_t		off;
	const char	*path;
} sim_paths[] = {
	{ OFF(upstream), "" },
	{ OFF(xkcd_upstream), "/xkcd" },
	{ OFF(analytics_upstream), "/analytics" },
	{ OFF(partner_upstream), "/partner" },
};

static void	settings_usage_one(FILE *, size_t);
static void	setting_help_default(size_t, char *, size_t);
static int	settings_defaults(struct settings *, char *, size_t);
static int	settings_environment(struct settings *, char **, int *,
		    char *, size_t);
static void	settings_longopts(struct option *);
static int	settings_options(struct settings *, int, char **, int *,
		    char *, size_t);
static void	settings_kore_flag(struct settings *, int);
static void	settings_bad_option(int, char **, char *, size_t);
static int	settings_role(struct settings *, int, char *, size_t);
static int	settings_default_upstream(struct settings *, size_t,
		    const char *, char *, size_t);
static int	settings_check(const struct settings *, char *, size_t);
static int	settings_status_from(const struct settings *, char *,
		    size_t);
static int	settings_tail_off(const struct settings *, char *, size_t);
static int	settings_upstream(const char *);
static int	rule_pairs(char *, struct settings_rule *, const char *,
		    const char *, char *, size_t);
static const struct setting	*setting_named(const char *);
static int	settings_admin(const struct settings *, char *, size_t);
static void	settings_pidfile(struct settings *);
static int	setting_given(struct settings *, const struct setting *,
		    const char *, int *, char *, size_t);
static int	setting_apply(struct settings *, const struct setting *,
		    const char *, char *, size_t);
static int	setting_apply_str(struct settings *, const struct setting *,
		    const char *, const char *, char *, size_t);
static const struct setting	*setting_at(size_t);
static const char	*setting_name(size_t);
static const char	*setting_label(size_t, char *, size_t);
static void	*setting_ptr(struct settings *, const struct setting *);
static const char	*setting_choices(const struct setting *);
static int	setting_choice(const struct setting *, const char *,
		    long long *);

struct settings		settings;

int
settings_parse_number(const char *str, long long min, long long max,
    long long *out)
{
	char		*ep;
	long long	v;

	if (*str == '\0' || !isdigit((unsigned char)*str))
		return (0);

	errno = 0;
	v = strtoll(str, &ep, 10);
	if (errno != 0 || *ep != '\0' || v < min || v > max)
		return (0);

	*out = v;
	return (1);
}

int
settings_load(struct settings *s, int argc, char **argv, char **envp,
    char *err, size_t errlen)
{
	int		r, port_given;

	memset(s, 0, sizeof(*s));
	s->role = SETTINGS_ROLE_APP;
	port_given = 0;

	if (!settings_defaults(s, err, errlen) ||
	    !settings_environment(s, envp, &port_given, err, errlen))
		return (SETTINGS_ERROR);

	r = settings_options(s, argc, argv, &port_given, err, errlen);
	if (r != SETTINGS_OK)
		return (r);

	if (!settings_role(s, port_given, err, errlen) ||
	    !settings_check(s, err, errlen))
		return (SETTINGS_ERROR);

	settings_pidfile(s);

	return (SETTINGS_OK);
}

void
settings_usage(FILE *fp, const char *prog)
{
	size_t		g, n, i;
	int		shown[TABLE_LEN], other;

	fprintf(fp, "usage: %s [-fnqr] [--simulator] [--name value ...]\n\n",
	    prog);
	fprintf(fp, "  -f  foreground   -n  no chroot   -q  quiet   "
	    "-r  keep user\n");
	fprintf(fp, "  --simulator      run the upstream simulator only\n");
	fprintf(fp, "  --version, -v    print the version\n\n");
	fprintf(fp, "Settings: --flag, its environment variable, what it does, "
	    "its default.\n");

	memset(shown, 0, sizeof(shown));
	for (g = 0; g < GROUPS_LEN; g++) {
		fprintf(fp, "\n%s:\n", groups[g].title);
		for (n = 0; groups[g].names[n] != NULL; n++) {
			for (i = 0; i < TABLE_LEN; i++) {
				if (strcmp(table[i].name,
				    groups[g].names[n]) == 0)
					break;
			}
			if (i < TABLE_LEN && !shown[i]) {
				settings_usage_one(fp, i);
				shown[i] = 1;
			}
		}
	}

	/* A setting no group names still shows, last. */
	for (other = 0, i = 0; i < TABLE_LEN; i++) {
		if (shown[i])
			continue;
		if (!other++)
			fprintf(fp, "\nother:\n");
		settings_usage_one(fp, i);
	}
}

/* One setting of --help: flag, variable, its real default, what it does. */
static void
settings_usage_one(FILE *fp, size_t i)
{
	char		def[SETTINGS_STR_MAX];

	setting_help_default(i, def, sizeof(def));
	fprintf(fp, "  --%-20s %s\n      %s\n      default: %s\n",
	    table[i].name, table[i].env, table[i].help, def);
}

/*
 * The default as it really is: an upstream left unset is the embedded
 * simulator, the pid file is named by the port, a number 0 means what
 * the help text says after it.
 */
static void
setting_help_default(size_t i, char *buf, size_t len)
{
	size_t		j;

	for (j = 0; j < sizeof(sim_paths) / sizeof(sim_paths[0]); j++) {
		if (table[i].off != sim_paths[j].off)
			continue;
		(void)snprintf(buf, len, "simulator: http://127.0.0.1:%s%s/",
		    setting_at(OFF(sim_port))->def, sim_paths[j].path);
		return;
	}

	if (table[i].off == OFF(pidfile)) {
		(void)snprintf(buf, len, "/tmp/kore-fanout-<port>.pid");
	} else if (table[i].off == OFF(root)) {
		(void)snprintf(buf, len, "(the current directory)");
	} else if (table[i].off == OFF(partner_key)) {
		(void)snprintf(buf, len, "(random, for the simulator)");
	} else if (table[i].def[0] == '\0') {
		(void)snprintf(buf, len, "(none)");
	} else {
		(void)snprintf(buf, len, "%s", table[i].def);
	}
}

static int
settings_defaults(struct settings *s, char *err, size_t errlen)
{
	size_t		i;

	for (i = 0; i < TABLE_LEN; i++) {
		if (!setting_apply(s, &table[i], table[i].def, err, errlen))
			return (0);
	}

	return (1);
}

/* NAME=value entries of envp, in their order: a later one wins. */
static int
settings_environment(struct settings *s, char **envp, int *port_given,
    char *err, size_t errlen)
{
	size_t		i, elen;
	int		idx;

	for (i = 0; i < TABLE_LEN; i++) {
		elen = strlen(table[i].env);
		for (idx = 0; envp != NULL && envp[idx] != NULL; idx++) {
			if (strncmp(envp[idx], table[i].env, elen) != 0 ||
			    envp[idx][elen] != '=')
				continue;
			if (!setting_given(s, &table[i], envp[idx] + elen + 1,
			    port_given, err, errlen))
				return (0);
		}
	}

	return (1);
}

/* A long option per table row (val 0, index = row), then our own three. */
static void
settings_longopts(struct option *longopts)
{
	size_t		i;

	for (i = 0; i < TABLE_LEN; i++) {
		longopts[i].name = table[i].name;
		longopts[i].has_arg = required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = 0;
	}
	longopts[TABLE_LEN].name = "simulator";
	longopts[TABLE_LEN].has_arg = no_argument;
	longopts[TABLE_LEN].flag = NULL;
	longopts[TABLE_LEN].val = 'S';
	longopts[TABLE_LEN + 1].name = "help";
	longopts[TABLE_LEN + 1].has_arg = no_argument;
	longopts[TABLE_LEN + 1].flag = NULL;
	longopts[TABLE_LEN + 1].val = 'h';
	longopts[TABLE_LEN + 2].name = "version";
	longopts[TABLE_LEN + 2].has_arg = no_argument;
	longopts[TABLE_LEN + 2].flag = NULL;
	longopts[TABLE_LEN + 2].val = 'v';
	memset(&longopts[TABLE_LEN + 3], 0, sizeof(longopts[0]));
}

static int
settings_options(struct settings *s, int argc, char **argv, int *port_given,
    char *err, size_t errlen)
{
	struct option	longopts[TABLE_LEN + 4];
	int		ch, idx;

	settings_longopts(longopts);

	/* 0, not 1: glibc then also forgets a half-read "-abc" group. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fhnqrv", longopts,
	    &idx)) != -1) {
		switch (ch) {
		case 0:
			if (!setting_given(s, &table[idx], optarg, port_given,
			    err, errlen))
				return (SETTINGS_ERROR);
			break;
		case 'S':
		case 'f':
		case 'n':
		case 'q':
		case 'r':
			settings_kore_flag(s, ch);
			break;
		case 'h':
			return (SETTINGS_HELP);
		case 'v':
			return (SETTINGS_VERSION);
		default:
			settings_bad_option(ch, argv, err, errlen);
			return (SETTINGS_ERROR);
		}
	}

	if (optind < argc) {
		(void)snprintf(err, errlen, "unexpected argument '%s'",
		    argv[optind]);
		return (SETTINGS_ERROR);
	}

	return (SETTINGS_OK);
}

/* --simulator and Kore's own flags. */
static void
settings_kore_flag(struct settings *s, int ch)
{
	switch (ch) {
	case 'S':
		s->role = SETTINGS_ROLE_SIM;
		break;
	case 'f':
		s->foreground = 1;
		break;
	case 'n':
		s->skip_chroot = 1;
		break;
	case 'q':
		s->quiet = 1;
		break;
	case 'r':
		s->skip_runas = 1;
		break;
	}
}

static void
settings_bad_option(int ch, char **argv, char *err, size_t errlen)
{
	if (ch == ':') {
		(void)snprintf(err, errlen, "option %s needs a value",
		    argv[optind - 1]);
		return;
	}

	/* glibc: optopt is 0 or a long option's val for a bad long option,
	 * the letter for a short one. */
	if (optopt == 0 || optopt == 'S' || optopt == 'h' || optopt == 'v') {
		(void)snprintf(err, errlen, "unknown option '%s'",
		    argv[optind - 1]);
	} else {
		(void)snprintf(err, errlen, "unknown option '-%c'", optopt);
	}
}

/*
 * The simulator role listens on --sim-port unless --port was given; the
 * app role points each upstream left unset at the embedded simulator.
 */
static int
settings_role(struct settings *s, int port_given, char *err, size_t errlen)
{
	size_t		i;

	if (s->role == SETTINGS_ROLE_SIM && !port_given)
		s->port = s->sim_port != 0 ? s->sim_port : 8889;

	if (s->role != SETTINGS_ROLE_APP)
		return (1);

	for (i = 0; i < sizeof(sim_paths) / sizeof(sim_paths[0]); i++) {
		if (!settings_default_upstream(s, sim_paths[i].off,
		    sim_paths[i].path, err, errlen))
			return (0);
	}

	return (1);
}

/*
 * An upstream left unset points at the embedded simulator, which the app
 * then starts (sim_embedded).
 */
static int
settings_default_upstream(struct settings *s, size_t off, const char *path,
    char *err, size_t errlen)
{
	const struct setting	*st;
	char			*url, label[LABEL_MAX];

	st = setting_at(off);
	url = setting_ptr(s, st);
	if (*url != '\0')
		return (1);

	if (s->sim_port == 0) {
		(void)snprintf(err, errlen, "%s is required when --%s is 0",
		    setting_label(off, label, sizeof(label)),
		    setting_name(OFF(sim_port)));
		return (0);
	}
	if (s->sim_port == s->port) {
		(void)snprintf(err, errlen, "--%s must differ from --%s "
		    "(both %lld)", setting_name(OFF(sim_port)),
		    setting_name(OFF(port)), s->port);
		return (0);
	}

	(void)snprintf(url, st->size, "http://127.0.0.1:%lld%s",
	    s->sim_port, path);
	s->sim_embedded = 1;

	return (1);
}

/* Settings that are only valid together. */
static int
settings_check(const struct settings *s, char *err, size_t errlen)
{
	char		cert[LABEL_MAX], key[LABEL_MAX], http[LABEL_MAX];

	if (!settings_status_from(s, err, errlen) ||
	    !settings_admin(s, err, errlen) ||
	    !settings_tail_off(s, err, errlen) ||
	    !settings_tail_rules(s->tail_rules, NULL, err, errlen))
		return (0);

	(void)setting_label(OFF(tls_cert), cert, sizeof(cert));
	(void)setting_label(OFF(tls_key), key, sizeof(key));
	(void)setting_label(OFF(http_port), http, sizeof(http));

	if ((s->tls_cert[0] == '\0') != (s->tls_key[0] == '\0')) {
		(void)snprintf(err, errlen, "%s and %s go together", cert,
		    key);
		return (0);
	}
	if (s->http_port != 0 && s->tls_cert[0] == '\0') {
		(void)snprintf(err, errlen, "%s redirects to HTTPS: it needs "
		    "--%s", http, setting_name(OFF(tls_cert)));
		return (0);
	}
	if (s->http_port != 0 && s->http_port == s->port) {
		(void)snprintf(err, errlen, "--%s must differ from --%s "
		    "(both %lld)", setting_name(OFF(http_port)),
		    setting_name(OFF(port)), s->port);
		return (0);
	}

	return (1);
}

/* --tail-off: upstream names, comma-separated. */
static int
settings_tail_off(const struct settings *s, char *err, size_t errlen)
{
	unsigned int	mask;
	char		bad[SETTINGS_STR_MAX], label[LABEL_MAX];

	if (settings_upstreams(s->tail_off, &mask, bad, sizeof(bad)))
		return (1);

	(void)setting_label(OFF(tail_off), label, sizeof(label));
	(void)snprintf(err, errlen, "invalid value '%s' for %s: expected "
	    "delay, xkcd, analytics or partner", bad, label);
	return (0);
}

/*
 * A comma-separated list of upstream names as bits (1 << SETTINGS_UP_*);
 * 0 with the first name that is none of them in bad.
 */
int
settings_upstreams(const char *list, unsigned int *mask, char *bad,
    size_t badlen)
{
	char		copy[SETTINGS_STR_MAX], *p, *comma;
	int		up;

	*mask = 0;
	(void)snprintf(copy, sizeof(copy), "%s", list);
	for (p = copy; *copy != '\0' && p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if ((up = settings_upstream(p)) < 0) {
			(void)snprintf(bad, badlen, "%s", p);
			return (0);
		}
		*mask |= 1U << up;
	}

	return (1);
}

/* An upstream's name as its SETTINGS_UP_*; -1 for none. */
static int
settings_upstream(const char *name)
{
	static const char *const	names[SETTINGS_UPS] = {
		[SETTINGS_UP_DELAY] = "delay",
		[SETTINGS_UP_XKCD] = "xkcd",
		[SETTINGS_UP_ANALYTICS] = "analytics",
		[SETTINGS_UP_PARTNER] = "partner",
	};
	int		i;

	for (i = 0; i < SETTINGS_UPS; i++) {
		if (strcmp(name, names[i]) == 0)
			return (i);
	}

	return (-1);
}

/* --tail-rules' keys, by SETTINGS_RULE_*: the global settings' names. */
static const char *const	rule_keys[SETTINGS_RULES] = {
	[SETTINGS_RULE_RETRIES] = "retries",
	[SETTINGS_RULE_RETRY_BUDGET] = "retry-budget",
	[SETTINGS_RULE_HEDGE] = "hedge",
	[SETTINGS_RULE_HEDGE_DELAY] = "hedge-delay",
	[SETTINGS_RULE_HEDGE_BUDGET] = "hedge-budget",
};

/*
 * --tail-rules: "upstream:key=value,key=value;upstream:...", each value
 * checked as its global setting's.  Into rules[SETTINGS_UPS] when not
 * NULL (-1 for what no rule sets); 0 and err on the first bad part.
 */
int
settings_tail_rules(const char *spec, struct settings_rule *rules,
    char *err, size_t errlen)
{
	struct settings_rule	scratch[SETTINGS_UPS];
	char			copy[SETTINGS_STR_MAX], *p, *semi, *colon;
	char			label[LABEL_MAX];
	int			up;

	if (rules == NULL)
		rules = scratch;
	memset(rules, 0xff, sizeof(*rules) * SETTINGS_UPS);
	(void)setting_label(OFF(tail_rules), label, sizeof(label));

	(void)snprintf(copy, sizeof(copy), "%s", spec);
	for (p = copy; *copy != '\0' && p != NULL; p = semi) {
		if ((semi = strchr(p, ';')) != NULL)
			*semi++ = '\0';
		if ((colon = strchr(p, ':')) == NULL) {
			(void)snprintf(err, errlen, "invalid rule '%s' for "
			    "%s: expected upstream:key=value,...", p, label);
			return (0);
		}
		*colon++ = '\0';
		if ((up = settings_upstream(p)) < 0) {
			(void)snprintf(err, errlen, "invalid upstream '%s' "
			    "for %s: expected delay, xkcd, analytics or "
			    "partner", p, label);
			return (0);
		}
		if (!rule_pairs(colon, &rules[up], p, label, err, errlen))
			return (0);
	}

	return (1);
}

/* One rule's "key=value,..." for upstream up. */
static int
rule_pairs(char *list, struct settings_rule *r, const char *up,
    const char *label, char *err, size_t errlen)
{
	struct settings		tmp;
	const struct setting	*st;
	char			*p, *comma, *eq, why[SETTINGS_ERR_MAX];
	size_t			k;

	for (p = list; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		eq = strchr(p, '=');
		if (eq != NULL)
			*eq++ = '\0';
		for (k = 0; k < SETTINGS_RULES; k++) {
			if (strcmp(p, rule_keys[k]) == 0)
				break;
		}
		if (eq == NULL || k == SETTINGS_RULES) {
			(void)snprintf(err, errlen, "invalid rule for %s in "
			    "%s: '%s' is not key=value with key one of "
			    "retries, retry-budget, hedge, hedge-delay, "
			    "hedge-budget", up, label, p);
			return (0);
		}
		st = setting_named(rule_keys[k]);
		memset(&tmp, 0, sizeof(tmp));
		if (!setting_apply(&tmp, st, eq, why, sizeof(why))) {
			(void)snprintf(err, errlen, "%s, %s: %s", label, up,
			    why);
			return (0);
		}
		r->v[k] = *(long long *)setting_ptr(&tmp, st);
	}

	return (1);
}

/* --admin-port: a port of its own. */
static int
settings_admin(const struct settings *s, char *err, size_t errlen)
{
	if (s->admin_port == 0 || (s->admin_port != s->port &&
	    s->admin_port != s->http_port && (s->role != SETTINGS_ROLE_APP ||
	    !s->sim_embedded || s->admin_port != s->sim_port)))
		return (1);

	(void)snprintf(err, errlen, "--%s must differ from the other ports "
	    "(%lld)", setting_name(OFF(admin_port)), s->admin_port);
	return (0);
}

/*
 * --status-from: a comma-separated list of IPv4 or IPv6 addresses or
 * "any", at most SETTINGS_ADDRS_MAX of them; empty is an empty list.
 */
static int
settings_status_from(const struct settings *s, char *err, size_t errlen)
{
	char		copy[SETTINGS_SIZE(status_from)], *p, *comma;
	char		label[LABEL_MAX];
	u_int8_t	addr[16];
	size_t		n;

	(void)setting_label(OFF(status_from), label, sizeof(label));
	(void)snprintf(copy, sizeof(copy), "%s", s->status_from);
	n = 0;
	for (p = copy; *copy != '\0' && p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (strcmp(p, "any") != 0 && inet_pton(AF_INET, p, addr) != 1 &&
		    inet_pton(AF_INET6, p, addr) != 1) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "%s: expected IP addresses or 'any', "
			    "comma-separated", s->status_from, label);
			return (0);
		}
		if (++n > SETTINGS_ADDRS_MAX) {
			(void)snprintf(err, errlen, "%s: at most %d addresses",
			    label, SETTINGS_ADDRS_MAX);
			return (0);
		}
	}

	return (1);
}

static void
settings_pidfile(struct settings *s)
{
	if (s->pidfile[0] == '\0') {
		(void)snprintf(s->pidfile, sizeof(s->pidfile),
		    "/tmp/kore-fanout-%lld.pid", s->port);
	}
}

/* A value from the environment or a flag; a given --port is remembered. */
static int
setting_given(struct settings *s, const struct setting *st, const char *v,
    int *port_given, char *err, size_t errlen)
{
	if (!setting_apply(s, st, v, err, errlen))
		return (0);
	if (st->off == OFF(port))
		*port_given = 1;

	return (1);
}

/* The table's row for a field of struct settings; every one used has one. */
static const struct setting *
setting_at(size_t off)
{
	size_t		i;

	for (i = 0; i < TABLE_LEN; i++) {
		if (table[i].off == off)
			return (&table[i]);
	}

	abort();
}

/* The table's row of a flag name; every one asked for has one. */
static const struct setting *
setting_named(const char *name)
{
	size_t		i;

	for (i = 0; i < TABLE_LEN; i++) {
		if (strcmp(table[i].name, name) == 0)
			return (&table[i]);
	}

	abort();
}

/* The flag's name, without its "--". */
static const char *
setting_name(size_t off)
{
	return (setting_at(off)->name);
}

/* "--name (ENV)", as errors name a setting. */
static const char *
setting_label(size_t off, char *buf, size_t len)
{
	const struct setting	*st;

	st = setting_at(off);
	(void)snprintf(buf, len, "--%s (%s)", st->name, st->env);

	return (buf);
}

static const char *
setting_choices(const struct setting *st)
{
	size_t		i;

	for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
		if (choices[i].off == st->off)
			return (choices[i].words);
	}

	return ("");
}

/* The index of v in the setting's words ("a|b|c"), whole words only. */
static int
setting_choice(const struct setting *st, const char *v, long long *out)
{
	const char	*p, *bar;
	size_t		len, vlen;
	long long	idx;

	vlen = strlen(v);
	for (p = setting_choices(st), idx = 0; p != NULL; idx++) {
		bar = strchr(p, '|');
		len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (vlen > 0 && len == vlen && strncmp(p, v, len) == 0) {
			*out = idx;
			return (1);
		}
		p = bar != NULL ? bar + 1 : NULL;
	}

	return (0);
}

static void *
setting_ptr(struct settings *s, const struct setting *st)
{
	return ((char *)s + st->off);
}

static int
setting_apply(struct settings *s, const struct setting *st, const char *v,
    char *err, size_t errlen)
{
	char		label[LABEL_MAX];

	(void)setting_label(st->off, label, sizeof(label));

	switch (st->type) {
	case SET_CHOICE:
		if (!setting_choice(st, v, setting_ptr(s, st))) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "%s: expected one of %s", v, label,
			    setting_choices(st));
			return (0);
		}
		break;
	case SET_INT:
		if (!settings_parse_number(v, st->min, st->max,
		    setting_ptr(s, st))) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "%s: expected an integer from %lld to %lld", v,
			    label, st->min, st->max);
			return (0);
		}
		break;
	case SET_URL:
		if (*v != '\0' && url_http_prefix(v) == 0) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "%s: expected an http:// or https:// URL", v,
			    label);
			return (0);
		}
		/* FALLTHROUGH */
	case SET_STR:
		return (setting_apply_str(s, st, v, label, err, errlen));
	}

	return (1);
}

/* A string fits its field; a URL loses trailing slashes, keeps a host. */
static int
setting_apply_str(struct settings *s, const struct setting *st,
    const char *v, const char *label, char *err, size_t errlen)
{
	char		*str;
	size_t		len;

	if (strlen(v) >= st->size) {
		(void)snprintf(err, errlen, "value for %s is longer than %zu "
		    "bytes", label, st->size - 1);
		return (0);
	}
	str = setting_ptr(s, st);
	(void)strcpy(str, v);
	if (st->type != SET_URL)
		return (1);

	/* A base URL is joined with paths: drop trailing slashes. */
	while ((len = strlen(str)) > 0 && str[len - 1] == '/')
		str[len - 1] = '\0';
	if (*v != '\0' && !url_is_http(str)) {
		(void)snprintf(err, errlen, "invalid value '%s' for %s: the "
		    "URL has no host", v, label);
		return (0);
	}

	return (1);
}
