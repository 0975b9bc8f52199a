/*
 * The blog's basic pair: /get_data (sync) and /async_get_data (async).
 *
 * Both make `calls` GETs to <upstream>/delay/<delay>/ and answer
 * {"response_1": 200, ...} in the pages' JSON envelope (demojson.c);
 * with calls=0 they make none and answer "ok", the blog's first step, or
 * the envelope to a JSON client (format=json, Accept).  They share one
 * fanout_page: the engine decides whether the calls run one after
 * another or all at once.
 */

#include <stdio.h>
#include <stdlib.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "demojson.h"
#include "fanout.h"
#include "pagevars.h"
#include "qparam.h"
#include "reply.h"
#include "settings.h"

#define DEMO_CALLS_DEFAULT	2
#define DEMO_DELAY_DEFAULT	1000
#define DEMO_DELAY_MAX		60000

struct demo_req {
	int		json;
};

int	page_get_data(struct http_request *);
int	page_async_get_data(struct http_request *);

static int	demo_setup(struct http_request *, struct fanout *);
static void	demo_finish(struct http_request *, struct fanout *);

static const char *const	demo_params[] = {
	"calls", "delay", "format", NULL
};

static const struct fanout_page	demo_page = {
	.udata_len = sizeof(struct demo_req),
	.setup = demo_setup,
	.finish = demo_finish,
};

int
page_get_data(struct http_request *req)
{
	return (fanout_serve_sync(req, &demo_page));
}

int
page_async_get_data(struct http_request *req)
{
	return (fanout_serve_async(req, &demo_page));
}

static int
demo_setup(struct http_request *req, struct fanout *fo)
{
	struct demo_req		*d = fanout_udata(fo);
	struct qparams		qp;
	long long		calls, delay, i;
	char			err[QPARAM_ERR_MAX];
	char			url[SETTINGS_SIZE(upstream) + 32];

	if (!qparam_parse(&qp, req->query_string, err, sizeof(err)) ||
	    !qparam_only(&qp, demo_params, err, sizeof(err)) ||
	    !page_format(req, &qp, &d->json, err, sizeof(err)) ||
	    !qparam_number(&qp, "calls", DEMO_CALLS_DEFAULT, 0,
	    (long long)fanout_limits(fo)->max_calls, &calls, err,
	    sizeof(err)) ||
	    !qparam_number(&qp, "delay", DEMO_DELAY_DEFAULT, 0,
	    DEMO_DELAY_MAX, &delay, err, sizeof(err))) {
		fanout_reply_error(req, fo, HTTP_STATUS_BAD_REQUEST, err);
		return (KORE_RESULT_ERROR);
	}

	(void)snprintf(url, sizeof(url), "%s/delay/%lld/", settings.upstream,
	    delay);

	for (i = 0; i < calls; i++)
		(void)fanout_add(fo, HTTP_METHOD_GET, url);

	return (KORE_RESULT_OK);
}

static void
demo_finish(struct http_request *req, struct fanout *fo)
{
	struct demo_req			*d = fanout_udata(fo);
	const struct fanout_result	*r;
	struct demo_entry		*e;
	struct envelope			env;
	size_t				i, n, len;
	char				*body;

	fanout_server_timing(req, fo);

	if ((n = fanout_count(fo)) == 0 && !d->json) {
		http_response_header(req, "content-type",
		    "text/plain; charset=utf-8");
		reply_send(req, HTTP_STATUS_OK, "ok", 2);
		return;
	}

	e = kore_calloc(n > 0 ? n : 1, sizeof(*e));
	for (i = 0; i < n; i++) {
		r = fanout_result(fo, i);
		e[i].status = (r->error == FANOUT_ERR_NONE ||
		    r->error == FANOUT_ERR_HTTP) ? r->status : 0;
		e[i].kind = fanout_strerror(r->error);
		e[i].msg = r->errmsg;
	}

	page_envelope(fo, 0, 0, &env);
	if ((body = demo_json(&env, e, n, &len)) == NULL) {
		reply_text(req, HTTP_STATUS_INTERNAL_ERROR,
		    "could not encode the response");
	} else {
		reply_json(req, HTTP_STATUS_OK, body, len);
		free(body);
	}

	kore_free(e);
}
