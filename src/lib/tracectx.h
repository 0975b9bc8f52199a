/*
 * W3C Trace Context headers, pure parsing (libc only, unit-tested):
 * traceparent and what of a tracestate may be passed on.
 */

#ifndef __H_TRACECTX_H
#define __H_TRACECTX_H

#include <stddef.h>

#define TRACE_ID_LEN		32
#define TRACE_SPAN_LEN		16
#define TRACEPARENT_LEN		55
#define TRACESTATE_MAX		512

struct trace_ctx {
	char	trace_id[TRACE_ID_LEN + 1];
	char	span_id[TRACE_SPAN_LEN + 1];
	char	parent_id[TRACE_SPAN_LEN + 1];	/* "" when we started it */
	char	flags[3];
};

int	tracectx_parse(const char *, struct trace_ctx *);
int	tracectx_state_ok(const char *);
int	tracectx_zero(const char *, size_t);

#endif
