/*
 * What the pages share (pagevars.h): the format choice, the JSON
 * envelope's figures, and the template variables of the gallery-style
 * pages.
 */

#include <stdio.h>
#include <string.h>

#include "pagevars.h"
#include "reply.h"

/*
 * The answer's format: format=json or format=html in the query (another
 * value is an error naming the accepted ones), else the client's Accept
 * (reply_wants_json_format()).  Either way the answer varies with
 * Accept.  Sets *json; 0 (and err) on a bad value.
 */
int
page_format(struct http_request *req, const struct qparams *qp, int *json,
    char *err, size_t errlen)
{
	const char	*fmt;

	http_response_header(req, "vary", "accept");
	if ((fmt = qparam_get(qp, "format")) != NULL &&
	    strcmp(fmt, "json") != 0 && strcmp(fmt, "html") != 0) {
		(void)snprintf(err, errlen, "invalid parameter 'format': "
		    "expected json or html");
		return (0);
	}

	*json = reply_wants_json_format(req, fmt);
	return (1);
}

/* The envelope of fo's answer (envelope.h). */
void
page_envelope(const struct fanout *fo, size_t from_cache, int partial,
    struct envelope *e)
{
	e->mode = fanout_is_async(fo) ? "async" : "sync";
	e->elapsed_ms = fanout_elapsed_ms(fo);
	e->upstream_calls = fanout_calls_made(fo);
	e->from_cache = from_cache;
	e->partial = partial;
}

/*
 * Fill v[0 .. PAGE_VARS - 1] from fo and the page's figures, with the
 * strings in pv (which must outlive the rendering); returns PAGE_VARS.
 * sync_path and async_path are the page's two variants; the link to the
 * other one has query, or (NULL) this request's query string.
 */
size_t
page_vars(struct http_request *req, struct fanout *fo, const char *sync_path,
    const char *async_path, const char *query, double elapsed_ms,
    size_t count, size_t nerr, struct page_vars *pv, struct tmpl_var *v)
{
	struct kore_buf	b;
	int		async = fanout_is_async(fo);

	kore_buf_init(&b, 128);
	reply_append_path(&b, async ? sync_path : async_path,
	    query != NULL ? query : req->query_string);
	(void)snprintf(pv->other, sizeof(pv->other), "%s",
	    kore_buf_stringify(&b, NULL));
	kore_buf_cleanup(&b);
	(void)snprintf(pv->elapsed, sizeof(pv->elapsed), "%.0f", elapsed_ms);
	(void)snprintf(pv->calls, sizeof(pv->calls), "%zu",
	    fanout_calls_made(fo));
	(void)snprintf(pv->count, sizeof(pv->count), "%zu", count);
	(void)snprintf(pv->errors, sizeof(pv->errors), "%zu", nerr);

	v[0] = (struct tmpl_var){ "mode", async ? "async" : "sync", TMPL_TEXT };
	v[1] = (struct tmpl_var){ "other_mode", async ? "sync" : "async",
	    TMPL_TEXT };
	v[2] = (struct tmpl_var){ "other_href", pv->other, TMPL_TEXT };
	v[3] = (struct tmpl_var){ "elapsed", pv->elapsed, TMPL_TEXT };
	v[4] = (struct tmpl_var){ "calls", pv->calls, TMPL_TEXT };
	v[5] = (struct tmpl_var){ "count", pv->count, TMPL_TEXT };
	v[6] = (struct tmpl_var){ "errors", pv->errors, TMPL_TEXT };

	return (PAGE_VARS);
}

/*
 * Render the page's template with v and answer it; ok 0 (a part of the
 * page failed to render already) answers the rendering error instead.
 */
void
page_render(struct http_request *req, int ok, const u_int8_t *tmpl,
    size_t len, const struct tmpl_var *v, size_t n, const char *what)
{
	struct sbuf	page;

	sbuf_init(&page);
	if (ok)
		ok = tmpl_render(&page, (const char *)tmpl, len, v, n);
	reply_rendered(req, ok, page.data, page.len, what);
	sbuf_cleanup(&page);
}
