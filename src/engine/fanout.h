/*
 * The fan-out engine: N upstream HTTP calls for one http_request, run at
 * once (async, through kore_curl) or one after another (sync), with the
 * same call description and result types either way.
 *
 * A page describes itself with a struct fanout_page: setup() reads the
 * request and adds calls, finish() renders the results.  The engine owns
 * the state machine, the curl clients and every bound.
 */

#ifndef __H_FANOUT_H
#define __H_FANOUT_H

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#define FANOUT_ERR_NONE		0	/* 2xx answer */
#define FANOUT_ERR_HTTP		1	/* answered, but not 2xx */
#define FANOUT_ERR_TIMEOUT	2	/* per-call timeout */
#define FANOUT_ERR_DEADLINE	3	/* the page's overall deadline */
#define FANOUT_ERR_CONNECT	4	/* refused, unreachable, no such host */
#define FANOUT_ERR_TOOBIG	5	/* body over the size limit */
#define FANOUT_ERR_TRANSPORT	6	/* any other transfer error */
#define FANOUT_ERR_SETUP	7	/* the call could not be started */
#define FANOUT_ERR_SKIPPED	8	/* the page dropped it before it ran */
#define FANOUT_ERR_CIRCUIT	9	/* its origin's circuit is open */

/* --hedge */
#define FANOUT_HEDGE_OFF	0
#define FANOUT_HEDGE_FIXED	1
#define FANOUT_HEDGE_P95	2

/* Tail tolerance, per origin (README "Tail tolerance"). */
#define FANOUT_BASES_MAX		4

/* Retries and hedges, as one upstream's calls get them. */
struct fanout_tail_rule {
	int		retries;		/* per call, 0: none */
	int		retry_budget_pct;
	int		hedge_mode;
	long		hedge_delay_ms;
	int		hedge_budget_pct;
};

struct fanout_tail {
	struct fanout_tail_rule	all;	/* a call of no upstream below */
	long		retry_backoff_ms;
	int		breaker_failures;	/* consecutive, 0: rule off */
	int		breaker_ratio_pct;	/* 0: rule off */
	int		breaker_min_calls;
	long		breaker_cooldown_ms;
	/*
	 * The upstreams' base URLs; a call belongs to the longest one it
	 * starts with, and gets that one's rule (--tail-rules, --tail-off).
	 */
	const char		*base[FANOUT_BASES_MAX];
	struct fanout_tail_rule	rule[FANOUT_BASES_MAX];
	size_t			nbases;
};

struct fanout_limits {
	size_t		max_calls;
	size_t		concurrency;
	long		call_timeout_ms;
	long		connect_timeout_ms;
	long		deadline_ms;
	size_t		max_body;
};

struct fanout_result {
	int		error;
	long		status;
	const u_int8_t	*body;
	size_t		body_len;
	double		ms;
	const char	*errmsg;
	int		attempts;	/* 1 + retries made */
	int		hedged;		/* a second copy was sent */
	int		copy;		/* whose answer this is: 1, 2 */
};

struct fanout_stats {
	u_int64_t	fanouts_live;
	u_int64_t	calls_live;
	u_int64_t	calls_detached;
	u_int64_t	calls_started;
	u_int64_t	conns_opened;
	u_int64_t	peak_in_flight;
	u_int64_t	pools;
	u_int64_t	pooled;
	u_int64_t	file_limit;
	u_int64_t	max_fanouts;
	u_int64_t	max_inflight;
	u_int64_t	fanouts_active;
	u_int64_t	in_flight;
	u_int64_t	reserved;
	u_int64_t	refused;
	u_int64_t	trims;
	u_int64_t	retries;
	u_int64_t	hedges;
	u_int64_t	hedges_won;
	u_int64_t	circuit_opened;
	u_int64_t	circuit_rejected;
	u_int64_t	spawned;	/* background fan-outs started */
	u_int64_t	spawned_live;	/* and not ended */
};

struct fanout;

