/*
 * W3C Trace Context: each request continues the client's trace (or
 * starts one) and each upstream call carries a traceparent of its own.
 */

#ifndef __H_TRACE_H
#define __H_TRACE_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "tracectx.h"

void	trace_worker_init(void);
void	trace_get(struct http_request *, struct trace_ctx *);
void	trace_reply(struct http_request *);
void	trace_call(struct http_request *, struct kore_curl *);

#endif
