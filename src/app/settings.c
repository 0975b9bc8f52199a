/*
 * Run-time settings.
 *
 * One table names every setting once: its flag, its environment variable,
 * its default and its range.  settings_load() applies the defaults, then
 * the environment, then the command line, and fails with the name of the
 * first bad value.  It uses libc only so the unit tests can call it.
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
	const char	*help;
};

#define OFF(f)		offsetof(struct settings, f)

static const struct setting	table[] = {
	{ "bind", "FANOUT_BIND", SET_STR, "127.0.0.1", 0, 0, OFF(bind),
	    "address to listen on" },
	{ "port", "FANOUT_PORT", SET_INT, "8888", 1, 65535, OFF(port),
	    "port to listen on (the simulator role defaults to 8889)" },
	{ "workers", "FANOUT_WORKERS", SET_INT, "0", 0, 64, OFF(workers),
	    "worker processes (0: one per CPU)" },
	{ "upstream", "FANOUT_UPSTREAM", SET_URL, "", 0, 0, OFF(upstream),
	    "delay service base URL (default: the embedded simulator)" },
	{ "xkcd-upstream", "FANOUT_XKCD_UPSTREAM", SET_URL, "",
	    0, 0, OFF(xkcd_upstream),
	    "xkcd base URL, e.g. https://xkcd.com (default: the simulator)" },
	{ "xkcd-cache", "FANOUT_XKCD_CACHE", SET_INT, "1000", 0, 100000,
	    OFF(xkcd_cache), "comics cached per worker (0: no cache)" },
	{ "xkcd-latest-ttl", "FANOUT_XKCD_LATEST_TTL", SET_INT, "3600", 0,
	    86400, OFF(xkcd_latest_ttl),
	    "seconds the latest comic number is reused" },
	{ "analytics-upstream", "FANOUT_ANALYTICS_UPSTREAM", SET_URL, "",
	    0, 0, OFF(analytics_upstream),
	    "analytics service base URL (default: the simulator)" },
	{ "partner-upstream", "FANOUT_PARTNER_UPSTREAM", SET_URL, "",
	    0, 0, OFF(partner_upstream),
	    "partner API base URL (default: the simulator)" },
	{ "partner-key", "FANOUT_PARTNER_KEY", SET_STR, "", 0, 0,
	    OFF(partner_key), "partner API key (prefer the environment)" },
	{ "stats-products", "FANOUT_STATS_PRODUCTS", SET_STR,
	    "p01,p02,p03,p04,p05,p06,p07,p08,p09,p10,p11,p12,p13,p14,p15,"
	    "p16,p17,p18,p19,p20", 0, SETTINGS_STR_MAX * 4, OFF(stats_products),
	    "products on the stats page, comma-separated" },
	{ "stats-limit", "FANOUT_STATS_LIMIT", SET_INT, "5", 1, 1000,
	    OFF(stats_limit), "stats page: upstream calls in flight" },
	{ "stats-ttl", "FANOUT_STATS_TTL", SET_INT, "30", 0, 86400,
	    OFF(stats_ttl), "seconds a complete stats result is reused" },
	{ "sim-port", "FANOUT_SIM_PORT", SET_INT, "8889", 0, 65535,
	    OFF(sim_port), "port of the embedded simulator (0: do not start)" },
	{ "call-timeout", "FANOUT_CALL_TIMEOUT_MS", SET_INT, "10000", 1,
	    600000, OFF(call_timeout_ms), "per upstream call timeout, ms" },
	{ "connect-timeout", "FANOUT_CONNECT_TIMEOUT_MS", SET_INT, "2000", 1,
	    60000, OFF(connect_timeout_ms), "upstream connect timeout, ms" },
	{ "deadline", "FANOUT_DEADLINE_MS", SET_INT, "15000", 1, 600000,
	    OFF(deadline_ms), "overall deadline for one page's calls, ms" },
	{ "sync-pages", "FANOUT_SYNC_PAGES", SET_CHOICE, "on", 0, 0,
	    OFF(sync_pages), "sync pages: on, off (404) or limit (503 while "
	    "they hold all workers but one)" },
	{ "fanout-limit", "FANOUT_LIMIT", SET_INT, "10", 1, 1000,
	    OFF(fanout_limit), "upstream calls in flight per request" },
	{ "max-calls", "FANOUT_MAX_CALLS", SET_INT, "100", 1, 1000,
	    OFF(max_calls), "upstream calls allowed per request" },
	{ "max-body", "FANOUT_MAX_BODY", SET_INT, "1048576", 1, 67108864,
	    OFF(max_body), "largest upstream body accepted, bytes" },
	{ "max-connections", "FANOUT_MAX_CONNECTIONS", SET_INT, "0", 0, 1000000,
	    OFF(max_connections), "client connections per worker (0: a third "
	    "of the file limit)" },
	{ "upstream-conns", "FANOUT_UPSTREAM_CONNS", SET_INT, "4096", 1,
	    65536, OFF(upstream_conns),
	    "idle upstream connections kept per worker" },
	{ "max-fanouts", "FANOUT_MAX_FANOUTS", SET_INT, "0", 0, 1000000,
	    OFF(max_fanouts), "fan-outs in progress per worker, 503 beyond "
	    "(0: half of --max-inflight)" },
	{ "max-inflight", "FANOUT_MAX_INFLIGHT", SET_INT, "0", 0, 1000000,
	    OFF(max_inflight), "upstream calls in flight per worker, 503 "
	    "beyond (0: from the file limit)" },
	{ "tls-cert", "FANOUT_TLS_CERT", SET_STR, "", 0, 0, OFF(tls_cert),
	    "serve HTTPS with this certificate chain (PEM)" },
	{ "tls-key", "FANOUT_TLS_KEY", SET_STR, "", 0, 0, OFF(tls_key),
	    "private key for --tls-cert (PEM)" },
	{ "http-port", "FANOUT_HTTP_PORT", SET_INT, "0", 0, 65535,
	    OFF(http_port), "with TLS: plain HTTP port that redirects to HTTPS "
	    "(0: none)" },
	{ "runas", "FANOUT_RUNAS", SET_STR, "", 0, 0, OFF(runas),
	    "user to run as when started as root (without -r)" },
	{ "root", "FANOUT_ROOT", SET_STR, "", 0, 0, OFF(root),
	    "directory to chroot into (without -n; default: current)" },
	{ "accesslog", "FANOUT_ACCESSLOG", SET_STR, "", 0, 0, OFF(accesslog),
	    "append one line per request to this file" },
	{ "ca-file", "FANOUT_CA_FILE", SET_STR,
	    "/etc/ssl/certs/ca-certificates.crt", 0, 0, OFF(ca_file),
	    "CA bundle that https upstreams are verified against" },
	{ "trusted-proxies", "FANOUT_TRUSTED_PROXIES", SET_STR, "", 0, 0,
	    OFF(trusted_proxies), "addresses whose X-Forwarded-For/-Proto "
	    "are believed, comma-separated" },
	{ "csp-img-src", "FANOUT_CSP_IMG_SRC", SET_STR, "", 0, 0,
	    OFF(csp_img_src), "extra image origins for the CSP (default: the "
	    "xkcd upstream's)" },
	{ "error-detail", "FANOUT_ERROR_DETAIL", SET_INT, "0", 0, 1,
	    OFF(error_detail), "1: show libcurl's error detail to clients "
	    "(development; never the API key)" },
	{ "status-from", "FANOUT_STATUS_FROM", SET_STR, "", 0, 0,
	    OFF(status_from), "clients besides loopback allowed /_/stats and "
	    "/_/whoami: addresses or any, comma-separated" },
	{ "seccomp-trace", "FANOUT_SECCOMP_TRACE", SET_INT, "0", 0, 1,
	    OFF(seccomp_trace), "log sandbox violations instead of dying (1)" },
	{ "pidfile", "FANOUT_PIDFILE", SET_STR, "", 0, 0, OFF(pidfile),
	    "pid file (default: /tmp/kore-fanout-<port>.pid)" },
};

#define TABLE_LEN	(sizeof(table) / sizeof(table[0]))

/* The words a SET_CHOICE setting takes, stored as their index. */
static const struct {
	size_t		off;
	const char	*words;
} choices[] = {
	{ OFF(sync_pages), "on|off|limit" },
};

