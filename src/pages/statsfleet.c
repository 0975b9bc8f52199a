/*
 * The partner's Retry-After block and concurrency limit across the fleet
 * (--redis).
 *
 * A 429 seen by any worker of any instance is written to the store as a
 * key that expires when the block ends (SET PX, Redis's clock).  Every
 * worker asks for its time left (PTTL) every BLOCK_POLL_MS and raises its
 * own block to it, so within that time no worker of the fleet calls the
 * partner before the Retry-After has passed.  Reading it is never on a
 * page's path: a page looks at the worker's own block only.  With the
 * store down each worker has only the blocks it saw itself.
 *
 * The limit (--stats-limit partner calls in flight, fleet-wide) is a
 * semaphore of leases: a sorted set of lease tokens scored by their
 * expiry in Redis's own clock.  Before a partner call starts (the
 * engine's may_start()), one script drops expired leases and adds ours if
 * fewer than the limit are left; if not, the call is held and the request
 * tries again every LEASE_RETRY_MS.  A lease is released when its call
 * ends (or its request goes), renewed every LEASE_RENEW_MS meanwhile, and
 * one whose holder died expires after LEASE_MS.  With the store down (or
 * failing) a request's calls go without leases: the per-request limit
 * alone, as on a single instance.
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include "settings.h"
#include "stats.h"
#include "store.h"

#define BLOCK_POLL_MS		100
#define LEASE_MS		2000
#define LEASE_RENEW_MS		500
#define LEASE_RETRY_MS		20
#define LEASE_TOKEN_MAX		48
#define LEASE_RENEW_BATCH	64

struct lease {
	struct stats_req	*x;	/* NULL once its page is gone */
	u_int64_t		id;	/* the page's lease_id */
	size_t			call;
	TAILQ_ENTRY(lease)	list;
};

/* Expired leases out; ours in if there is room.  Redis's clock. */
static const char	script_acquire[] =
    "local t = redis.call('TIME') "
    "local now = t[1] * 1000 + math.floor(t[2] / 1000) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then "
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0";

static const char	script_renew[] =
    "local t = redis.call('TIME') "
    "local exp = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[1]) "
    "for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', exp, ARGV[i]) "
    "end redis.call('PEXPIRE', KEYS[1], ARGV[1]) return 1";

static void	lease_acquire(struct stats_req *, size_t);
static void	lease_answer(void *, const struct store_reply *);
static void	lease_release(struct stats_req *, size_t);
static void	lease_tick(void *, u_int64_t);
static void	lease_renew(void);
static void	lease_token(char *, size_t, u_int64_t, size_t);
static void	lease_drop(struct lease *);
static void	fleet_block_poll(void *, u_int64_t);
static void	fleet_block_read(void *, const struct store_reply *);
static int	fleet_block_key(char *, size_t);

static int		polling = 0;
static struct store_op	*reading = NULL;
static u_int64_t	lease_ids = 0;
static u_int64_t	renewed = 0;
static TAILQ_HEAD(, lease)	held = TAILQ_HEAD_INITIALIZER(held);
static TAILQ_HEAD(, stats_req)	retry = TAILQ_HEAD_INITIALIZER(retry);

/* Each worker, at start (--redis only). */
void
stats_fleet_start(void)
{
	if (polling || !store_enabled())
		return;

	polling = 1;
	(void)kore_timer_add(fleet_block_poll, BLOCK_POLL_MS, NULL, 0);
	(void)kore_timer_add(lease_tick, LEASE_RETRY_MS, NULL, 0);
}

/* The engine's may_start(): a partner call goes once it has a lease. */
int
stats_fleet_may_start(struct fanout *fo, size_t call)
{
	struct stats_req	*x = fanout_udata(fo);

	if ((long)call == x->analytics_call || call > PRODUCTS_MAX ||
	    x->leased[call] || x->lease_local || !store_up() ||
	    fanout_deadline_passed(fo))
		return (1);

	if (x->lease_op == NULL && !x->lease_retry)
		lease_acquire(x, call);

	return (x->lease_local);
}

void
stats_fleet_call_done(struct stats_req *x, size_t call)
{
	if (call <= PRODUCTS_MAX && x->leased[call])
		lease_release(x, call);
}

void
stats_fleet_cleanup(struct stats_req *x)
{
	size_t		i;

	store_cancel(x->lease_op);
	x->lease_op = NULL;
	if (x->lease_retry) {
		TAILQ_REMOVE(&retry, x, lease_list);
		x->lease_retry = 0;
	}
	for (i = 0; i <= PRODUCTS_MAX; i++) {
		if (x->leased[i])
			lease_release(x, i);
	}
}

static void
lease_acquire(struct stats_req *x, size_t call)
{
	const char	*argv[7];
	char		key[STORE_KEY_MAX], limit[24], ms[24];
	char		token[LEASE_TOKEN_MAX];

	if (x->lease_id == 0)
		x->lease_id = ++lease_ids;
	if (!store_key(key, sizeof(key), "partner", "leases")) {
		x->lease_local = 1;
		return;
	}
	lease_token(token, sizeof(token), x->lease_id, call);
	(void)snprintf(limit, sizeof(limit), "%lld", settings.stats_limit);
	(void)snprintf(ms, sizeof(ms), "%d", LEASE_MS);

	argv[0] = "EVAL";
	argv[1] = script_acquire;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = limit;
	argv[5] = ms;
	argv[6] = token;

	x->lease_call = call;
	x->lease_op = store_cmd_text(lease_answer, x, 7, argv);
	if (x->lease_op == NULL)
		x->lease_local = 1;
}