/*
 * The engine answers anything but GET and HEAD with 405; then setup()
 * adds the first calls (or answers itself and returns KORE_RESULT_ERROR);
 * next(), when set, runs each time every call so far is done and may add
 * another round; finish() answers.  udata_len bytes
 * of zeroed page state come with each request (fanout_udata()); cleanup(),
 * when set, frees what they own, whether the page answered or its client
 * went away.  call_done(), when set, sees each call as it finishes (to
 * react to a 429 before queued calls start, say).  may_start(), when set,
 * is asked before each queued call starts: 0 holds it (and the calls
 * after it) back until the page wakes the request (fanout_wake()), which
 * it must do; the stats page waits for a lease of the fleet's partner
 * limit that way.
 *
 * An async page's next() may instead park the request (fanout_park()):
 * it then sleeps with no call in flight until something else wakes it
 * (http_request_wakeup()), and next() runs again.  That is how one
 * request waits for another's fan-out (share.h does it for a page).
 *
 * fanout_spawn() runs a page's hooks for no request (a background
 * refresh): setup(), next() and finish() get req NULL, must not answer,
 * and the page state is a copy of what the caller gave; parking, holds
 * and fanout_wake() work as for a request.
 *
 * fanout_add() always gives the call's index: a call past --max-calls is
 * there, failed with FANOUT_ERR_SETUP, and the page reports it as it
 * reports any failed call.
 *
 * Return values, here and in every module: KORE_RESULT_OK/ERROR where
 * Kore is the caller (handlers, and the page hooks its state machine
 * runs); elsewhere 1 for done or true and 0 for failed or false, and
 * named codes where there are more outcomes (share_join(), share_wait(),
 * settings_load()).
 */
struct fanout_page {
	size_t		udata_len;
	int		(*setup)(struct http_request *, struct fanout *);
	void		(*next)(struct http_request *, struct fanout *);
	void		(*finish)(struct http_request *, struct fanout *);
	void		(*cleanup)(void *);
	void		(*call_done)(struct fanout *, size_t);
	int		(*may_start)(struct fanout *, size_t);
	/*
	 * The page goes away while call i still runs: the call runs on,
	 * detached, to its end.  What detached() returns (NULL: nothing)
	 * is given to detached_end() when it ends, after the page's udata
	 * is gone (the stats page's fleet lease lives until then).
	 */
	void		*(*detached)(void *, size_t);
	void		(*detached_end)(void *);
};

#define FANOUT_ROUNDS_MAX	4

void	fanout_configure(const struct fanout_limits *, long);
void	fanout_set_error_detail(int);
void	fanout_set_caps(long long, long long);
void	fanout_set_tail(const struct fanout_tail *);
void	fanout_fleet_start(void);
int	fanout_set_ca(const u_int8_t *, size_t);

int	fanout_serve_async(struct http_request *, const struct fanout_page *);
int	fanout_serve_sync(struct http_request *, const struct fanout_page *);
int	fanout_spawn(const struct fanout_page *, const void *);

size_t	fanout_add(struct fanout *, int, const char *);
int	fanout_add_header(struct fanout *, const char *, const char *);
int	fanout_add_body(struct fanout *, const void *, size_t);

void	fanout_set_group(struct fanout *, int);
void	fanout_set_once(struct fanout *);
void	fanout_skip_group(struct fanout *, int, const char *);
void	fanout_set_concurrency(struct fanout *, size_t);
void	fanout_park(struct fanout *);
void	fanout_wake(struct fanout *);
int	fanout_deadline_passed(const struct fanout *);
const char	*fanout_result_header(struct fanout *, size_t, const char *);

size_t	fanout_count(const struct fanout *);
size_t	fanout_calls_made(const struct fanout *);
int	fanout_is_async(const struct fanout *);
void	*fanout_udata(struct fanout *);
double	fanout_elapsed_ms(const struct fanout *);
const struct fanout_limits	*fanout_limits(const struct fanout *);
const struct fanout_result	*fanout_result(const struct fanout *, size_t);

const char	*fanout_strerror(int);
void		fanout_server_timing(struct http_request *, struct fanout *);
void		fanout_reply_error(struct http_request *, struct fanout *, int,
		    const char *);
void		fanout_get_stats(struct fanout_stats *);
void		fanout_report_origins(struct kore_buf *);

#endif