static int	setting_apply(struct settings *, const struct setting *,
		    const char *, char *, size_t);
static void	*setting_ptr(struct settings *, const struct setting *);
static const char	*setting_choices(const struct setting *);
static int	setting_choice(const struct setting *, const char *,
		    long long *);
static int	settings_default_upstream(struct settings *, char *,
		    const char *, const char *, char *, size_t);
static int	settings_addr_list(const char *, const char *, char *,
		    size_t);

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
	struct option	longopts[TABLE_LEN + 3];
	const char	*v;
	size_t		i, elen;
	int		ch, idx, port_given;

	memset(s, 0, sizeof(*s));
	s->role = SETTINGS_ROLE_APP;
	port_given = 0;

	for (i = 0; i < TABLE_LEN; i++) {
		if (!setting_apply(s, &table[i], table[i].def, err,
		    errlen))
			return (SETTINGS_ERROR);
	}

	for (i = 0; i < TABLE_LEN; i++) {
		elen = strlen(table[i].env);
		for (idx = 0; envp != NULL && envp[idx] != NULL; idx++) {
			if (strncmp(envp[idx], table[i].env, elen) != 0 ||
			    envp[idx][elen] != '=')
				continue;
			v = envp[idx] + elen + 1;
			if (!setting_apply(s, &table[i], v, err, errlen))
				return (SETTINGS_ERROR);
			if (table[i].off == OFF(port))
				port_given = 1;
		}
	}

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
	memset(&longopts[TABLE_LEN + 2], 0, sizeof(longopts[0]));

	/* 0, not 1: glibc then also forgets a half-read "-abc" group. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fhnqrv", longopts,
	    &idx)) != -1) {
		switch (ch) {
		case 0:
			if (!setting_apply(s, &table[idx], optarg, err,
			    errlen))
				return (SETTINGS_ERROR);
			if (table[idx].off == OFF(port))
				port_given = 1;
			break;
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
		case 'h':
			return (SETTINGS_HELP);
		case 'v':
			return (SETTINGS_VERSION);
		case ':':
			(void)snprintf(err, errlen, "option %s needs a value",
			    argv[optind - 1]);
			return (SETTINGS_ERROR);
		default:
			/* glibc: optopt is 0 or a long option's val for a
			 * bad long option, the letter for a short one. */
			if (optopt == 0 || optopt == 'S' || optopt == 'h') {
				(void)snprintf(err, errlen,
				    "unknown option '%s'", argv[optind - 1]);
			} else {
				(void)snprintf(err, errlen,
				    "unknown option '-%c'", optopt);
			}
			return (SETTINGS_ERROR);
		}
	}

	if (optind < argc) {
		(void)snprintf(err, errlen, "unexpected argument '%s'",
		    argv[optind]);
		return (SETTINGS_ERROR);
	}

	if (s->role == SETTINGS_ROLE_SIM && !port_given)
		s->port = s->sim_port != 0 ? s->sim_port : 8889;

	if (s->role == SETTINGS_ROLE_APP) {
		if (!settings_default_upstream(s, s->upstream, "",
		    "--upstream (FANOUT_UPSTREAM)", err, errlen) ||
		    !settings_default_upstream(s, s->xkcd_upstream, "/xkcd",
		    "--xkcd-upstream (FANOUT_XKCD_UPSTREAM)", err, errlen) ||
		    !settings_default_upstream(s, s->analytics_upstream,
		    "/analytics", "--analytics-upstream "
		    "(FANOUT_ANALYTICS_UPSTREAM)", err, errlen) ||
		    !settings_default_upstream(s, s->partner_upstream,
		    "/partner", "--partner-upstream (FANOUT_PARTNER_UPSTREAM)",
		    err, errlen))
			return (SETTINGS_ERROR);
	}

	if (!settings_addr_list(s->status_from, "--status-from "
	    "(FANOUT_STATUS_FROM)", err, errlen))
		return (SETTINGS_ERROR);

	if ((s->tls_cert[0] == '\0') != (s->tls_key[0] == '\0')) {
		(void)snprintf(err, errlen, "--tls-cert (FANOUT_TLS_CERT) and "
		    "--tls-key (FANOUT_TLS_KEY) go together");
		return (SETTINGS_ERROR);
	}
	if (s->http_port != 0 && s->tls_cert[0] == '\0') {
		(void)snprintf(err, errlen, "--http-port (FANOUT_HTTP_PORT) "
		    "redirects to HTTPS: it needs --tls-cert");
		return (SETTINGS_ERROR);
	}
	if (s->http_port != 0 && s->http_port == s->port) {
		(void)snprintf(err, errlen, "--http-port must differ from "
		    "--port (both %lld)", s->port);
		return (SETTINGS_ERROR);
	}

	if (s->pidfile[0] == '\0') {
		(void)snprintf(s->pidfile, sizeof(s->pidfile),
		    "/tmp/kore-fanout-%lld.pid", s->port);
	}

	return (SETTINGS_OK);
}

