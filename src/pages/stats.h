/*
 * The stats page's own pieces, shared by its three files: stats.c (the
 * page: requests, calls, sharing, the partner's 429 back-off),
 * statsrows.c (merging the sources into rows) and statsview.c (HTML and
 * JSON).
 */

#ifndef __H_STATS_H
#define __H_STATS_H

#include <kore/kore.h>
#include <kore/http.h>

#include "fanout.h"
#include "partner.h"
#include "share.h"

#define ROLE_SYNC		0
#define ROLE_LEADER		1
#define ROLE_FOLLOWER		2
#define ROLE_CACHED		3
#define ROLE_STALE		4	/* a stale result, RFC 5861 */

#define REASON_MAX		160

/*
 * The layout of a result in the shared store (statsrows.c): a result and
 * its rows are stored as their bytes, so they hold plain values only,
 * never a pointer.
 */
#define STATS_CODE_MAGIC	0x46535431

struct stats_row {
	product_id		product;
	int			known;
	struct analytics_row	a;
	struct partner_row	p;
	int			p_ok;
	char			a_err[REASON_MAX];
	char			p_err[REASON_MAX];
};

struct stats_result {
	size_t			nrows;
	int			partial;
	int			all_failed;
	int			key_rejected;
	double			elapsed_ms;	/* of the fetch */
	u_int64_t		fetched_at;	/* kore_time_ms() */
	size_t			calls;
	struct stats_row	rows[PRODUCTS_MAX];
};

struct stats_req {
	struct http_request		*req;
	int				json;
	int				role;
	size_t				nproducts;
	product_id			products[PRODUCTS_MAX];
	struct share_ticket		share;
	long				analytics_call;
	long				partner_call[PRODUCTS_MAX];
	struct stats_result		*own;
	const struct stats_result	*stale;
	struct fanout			*fo;

	/* The fleet's partner limit (statsfleet.c). */
	u_int64_t			lease_id;
	struct store_op			*lease_op;
	size_t				lease_call;
	int				lease_local;
	int				lease_retry;
	u_int8_t			leased[PRODUCTS_MAX + 1];
	TAILQ_ENTRY(stats_req)		lease_list;
};

/* stats.c */
u_int64_t		stats_blocked_until(void);
void			stats_block(u_int64_t);

/* statsfleet.c */
void			stats_fleet_start(void);
void			stats_fleet_block(long);
int			stats_fleet_may_start(struct fanout *, size_t);
void			stats_fleet_call_done(struct stats_req *, size_t);
void			stats_fleet_cleanup(struct stats_req *);
void			*stats_fleet_detached(void *, size_t);
void			stats_fleet_detached_end(void *);

/* statsrows.c */
struct stats_result	*stats_collect(struct fanout *, struct stats_req *);
int			stats_known(const char *);
void			stats_reasonf(char *, size_t, const char *, ...)
			    __attribute__((format(printf, 3, 4)));
int			stats_encode(const void *, struct kore_buf *);
void			*stats_decode(const void *, size_t, u_int64_t);

/* statsview.c */
void			stats_answer(struct http_request *, struct fanout *,
			    struct stats_req *, const struct stats_result *);

#endif
