/*
 * Per-origin state for tail tolerance (README "Tail tolerance"): one
 * record per upstream origin (scheme://host:port) a worker calls, holding
 * its circuit breaker, the counts its retry and hedge budgets are taken
 * from, and its last 1024 answered attempts' latencies (the adaptive
 * hedge delay: their p95, redone every 32 new ones).
 *
 * Each Kore worker is its own process: the state is per worker.  With
 * --redis an open circuit is shared with every worker of every instance
 * (origin_fleet_*()): a worker that opens one sets a key for its origin
 * that expires with the cool-down, and each worker reads the keys of the
 * origins it knows every ORIGIN_FLEET_POLL_MS; a closed circuit whose key
 * is there opens until the key expires, and then probes on its own (a
 * probe per worker, not per fleet).  A probe that succeeds removes the
 * key.  Without the store, or while it is down, each worker decides
 * alone.
 *
 * The breaker:
 *
 *   CLOSED     calls go through; each attempt's outcome is recorded.  After
 *              breaker_failures consecutive failures, or a failure ratio of
 *              breaker_ratio % over at least breaker_min_calls outcomes in
 *              the window, it opens.
 *   OPEN       calls fail at once (circuit_open), no connection attempt,
 *              until breaker_cooldown ms have passed; then the next call
 *              is the probe and the breaker is HALF_OPEN.
 *   HALF_OPEN  the probe is in flight, every other call fails at once.
 *              The probe's success closes the breaker (counts reset), its
 *              failure opens it for another cool-down.  A probe that ends
 *              without an outcome (its page went away before it started
 *              again) lets the next call probe.
 *
 * Budgets: the window counts the calls a page asked for (first attempts,
 * not retries or hedges) in the last 5 to 10 seconds (two buckets of 5 s).
 * A retry is allowed while the window's retries stay under retry_budget %
 * of its calls (and always the first RETRY_BUDGET_MIN), a hedge while its
 * hedges stay within hedge_budget % of its calls.
 */

#include <sys/types.h>
#include <sys/param.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "engine.h"
#include "metrics.h"
#include "store.h"

#define ORIGINS_MAX		64
#define ORIGIN_KEY_MAX		256
#define WINDOW_MS		5000
#define LAT_SAMPLES		1024
#define LAT_MIN_SAMPLES		20
#define LAT_RECOMPUTE		32	/* new samples before p95 is redone */
#define RETRY_BUDGET_MIN	3
#define ORIGIN_FLEET_POLL_MS	250

#define BREAKER_CLOSED		0
#define BREAKER_OPEN		1
#define BREAKER_HALF_OPEN	2

struct origin_counts {
	u_int64_t	calls;		/* first attempts started */
	u_int64_t	outcomes;	/* attempts ended */
	u_int64_t	failures;	/* of those, failed */
	u_int64_t	retries;
	u_int64_t	hedges;
};

struct origin {
	char			key[ORIGIN_KEY_MAX];
	int			state;
	int			probing;
	u_int64_t		open_until;
	u_int64_t		consecutive;
	u_int64_t		win_start;
	struct origin_counts	cur;
	struct origin_counts	prev;
	double			lat[LAT_SAMPLES];
	size_t			lat_n;
	size_t			lat_next;
	size_t			lat_new;	/* since p95 was computed */
	long			p95;		/* ms, -1: not yet */
	/* Totals, for /_/stats. */
	u_int64_t		opened;
	u_int64_t		rejected;
	u_int64_t		retried;
	u_int64_t		hedged;
	/* --redis: a read of the fleet's key in progress. */
	struct store_op		*fleet_op;
};

static void	origin_key(const char *, char *, size_t);
static void	origin_tick(struct origin *, u_int64_t);
static void	origin_sum(const struct origin *, struct origin_counts *);
static void	origin_open(struct origin *, u_int64_t);
static int	lat_cmp(const void *, const void *);
static int	origin_fleet_key(const struct origin *, char *, size_t);
static void	origin_fleet_set(struct origin *, int);
static void	origin_fleet_poll(void *, u_int64_t);
static void	origin_fleet_read(void *, const struct store_reply *);
static const char	*breaker_name(int);

static struct fanout_tail	tail = {
	.all = {
		.retries = 2,
		.retry_budget_pct = 20,
		.hedge_mode = FANOUT_HEDGE_OFF,
		.hedge_delay_ms = 50,
		.hedge_budget_pct = 5,
	},
	.retry_backoff_ms = 50,
	.breaker_failures = 10,
	.breaker_ratio_pct = 50,
	.breaker_min_calls = 20,
	.breaker_cooldown_ms = 2000,
};
static struct origin		*origins[ORIGINS_MAX];
static size_t			norigins = 0;
static struct origin		overflow;