void
settings_usage(FILE *fp, const char *prog)
{
	size_t		i;

	fprintf(fp, "usage: %s [-fnqr] [--simulator] [--name value ...]\n\n",
	    prog);
	fprintf(fp, "  -f  foreground   -n  no chroot   -q  quiet   "
	    "-r  keep user\n");
	fprintf(fp, "  --simulator      run the upstream simulator only\n\n");
	fprintf(fp, "settings (flag, environment, default):\n");
	for (i = 0; i < TABLE_LEN; i++) {
		fprintf(fp, "  --%-16s %-26s %s\n      %s\n", table[i].name,
		    table[i].env, table[i].def[0] ? table[i].def : "(none)",
		    table[i].help);
	}
}

/*
 * An upstream left unset points at the embedded simulator, which the app
 * then starts (sim_embedded).
 */
static int
settings_default_upstream(struct settings *s, char *url, const char *path,
    const char *name, char *err, size_t errlen)
{
	if (*url != '\0')
		return (1);

	if (s->sim_port == 0) {
		(void)snprintf(err, errlen, "%s is required when --sim-port "
		    "is 0", name);
		return (0);
	}
	if (s->sim_port == s->port) {
		(void)snprintf(err, errlen, "--sim-port must differ from "
		    "--port (both %lld)", s->port);
		return (0);
	}

	(void)snprintf(url, SETTINGS_STR_MAX, "http://127.0.0.1:%lld%s",
	    s->sim_port, path);
	s->sim_embedded = 1;

	return (1);
}

