/*
 * The simulator's memory of trace context, for tests: the traceparent
 * (and tracestate) of the last SIM_TRACE_KEEP requests per path family
 * (delay, xkcd, analytics, partner), oldest first, on /_/trace:
 *
 *   {"delay": {"seen": 12, "traceparent": ["00-...", ...],
 *              "tracestate": ["", ...]}, "xkcd": ...}
 *
 * "seen" counts requests with a traceparent; per worker (tests run the
 * simulator with one).  Loopback and --status-from only.
 */

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "jsongen.h"
#include "reply.h"
#include "sim.h"

#define SIM_TRACE_KEEP		32
#define SIM_TRACE_FAMILIES	4
#define SIM_TRACE_VALUE_MAX	128

struct sim_trace_family {
	const char	*name;
	u_int64_t	seen;
	char		parent[SIM_TRACE_KEEP][SIM_TRACE_VALUE_MAX];
	char		state[SIM_TRACE_KEEP][SIM_TRACE_VALUE_MAX];
};

int		sim_trace(struct http_request *);

static int	sim_trace_family(int);

static struct sim_trace_family	families[SIM_TRACE_FAMILIES] = {
	{ .name = "delay" }, { .name = "xkcd" }, { .name = "analytics" },
	{ .name = "partner" },
};

/* A request for an endpoint: remember its trace headers. */
void
sim_trace_seen(struct http_request *req, int endpoint)
{
	struct sim_trace_family	*f;
	const char		*tp, *ts;
	size_t			slot;

	if (!http_request_header(req, "traceparent", &tp))
		return;
	if (!http_request_header(req, "tracestate", &ts))
		ts = "";

	f = &families[sim_trace_family(endpoint)];
	slot = f->seen % SIM_TRACE_KEEP;
	(void)snprintf(f->parent[slot], sizeof(f->parent[slot]), "%s", tp);
	(void)snprintf(f->state[slot], sizeof(f->state[slot]), "%s", ts);
	f->seen++;
}

int
sim_trace(struct http_request *req)
{
	struct sim_trace_family	*f;
	yajl_gen		g;
	u_int64_t		i, from;
	size_t			n, k;

	if (!reply_status_allowed(req)) {
		reply_not_found(req);
		return (KORE_RESULT_OK);
	}

	g = jsongen_alloc();
	yajl_gen_map_open(g);
	for (n = 0; n < SIM_TRACE_FAMILIES; n++) {
		f = &families[n];
		from = f->seen > SIM_TRACE_KEEP ? f->seen - SIM_TRACE_KEEP : 0;
		jsongen_key(g, f->name);
		yajl_gen_map_open(g);
		jsongen_int(g, "seen", (long long)f->seen);
		for (k = 0; k < 2; k++) {
			jsongen_key(g, k == 0 ? "traceparent" : "tracestate");
			yajl_gen_array_open(g);
			for (i = from; i < f->seen; i++) {
				yajl_gen_string(g, (const unsigned char *)
				    (k == 0 ? f->parent : f->state)
				    [i % SIM_TRACE_KEEP], strlen((k == 0 ?
				    f->parent : f->state)[i % SIM_TRACE_KEEP]));
			}
			yajl_gen_array_close(g);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);

	reply_jsongen(req, HTTP_STATUS_OK, g, "the traces could not be "
	    "encoded");
	jsongen_free(g);

	return (KORE_RESULT_OK);
}

static int
sim_trace_family(int endpoint)
{
	switch (endpoint) {
	case SIM_EP_COMIC:
	case SIM_EP_PAGE:
	case SIM_EP_IMAGE:
		return (1);
	case SIM_EP_ANALYTICS:
		return (2);
	case SIM_EP_PARTNER:
		return (3);
	}

	return (0);
}
