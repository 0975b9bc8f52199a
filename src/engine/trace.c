/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/).
 *
 * A request with a valid traceparent continues that trace: same trace id
 * and flags, the client's span as parent, a new span id of our own.
 * Without one (or with an invalid one, whose tracestate is then ignored
 * too) the request starts a trace.  Each upstream call sends
 * traceparent 00-<trace id>-<a new span id>-<flags>, a child of the
 * request's span, and the client's tracestate unchanged.
 *
 * The request's context lives in its own response header, traceresponse
 * (00-<trace id>-<our span id>-<flags>, as in the Trace Context Level 2
 * draft): made the first time it is needed (the first upstream call, or
 * the answer), read back from there afterwards, sent with the answer so
 * a user can quote the trace id, and freed with the request.  Kore gives
 * a request no other place for it that outlives every state.
 *
 * Ids come from a per-worker splitmix64 generator seeded from
 * arc4random(): trace ids must be unique, not secret.  Parsing the
 * headers is src/lib/tracectx.c's (unit-tested).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "trace.h"
#include "tracectx.h"

static int	trace_lookup(struct http_request *, struct trace_ctx *);
static void	trace_start(struct http_request *, struct trace_ctx *);
static void	trace_random(char *, size_t);

static u_int64_t	rng = 0;

void
trace_worker_init(void)
{
	arc4random_buf(&rng, sizeof(rng));
	rng ^= (u_int64_t)getpid() << 32;
}

/* The request's trace context, made on first use (see above). */
void
trace_get(struct http_request *req, struct trace_ctx *ctx)
{
	if (!trace_lookup(req, ctx))
		trace_start(req, ctx);
}

/* The answer carries the context (traceresponse), made now if need be. */
void
trace_reply(struct http_request *req)
{
	struct trace_ctx	ctx;

	trace_get(req, &ctx);
}

/* An upstream call's own traceparent (and the client's tracestate). */
void
trace_call(struct http_request *req, struct kore_curl *client)
{
	struct trace_ctx	ctx;
	const char		*ts;
	char			span[TRACE_SPAN_LEN + 1];
	char			value[TRACEPARENT_LEN + 1];

	if (req == NULL)
		return;

	trace_get(req, &ctx);
	trace_random(span, sizeof(span));
	(void)snprintf(value, sizeof(value), "00-%s-%s-%s", ctx.trace_id, span,
	    ctx.flags);
	kore_curl_http_set_header(client, "traceparent", value);

	/* A continued trace only: an invalid traceparent voids it. */
	if (ctx.parent_id[0] != '\0' &&
	    http_request_header(req, "tracestate", &ts) &&
	    tracectx_state_ok(ts))
		kore_curl_http_set_header(client, "tracestate", ts);
}

/* The context already made for this request, from its traceresponse. */
static int
trace_lookup(struct http_request *req, struct trace_ctx *ctx)
{
	struct http_header	*hdr;
	struct trace_ctx	in, own;
	const char		*tp;

	TAILQ_FOREACH(hdr, &req->resp_headers, list) {
		if (strcmp(hdr->header, "traceresponse") == 0)
			break;
	}
	if (hdr == NULL || !tracectx_parse(hdr->value, &own))
		return (0);

	memcpy(ctx->trace_id, own.trace_id, sizeof(ctx->trace_id));
	memcpy(ctx->span_id, own.parent_id, sizeof(ctx->span_id));
	memcpy(ctx->flags, own.flags, sizeof(ctx->flags));
	ctx->parent_id[0] = '\0';
	if (http_request_header(req, "traceparent", &tp) &&
	    tracectx_parse(tp, &in) && strcmp(in.trace_id, own.trace_id) == 0)
		memcpy(ctx->parent_id, in.parent_id, sizeof(ctx->parent_id));

	return (1);
}

/* Continue the client's trace or start one; remember it on the answer. */
static void
trace_start(struct http_request *req, struct trace_ctx *ctx)
{
	const char	*tp;
	char		value[TRACEPARENT_LEN + 1];

	if (!http_request_header(req, "traceparent", &tp) ||
	    !tracectx_parse(tp, ctx)) {
		trace_random(ctx->trace_id, sizeof(ctx->trace_id));
		ctx->parent_id[0] = '\0';
		(void)snprintf(ctx->flags, sizeof(ctx->flags), "01");
	}
	trace_random(ctx->span_id, sizeof(ctx->span_id));

	(void)snprintf(value, sizeof(value), "00-%s-%s-%s", ctx->trace_id,
	    ctx->span_id, ctx->flags);
	http_response_header(req, "traceresponse", value);
}

/* len - 1 random lower-case hex digits into buf, never all zeroes. */
static void
trace_random(char *buf, size_t len)
{
	static const char	hex[] = "0123456789abcdef";
	u_int64_t		z;
	size_t			i;

	z = 0;
	do {
		for (i = 0; i + 1 < len; i++) {
			if (i % 16 == 0) {
				z = (rng += 0x9e3779b97f4a7c15ULL);
				z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
				z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
				z ^= z >> 31;
			}
			buf[i] = hex[z & 0xf];
			z >>= 4;
		}
		buf[len - 1] = '\0';
	} while (tracectx_zero(buf, len - 1));
}