void
fanout_set_tail(const struct fanout_tail *t)
{
	tail = *t;
}

/*
 * The record of url's origin, made on first use.  Past ORIGINS_MAX
 * origins, the rest share one record (no worker of this app calls that
 * many).
 */
struct origin *
origin_get(const char *url)
{
	struct origin	*o;
	char		key[ORIGIN_KEY_MAX];
	size_t		i;

	origin_key(url, key, sizeof(key));
	for (i = 0; i < norigins; i++) {
		if (strcmp(origins[i]->key, key) == 0)
			return (origins[i]);
	}

	if (norigins == ORIGINS_MAX) {
		if (overflow.key[0] == '\0') {
			(void)kore_strlcpy(overflow.key, "(other)",
			    sizeof(overflow.key));
			overflow.p95 = -1;
		}
		return (&overflow);
	}

	if ((o = calloc(1, sizeof(*o))) == NULL)
		fatal("origin_get: calloc: %s", errno_s);
	(void)kore_strlcpy(o->key, key, sizeof(o->key));
	o->p95 = -1;
	origins[norigins++] = o;

	return (o);
}

/*
 * May a call to o start now?  ORIGIN_CALL, ORIGIN_PROBE (it is the
 * half-open probe: its outcome decides) or ORIGIN_REJECT (open).
 */
int
origin_admit(struct origin *o)
{
	u_int64_t	now;

	if (tail.breaker_failures == 0 && tail.breaker_ratio_pct == 0)
		return (ORIGIN_CALL);

	now = kore_time_ms();
	switch (o->state) {
	case BREAKER_OPEN:
		if (now < o->open_until)
			break;
		o->state = BREAKER_HALF_OPEN;
		o->probing = 1;
		return (ORIGIN_PROBE);
	case BREAKER_HALF_OPEN:
		if (o->probing)
			break;
		o->probing = 1;
		return (ORIGIN_PROBE);
	default:
		return (ORIGIN_CALL);
	}

	o->rejected++;
	engine_stats.circuit_rejected++;
	return (ORIGIN_REJECT);
}

/*
 * The retries and hedges of url's upstream: the rule of the longest base
 * it starts with (the embedded simulator's upstreams share one origin),
 * else the defaults.
 */
const struct fanout_tail_rule *
origin_rule(const char *url)
{
	const struct fanout_tail_rule	*rule;
	size_t				i, len, bestlen;

	rule = &tail.all;
	bestlen = 0;
	for (i = 0; i < tail.nbases; i++) {
		len = strlen(tail.base[i]);
		if (len == 0 || len <= bestlen ||
		    strncmp(url, tail.base[i], len) != 0 ||
		    (url[len] != '\0' && url[len] != '/' && url[len] != '?'))
			continue;
		bestlen = len;
		rule = &tail.rule[i];
	}

	return (rule);
}

/* A first attempt starts: it counts in the budgets' window. */
void
origin_call(struct origin *o)
{
	origin_tick(o, kore_time_ms());
	o->cur.calls++;
}

/* An attempt ended: failed or not, how long it took (ms), probe or not. */
void
origin_record(struct origin *o, int failed, double ms, int probe)
{
	struct origin_counts	sum;
	u_int64_t		now;

	now = kore_time_ms();
	origin_tick(o, now);
	o->cur.outcomes++;
	if (failed) {
		o->cur.failures++;
		o->consecutive++;
	} else {
		o->consecutive = 0;
		o->lat[o->lat_next] = ms;
		o->lat_next = (o->lat_next + 1) % LAT_SAMPLES;
		if (o->lat_n < LAT_SAMPLES)
			o->lat_n++;
		o->lat_new++;
	}

	if (probe) {
		o->probing = 0;
		if (failed) {
			origin_open(o, now);
		} else {
			o->state = BREAKER_CLOSED;
			metrics_circuit(o->key, 0);
			origin_fleet_set(o, 0);
			o->consecutive = 0;
			memset(&o->cur, 0, sizeof(o->cur));
			memset(&o->prev, 0, sizeof(o->prev));
		}
		return;
	}

	/* Calls started before it opened say nothing new. */
	if (o->state != BREAKER_CLOSED || !failed)
		return;

	origin_sum(o, &sum);
	if ((tail.breaker_failures > 0 &&
	    o->consecutive >= (u_int64_t)tail.breaker_failures) ||
	    (tail.breaker_ratio_pct > 0 &&
	    sum.outcomes >= (u_int64_t)tail.breaker_min_calls &&
	    sum.failures * 100 >= sum.outcomes *
	    (u_int64_t)tail.breaker_ratio_pct))
		origin_open(o, now);
}

