/*
 * Admission (see fanout.c's opening comment): the worker's caps on
 * fan-outs in progress and upstream calls in flight, the slots each
 * fan-out reserves, and giving memory and idle connections back once the
 * worker has had no fan-out for a while.
 */

#include <sys/types.h>
#include <sys/param.h>

#include <malloc.h>

#include <kore/kore.h>

#include "engine.h"
#include "metrics.h"

/* Descriptors left for listeners, logs, pipes and resolver sockets. */
#define FD_RESERVE		64
#define TRIM_CHECK_MS		500
#define TRIM_IDLE_MS		1000

static void	admit_trim(void *, u_int64_t);
static void	admit_idle_check(void);

static u_int64_t		idle_since = 0;
static int			trim_pending = 0;
static int			drop_pending = 0;

/*
 * The worker's caps on fan-outs in progress and calls in flight; 0 derives
 * one from the worker's file limit F (Kore sets it before this runs):
 *
 *   U = F - client connections - FD_RESERVE   (left for upstream sockets)
 *   idle = min(upstream-conns, U / 2)         (pooled idle connections)
 *   max_inflight = U - idle                   (at least 1)
 *   max_fanouts = max_inflight / 2            (at least 1)
 *
 * libcurl keeps at most its cache limit of connections per pool beyond
 * those in use, so the idle cache is clamped to what the file limit leaves
 * once the in-flight cap is taken: the sockets of a worker then stay below
 * F even with every client connected and every slot taken.  The fan-out
 * cap bounds what the in-flight cap does not, a fan-out's queued calls and
 * the bodies it holds until it answers; at the pages' default of two calls
 * the two caps meet.  Called once per worker, after fanout_configure().
 */
void
fanout_set_caps(long long fanouts, long long inflight)
{
	u_int64_t	f, c, u, idle;
	long		conns;

	/* What Kore set; the sandbox has no getrlimit(). */
	f = worker_rlimit_nofiles;
	c = worker_max_connections;
	u = f > c + FD_RESERVE ? f - c - FD_RESERVE : 0;
	conns = conns_idle_max();
	idle = MIN((u_int64_t)(conns > 0 ? conns : 0), u / 2);

	engine_stats.file_limit = f;
	engine_stats.max_inflight = inflight > 0 ? (u_int64_t)inflight :
	    MAX(u - idle, 1);
	engine_stats.max_fanouts = fanouts > 0 ? (u_int64_t)fanouts :
	    MAX(engine_stats.max_inflight / 2, 1);

	idle = u > engine_stats.max_inflight ?
	    u - engine_stats.max_inflight : 1;
	if ((u_int64_t)conns > idle)
		conns_configure((long)idle);

	(void)kore_timer_add(admit_trim, TRIM_CHECK_MS, NULL, 0);
}

/*
 * A fan-out with calls to start and no slots yet: reserve them, or say no.
 * Nothing to start is no admission at all (the page answers at once).
 */
int
admit_fanout(struct fanout *fo, size_t want)
{
	if (want == 0)
		return (1);

	want = MIN(want, fo->limits.concurrency);
	want = MIN(want, engine_stats.max_inflight);

	if (engine_stats.fanouts_active >= engine_stats.max_fanouts ||
	    engine_stats.reserved + want > engine_stats.max_inflight) {
		engine_stats.refused++;
		metrics_refused(engine_stats.fanouts_active >=
		    engine_stats.max_fanouts ? METRICS_CAP_FANOUTS :
		    METRICS_CAP_INFLIGHT);
		return (0);
	}

	fo->reserved = want;
	engine_stats.reserved += want;
	engine_stats.fanouts_active++;
	metrics_fanouts_in_flight(engine_stats.fanouts_active);
	trim_pending = 1;
	drop_pending = 1;

	return (1);
}

/* A later round with more calls than slots: take what is free. */
void
admit_more(struct fanout *fo, size_t queued)
{
	size_t		target, want, room;

	target = MIN(fo->limits.concurrency, engine_stats.max_inflight);
	if (fo->reserved == 0 || fo->reserved >= target)
		return;

	want = MIN(target, fo->running + queued);
	if (want <= fo->reserved)
		return;

	room = engine_stats.max_inflight > engine_stats.reserved ?
	    engine_stats.max_inflight - engine_stats.reserved : 0;
	want = MIN(want - fo->reserved, room);
	fo->reserved += want;
	engine_stats.reserved += want;
}

/* A fan-out is gone; its detached calls keep their slots until they end. */
void
admit_release(struct fanout *fo, size_t detached)
{
	if (fo->reserved == 0)
		return;

	engine_stats.reserved -= fo->reserved - detached;
	engine_stats.fanouts_active--;
	metrics_fanouts_in_flight(engine_stats.fanouts_active);
	admit_idle_check();
}

/* A detached call's transfer ended: its slot is free. */
void
admit_slot_done(void)
{
	engine_stats.reserved--;
	admit_idle_check();
}

/* The last fan-out or detached call is gone: start the idle clock. */
static void
admit_idle_check(void)
{
	if (engine_stats.fanouts_active == 0 && engine_stats.reserved == 0)
		idle_since = kore_time_ms();
}

/*
 * glibc keeps freed memory in its heap: after a load, once the worker has
 * been without fan-outs for TRIM_IDLE_MS, hand it back to the system.
 * After UPSTREAM_IDLE_MAX seconds no pooled connection may be reused any
 * more (CURLOPT_MAXAGE_CONN): close them all and trim again, rather than
 * keep a burst's thousands of connections until the next call.
 */
static void
admit_trim(void *arg, u_int64_t now)
{
	if (engine_stats.fanouts_active > 0 || engine_stats.reserved > 0)
		return;

	if (drop_pending && now - idle_since >= UPSTREAM_IDLE_MAX * 1000) {
		conns_drop_all();
		drop_pending = 0;
		trim_pending = 1;
	}

	if (!trim_pending || now - idle_since < TRIM_IDLE_MS)
		return;

	(void)malloc_trim(0);
	trim_pending = 0;
	engine_stats.trims++;
}

