/*
 * The stats aggregation page: /stats (async), /stats/sync, /api/stats;
 * HTML, or JSON for /api/stats and a JSON client (format=json, Accept).
 *
 * A row per product merges two sources: the analytics service (one call,
 * every product: views, visitors) and the partner API (one call per
 * product: sales, revenue, clicks, conversion; it wants an API key).  The
 * async page runs those N+1 calls --stats-limit at a time.
 *
 * Async requests for the same products share work, per worker:
 *
 * - a complete result is kept for --stats-ttl seconds (an entry per
 *   product set) and served without any upstream call;
 * - while one request (the leader) fetches, others for the same products
 *   (followers) wait for it and answer from its result (the engine's
 *   request sharing, share.h); if the leader's client goes away first,
 *   a follower takes over.
 *
 * The sync page is the naive baseline: its own calls, one after another,
 * no cache, no sharing.
 *
 * This file is the page's flow; statsrows.c merges the sources into rows,
 * statsview.c renders them (stats.h).
 *
 * A partner 429 blocks partner calls until its Retry-After has passed:
 * queued calls of the page are skipped (call_done()), and later pages do
 * not call the partner before then (with --redis, no instance does:
 * statsfleet.c).  The API key goes into the partner
 * URL only; no page, log line, error text or header carries it.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fanout.h"
#include "metrics.h"
#include "pages.h"
#include "pagevars.h"
#include "partner.h"
#include "qparam.h"
#include "reply.h"
#include "settings.h"
#include "share.h"
#include "stats.h"

#define GROUP_PARTNER		1
#define ENTRIES_MAX		64

int	page_stats(struct http_request *);
int	page_stats_sync(struct http_request *);

static int	stats_setup(struct http_request *, struct fanout *);
static int	stats_refresh_setup(struct fanout *);
static void	stats_join(struct fanout *, struct stats_req *);
static void	stats_refresh(const struct stats_req *);
static void	stats_next(struct http_request *, struct fanout *);
static void	stats_finish(struct http_request *, struct fanout *);
static void	stats_cleanup(void *);
static void	stats_call_done(struct fanout *, size_t);
static const struct stats_result	*stats_publish(struct stats_req *,
		    struct stats_result *);

static int	stats_params(struct http_request *, struct stats_req *, char *,
		    size_t);
static void	stats_add_calls(struct fanout *, struct stats_req *);
static void	stats_key(const struct stats_req *, char *, size_t);

static const char *const	stats_accepted[] = {
	"products", "format", NULL
};

static const struct fanout_page	stats_page = {
	.udata_len = sizeof(struct stats_req),
	.setup = stats_setup,
	.next = stats_next,
	.finish = stats_finish,
	.cleanup = stats_cleanup,
	.call_done = stats_call_done,
	.may_start = stats_fleet_may_start,
	.detached = stats_fleet_detached,
	.detached_end = stats_fleet_detached_end,
};

static struct share_table	results =
    SHARE_FLEET_TABLE_INITIALIZER(results, ENTRIES_MAX, kore_free, "stats",
    stats_encode, stats_decode);
static u_int64_t		partner_blocked_until = 0;

int
page_stats(struct http_request *req)
{
	return (fanout_serve_async(req, &stats_page));
}

int
page_stats_sync(struct http_request *req)
{
	return (fanout_serve_sync(req, &stats_page));
}

static int
stats_setup(struct http_request *req, struct fanout *fo)
{
	struct stats_req	*x = fanout_udata(fo);
	char			err[QPARAM_ERR_MAX];

	if (req == NULL)
		return (stats_refresh_setup(fo));

	x->req = req;
	x->fo = fo;
	x->analytics_call = -1;
	fanout_set_concurrency(fo, (size_t)settings.stats_limit);

	if (!stats_params(req, x, err, sizeof(err))) {
		fanout_reply_error(req, fo, HTTP_STATUS_BAD_REQUEST, err);
		return (KORE_RESULT_ERROR);
	}

	if (!fanout_is_async(fo)) {
		x->role = ROLE_SYNC;
		stats_add_calls(fo, x);
		return (KORE_RESULT_OK);
	}

	stats_join(fo, x);

	return (KORE_RESULT_OK);
}

/*
 * Cached, follower or leader.  stale-while-revalidate (RFC 5861): a
 * result at most --stale-while-revalidate seconds past its ttl is served
 * at once, to followers of a refresh under way and to the request that
 * would lead one, which hands the refresh to the background instead.
 */