/* A probe ended without an outcome: the next call probes instead. */
void
origin_probe_cancel(struct origin *o)
{
	o->probing = 0;
}

/* Take a retry from o's budget (pct of its calls): 1 if there was one. */
int
origin_retry_take(struct origin *o, int pct)
{
	struct origin_counts	sum;

	origin_tick(o, kore_time_ms());
	origin_sum(o, &sum);
	if (sum.retries >= RETRY_BUDGET_MIN &&
	    sum.retries * 100 >= sum.calls * (u_int64_t)pct)
		return (0);

	o->cur.retries++;
	o->retried++;
	return (1);
}

/* Take a hedge from o's budget (pct of its calls): 1 if there was one. */
int
origin_hedge_take(struct origin *o, int pct)
{
	struct origin_counts	sum;

	origin_tick(o, kore_time_ms());
	origin_sum(o, &sum);
	if ((sum.hedges + 1) * 100 >
	    sum.calls * (u_int64_t)pct)
		return (0);

	o->cur.hedges++;
	o->hedged++;
	return (1);
}

/*
 * How long a call to o waits for its answer before it is hedged, ms; -1:
 * never.  Adaptive: the 95th percentile of o's recent successful attempts
 * (the fixed delay until there are LAT_MIN_SAMPLES of them).
 */
long
origin_hedge_delay(struct origin *o, const struct fanout_tail_rule *r)
{
	static double	s[LAT_SAMPLES];
	size_t		k;

	if (r->hedge_mode == FANOUT_HEDGE_OFF || r->hedge_budget_pct == 0)
		return (-1);
	if (r->hedge_mode == FANOUT_HEDGE_FIXED ||
	    o->lat_n < LAT_MIN_SAMPLES)
		return (r->hedge_delay_ms);

	/* Sorting 1024 samples per call would cost more than the call. */
	if (o->p95 < 0 || o->lat_new >= LAT_RECOMPUTE) {
		memcpy(s, o->lat, o->lat_n * sizeof(s[0]));
		qsort(s, o->lat_n, sizeof(s[0]), lat_cmp);
		k = (o->lat_n * 95 + 99) / 100;
		o->p95 = (long)s[k > 0 ? k - 1 : 0] + 1;
		o->lat_new = 0;
	}

	return (o->p95);
}

/*
 * The retry's wait, ms: exponential (backoff x 2^(attempt - 1), at most
 * a second) with equal jitter (half fixed, half random).
 */
long
origin_backoff_ms(int attempt)
{
	long		b;
	int		i;

	b = tail.retry_backoff_ms;
	for (i = 1; i < attempt && b < 1000; i++)
		b *= 2;
	if (b > 1000)
		b = 1000;

	return (b / 2 + (long)arc4random_uniform((u_int32_t)(b / 2 + 1)));
}

/* Every origin's state, as JSON members of /_/stats: "origins": [...]. */
void
fanout_report_origins(struct kore_buf *buf)
{
	struct origin_counts	sum;
	struct origin		*o;
	size_t			i;

	kore_buf_appendf(buf, ",\"origins\":[");
	for (i = 0; i < norigins; i++) {
		o = origins[i];
		origin_tick(o, kore_time_ms());
		origin_sum(o, &sum);
		/* Keys are scheme://host:port: no quote or backslash. */
		kore_buf_appendf(buf, "%s{\"origin\":\"%s\",\"breaker\":\"%s\","
		    "\"consecutive_failures\":%llu,\"opened\":%llu,"
		    "\"rejected\":%llu,\"retried\":%llu,\"hedged\":%llu,"
		    "\"window_calls\":%llu,\"window_failures\":%llu,"
		    "\"hedge_delay_ms\":%ld}", i > 0 ? "," : "", o->key,
		    breaker_name(o->state),
		    (unsigned long long)o->consecutive,
		    (unsigned long long)o->opened,
		    (unsigned long long)o->rejected,
		    (unsigned long long)o->retried,
		    (unsigned long long)o->hedged,
		    (unsigned long long)sum.calls,
		    (unsigned long long)sum.failures,
		    origin_hedge_delay(o, &tail.all));
	}
	kore_buf_appendf(buf, "]");
}

