/*
 * Metrics for /metrics (Prometheus text format), summed over every
 * worker: each worker counts into its own slot of a segment the parent
 * maps before it forks them, and a scrape adds up the slots.
 */

#ifndef __H_METRICS_H
#define __H_METRICS_H

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

/* The caches (cache label). */
#define METRICS_CACHE_COMIC	0
#define METRICS_CACHE_LATEST	1
#define METRICS_CACHE_STATS	2
#define METRICS_CACHES		3

/* The load caps that answer 503 (cap label). */
#define METRICS_CAP_FANOUTS	0
#define METRICS_CAP_INFLIGHT	1
#define METRICS_CAP_SYNC	2
#define METRICS_CAPS		3

/* Tail tolerance's events (event label of fanout_upstream_tail_total). */
#define METRICS_TAIL_RETRY	0
#define METRICS_TAIL_HEDGE	1
#define METRICS_TAIL_CIRCUIT	2	/* a call failed by an open circuit */
#define METRICS_TAILS		3

/* What the access log learns of a fan-out request (metrics_note()). */
struct metrics_note {
	u_int64_t	start_us;
	u_int32_t	calls;
	u_int32_t	failed;
	long		slowest;	/* the call's number (1-based), or 0 */
	double		slowest_ms;
	u_int32_t	outcomes[16];
	u_int32_t	cache[3];	/* hits, misses, waits */
};

struct fanout;

void	metrics_init(u_int32_t);
void	metrics_worker_start(void);

void	metrics_request(struct http_request *, int,
	    const struct metrics_note *);
void	metrics_call(const char *, int, long, double);
void	metrics_calls_in_flight(u_int64_t);
void	metrics_tail(const char *, int);
void	metrics_sync_call(int);
void	metrics_fanouts_in_flight(u_int64_t);
void	metrics_circuit(const char *, int);
void	metrics_conn_opened(void);
void	metrics_refused(int);
int	metrics_cache(struct fanout *, int, int);
int	metrics_share(struct fanout *, int, int);

void	metrics_note(struct fanout *);
int	metrics_note_take(struct http_request *, struct metrics_note *);
const char	*metrics_outcome_name(size_t);

int	metrics_workers_up(u_int32_t *, u_int32_t *);
size_t	metrics_upstream_count(void);
const char	*metrics_upstream_name(size_t);
const char	*metrics_upstream_host(size_t);

int	page_metrics(struct http_request *);

#endif