static void
stats_join(struct fanout *fo, struct stats_req *x)
{
	char		key[PRODUCTS_MAX * (PRODUCT_ID_MAX + 1)];
	u_int64_t	swr;

	swr = (u_int64_t)settings.stale_while_revalidate * 1000;
	stats_key(x, key, sizeof(key));
	switch (metrics_share(fo, METRICS_CACHE_STATS,
	    share_join(&results, key, fo, &x->share))) {
	case SHARE_FRESH:
		x->role = ROLE_CACHED;
		break;
	case SHARE_FOLLOWER:
		x->role = ROLE_FOLLOWER;
		if ((x->stale = share_stale(&x->share, swr)) != NULL) {
			x->role = ROLE_STALE;
			share_leave(&x->share);
		}
		break;
	default:
		if ((x->stale = share_stale(&x->share, swr)) != NULL) {
			x->role = ROLE_STALE;
			stats_refresh(x);
			share_leave(&x->share);
			break;
		}
		x->role = ROLE_LEADER;
		stats_add_calls(fo, x);
		break;
	}
}

/*
 * A background refresh of x's products.  It joins before x leaves: it
 * follows x, and x's leaving makes it the leader (share.h).
 */
static void
stats_refresh(const struct stats_req *x)
{
	struct stats_req	r;

	memset(&r, 0, sizeof(r));
	r.nproducts = x->nproducts;
	memcpy(r.products, x->products, sizeof(r.products));
	(void)fanout_spawn(&stats_page, &r);
}

/* The background refresh's setup (no request): join, lead or follow. */
static int
stats_refresh_setup(struct fanout *fo)
{
	struct stats_req	*x = fanout_udata(fo);
	char			key[PRODUCTS_MAX * (PRODUCT_ID_MAX + 1)];

	x->fo = fo;
	x->analytics_call = -1;
	fanout_set_concurrency(fo, (size_t)settings.stats_limit);

	stats_key(x, key, sizeof(key));
	switch (share_join(&results, key, fo, &x->share)) {
	case SHARE_FRESH:
		return (KORE_RESULT_ERROR);
	case SHARE_FOLLOWER:
		x->role = ROLE_FOLLOWER;
		break;
	default:
		x->role = ROLE_LEADER;
		stats_add_calls(fo, x);
		break;
	}

	return (KORE_RESULT_OK);
}

/* Followers: answer once the leader has, take over if it went away. */
static void
stats_next(struct http_request *req, struct fanout *fo)
{
	struct stats_req	*x = fanout_udata(fo);

	if (x->role != ROLE_FOLLOWER)
		return;

	if (share_wait(&x->share) == SHARE_LEADER) {
		x->role = ROLE_LEADER;
		stats_add_calls(fo, x);
	}
}

static void
stats_finish(struct http_request *req, struct fanout *fo)
{
	struct stats_req		*x = fanout_udata(fo);
	const struct stats_result	*shared;

	/* A background refresh answers nobody: it only publishes. */
	if (req == NULL) {
		if (x->role == ROLE_LEADER)
			(void)stats_publish(x, stats_collect(fo, x));
		return;
	}
	fanout_server_timing(req, fo);

	switch (x->role) {
	case ROLE_SYNC:
		x->own = stats_collect(fo, x);
		stats_answer(req, fo, x, x->own);
		break;
	case ROLE_LEADER:
		shared = stats_publish(x, stats_collect(fo, x));
		stats_answer(req, fo, x, shared);
		break;
	case ROLE_STALE:
		stats_answer(req, fo, x, x->stale);
		break;
	default:
		if (x->share.role != SHARE_FRESH) {
			reply_error(req, HTTP_STATUS_GATEWAY_TIMEOUT,
			    "timed out waiting for the stats being fetched "
			    "for another request");
			break;
		}
		shared = share_result(&x->share);
		if (settings.stats_ttl > 0 && kore_time_ms() >=
		    shared->fetched_at + (u_int64_t)settings.stats_ttl * 1000)
			x->role = ROLE_STALE;
		stats_answer(req, fo, x, shared);
		break;
	}
}

/*
 * The leader's result goes to the share table, kept --stats-ttl seconds
 * when complete.  stale-if-error: a partial one, while the last complete
 * result is at most --stale-if-error seconds past its ttl, stays the
 * request's own (freed with it) and the complete one is shared again
 * instead, marked stale.  What to answer with.
 */
