/*
 * Request sharing (share.h): an entry per key holds the last result, how
 * long it stays fresh, the request fetching it now (the leader) and the
 * requests parked until it has (the followers).
 *
 * Each published result bumps the entry's generation: a follower answers
 * once the generation it saw on joining has moved on, whether or not the
 * new result is fresh (a partial result is shared once, then fetched
 * again).  A leader that goes away before publishing wakes the followers
 * and the first to run takes its place.  The table keeps at most max
 * entries: an idle one (no leader, no follower) makes room, the least
 * recently made first.
 *
 * Across the fleet (a table with a name, the store up), an entry also has
 * a fleet state:
 *
 *   NONE    nothing asked of the store;
 *   ASK     the store was asked, in one script: the stored result, or the
 *           fetch's lock (SET NX PX, SHARE_LOCK_MS), or "someone else holds
 *           it"; every local request follows meanwhile;
 *   WAIT    another instance holds the lock: ask again when the holder
 *           says it is done (its publish script PUBLISHes the result's
 *           key on the "share" channel, store_subscribe()), and in any case
 *           every SHARE_POLL_MS (a lost message, a holder that died: it
 *           stops renewing the lock, which expires, and a waiter gets it);
 *   LOCKED  this worker holds the lock (renewed every SHARE_RENEW_MS while
 *           it fetches): the local leader fetches, and its publish stores
 *           the result (complete ones: those with a time-to-live) and
 *           releases the lock in one script.
 *
 * Whenever the store fails or is down, the entry goes back to NONE and a
 * local request leads, as a single instance would.  Stored values are the
 * publisher's wall-clock time, ':', and the table's encoding.
 */

#include <sys/param.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fanout.h"
#include "share.h"
#include "store.h"

#define FLEET_NONE		0
#define FLEET_ASK		1
#define FLEET_WAIT		2
#define FLEET_LOCKED		3

#define SHARE_LOCK_MS		2000
#define SHARE_RENEW_MS		500
#define SHARE_POLL_MS		50
#define SHARE_TABLES_MAX	8
#define SHARE_TOKEN_MAX		48
#define SHARE_CHANNEL		"share"

