/*
 * The access log's JSON format (--log-format json): one object per line
 * and request, written by reply.c's log hook:
 *
 *   {"time": "2026-12-04T03:40:00.123Z", "client": "127.0.0.1",
 *    "method": "GET", "path": "/async_get_data", "query": "calls=2",
 *    "status": 200, "bytes": 35, "scheme": "http", "duration_ms": 1002.3,
 *    "trace_id": "...", "span_id": "...", "parent_id": "...",
 *    "upstream_calls": 2, "failed_calls": 0,
 *    "slowest_call": {"call": 2, "ms": 1001.9, "outcome": "2xx"},
 *    "errors": {"timeout": 1}, "cache": "hit"}
 *
 * The fan-out fields come from the engine's note (metrics_note()) and are
 * there only for pages that fan out; parent_id only for a continued
 * trace; cache only when the request looked in one ("hit", "miss",
 * "partial": some of each, "shared": it waited for another request's
 * fetch).  The path and query are the client's, with bytes outside
 * printable ASCII replaced by '?' (the plain format does the same); no
 * upstream URL, hence no partner key, is ever written.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "jsongen.h"
#include "metrics.h"
#include "reply.h"
#include "reqlog.h"
#include "trace.h"

#define REQLOG_FIELD_MAX	2048

static void	reqlog_clean(const char *, char *, size_t);
static void	reqlog_time(char *, size_t);
static void	reqlog_fanout(yajl_gen, const struct metrics_note *);
static const char	*reqlog_cache(const struct metrics_note *);

void
reqlog_json(int fd, struct http_request *req, const char *client,
    int status, size_t len, const struct metrics_note *note)
{
	struct trace_ctx	tc;
	struct kore_buf		line;
	yajl_gen		g;
	const unsigned char	*out;
	size_t			olen;
	char			when[40], field[REQLOG_FIELD_MAX];
	u_int64_t		start;
	struct timespec		ts;
	double			ms;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	start = note != NULL ? note->start_us : req->start * 1000;
	ms = ((double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3 - (double)start) /
	    1000.0;
	trace_get(req, &tc);
	reqlog_time(when, sizeof(when));

	g = jsongen_alloc();
	yajl_gen_map_open(g);
	jsongen_str(g, "time", when);
	jsongen_str(g, "client", client);
	jsongen_str(g, "method", http_method_text(req->method));
	reqlog_clean(req->path, field, sizeof(field));
	jsongen_str(g, "path", field);
	if (req->query_string != NULL) {
		reqlog_clean(req->query_string, field, sizeof(field));
		jsongen_str(g, "query", field);
	}
	jsongen_int(g, "status", status);
	jsongen_int(g, "bytes", (long long)len);
	jsongen_str(g, "scheme", reply_https(req) ? "https" : "http");
	jsongen_double(g, "duration_ms", ms > 0 ? ms : 0, 3);
	jsongen_str(g, "trace_id", tc.trace_id);
	jsongen_str(g, "span_id", tc.span_id);
	if (tc.parent_id[0] != '\0')
		jsongen_str(g, "parent_id", tc.parent_id);
	if (note != NULL)
		reqlog_fanout(g, note);
	yajl_gen_map_close(g);

	/* One write per line: workers append to the same file. */
	if (jsongen_finish(g, &out, &olen)) {
		kore_buf_init(&line, olen + 1);
		kore_buf_append(&line, out, olen);
		kore_buf_append(&line, "\n", 1);
		(void)write(fd, line.data, line.offset);
		kore_buf_cleanup(&line);
	}
	jsongen_free(g);
}

static void
reqlog_fanout(yajl_gen g, const struct metrics_note *n)
{
	const char	*cache, *name;
	size_t		i;

	jsongen_int(g, "upstream_calls", n->calls);
	jsongen_int(g, "failed_calls", n->failed);
	if (n->slowest > 0) {
		jsongen_key(g, "slowest_call");
		yajl_gen_map_open(g);
		jsongen_int(g, "call", n->slowest);
		jsongen_double(g, "ms", n->slowest_ms, 3);
		yajl_gen_map_close(g);
	}
	if (n->failed > 0) {
		jsongen_key(g, "errors");
		yajl_gen_map_open(g);
		for (i = 0; (name = metrics_outcome_name(i)) != NULL; i++) {
			if (n->outcomes[i] > 0 && strcmp(name, "2xx") != 0)
				jsongen_int(g, name, n->outcomes[i]);
		}
		yajl_gen_map_close(g);
	}
	if ((cache = reqlog_cache(n)) != NULL)
		jsongen_str(g, "cache", cache);
}

static const char *
reqlog_cache(const struct metrics_note *n)
{
	if (n->cache[2] > 0)
		return ("shared");
	if (n->cache[0] > 0 && n->cache[1] > 0)
		return ("partial");
	if (n->cache[0] > 0)
		return ("hit");
	if (n->cache[1] > 0)
		return ("miss");

	return (NULL);
}

/* Printable ASCII only (valid UTF-8 for yajl, no forged lines). */
static void
reqlog_clean(const char *in, char *out, size_t len)
{
	size_t		i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++) {
		out[i] = ((unsigned char)in[i] < 0x20 ||
		    (unsigned char)in[i] >= 0x7f) ? '?' : in[i];
	}
	out[i] = '\0';
}

/* UTC with milliseconds: 2026-12-04T03:40:00.123Z. */
static void
reqlog_time(char *buf, size_t len)
{
	struct timespec		ts;
	struct tm		tm;
	char			base[24];

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	(void)strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(buf, len, "%s.%03dZ", base,
	    (int)(ts.tv_nsec / 1000000) % 1000);
}
