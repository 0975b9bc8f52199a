/*
 * Run-time settings: one table, read from the environment and then from
 * the command line, validated before any worker starts.
 */

#ifndef __H_SETTINGS_H
#define __H_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

/* What settings_load() returns. */
#define SETTINGS_ERROR		0	/* err says which setting and why */
#define SETTINGS_OK		1
#define SETTINGS_HELP		2	/* -h, --help: print the usage */
#define SETTINGS_VERSION	3	/* -v: print the version */

#define SETTINGS_ROLE_APP	0
#define SETTINGS_ROLE_SIM	1

#define SETTINGS_STR_MAX	512
/* An error quotes at most one value of SETTINGS_STR_MAX. */
#define SETTINGS_ERR_MAX	(SETTINGS_STR_MAX + 128)
#define SETTINGS_ADDRS_MAX	16

/* --sync-pages */
#define SETTINGS_SYNC_ON	0
#define SETTINGS_SYNC_OFF	1
#define SETTINGS_SYNC_LIMIT	2

/* --hedge: the same values as FANOUT_HEDGE_* */
#define SETTINGS_HEDGE_OFF	0
#define SETTINGS_HEDGE_FIXED	1
#define SETTINGS_HEDGE_P95	2

/* --log-format */
#define SETTINGS_LOG_PLAIN	0
#define SETTINGS_LOG_JSON	1

struct settings {
	int		role;
	char		bind[SETTINGS_STR_MAX];
	long long	port;
	long long	workers;
	char		upstream[SETTINGS_STR_MAX];
	char		xkcd_upstream[SETTINGS_STR_MAX];
	long long	xkcd_cache;
	long long	xkcd_latest_ttl;
	char		analytics_upstream[SETTINGS_STR_MAX];
	char		partner_upstream[SETTINGS_STR_MAX];
	char		partner_key[SETTINGS_STR_MAX];
	char		stats_products[SETTINGS_STR_MAX * 4];
	long long	stats_limit;
	long long	stats_ttl;
	char		redis[SETTINGS_STR_MAX];
	char		redis_prefix[SETTINGS_STR_MAX];
	long long	redis_timeout_ms;
	long long	sim_port;
	long long	call_timeout_ms;
	long long	connect_timeout_ms;
	long long	deadline_ms;
	long long	sync_pages;
	long long	fanout_limit;
	long long	max_calls;
	long long	max_body;
	long long	upstream_conns;
	long long	max_fanouts;
	long long	max_inflight;
	long long	max_connections;
	long long	retries;
	long long	retry_backoff_ms;
	long long	retry_budget;
	long long	hedge;
	long long	hedge_delay_ms;
	long long	hedge_budget;
	long long	breaker_failures;
	long long	breaker_ratio;
	long long	breaker_min_calls;
	long long	breaker_cooldown_ms;
	long long	stale_if_error;
	long long	stale_while_revalidate;
	char		tail_off[SETTINGS_STR_MAX];
	char		tail_rules[SETTINGS_STR_MAX];
	long long	seccomp_trace;
	char		tls_cert[SETTINGS_STR_MAX];
	char		tls_key[SETTINGS_STR_MAX];
	long long	http_port;
	long long	admin_port;
	char		admin_bind[SETTINGS_STR_MAX];
	char		runas[SETTINGS_STR_MAX];
	char		root[SETTINGS_STR_MAX];
	char		accesslog[SETTINGS_STR_MAX];
	long long	log_format;
	char		ca_file[SETTINGS_STR_MAX];
	char		trusted_proxies[SETTINGS_STR_MAX];
	char		csp_img_src[SETTINGS_STR_MAX];
	long long	error_detail;
	char		status_from[SETTINGS_STR_MAX];
	char		pidfile[SETTINGS_STR_MAX];
	int		sim_embedded;

	/* Kore's own flags, passed through. */
	int		foreground;
	int		skip_chroot;
	int		skip_runas;
	int		quiet;
};

/* The size of a setting's field, e.g. a buffer for its value. */
#define SETTINGS_SIZE(f)	sizeof(((struct settings *)0)->f)

extern struct settings	settings;

/* The upstreams by name (--tail-off), as bits of settings_upstreams(). */
#define SETTINGS_UP_DELAY	0
#define SETTINGS_UP_XKCD	1
#define SETTINGS_UP_ANALYTICS	2
#define SETTINGS_UP_PARTNER	3
#define SETTINGS_UPS		4

int	settings_upstreams(const char *, unsigned int *, char *, size_t);

/*
 * --tail-rules: per upstream (SETTINGS_UP_*), the values it sets of
 * these tail-tolerance settings, by SETTINGS_RULE_*; -1 where it sets
 * none (the global setting applies).
 */
#define SETTINGS_RULE_RETRIES		0
#define SETTINGS_RULE_RETRY_BUDGET	1
#define SETTINGS_RULE_HEDGE		2
#define SETTINGS_RULE_HEDGE_DELAY	3
#define SETTINGS_RULE_HEDGE_BUDGET	4
#define SETTINGS_RULES			5

struct settings_rule {
	long long	v[SETTINGS_RULES];
};

int	settings_tail_rules(const char *, struct settings_rule *, char *,
	    size_t);
int	settings_load(struct settings *, int, char **, char **,
	    char *, size_t);
void	settings_usage(FILE *, const char *);
int	settings_parse_number(const char *, long long, long long,
	    long long *);

#endif
