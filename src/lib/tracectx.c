/*
 * Parsing W3C Trace Context headers (https://www.w3.org/TR/trace-context/).
 *
 * traceparent is version-traceid-parentid-flags in lower-case hex: version
 * ff is invalid, neither id may be all zeroes, version 00 is exactly 55
 * characters, and a later version may carry more after a dash.  A
 * tracestate is passed on as it came when it is bounded printable ASCII.
 */

#include <string.h>

#include "tracectx.h"

static int	tracectx_hex(const char *, size_t);

/* Fills trace_id, parent_id (the sender's span) and flags of ctx. */
int
tracectx_parse(const char *v, struct trace_ctx *ctx)
{
	size_t		len;

	len = strlen(v);
	if (len < TRACEPARENT_LEN || v[2] != '-' || v[35] != '-' ||
	    v[52] != '-')
		return (0);
	if (!tracectx_hex(v, 2) || strncmp(v, "ff", 2) == 0)
		return (0);
	if (strncmp(v, "00", 2) == 0 ? len != TRACEPARENT_LEN :
	    (len > TRACEPARENT_LEN && v[TRACEPARENT_LEN] != '-'))
		return (0);
	if (!tracectx_hex(v + 3, TRACE_ID_LEN) ||
	    tracectx_zero(v + 3, TRACE_ID_LEN) ||
	    !tracectx_hex(v + 36, TRACE_SPAN_LEN) ||
	    tracectx_zero(v + 36, TRACE_SPAN_LEN) || !tracectx_hex(v + 53, 2))
		return (0);

	memcpy(ctx->trace_id, v + 3, TRACE_ID_LEN);
	ctx->trace_id[TRACE_ID_LEN] = '\0';
	memcpy(ctx->parent_id, v + 36, TRACE_SPAN_LEN);
	ctx->parent_id[TRACE_SPAN_LEN] = '\0';
	memcpy(ctx->flags, v + 53, 2);
	ctx->flags[2] = '\0';

	return (1);
}

/* A tracestate we pass on: 1 to TRACESTATE_MAX printable ASCII bytes. */
int
tracectx_state_ok(const char *v)
{
	size_t		i;

	for (i = 0; v[i] != '\0'; i++) {
		if (i >= TRACESTATE_MAX || v[i] < 0x20 || v[i] > 0x7e)
			return (0);
	}

	return (i > 0);
}

int
tracectx_zero(const char *p, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		if (p[i] != '0')
			return (0);
	}

	return (1);
}

static int
tracectx_hex(const char *p, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return (0);
	}

	return (1);
}