/* Got one, none free (try again soon), or no store: calls go anyway. */
static void
lease_answer(void *arg, const struct store_reply *r)
{
	struct stats_req	*x = arg;
	struct lease		*l;

	x->lease_op = NULL;
	if (r->status == STORE_OK && r->str == NULL && r->integer == 1) {
		x->leased[x->lease_call] = 1;
		l = kore_calloc(1, sizeof(*l));
		l->x = x;
		l->id = x->lease_id;
		l->call = x->lease_call;
		TAILQ_INSERT_TAIL(&held, l, list);
	} else if (r->status == STORE_OK && r->str == NULL) {
		TAILQ_INSERT_TAIL(&retry, x, lease_list);
		x->lease_retry = 1;
		return;
	} else {
		x->lease_local = 1;
	}

	fanout_wake(x->fo);
}

static void
lease_release(struct stats_req *x, size_t call)
{
	struct lease	*l;

	x->leased[call] = 0;
	TAILQ_FOREACH(l, &held, list) {
		if (l->x == x && l->call == call)
			break;
	}
	if (l != NULL)
		lease_drop(l);
}

/*
 * The page goes away while a leased partner call runs on (detached): the
 * lease stays held, and renewed, until the call ends, so the fleet never
 * has more calls in flight than leases.
 */
void *
stats_fleet_detached(void *arg, size_t call)
{
	struct stats_req	*x = arg;
	struct lease		*l;

	if (call > PRODUCTS_MAX || !x->leased[call])
		return (NULL);

	TAILQ_FOREACH(l, &held, list) {
		if (l->x == x && l->call == call)
			break;
	}
	if (l == NULL)
		return (NULL);

	x->leased[call] = 0;
	l->x = NULL;
	return (l);
}

/* A detached call with a lease (stats_fleet_detached()) ended. */
void
stats_fleet_detached_end(void *arg)
{
	lease_drop(arg);
}

/* Give a lease back: out of the held list and out of Redis. */
static void
lease_drop(struct lease *l)
{
	const char	*argv[3];
	char		key[STORE_KEY_MAX], token[LEASE_TOKEN_MAX];

	TAILQ_REMOVE(&held, l, list);
	lease_token(token, sizeof(token), l->id, l->call);
	kore_free(l);

	if (!store_key(key, sizeof(key), "partner", "leases"))
		return;
	argv[0] = "ZREM";
	argv[1] = key;
	argv[2] = token;
	(void)store_cmd_text(NULL, NULL, 3, argv);
}

/* Wake the requests waiting for a lease; renew the leases held. */
static void
lease_tick(void *arg, u_int64_t now)
{
	struct stats_req	*x;

	while ((x = TAILQ_FIRST(&retry)) != NULL) {
		TAILQ_REMOVE(&retry, x, lease_list);
		x->lease_retry = 0;
		fanout_wake(x->fo);
	}

	if (!TAILQ_EMPTY(&held) && now - renewed >= LEASE_RENEW_MS) {
		renewed = now;
		lease_renew();
	}
}

static void
lease_renew(void)
{
	struct lease	*l;
	const char	*argv[5 + LEASE_RENEW_BATCH];
	char		key[STORE_KEY_MAX], ms[24];
	char		tokens[LEASE_RENEW_BATCH][LEASE_TOKEN_MAX];
	int		n;

	if (!store_key(key, sizeof(key), "partner", "leases"))
		return;
	(void)snprintf(ms, sizeof(ms), "%d", LEASE_MS);

	argv[0] = "EVAL";
	argv[1] = script_renew;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = ms;

	l = TAILQ_FIRST(&held);
	while (l != NULL) {
		for (n = 0; l != NULL && n < LEASE_RENEW_BATCH; n++) {
			lease_token(tokens[n], sizeof(tokens[n]), l->id,
			    l->call);
			argv[5 + n] = tokens[n];
			l = TAILQ_NEXT(l, list);
		}
		(void)store_cmd_text(NULL, NULL, 5 + n, argv);
	}
}

static void
lease_token(char *buf, size_t len, u_int64_t id, size_t call)
{
	(void)snprintf(buf, len, "%d-%llu-%zu", (int)getpid(),
	    (unsigned long long)id, call);
}

/* A 429 here: the fleet stops calling the partner for secs too. */
void
stats_fleet_block(long secs)
{
	char		key[STORE_KEY_MAX];

	if (fleet_block_key(key, sizeof(key)))
		store_flag(key, secs * 1000);
}

static void
fleet_block_poll(void *arg, u_int64_t now)
{
	const char	*argv[2];
	char		key[STORE_KEY_MAX];

	if (reading != NULL || !fleet_block_key(key, sizeof(key)))
		return;

	argv[0] = "PTTL";
	argv[1] = key;
	reading = store_cmd_text(fleet_block_read, NULL, 2, argv);
}

/* The block's time left in ms (-2: none). */
static void
fleet_block_read(void *arg, const struct store_reply *r)
{
	reading = NULL;
	if (r->status == STORE_OK && r->str == NULL && r->integer > 0 &&
	    r->integer <= (long long)RETRY_AFTER_MAX * 1000)
		stats_block(kore_time_ms() + (u_int64_t)r->integer);
}

static int
fleet_block_key(char *buf, size_t len)
{
	return (store_key(buf, len, "partner", "blocked-until"));
}