/* The stored result with its time left, or the lock, or 0: held. */
static const char	script_ask[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v then return {v, redis.call('PTTL', KEYS[1])} end "
    "if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) "
    "then return 1 end return 0";

/* Store the result (when there is one), release our lock, say so. */
static const char	script_publish[] =
    "if ARGV[2] ~= '' then "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end "
    "if redis.call('GET', KEYS[2]) == ARGV[1] then "
    "redis.call('DEL', KEYS[2]) end "
    "redis.call('PUBLISH', ARGV[4], KEYS[1]) return 1";

static const char	script_renew[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

struct share_entry {
	struct share_table		*table;
	char				*key;
	void				*result;
	u_int64_t			fresh_until;
	void				*good;	/* last kept (ttl > 0) */
	u_int64_t			good_stale_at;
	u_int64_t			generation;
	struct share_ticket		*leader;
	TAILQ_HEAD(, share_ticket)	waiters;
	TAILQ_ENTRY(share_entry)	list;
	int				fleet;
	struct store_op			*op;
	u_int64_t			next_ask;
	u_int64_t			renewed;
	char				token[SHARE_TOKEN_MAX];
};

static struct share_entry	*entry_find(struct share_table *,
				    const char *);
static struct share_entry	*entry_get(struct share_table *,
				    const char *);
static void			entry_store(struct share_entry *, void *,
				    u_int64_t);
static void			entry_free(struct share_table *,
				    struct share_entry *);
static void			entry_wake(struct share_entry *);
static void			ticket_unwait(struct share_ticket *);
static int			fleet_ask(struct share_entry *);
static void			fleet_asked(void *,
				    const struct store_reply *);
static void			fleet_found(struct share_entry *,
				    const struct store_reply *);
static void			fleet_release(struct share_entry *,
				    const void *, u_int64_t);
static void			fleet_renew(struct share_entry *);
static int			fleet_keys(struct share_entry *, char *,
				    char *);
static void			fleet_tick(void *, u_int64_t);
static int			fleet_busy(const struct share_entry *);
static void			fleet_notified(const char *, size_t);

static struct share_table	*fleet_tables[SHARE_TABLES_MAX];
static size_t			fleet_ntables = 0;
static u_int64_t		fleet_tokens = 0;

int
share_join(struct share_table *t, const char *key, struct fanout *fo,
    struct share_ticket *tk)
{
	struct share_entry	*e;

	e = entry_get(t, key);
	tk->entry = e;
	tk->fo = fo;

	if (e->result != NULL && kore_time_ms() < e->fresh_until) {
		tk->role = SHARE_FRESH;
	} else if (e->leader != NULL || fleet_busy(e) ||
	    (e->fleet == FLEET_NONE && fleet_ask(e))) {
		tk->role = SHARE_FOLLOWER;
		tk->seen = e->generation;
		TAILQ_INSERT_TAIL(&e->waiters, tk, list);
		tk->waiting = 1;
	} else {
		tk->role = SHARE_LEADER;
		e->leader = tk;
	}

	return (tk->role);
}

/* A follower's next(): what became of the fetch it waits for. */
int
share_wait(struct share_ticket *tk)
{
	struct share_entry	*e = tk->entry;

	if (e->generation != tk->seen) {
		ticket_unwait(tk);
		tk->role = SHARE_FRESH;
		return (SHARE_READY);
	}

	if (e->leader == NULL && !fleet_busy(e)) {
		ticket_unwait(tk);
		tk->role = SHARE_LEADER;
		e->leader = tk;
		return (SHARE_LEADER);
	}

	if (fanout_deadline_passed(tk->fo)) {
		ticket_unwait(tk);
		return (SHARE_TIMEOUT);
	}

	fanout_park(tk->fo);
	return (SHARE_WAITING);
}

/* The leader's result: kept for ttl_ms (0: shared once), followers woken. */
void
share_publish(struct share_ticket *tk, void *result, u_int64_t ttl_ms)
{
	struct share_entry	*e = tk->entry;

	if (e->leader == tk)
		e->leader = NULL;
	if (e->fleet == FLEET_LOCKED)
		fleet_release(e, result, ttl_ms);
	entry_store(e, result, ttl_ms);
	tk->role = SHARE_FRESH;
}

/* stale-if-error: share the last kept result again (no ttl), woken all. */
void
share_publish_stale(struct share_ticket *tk)
{
	struct share_entry	*e = tk->entry;

	if (e->good == NULL)
		return;
	if (e->leader == tk)
		e->leader = NULL;
	/* The fleet is not told: the stale result is this worker's. */
	if (e->fleet == FLEET_LOCKED)
		fleet_release(e, NULL, 0);
	entry_store(e, e->good, 0);
	tk->role = SHARE_FRESH;
}

void
share_leave(struct share_ticket *tk)
{
	struct share_entry	*e = tk->entry;

	if (e == NULL)
		return;

	ticket_unwait(tk);

	/* A leader gone before it published: a follower takes over. */
	if (e->leader == tk) {
		e->leader = NULL;
		if (e->fleet == FLEET_LOCKED && TAILQ_EMPTY(&e->waiters))
			fleet_release(e, NULL, 0);
		entry_wake(e);
	}

	tk->entry = NULL;
}

/*
 * RFC 5861: the last result published with a time-to-live (a complete
 * one), if it went stale less than max_ms ago (or is still fresh); NULL
 * otherwise.  It stays valid until the entry's next publish.
 */
const void *
share_stale(const struct share_ticket *tk, u_int64_t max_ms)
{
	struct share_entry	*e = tk->entry;

	if (e == NULL || e->good == NULL ||
	    kore_time_ms() >= e->good_stale_at + max_ms)
		return (NULL);

	return (e->good);
}

/* The entry's last result, fresh or not; NULL if there never was one. */
const void *
share_result(const struct share_ticket *tk)
{
	return (tk->entry != NULL ? tk->entry->result : NULL);
}

const void *
share_fresh(struct share_table *t, const char *key)
{
	struct share_entry	*e;

	if ((e = entry_find(t, key)) == NULL || e->result == NULL ||
	    kore_time_ms() >= e->fresh_until)
		return (NULL);

	return (e->result);
}

/* Store a result fetched without a ticket (a sync page). */
void
share_put(struct share_table *t, const char *key, void *result,
    u_int64_t ttl_ms)
{
	entry_store(entry_get(t, key), result, ttl_ms);
}

/*
 * SIGHUP: forget every result (entries with a leader or followers stay,
 * without their result).
 */
void
share_reset(struct share_table *t)
{
	struct share_entry	*e, *next;

	for (e = TAILQ_FIRST(&t->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, list);
		if (e->good != NULL && e->good != e->result)
			t->free_result(e->good);
		if (e->result != NULL)
			t->free_result(e->result);
		e->result = NULL;
		e->good = NULL;
		e->fresh_until = 0;
		if (e->leader == NULL && TAILQ_EMPTY(&e->waiters))
			entry_free(t, e);
	}
}

static struct share_entry *
entry_find(struct share_table *t, const char *key)
{
	struct share_entry	*e;

	TAILQ_FOREACH(e, &t->entries, list) {
		if (strcmp(e->key, key) == 0)
			return (e);
	}

	return (NULL);
}

static struct share_entry *
entry_get(struct share_table *t, const char *key)
{
	struct share_entry	*e;

	if ((e = entry_find(t, key)) != NULL)
		return (e);

	if (t->n >= t->max) {
		TAILQ_FOREACH(e, &t->entries, list) {
			if (e->leader == NULL && TAILQ_EMPTY(&e->waiters))
				break;
		}
		if (e != NULL)
			entry_free(t, e);
	}

	e = kore_calloc(1, sizeof(*e));
	e->table = t;
	e->key = kore_strdup(key);
	TAILQ_INIT(&e->waiters);
	TAILQ_INSERT_TAIL(&t->entries, e, list);
	t->n++;

	return (e);
}

/* The last result kept with a ttl stays as the stale one (share_stale()). */
static void
entry_store(struct share_entry *e, void *result, u_int64_t ttl_ms)
{
	void		*old, *oldgood;

	old = e->result;
	oldgood = e->good;
	if (ttl_ms > 0) {
		e->good = result;
		e->good_stale_at = kore_time_ms() + ttl_ms;
	}
	if (old != NULL && old != result && old != e->good)
		e->table->free_result(old);
	if (oldgood != NULL && oldgood != old && oldgood != result &&
	    oldgood != e->good)
		e->table->free_result(oldgood);
	e->result = result;
	e->generation++;
	e->fresh_until = ttl_ms > 0 ? kore_time_ms() + ttl_ms : 0;
	entry_wake(e);
}

static void
entry_free(struct share_table *t, struct share_entry *e)
{
	TAILQ_REMOVE(&t->entries, e, list);
	store_cancel(e->op);
	if (e->fleet == FLEET_LOCKED)
		fleet_release(e, NULL, 0);
	if (e->good != NULL && e->good != e->result)
		t->free_result(e->good);
	if (e->result != NULL)
		t->free_result(e->result);
	kore_free(e->key);
	kore_free(e);
	t->n--;
}

static void
entry_wake(struct share_entry *e)
{
	struct share_ticket	*tk;

	TAILQ_FOREACH(tk, &e->waiters, list)
		fanout_wake(tk->fo);
}

static void
ticket_unwait(struct share_ticket *tk)
{
	if (tk->waiting) {
		TAILQ_REMOVE(&tk->entry->waiters, tk, list);
		tk->waiting = 0;
	}
}

/* Each worker, with --redis: the polling and the "share" channel. */
void
share_fleet_start(void)
{
	if (!store_enabled())
		return;

	(void)kore_timer_add(fleet_tick, SHARE_POLL_MS, NULL, 0);
	store_subscribe(SHARE_CHANNEL, fleet_notified);
}

/* Is the fleet deciding who fetches (then nobody here may lead)? */
static int
fleet_busy(const struct share_entry *e)
{
	return (e->fleet == FLEET_ASK || e->fleet == FLEET_WAIT);
}

/* Ask the store for the result or the lock; 0: not shared, lead here. */
static int
fleet_ask(struct share_entry *e)
{
	struct share_table	*t = e->table;
	const char		*argv[7];
	char			rkey[STORE_KEY_MAX], lkey[STORE_KEY_MAX];
	char			ms[16];

	if (t->name == NULL || !store_up() || !fleet_keys(e, rkey, lkey))
		return (0);

	if (!t->registered && fleet_ntables < SHARE_TABLES_MAX) {
		fleet_tables[fleet_ntables++] = t;
		t->registered = 1;
	}
	if (!t->registered)
		return (0);

	(void)snprintf(e->token, sizeof(e->token), "%d-%llu-%08x",
	    (int)getpid(), (unsigned long long)++fleet_tokens, arc4random());
	(void)snprintf(ms, sizeof(ms), "%d", SHARE_LOCK_MS);

	argv[0] = "EVAL";
	argv[1] = script_ask;
	argv[2] = "2";
	argv[3] = rkey;
	argv[4] = lkey;
	argv[5] = e->token;
	argv[6] = ms;

	if ((e->op = store_cmd_text(fleet_asked, e, 7, argv)) == NULL)
		return (0);

	e->fleet = FLEET_ASK;
	return (1);
}

static void
fleet_asked(void *arg, const struct store_reply *r)
{
	struct share_entry	*e = arg;

	e->op = NULL;
	e->fleet = FLEET_NONE;

	if (r->status == STORE_OK && r->n == 2) {
		fleet_found(e, r);
		return;
	}

	if (r->status == STORE_OK && r->str == NULL && r->integer == 1) {
		e->fleet = FLEET_LOCKED;
		e->renewed = kore_time_ms();
		if (e->leader == NULL && TAILQ_EMPTY(&e->waiters))
			fleet_release(e, NULL, 0);
	} else if (r->status == STORE_OK && r->str == NULL && r->n == 0 &&
	    r->integer == 0) {
		/* Held by another instance. */
		e->fleet = FLEET_WAIT;
		e->next_ask = kore_time_ms() + SHARE_POLL_MS;
		return;
	}

	/* Locked here, or the store failed: a local request leads. */
	entry_wake(e);
}

/* Another instance's result: "<wall ms>:<encoding>" and its time left. */
static void
fleet_found(struct share_entry *e, const struct store_reply *r)
{
	struct store_reply	v, ttl;
	const char		*colon;
	void			*result;
	u_int64_t		published, now, age;
	char			num[24];
	size_t			n;

	result = NULL;
	if (store_reply_elem(r, 0, &v) && store_reply_elem(r, 1, &ttl) &&
	    v.status == STORE_OK && v.str != NULL &&
	    (colon = memchr(v.str, ':', MIN(v.len, sizeof(num)))) != NULL) {
		n = (size_t)(colon - v.str);
		memcpy(num, v.str, n);
		num[n] = '\0';
		published = strtoull(num, NULL, 10);
		now = store_wall_ms();
		age = now > published ? now - published : 0;
		result = e->table->decode(colon + 1, v.len - n - 1, age);
		if (result != NULL) {
			entry_store(e, result, ttl.integer > 0 ?
			    (u_int64_t)ttl.integer : 1);
			return;
		}
	}

	/* Unusable: fetch here, without the fleet. */
	entry_wake(e);
}

/* Store a complete result (ttl_ms > 0) and release the fleet's lock. */
static void
fleet_release(struct share_entry *e, const void *result, u_int64_t ttl_ms)
{
	struct kore_buf		buf;
	const char		*argv[9];
	size_t			lens[9];
	char			rkey[STORE_KEY_MAX], lkey[STORE_KEY_MAX];
	char			chan[STORE_KEY_MAX], ms[24];

	e->fleet = FLEET_NONE;
	if (!fleet_keys(e, rkey, lkey) ||
	    !store_channel(chan, sizeof(chan), SHARE_CHANNEL))
		return;

	kore_buf_init(&buf, 1024);
	if (result != NULL && ttl_ms > 0) {
		kore_buf_appendf(&buf, "%llu:",
		    (unsigned long long)store_wall_ms());
		if (!e->table->encode(result, &buf) ||
		    buf.offset > STORE_VALUE_MAX)
			kore_buf_reset(&buf);
	}
	(void)snprintf(ms, sizeof(ms), "%llu", (unsigned long long)ttl_ms);

	argv[0] = "EVAL";
	argv[1] = script_publish;
	argv[2] = "2";
	argv[3] = rkey;
	argv[4] = lkey;
	argv[5] = e->token;
	argv[6] = (const char *)buf.data;
	argv[7] = ms;
	argv[8] = chan;
	lens[0] = 4;
	lens[1] = sizeof(script_publish) - 1;
	lens[2] = 1;
	lens[3] = strlen(rkey);
	lens[4] = strlen(lkey);
	lens[5] = strlen(e->token);
	lens[6] = buf.offset;
	lens[7] = strlen(ms);
	lens[8] = strlen(chan);

	(void)store_cmd(NULL, NULL, 9, argv, lens);
	kore_buf_cleanup(&buf);
}

/* Keep our lock while the fetch runs; a dead holder's expires. */
static void
fleet_renew(struct share_entry *e)
{
	const char		*argv[6];
	char			rkey[STORE_KEY_MAX], lkey[STORE_KEY_MAX];
	char			ms[16];

	if (!fleet_keys(e, rkey, lkey))
		return;

	(void)snprintf(ms, sizeof(ms), "%d", SHARE_LOCK_MS);
	argv[0] = "EVAL";
	argv[1] = script_renew;
	argv[2] = "1";
	argv[3] = lkey;
	argv[4] = e->token;
	argv[5] = ms;

	(void)store_cmd_text(NULL, NULL, 6, argv);
	e->renewed = kore_time_ms();
}

static int
fleet_keys(struct share_entry *e, char *rkey, char *lkey)
{
	char		kind[64];

	(void)snprintf(kind, sizeof(kind), "%s-lock", e->table->name);
	return (store_key(rkey, STORE_KEY_MAX, e->table->name, e->key) &&
	    store_key(lkey, STORE_KEY_MAX, kind, e->key));
}

/*
 * Every SHARE_POLL_MS: ask again where another instance holds the lock,
 * renew the locks held here, wake waiters whose deadline passed.
 */
static void
fleet_tick(void *arg, u_int64_t now)
{
	struct share_entry	*e;
	struct share_ticket	*tk;
	size_t			i;

	for (i = 0; i < fleet_ntables; i++) {
		TAILQ_FOREACH(e, &fleet_tables[i]->entries, list) {
			if (e->fleet == FLEET_LOCKED &&
			    now - e->renewed >= SHARE_RENEW_MS)
				fleet_renew(e);
			if (e->fleet != FLEET_WAIT && e->fleet != FLEET_ASK)
				continue;
			TAILQ_FOREACH(tk, &e->waiters, list) {
				if (fanout_deadline_passed(tk->fo))
					fanout_wake(tk->fo);
			}
			if (e->fleet != FLEET_WAIT || now < e->next_ask)
				continue;
			if (TAILQ_EMPTY(&e->waiters)) {
				e->fleet = FLEET_NONE;
			} else if (!fleet_ask(e)) {
				e->fleet = FLEET_NONE;
				entry_wake(e);
			}
		}
	}
}

/* Another instance is done with a key: whoever waits for it asks now. */
static void
fleet_notified(const char *msg, size_t len)
{
	struct share_entry	*e;
	size_t			i;
	char			rkey[STORE_KEY_MAX], lkey[STORE_KEY_MAX];

	for (i = 0; i < fleet_ntables; i++) {
		TAILQ_FOREACH(e, &fleet_tables[i]->entries, list) {
			if (e->fleet != FLEET_WAIT || !fleet_keys(e, rkey,
			    lkey) || strlen(rkey) != len ||
			    memcmp(rkey, msg, len) != 0)
				continue;
			if (TAILQ_EMPTY(&e->waiters)) {
				e->fleet = FLEET_NONE;
			} else if (!fleet_ask(e)) {
				e->fleet = FLEET_NONE;
				entry_wake(e);
			}
		}
	}
}
