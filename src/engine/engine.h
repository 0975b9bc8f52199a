/*
 * What the engine's own files share (fanout.c, conns.c, admit.c,
 * origin.c): not for
 * pages, which see fanout.h only.
 */

#ifndef __H_ENGINE_H
#define __H_ENGINE_H

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "fanout.h"

/* A call in no pool: the multi handle's own connection cache. */
#define POOL_NONE		-1

/* Seconds a pooled connection may sit idle and still be reused. */
#define UPSTREAM_IDLE_MAX	5L

struct fanout_call;

struct fanout {
	struct http_request		*req;
	const struct fanout_page	*page;
	struct fanout_limits		limits;
	int				async;
	struct fanout_call		**calls;
	size_t				ncalls;
	size_t				cap;
	size_t				next;
	size_t				running;
	size_t				reserved;
	int				rounds;
	int				parked;
	int				held;
	u_int64_t			start_us;
	u_int64_t			deadline_us;
	double				elapsed_ms;
	u_int32_t			cache_events[3];	/* metrics.c */
	void				*udata;
	struct kore_timer		*timer;	/* next hedge or retry */
	size_t				copies;		/* hedges sent */
	size_t				twins;		/* hedges running */
	u_int64_t			timer_at_us;
	struct kore_timer		*kick;	/* spawned: its next turn */
};

/* The worker's counters (fanout.c); fanout_get_stats() copies them. */
extern struct fanout_stats	engine_stats;

/* conns.c: upstream connections. */
void		conns_configure(long);
long		conns_idle_max(void);
int		conns_take(void);
void		conns_release(int);
CURLSH		*conns_share(int);
void		conns_drop_all(void);
void		conns_counts(u_int64_t *, u_int64_t *);
void		conns_tls(CURL *, const char *);
void		conns_h2_learn(const char *, int);

/* origin.c: per-origin breaker, budgets and latency. */
#define ORIGIN_REJECT		0
#define ORIGIN_CALL		1
#define ORIGIN_PROBE		2

struct origin;

struct origin	*origin_get(const char *);
int		origin_admit(struct origin *);
const struct fanout_tail_rule	*origin_rule(const char *);
void		origin_call(struct origin *);
void		origin_record(struct origin *, int, double, int);
void		origin_probe_cancel(struct origin *);
int		origin_retry_take(struct origin *, int);
int		origin_hedge_take(struct origin *, int);
long		origin_hedge_delay(struct origin *,
		    const struct fanout_tail_rule *);
long		origin_backoff_ms(int);

/* admit.c: the worker's caps. */
int		admit_fanout(struct fanout *, size_t);
void		admit_more(struct fanout *, size_t);
void		admit_release(struct fanout *, size_t);
void		admit_slot_done(void);

#endif
