/*
 * The stats aggregation page: /stats (async), /stats/sync, /api/stats.
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
 *   (followers) park (fanout_park()) on the entry's waiter list; the
 *   leader's finish() stores the result and wakes them, and they answer
 *   from it.  If the leader's client goes away first, its cleanup wakes
 *   the followers and the first to run takes over.
 *
 * The sync page is the naive baseline: its own calls, one after another,
 * no cache, no sharing.
 *
 * A partner 429 blocks partner calls until its Retry-After has passed:
 * queued calls of the page are skipped (call_done()), and later pages do
 * not call the partner before then.  The API key goes into the partner
 * URL only; no page, log line, error text or header carries it.
 */

#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "fanout.h"
#include "jsongen.h"
#include "pages.h"
#include "pagevars.h"
#include "partner.h"
#include "qparam.h"
#include "reply.h"
#include "settings.h"
#include "share.h"
#include "tmpl.h"
#include "webassets.h"

#define ROLE_SYNC		0
#define ROLE_LEADER		1
#define ROLE_FOLLOWER		2
#define ROLE_CACHED		3

#define GROUP_PARTNER		1
#define ENTRIES_MAX		64
#define REASON_MAX		160

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
	double			elapsed_ms;
	size_t			calls;
	struct stats_row	rows[PRODUCTS_MAX];
};

struct stats_req {
	struct http_request		*req;
	int				api;
	int				role;
	size_t				nproducts;
	product_id			products[PRODUCTS_MAX];
	struct share_ticket		share;
	long				analytics_call;
	long				partner_call[PRODUCTS_MAX];
	struct stats_result		*own;
};

int	page_stats(struct http_request *);
int	page_stats_sync(struct http_request *);

static int	stats_setup(struct http_request *, struct fanout *);
static void	stats_next(struct http_request *, struct fanout *);
static void	stats_finish(struct http_request *, struct fanout *);
static void	stats_cleanup(void *);
static void	stats_call_done(struct fanout *, size_t);

static int	stats_params(struct http_request *, struct stats_req *, char *,
		    size_t);
static void	stats_add_calls(struct fanout *, struct stats_req *);
static int	stats_analytics(struct fanout *, struct stats_req *,
		    struct analytics_row *, char *, size_t);
static int	stats_partner(struct fanout *, struct stats_req *, size_t,
		    struct stats_result *, struct stats_row *);
static struct stats_result	*stats_collect(struct fanout *,
				    struct stats_req *);
static void	stats_answer(struct http_request *, struct fanout *,
		    struct stats_req *, const struct stats_result *);
static int	stats_row_html(struct sbuf *, const struct stats_row *);
static void	stats_html(struct http_request *, struct fanout *,
		    struct stats_req *, const struct stats_result *);
static void	stats_json(struct http_request *, struct fanout *,
		    struct stats_req *, const struct stats_result *);
static void	stats_json_row(yajl_gen, const struct stats_row *);
static void	stats_fail_message(const struct stats_result *, char *,
		    size_t);
static void	reasonf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	stats_reason(char *, size_t, const char *,
		    const struct fanout_result *);
static const char	*stats_origin(const struct stats_req *);
static int	stats_cell(struct sbuf *, int, const char *, const char *);
static int	stats_known(const char *);
static void	stats_key(const struct stats_req *, char *, size_t);

static const struct fanout_page	stats_page = {
	.udata_len = sizeof(struct stats_req),
	.setup = stats_setup,
	.next = stats_next,
	.finish = stats_finish,
	.cleanup = stats_cleanup,
	.call_done = stats_call_done,
};

static struct share_table	results =
    SHARE_TABLE_INITIALIZER(results, ENTRIES_MAX, kore_free);
static u_int64_t			partner_blocked_until = 0;

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
	char			key[PRODUCTS_MAX * (PRODUCT_ID_MAX + 1)];

	x->req = req;
	x->api = strcmp(req->path, "/api/stats") == 0;
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

	stats_key(x, key, sizeof(key));
	switch (share_join(&results, key, fo, &x->share)) {
	case SHARE_FRESH:
		x->role = ROLE_CACHED;
		break;
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
	struct stats_result		*res;
	u_int64_t			ttl;

	fanout_server_timing(req, fo);

	switch (x->role) {
	case ROLE_SYNC:
		x->own = stats_collect(fo, x);
		stats_answer(req, fo, x, x->own);
		break;
	case ROLE_LEADER:
		res = stats_collect(fo, x);
		ttl = 0;
		if (!res->partial && settings.stats_ttl > 0)
			ttl = (u_int64_t)settings.stats_ttl * 1000;
		share_publish(&x->share, res, ttl);
		stats_answer(req, fo, x, res);
		break;
	default:
		if (x->share.role != SHARE_FRESH) {
			reply_text(req, HTTP_STATUS_GATEWAY_TIMEOUT,
			    "timed out waiting for the stats being fetched "
			    "for another request");
			break;
		}
		stats_answer(req, fo, x, share_result(&x->share));
		break;
	}
}