/* scheme://host:port of url (lower case), without path or credentials. */
static void
origin_key(const char *url, char *key, size_t len)
{
	const char	*p, *end, *at;
	size_t		i, n;

	p = strstr(url, "://");
	n = p != NULL ? (size_t)(p - url) + 3 : 0;
	p = url + n;
	end = p + strcspn(p, "/?#");
	if ((at = memchr(p, '@', end - p)) != NULL)
		p = at + 1;

	(void)snprintf(key, len, "%.*s%.*s", (int)n, url, (int)(end - p), p);
	for (i = 0; key[i] != '\0'; i++) {
		if (key[i] == '"' || key[i] == '\\' ||
		    (unsigned char)key[i] < 0x20)
			key[i] = '_';
		else if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] += 'a' - 'A';
	}
}

/* Roll the window's buckets forward to now. */
static void
origin_tick(struct origin *o, u_int64_t now)
{
	if (now - o->win_start < WINDOW_MS)
		return;

	if (now - o->win_start < 2 * WINDOW_MS)
		o->prev = o->cur;
	else
		memset(&o->prev, 0, sizeof(o->prev));
	memset(&o->cur, 0, sizeof(o->cur));
	o->win_start = now;
}

static void
origin_sum(const struct origin *o, struct origin_counts *sum)
{
	sum->calls = o->cur.calls + o->prev.calls;
	sum->outcomes = o->cur.outcomes + o->prev.outcomes;
	sum->failures = o->cur.failures + o->prev.failures;
	sum->retries = o->cur.retries + o->prev.retries;
	sum->hedges = o->cur.hedges + o->prev.hedges;
}

static void
origin_open(struct origin *o, u_int64_t now)
{
	if (o->state != BREAKER_OPEN) {
		o->opened++;
		engine_stats.circuit_opened++;
	}
	o->state = BREAKER_OPEN;
	metrics_circuit(o->key, 1);
	o->open_until = now + (u_int64_t)tail.breaker_cooldown_ms;
	kore_log(LOG_NOTICE, "circuit open for %s: %llu consecutive "
	    "failures; next probe in %ld ms", o->key,
	    (unsigned long long)o->consecutive, tail.breaker_cooldown_ms);
	origin_fleet_set(o, 1);
}

/* With --redis: every worker reads the fleet's open circuits. */
void
fanout_fleet_start(void)
{
	if (store_enabled())
		(void)kore_timer_add(origin_fleet_poll, ORIGIN_FLEET_POLL_MS,
		    NULL, 0);
}

static int
origin_fleet_key(const struct origin *o, char *buf, size_t len)
{
	return (o != &overflow && store_key(buf, len, "circuit", o->key));
}

/* Open (for the cool-down) or close o's circuit for the fleet. */
static void
origin_fleet_set(struct origin *o, int open)
{
	char		key[STORE_KEY_MAX];

	if (store_enabled() && origin_fleet_key(o, key, sizeof(key)))
		store_flag(key, open ? tail.breaker_cooldown_ms : 0);
}

static void
origin_fleet_poll(void *arg, u_int64_t now)
{
	struct origin	*o;
	const char	*argv[2];
	size_t		i;
	char		key[STORE_KEY_MAX];

	if (!store_up())
		return;

	for (i = 0; i < norigins; i++) {
		o = origins[i];
		if (o->state != BREAKER_CLOSED || o->fleet_op != NULL ||
		    !origin_fleet_key(o, key, sizeof(key)))
			continue;
		argv[0] = "PTTL";
		argv[1] = key;
		o->fleet_op = store_cmd_text(origin_fleet_read, o, 2, argv);
	}
}

/* The fleet's key for an origin: its time left in ms (-2: none). */
static void
origin_fleet_read(void *arg, const struct store_reply *r)
{
	struct origin	*o = arg;
	long long	left;

	o->fleet_op = NULL;
	if (r->status != STORE_OK || r->str != NULL || r->integer <= 0 ||
	    o->state != BREAKER_CLOSED)
		return;

	left = MIN(r->integer, (long long)tail.breaker_cooldown_ms);
	o->state = BREAKER_OPEN;
	metrics_circuit(o->key, 1);
	o->open_until = kore_time_ms() + (u_int64_t)left;
	o->opened++;
	engine_stats.circuit_opened++;
	kore_log(LOG_NOTICE, "circuit open for %s: opened by another "
	    "worker or instance; next probe in %lld ms", o->key, left);
}

static int
lat_cmp(const void *a, const void *b)
{
	double		x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static const char *
breaker_name(int state)
{
	switch (state) {
	case BREAKER_OPEN:
		return ("open");
	case BREAKER_HALF_OPEN:
		return ("half_open");
	}

	return ("closed");
}
