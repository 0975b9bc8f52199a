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
 */

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fanout.h"
#include "share.h"

struct share_entry {
	struct share_table		*table;
	char				*key;
	void				*result;
	u_int64_t			fresh_until;
	void				*good;		/* last kept (ttl > 0) */
	u_int64_t			good_stale_at;
	u_int64_t			generation;
	struct share_ticket		*leader;
	TAILQ_HEAD(, share_ticket)	waiters;
	TAILQ_ENTRY(share_entry)	list;
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
	} else if (e->leader != NULL) {
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

	if (e->leader == NULL) {
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