/*
 * A comma-separated list of IPv4 or IPv6 addresses or "any", at most
 * SETTINGS_ADDRS_MAX of them; empty is an empty list.
 */
static int
settings_addr_list(const char *list, const char *name, char *err,
    size_t errlen)
{
	char		copy[SETTINGS_STR_MAX], *p, *comma;
	u_int8_t	addr[16];
	size_t		n;

	(void)snprintf(copy, sizeof(copy), "%s", list);
	n = 0;
	for (p = copy; *list != '\0' && p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (strcmp(p, "any") != 0 && inet_pton(AF_INET, p, addr) != 1 &&
		    inet_pton(AF_INET6, p, addr) != 1) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "%s: expected IP addresses or 'any', "
			    "comma-separated", list, name);
			return (0);
		}
		if (++n > SETTINGS_ADDRS_MAX) {
			(void)snprintf(err, errlen, "%s: at most %d addresses",
			    name, SETTINGS_ADDRS_MAX);
			return (0);
		}
	}

	return (1);
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
	char		*str;
	long long	*num;
	size_t		size;

	switch (st->type) {
	case SET_CHOICE:
		if (!setting_choice(st, v, setting_ptr(s, st))) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "--%s (%s): expected one of %s", v, st->name,
			    st->env, setting_choices(st));
			return (0);
		}
		break;
	case SET_INT:
		num = setting_ptr(s, st);
		if (!settings_parse_number(v, st->min, st->max, num)) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "--%s (%s): expected an integer from %lld to %lld",
			    v, st->name, st->env, st->min, st->max);
			return (0);
		}
		break;
	case SET_URL:
		if (*v != '\0' && url_http_prefix(v) == 0) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "--%s (%s): expected an http:// or https:// URL",
			    v, st->name, st->env);
			return (0);
		}
		/* FALLTHROUGH */
	case SET_STR:
		/* For strings, max is the buffer's size (default STR_MAX). */
		size = st->max > 0 ? (size_t)st->max : SETTINGS_STR_MAX;
		str = setting_ptr(s, st);
		if (strlen(v) >= size) {
			(void)snprintf(err, errlen, "value for --%s (%s) is "
			    "longer than %zu bytes", st->name, st->env,
			    size - 1);
			return (0);
		}
		(void)strcpy(str, v);
		/* A base URL is joined with paths: drop trailing slashes. */
		while (st->type == SET_URL && *str != '\0' &&
		    str[strlen(str) - 1] == '/')
			str[strlen(str) - 1] = '\0';
		if (st->type == SET_URL && *v != '\0' && !url_is_http(str)) {
			(void)snprintf(err, errlen, "invalid value '%s' for "
			    "--%s (%s): the URL has no host", v, st->name,
			    st->env);
			return (0);
		}
		break;
	}

	return (1);
}