static const struct stats_result *
stats_publish(struct stats_req *x, struct stats_result *res)
{
	const struct stats_result	*st;
	u_int64_t			ttl;

	if (res->partial && (st = share_stale(&x->share,
	    (u_int64_t)settings.stale_if_error * 1000)) != NULL) {
		x->own = res;
		x->role = ROLE_STALE;
		share_publish_stale(&x->share);
		return (st);
	}

	ttl = 0;
	if (!res->partial && settings.stats_ttl > 0)
		ttl = (u_int64_t)settings.stats_ttl * 1000;
	share_publish(&x->share, res, ttl);

	return (res);
}

static void
stats_cleanup(void *arg)
{
	struct stats_req	*x = arg;

	share_leave(&x->share);
	stats_fleet_cleanup(x);
	kore_free(x->own);
}

/* A partner 429: no partner call before its Retry-After has passed. */
static void
stats_call_done(struct fanout *fo, size_t idx)
{
	const struct fanout_result	*r;
	const char			*ra;
	long				secs;

	stats_fleet_call_done(fanout_udata(fo), idx);
	r = fanout_result(fo, idx);
	if (r->error != FANOUT_ERR_HTTP || r->status != 429)
		return;

	ra = fanout_result_header(fo, idx, "retry-after");
	secs = ra != NULL ? retry_after_parse(ra, time(NULL)) : -1;
	if (secs < 1)
		secs = 1;

	stats_block(kore_time_ms() + (u_int64_t)secs * 1000);
	stats_fleet_block(secs);
	fanout_skip_group(fo, GROUP_PARTNER,
	    "rate limited by the partner (429), not called");
}

static int
stats_params(struct http_request *req, struct stats_req *x, char *err,
    size_t errlen)
{
	struct qparams		qp;
	const char		*list;
	char			perr[QPARAM_ERR_MAX];

	if (!qparam_parse(&qp, req->query_string, err, errlen) ||
	    !qparam_only(&qp, stats_accepted, err, errlen) ||
	    !page_format(req, &qp, &x->json, err, errlen))
		return (KORE_RESULT_ERROR);

	/* /api/stats is JSON only: format=html is for /stats. */
	if (strcmp(req->path, "/api/stats") == 0 && !x->json) {
		stats_reasonf(err, errlen, "invalid parameter 'format': "
		    "expected json (the HTML page is /stats)");
		return (KORE_RESULT_ERROR);
	}

	list = qparam_get(&qp, "products");
	if (list == NULL)
		list = settings.stats_products;

	x->nproducts = product_list_parse(list, x->products, PRODUCTS_MAX,
	    perr, sizeof(perr));
	if (x->nproducts == 0) {
		stats_reasonf(err, errlen, "invalid parameter 'products': %s",
		    perr);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* The analytics call, then one partner call per known product. */
static void
stats_add_calls(struct fanout *fo, struct stats_req *x)
{
	size_t		i;
	char		key[SETTINGS_STR_MAX * 3];
	char		url[SETTINGS_STR_MAX + sizeof(key) + 64];

	(void)snprintf(url, sizeof(url), "%s/stats",
	    settings.analytics_upstream);
	x->analytics_call = (long)fanout_add(fo, HTTP_METHOD_GET, url);

	if (!url_encode(key, sizeof(key), settings.partner_key))
		fatal("stats: the partner key does not fit");

	for (i = 0; i < x->nproducts; i++) {
		x->partner_call[i] = -1;
		if (!stats_known(x->products[i]))
			continue;
		if (kore_time_ms() < partner_blocked_until)
			continue;
		(void)snprintf(url, sizeof(url),
		    "%s/stats?product=%s&api_key=%s",
		    settings.partner_upstream, x->products[i], key);
		x->partner_call[i] = (long)fanout_add(fo, HTTP_METHOD_GET,
		    url);
		fanout_set_group(fo, GROUP_PARTNER);
	}

	explicit_bzero(url, sizeof(url));
	explicit_bzero(key, sizeof(key));
}

/* The sharing key: the request's product list, in its order. */
static void
stats_key(const struct stats_req *x, char *key, size_t len)
{
	size_t		i, off;

	off = 0;
	key[0] = '\0';
	for (i = 0; i < x->nproducts && off < len; i++) {
		off += (size_t)snprintf(key + off, len - off, "%s%s",
		    i > 0 ? "," : "", x->products[i]);
	}
}

/* SIGHUP: forget the shared results and the partner's block. */
void
stats_reset(void)
{
	share_reset(&results);
	partner_blocked_until = 0;
}

/* No partner call before until (a kore_time_ms()); a block only grows. */
void
stats_block(u_int64_t until)
{
	if (until > partner_blocked_until)
		partner_blocked_until = until;
}

/* Until when the partner is not called (its last 429's Retry-After). */
u_int64_t
stats_blocked_until(void)
{
	return (partner_blocked_until);
}