static void
stats_cleanup(void *arg)
{
	struct stats_req	*x = arg;

	share_leave(&x->share);
	kore_free(x->own);
}

/* A partner 429: no partner call before its Retry-After has passed. */
static void
stats_call_done(struct fanout *fo, size_t idx)
{
	const struct fanout_result	*r;
	const char			*ra;
	long				secs;

	r = fanout_result(fo, idx);
	if (r->error != FANOUT_ERR_HTTP || r->status != 429)
		return;

	ra = fanout_result_header(fo, idx, "retry-after");
	secs = ra != NULL ? retry_after_parse(ra, time(NULL)) : -1;
	if (secs < 1)
		secs = 1;

	partner_blocked_until = kore_time_ms() + (u_int64_t)secs * 1000;
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

	if (!qparam_parse(&qp, req->query_string, err, errlen))
		return (KORE_RESULT_ERROR);

	list = qparam_get(&qp, "products");
	if (list == NULL)
		list = settings.stats_products;

	x->nproducts = product_list_parse(list, x->products, PRODUCTS_MAX,
	    perr, sizeof(perr));
	if (x->nproducts == 0) {
		reasonf(err, errlen, "invalid parameter 'products': %s", perr);
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

/* Bounded, truncating formatting for reasons shown to the user. */
static void
reasonf(char *buf, size_t len, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void
stats_reason(char *buf, size_t len, const char *what,
    const struct fanout_result *r)
{
	if (r->error == FANOUT_ERR_HTTP && r->status == 401) {
		reasonf(buf, len, "the %s rejected the API key (401)",
		    what);
	} else if (r->error == FANOUT_ERR_HTTP && r->status == 429) {
		reasonf(buf, len, "rate limited by the %s (429)", what);
	} else if (r->error == FANOUT_ERR_HTTP) {
		reasonf(buf, len, "the %s answered %ld", what,
		    r->status);
	} else if (r->error == FANOUT_ERR_SKIPPED) {
		reasonf(buf, len, "%s", r->errmsg);
	} else {
		reasonf(buf, len, "%s: %s", fanout_strerror(r->error),
		    r->errmsg);
	}
}

/* The analytics call's rows; 0 (and why in a_err) if it failed. */
static int
stats_analytics(struct fanout *fo, struct stats_req *x,
    struct analytics_row *arows, char *a_err, size_t len)
{
	const struct fanout_result	*r;
	char				err[REASON_MAX];

	a_err[0] = '\0';
	memset(arows, 0, sizeof(arows[0]) * PRODUCTS_MAX);
	if (x->analytics_call < 0)
		return (0);

	r = fanout_result(fo, (size_t)x->analytics_call);
	if (r->error != FANOUT_ERR_NONE) {
		stats_reason(a_err, len, "analytics service", r);
		return (0);
	}
	if (!analytics_parse(r->body, r->body_len,
	    (const product_id *)x->products, x->nproducts, arows, err,
	    sizeof(err))) {
		reasonf(a_err, len, "unreadable analytics: %s", err);
		return (0);
	}

	return (1);
}

/* Product i's partner figures into row; 0 if they are missing. */
static int
stats_partner(struct fanout *fo, struct stats_req *x, size_t i,
    struct stats_result *res, struct stats_row *row)
{
	const struct fanout_result	*r;
	long				wait;
	char				err[REASON_MAX];

	if (x->partner_call[i] < 0) {
		wait = (long)((partner_blocked_until - kore_time_ms() +
		    999) / 1000);
		reasonf(row->p_err, sizeof(row->p_err),
		    "rate limited by the partner, retrying in %ld s",
		    wait > 0 ? wait : 1);
		return (0);
	}

	r = fanout_result(fo, (size_t)x->partner_call[i]);
	if (r->error == FANOUT_ERR_HTTP && r->status == 401)
		res->key_rejected = 1;
	if (r->error != FANOUT_ERR_NONE) {
		stats_reason(row->p_err, sizeof(row->p_err), "partner", r);
		return (0);
	}
	if (!partner_parse(r->body, r->body_len, &row->p, err,
	    sizeof(err))) {
		reasonf(row->p_err, sizeof(row->p_err),
		    "unreadable partner answer: %s", err);
		return (0);
	}

	row->p_ok = 1;
	return (1);
}

static struct stats_result *
stats_collect(struct fanout *fo, struct stats_req *x)
{
	struct stats_result		*res;
	struct analytics_row		arows[PRODUCTS_MAX];
	struct stats_row		*row;
	size_t				i, p_tried, p_failed;
	int				a_ok;
	char				a_err[REASON_MAX];

	res = kore_calloc(1, sizeof(*res));
	res->nrows = x->nproducts;
	res->elapsed_ms = fanout_elapsed_ms(fo);
	res->calls = fanout_count(fo);
	a_ok = stats_analytics(fo, x, arows, a_err, sizeof(a_err));

	p_tried = p_failed = 0;
	for (i = 0; i < x->nproducts; i++) {
		row = &res->rows[i];
		memcpy(row->product, x->products[i], sizeof(row->product));
		row->known = stats_known(row->product);

		if (!row->known) {
			reasonf(row->a_err, sizeof(row->a_err),
			    "unknown product");
			reasonf(row->p_err, sizeof(row->p_err),
			    "unknown product");
			continue;
		}

		if (!a_ok) {
			reasonf(row->a_err, sizeof(row->a_err), "%s", a_err);
		} else if (arows[i].found == 1) {
			row->a = arows[i];
		} else {
			reasonf(row->a_err, sizeof(row->a_err), "%s",
			    arows[i].found == 0 ? "no analytics data" :
			    "unreadable analytics data");
		}

		p_tried++;
		if (!stats_partner(fo, x, i, res, row))
			p_failed++;
	}

	for (i = 0; i < res->nrows; i++) {
		if (res->rows[i].a_err[0] != '\0' ||
		    res->rows[i].p_err[0] != '\0')
			res->partial = 1;
	}
	res->all_failed = !a_ok && p_tried > 0 && p_failed == p_tried;

	return (res);
}

static void
stats_answer(struct http_request *req, struct fanout *fo,
    struct stats_req *x, const struct stats_result *res)
{
	yajl_gen		g;
	char			msg[512];

	if (res->all_failed) {
		stats_fail_message(res, msg, sizeof(msg));
		if (x->api) {
			g = jsongen_alloc();
			yajl_gen_map_open(g);
			jsongen_str(g, "error", msg);
			yajl_gen_map_close(g);
			reply_jsongen(req, HTTP_STATUS_BAD_GATEWAY, g,
			    "the error could not be encoded");
			jsongen_free(g);
		} else {
			reply_text(req, HTTP_STATUS_BAD_GATEWAY, msg);
		}
		return;
	}

	if (x->api)
		stats_json(req, fo, x, res);
	else
		stats_html(req, fo, x, res);
}

static void
stats_fail_message(const struct stats_result *res, char *buf, size_t len)
{
	const struct stats_row	*row;
	size_t			i;

	row = NULL;
	for (i = 0; i < res->nrows; i++) {
		if (res->rows[i].known) {
			row = &res->rows[i];
			break;
		}
	}

	(void)snprintf(buf, len, "every upstream failed: analytics: %s; "
	    "partner: %s%s", row != NULL ? row->a_err : "-",
	    row != NULL ? row->p_err : "-",
	    res->key_rejected ? " (the partner rejected the API key)" : "");
}

static const char *
stats_origin(const struct stats_req *x)
{
	switch (x->role) {
	case ROLE_CACHED:
		return ("cache");
	case ROLE_FOLLOWER:
		return ("shared");
	default:
		return ("upstream");
	}
}

static int
stats_cell(struct sbuf *b, int ok, const char *value, const char *reason)
{
	struct tmpl_var	v[] = {
		{ "class", ok ? "num" : "na", TMPL_TEXT },
		{ "order", ok ? value : "-1", TMPL_TEXT },
		{ "text", ok ? value : "", TMPL_TEXT },
		{ "reason", ok ? "" : reason, TMPL_TEXT },
	};

	return (tmpl_render(b, (const char *)(ok ? asset_stats_cell_html :
	    asset_stats_na_html), ok ? asset_len_stats_cell_html :
	    asset_len_stats_na_html, v, sizeof(v) / sizeof(v[0])));
}

/* A table row: the product, then a cell per figure (or its reason). */
static int
stats_row_html(struct sbuf *rows, const struct stats_row *row)
{
	struct sbuf	cells;
	int		ok, a_ok;
	char		n[6][32];

	(void)snprintf(n[0], sizeof(n[0]), "%lld", row->a.views);
	(void)snprintf(n[1], sizeof(n[1]), "%lld", row->a.visitors);
	(void)snprintf(n[2], sizeof(n[2]), "%lld", row->p.sales);
	(void)snprintf(n[3], sizeof(n[3]), "%.2f", row->p.revenue);
	(void)snprintf(n[4], sizeof(n[4]), "%lld", row->p.clicks);
	(void)snprintf(n[5], sizeof(n[5]), "%.2f%%", row->p.conversion * 100);

	a_ok = row->a_err[0] == '\0';
	sbuf_init(&cells);
	ok = stats_cell(&cells, a_ok, n[0], row->a_err) &&
	    stats_cell(&cells, a_ok, n[1], row->a_err) &&
	    stats_cell(&cells, row->p_ok, n[2], row->p_err) &&
	    stats_cell(&cells, row->p_ok, n[3], row->p_err) &&
	    stats_cell(&cells, row->p_ok, n[4], row->p_err) &&
	    stats_cell(&cells, row->p_ok, n[5], row->p_err);
	if (ok) {
		struct tmpl_var	v[] = {
			{ "product", row->product, TMPL_TEXT },
			{ "cells", cells.data != NULL ? cells.data : "",
			    TMPL_HTML },
		};
		ok = tmpl_render(rows, (const char *)asset_stats_row_html,
		    asset_len_stats_row_html, v, TMPL_NVARS(v));
	}
	sbuf_cleanup(&cells);

	return (ok);
}

static void
stats_html(struct http_request *req, struct fanout *fo, struct stats_req *x,
    const struct stats_result *res)
{
	struct sbuf		rows, page;
	struct page_vars	pv;
	struct tmpl_var		v[PAGE_VARS + 4];
	size_t			i, n, nerr;
	int			ok;

	sbuf_init(&rows);
	sbuf_init(&page);
	ok = 1;
	nerr = 0;

	for (i = 0; i < res->nrows && ok; i++) {
		if (res->rows[i].a_err[0] != '\0' ||
		    res->rows[i].p_err[0] != '\0')
			nerr++;
		ok = stats_row_html(&rows, &res->rows[i]);
	}

	if (ok) {
		n = page_vars(req, fo, "/stats/sync", "/stats",
		    x->role == ROLE_CACHED ? res->elapsed_ms :
		    fanout_elapsed_ms(fo), res->nrows, nerr, &pv, v);
		v[n++] = (struct tmpl_var){ "origin", stats_origin(x),
		    TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "partial",
		    res->partial ? "partial" : "complete", TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "key_rejected", res->key_rejected ?
		    "The partner rejected the API key: check --partner-key "
		    "(FANOUT_PARTNER_KEY)." : "", TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "rows",
		    rows.data != NULL ? rows.data : "", TMPL_HTML };
		ok = tmpl_render(&page, (const char *)asset_stats_html,
		    asset_len_stats_html, v, n);
	}

	reply_rendered(req, ok, page.data, page.len, "stats");

	sbuf_cleanup(&rows);
	sbuf_cleanup(&page);
}

static void
stats_json(struct http_request *req, struct fanout *fo, struct stats_req *x,
    const struct stats_result *res)
{
	yajl_gen		g;
	size_t			i;

	g = jsongen_alloc();

	yajl_gen_map_open(g);
	jsongen_str(g, "mode", fanout_is_async(fo) ? "async" : "sync");
	jsongen_double(g, "elapsed_ms", x->role == ROLE_CACHED ?
	    res->elapsed_ms : fanout_elapsed_ms(fo), 1);
	jsongen_int(g, "upstream_calls", (long long)fanout_count(fo));
	jsongen_str(g, "origin", stats_origin(x));
	jsongen_bool(g, "partial", res->partial);
	jsongen_bool(g, "key_rejected", res->key_rejected);
	jsongen_key(g, "products");
	yajl_gen_array_open(g);
	for (i = 0; i < res->nrows; i++)
		stats_json_row(g, &res->rows[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);

	reply_jsongen(req, HTTP_STATUS_OK, g, "the stats could not be encoded");
	jsongen_free(g);
}

static void
stats_json_row(yajl_gen g, const struct stats_row *row)
{
	yajl_gen_map_open(g);
	jsongen_str(g, "product", row->product);
	if (row->a_err[0] == '\0') {
		jsongen_int(g, "views", row->a.views);
		jsongen_int(g, "visitors", row->a.visitors);
	}
	if (row->p_ok) {
		jsongen_int(g, "sales", row->p.sales);
		jsongen_double(g, "revenue", row->p.revenue, 2);
		jsongen_int(g, "clicks", row->p.clicks);
		jsongen_double(g, "conversion", row->p.conversion, 4);
	}
	if (row->a_err[0] != '\0' || row->p_err[0] != '\0') {
		jsongen_key(g, "errors");
		yajl_gen_map_open(g);
		if (row->a_err[0] != '\0')
			jsongen_str(g, "analytics", row->a_err);
		if (row->p_err[0] != '\0')
			jsongen_str(g, "partner", row->p_err);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

/* Whether a product is in --stats-products (validated at start-up). */
static int
stats_known(const char *product)
{
	static product_id	list[PRODUCTS_MAX];
	static size_t		n = 0;
	size_t			i;
	char			err[QPARAM_ERR_MAX];

	if (n == 0) {
		n = product_list_parse(settings.stats_products, list,
		    PRODUCTS_MAX, err, sizeof(err));
	}

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], product) == 0)
			return (1);
	}

	return (0);
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
