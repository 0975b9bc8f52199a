/*
 * The stats page's rendering: an HTML table (DataTables sorts it in the
 * browser) or JSON (/api/stats, or a JSON client of /stats and
 * /stats/sync: the pages' envelope, envelope.c), or the error page when
 * every source failed.  Everything from the upstreams
 * goes through tmpl_render() or jsongen.
 */

#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "envelope.h"
#include "fanout.h"
#include "jsongen.h"
#include "pagevars.h"
#include "reply.h"
#include "settings.h"
#include "stats.h"
#include "tmpl.h"
#include "webassets.h"

static void	stats_fail_message(const struct stats_result *, char *,
		    size_t);
static const char	*stats_origin(const struct stats_req *);
static int	stats_stored(const struct stats_req *);
static u_int64_t	stats_age(const struct stats_result *);
static void	stats_cache_headers(struct http_request *,
		    const struct stats_req *, const struct stats_result *);
static int	stats_cell(struct sbuf *, int, const char *, const char *);
static int	stats_row_html(struct sbuf *, const struct stats_row *);
static void	stats_html(struct http_request *, struct fanout *,
		    struct stats_req *, const struct stats_result *);
static void	stats_json(struct http_request *, struct fanout *,
		    struct stats_req *, const struct stats_result *);
static void	stats_json_row(yajl_gen, const struct stats_row *);
static void	stats_json_errors(yajl_gen, const struct stats_row *,
		    int);

void
stats_answer(struct http_request *req, struct fanout *fo,
    struct stats_req *x, const struct stats_result *res)
{
	char			msg[512];

	if (res->all_failed) {
		stats_fail_message(res, msg, sizeof(msg));
		reply_error(req, HTTP_STATUS_BAD_GATEWAY, msg);
		return;
	}

	stats_cache_headers(req, x, res);
	if (x->json)
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

/* Whether the answer is a result fetched for another request. */
static int
stats_stored(const struct stats_req *x)
{
	return (x->role == ROLE_CACHED || x->role == ROLE_FOLLOWER);
}

static u_int64_t
stats_age(const struct stats_result *res)
{
	return ((kore_time_ms() - res->fetched_at) / 1000);
}

/*
 * A stored result says how old it is (Age) and how long it stays fresh; a
 * partial result, which is not kept, is not to be kept by anyone else
 * either.
 */
static void
stats_cache_headers(struct http_request *req, const struct stats_req *x,
    const struct stats_result *res)
{
	char		v[64];
	u_int64_t	age, ttl;

	ttl = (u_int64_t)settings.stats_ttl;
	age = stats_age(res);
	if (stats_stored(x)) {
		(void)snprintf(v, sizeof(v), "%llu", (unsigned long long)age);
		http_response_header(req, "age", v);
	}
	if (res->partial || ttl == 0 || x->role == ROLE_SYNC) {
		http_response_header(req, "cache-control", "no-store");
		return;
	}
	(void)snprintf(v, sizeof(v), "private, max-age=%llu",
	    (unsigned long long)(ttl > age ? ttl - age : 0));
	http_response_header(req, "cache-control", v);
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
	struct sbuf		rows;
	struct page_vars	pv;
	struct tmpl_var		v[PAGE_VARS + 5];
	size_t			i, n, nerr;
	int			ok;
	char			fetched[64];

	sbuf_init(&rows);
	ok = 1;
	n = nerr = 0;

	for (i = 0; i < res->nrows && ok; i++) {
		if (res->rows[i].a_err[0] != '\0' ||
		    res->rows[i].p_err[0] != '\0')
			nerr++;
		ok = stats_row_html(&rows, &res->rows[i]);
	}

	if (ok) {
		n = page_vars(req, fo, "/stats/sync", "/stats", NULL,
		    fanout_elapsed_ms(fo), res->nrows, nerr, &pv, v);
		fetched[0] = '\0';
		if (stats_stored(x)) {
			(void)snprintf(fetched, sizeof(fetched), " (fetched "
			    "in %.0f ms, %llu s ago)", res->elapsed_ms,
			    (unsigned long long)stats_age(res));
		}
		v[n++] = (struct tmpl_var){ "fetched", fetched, TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "origin", stats_origin(x),
		    TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "partial",
		    res->partial ? "partial" : "complete", TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "key_rejected", res->key_rejected ?
		    "The partner rejected the API key: check --partner-key "
		    "(FANOUT_PARTNER_KEY)." : "", TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "rows",
		    rows.data != NULL ? rows.data : "", TMPL_HTML };
	}

	page_render(req, ok, asset_stats_html, asset_len_stats_html, v, n,
	    "stats");
	sbuf_cleanup(&rows);
}

/*
 * The envelope, the page's own members, a product per row (with its own
 * "errors" list), and every row's errors, with their product.  A result
 * from the cache counts each row as from_cache; one shared with a
 * concurrent request says so in origin.
 */
static void
stats_json(struct http_request *req, struct fanout *fo, struct stats_req *x,
    const struct stats_result *res)
{
	yajl_gen		g;
	struct envelope		env;
	size_t			i;

	g = jsongen_alloc();
	page_envelope(fo, x->role == ROLE_CACHED ? res->nrows : 0,
	    res->partial, &env);
	envelope_open(g, &env);
	jsongen_double(g, "fetched_ms", res->elapsed_ms, 1);
	jsongen_int(g, "age_s", (long long)stats_age(res));
	jsongen_str(g, "origin", stats_origin(x));
	jsongen_bool(g, "key_rejected", res->key_rejected);
	jsongen_key(g, "products");
	yajl_gen_array_open(g);
	for (i = 0; i < res->nrows; i++)
		stats_json_row(g, &res->rows[i]);
	yajl_gen_array_close(g);

	envelope_errors(g);
	for (i = 0; i < res->nrows; i++)
		stats_json_errors(g, &res->rows[i], 1);
	envelope_close(g);

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
		yajl_gen_array_open(g);
		stats_json_errors(g, row, 0);
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
}

/* A row's errors, {"error": ..., "source": ...}, and with its product. */
static void
stats_json_errors(yajl_gen g, const struct stats_row *row, int product)
{
	const char	*err[2] = { row->a_err, row->p_err };
	const char	*source[2] = { "analytics", "partner" };
	size_t		i;

	for (i = 0; i < 2; i++) {
		if (err[i][0] == '\0')
			continue;
		envelope_error(g, err[i]);
		if (product)
			jsongen_str(g, "product", row->product);
		jsongen_str(g, "source", source[i]);
		yajl_gen_map_close(g);
	}
}
