/*
 * W3C Trace Context: each request continues the client's trace (or
 * starts one) and each upstream call carries a traceparent of its own.
 */

#ifndef __H_TRACE_H
#define __H_TRACE_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#define TRACE_ID_LEN		32
#define TRACE_SPAN_LEN		16

struct trace_ctx {
	char	trace_id[TRACE_ID_LEN + 1];
	char	span_id[TRACE_SPAN_LEN + 1];
	char	parent_id[TRACE_SPAN_LEN + 1];	/* "" when we started it */
	char	flags[3];
};

void	trace_worker_init(void);
void	trace_get(struct http_request *, struct trace_ctx *);
void	trace_reply(struct http_request *);
void	trace_call(struct http_request *, struct kore_curl *);
int	trace_parse(const char *, struct trace_ctx *);

#endif
