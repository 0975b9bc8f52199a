/*
 * The upstream simulator (the --simulator role): set-up, routing, the
 * delay service, the waiting every endpoint shares, and /_/stats.
 *
 * Endpoints:
 *
 *   /delay/<ms>/                 a small JSON body after <ms> ms, like the
 *                                blog's "flash" delay service (here)
 *   /xkcd/info.0.json            the latest comic (SIM_XKCD_LATEST)
 *   /xkcd/<n>/info.0.json        comic <n>, xkcd's format, generated
 *   /xkcd/<n>/                   the comic's page
 *   /xkcd/img/<n>.svg            its image (the four in simxkcd.c)
 *   /analytics/stats             views and visitors of products p01-p60
 *   /partner/stats?product=<id>&api_key=<key>
 *                                one product's sales, revenue, clicks and
 *                                conversion; 401 without the right key
 *                                (both in simpartner.c)
 *
 * Waiting costs nothing: the request sleeps and a one-shot Kore timer
 * wakes it, so thousands can wait at once in one worker.  xkcd documents
 * wait SIM_XKCD_LAG ms unless told otherwise.
 *
 * Faults are path segments before the endpoint, so a test points an app's
 * upstream base URL at them and the app's own paths stay unchanged:
 *
 *   status/<code>      answer with that HTTP status
 *   malformed          a JSON body cut off half way
 *   huge/<bytes>       a body of <bytes> bytes (oversized)
 *   stall              headers and part of the body, then nothing
 *   lag/<ms>           wait <ms> before answering (xkcd endpoints)
 *
 * States: START parses and arms the timer; ANSWER responds (or, for stall,
 * writes a partial response and moves to STALLED, which sleeps until the
 * client gives up and Kore frees the request).  The request's onfree hook
 * removes a timer that has not fired.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "jsongen.h"
#include "reply.h"
#include "settings.h"
#include "sim.h"

#define SIM_STATE_START		0
#define SIM_STATE_ANSWER	1
#define SIM_STATE_STALLED	2

#define SIM_DELAY_MAX		60000
#define SIM_HUGE_MAX		(16 * 1024 * 1024)

int	sim_index(struct http_request *);
int	sim_serve(struct http_request *);
int	sim_stats(struct http_request *);

static int	state_start(struct http_request *);
static int	state_answer(struct http_request *);
static int	state_stalled(struct http_request *);

static int	sim_parse(struct sim_wait *, const char *, char *, size_t);
static int	sim_split(const char *, char *, size_t, char **, int, char *,
		    size_t);
static int	sim_endpoint(struct sim_wait *, char **, int, char *, size_t);
static int	sim_huge(struct http_request *, struct sim_wait *);
static void	sim_delay(struct http_request *, struct sim_wait *);
static void	sim_wake(void *, u_int64_t);
static void	sim_onfree(struct http_request *);
static void	sim_waiting(struct sim_wait *, int);

static struct http_state	states[] = {
	{ "SIM_STATE_START",	state_start },
	{ "SIM_STATE_ANSWER",	state_answer },
	{ "SIM_STATE_STALLED",	state_stalled },
};

#define states_size	(sizeof(states) / sizeof(states[0]))

static u_int64_t	requests = 0;
static u_int64_t	waiting = 0;
static u_int64_t	peak_waiting = 0;
static u_int8_t		*huge = NULL;

int
sim_index(struct http_request *req)
{
	reply_text(req, HTTP_STATUS_OK, "kore-fanout upstream simulator: "
	    "GET /delay/<ms>/, /xkcd/info.0.json, /xkcd/<n>/info.0.json; "
	    "faults before the endpoint: status/<code>/, malformed/, "
	    "huge/<bytes>/, stall/, lag/<ms>/");
	return (KORE_RESULT_OK);
}

int
sim_serve(struct http_request *req)
{
	if (!http_state_exists(req))
		(void)http_state_create(req, sizeof(struct sim_wait),
		    sim_onfree);

	return (http_state_run(states, states_size, req));
}

/*
 * Counters for tests: this worker's requests and waits, then the stats
 * sources' (sim_partner_report()).  Loopback clients only (or
 * --status-from), as the app's status pages.
 */
int
sim_stats(struct http_request *req)
{
	yajl_gen	g;

	if (!reply_status_allowed(req)) {
		reply_not_found(req);
		return (KORE_RESULT_OK);
	}

	g = jsongen_alloc();
	yajl_gen_map_open(g);
	jsongen_int(g, "pid", (long long)getpid());
	jsongen_int(g, "requests", (long long)requests);
	jsongen_int(g, "waiting", (long long)waiting);
	jsongen_int(g, "peak_waiting", (long long)peak_waiting);
	sim_partner_report(g);
	yajl_gen_map_close(g);

	reply_jsongen(req, HTTP_STATUS_OK, g, "the stats could not be encoded");
	jsongen_free(g);

	return (KORE_RESULT_OK);
}

static int
state_start(struct http_request *req)
{
	struct sim_wait		*w = http_state_get(req);
	char			err[160];

	requests++;

	if (!sim_parse(w, req->path, err, sizeof(err))) {
		reply_text(req, HTTP_STATUS_BAD_REQUEST, err);
		return (HTTP_STATE_COMPLETE);
	}

	sim_trace_seen(req, w->endpoint);
	if (!sim_stats_start(req, w))
		return (HTTP_STATE_COMPLETE);

	req->fsm_state = SIM_STATE_ANSWER;
	if (w->ms == 0)
		return (HTTP_STATE_CONTINUE);

	w->timer = kore_timer_add(sim_wake, (u_int64_t)w->ms, req,
	    KORE_TIMER_ONESHOT);
	sim_waiting(w, 1);
	http_request_sleep(req);

	return (HTTP_STATE_RETRY);
}

static int
state_answer(struct http_request *req)
{
	struct sim_wait		*w = http_state_get(req);
	const char		*partial;

	sim_waiting(w, 0);

	switch (w->body) {
	case SIM_BODY_STALL:
		partial = "HTTP/1.1 200 OK\r\n"
		    "content-type: application/json\r\n"
		    "content-length: 1000\r\n\r\n{\"delay_ms\": ";
		net_send_queue(req->owner, partial, strlen(partial));
		(void)net_send_flush(req->owner);
		sim_waiting(w, 1);
		req->fsm_state = SIM_STATE_STALLED;
		http_request_sleep(req);
		return (HTTP_STATE_RETRY);
	case SIM_BODY_HUGE:
		return (sim_huge(req, w));
	}

	switch (w->endpoint) {
	case SIM_EP_COMIC:
		sim_comic(req, w);
		break;
	case SIM_EP_PAGE:
		sim_page(req, w);
		break;
	case SIM_EP_IMAGE:
		sim_image(req, w);
		break;
	case SIM_EP_ANALYTICS:
		sim_analytics(req, w);
		break;
	case SIM_EP_PARTNER:
		sim_partner(req, w);
		break;
	default:
		sim_delay(req, w);
		break;
	}

	return (HTTP_STATE_COMPLETE);
}

static int
state_stalled(struct http_request *req)
{
	/* Only the client closing ends this request. */
	http_request_sleep(req);
	return (HTTP_STATE_RETRY);
}

static int
sim_parse(struct sim_wait *w, const char *path, char *err, size_t errlen)
{
	char		copy[256], *seg[16];
	long long	lag;
	int		n, i;

	w->status = 200;
	w->body = SIM_BODY_NORMAL;
	lag = -1;

	n = sim_split(path, copy, sizeof(copy), seg,
	    (int)(sizeof(seg) / sizeof(seg[0])), err, errlen);
	if (n < 0)
		return (0);

	for (i = 0; i < n; i++) {
		if (!strcmp(seg[i], "delay") || !strcmp(seg[i], "xkcd") ||
		    !strcmp(seg[i], "analytics") ||
		    !strcmp(seg[i], "partner")) {
			if (!sim_endpoint(w, seg + i, n - i, err, errlen))
				return (0);
			if (lag >= 0 && w->endpoint != SIM_EP_DELAY)
				w->ms = lag;
			return (1);
		} else if (!strcmp(seg[i], "status") && i + 1 < n) {
			if (!settings_parse_number(seg[++i], 200, 599,
			    &w->status)) {
				(void)snprintf(err, errlen,
				    "status: expected 200 to 599");
				return (0);
			}
		} else if (!strcmp(seg[i], "huge") && i + 1 < n) {
			if (!settings_parse_number(seg[++i], 16, SIM_HUGE_MAX,
			    &w->size)) {
				(void)snprintf(err, errlen, "huge: expected "
				    "bytes from 16 to %d", SIM_HUGE_MAX);
				return (0);
			}
			w->body = SIM_BODY_HUGE;
		} else if (!strcmp(seg[i], "lag") && i + 1 < n) {
			if (!settings_parse_number(seg[++i], 0, SIM_DELAY_MAX,
			    &lag)) {
				(void)snprintf(err, errlen, "lag: expected "
				    "milliseconds from 0 to %d", SIM_DELAY_MAX);
				return (0);
			}
		} else if (!strcmp(seg[i], "malformed")) {
			w->body = SIM_BODY_MALFORMED;
		} else if (!strcmp(seg[i], "stall")) {
			w->body = SIM_BODY_STALL;
		} else {
			break;
		}
	}

	(void)snprintf(err, errlen, "expected [fault/...]delay/<ms>/ or "
	    "[fault/...]xkcd/...; faults: status/<code>, malformed, "
	    "huge/<bytes>, stall, lag/<ms>");
	return (0);
}

/* path's segments, in copy; -1 with err set when too long or too many. */
static int
sim_split(const char *path, char *copy, size_t len, char **seg, int max,
    char *err, size_t errlen)
{
	char		*p;
	int		n;

	if (strlen(path) >= len) {
		(void)snprintf(err, errlen, "path too long");
		return (-1);
	}
	(void)strcpy(copy, path);

	n = 0;
	for (p = strtok(copy, "/"); p != NULL; p = strtok(NULL, "/")) {
		if (n == max) {
			(void)snprintf(err, errlen, "too many path segments");
			return (-1);
		}
		seg[n++] = p;
	}

	return (n);
}

static int
sim_endpoint(struct sim_wait *w, char **seg, int n, char *err,
    size_t errlen)
{
	char		*dot;

	if (!strcmp(seg[0], "delay")) {
		w->endpoint = SIM_EP_DELAY;
		if (n != 2 || !settings_parse_number(seg[1], 0, SIM_DELAY_MAX,
		    &w->ms)) {
			(void)snprintf(err, errlen, "delay: expected "
			    "milliseconds from 0 to %d", SIM_DELAY_MAX);
			return (0);
		}
		return (1);
	}

	if (!strcmp(seg[0], "analytics") || !strcmp(seg[0], "partner")) {
		if (n != 2 || strcmp(seg[1], "stats") != 0) {
			(void)snprintf(err, errlen, "%s: expected %s/stats",
			    seg[0], seg[0]);
			return (0);
		}
		w->endpoint = !strcmp(seg[0], "analytics") ?
		    SIM_EP_ANALYTICS : SIM_EP_PARTNER;
		w->ms = SIM_STATS_LAG + arc4random_uniform(SIM_STATS_JITTER);
		return (1);
	}

	/* xkcd/... */
	w->ms = SIM_XKCD_LAG;
	if (n == 2 && !strcmp(seg[1], "info.0.json")) {
		w->endpoint = SIM_EP_COMIC;
		w->num = SIM_XKCD_LATEST;
		return (1);
	}
	if (n == 3 && !strcmp(seg[1], "img") &&
	    (dot = strchr(seg[2], '.')) != NULL && !strcmp(dot, ".svg")) {
		*dot = '\0';
		if (settings_parse_number(seg[2], 1, SIM_XKCD_LATEST,
		    &w->num)) {
			w->endpoint = SIM_EP_IMAGE;
			w->ms = 0;
			return (1);
		}
	}
	if ((n == 2 || (n == 3 && !strcmp(seg[2], "info.0.json"))) &&
	    settings_parse_number(seg[1], 1, 1000000, &w->num)) {
		w->endpoint = n == 2 ? SIM_EP_PAGE : SIM_EP_COMIC;
		if (n == 2)
			w->ms = 0;
		if (w->num > SIM_XKCD_LATEST || w->num == 404)
			w->status = 404;
		return (1);
	}

	(void)snprintf(err, errlen, "xkcd: expected info.0.json, "
	    "<n>/info.0.json, <n>/ or img/<n>.svg");
	return (0);
}

/* One shared body of 'x' padding, framed as JSON for the size asked. */
static int
sim_huge(struct http_request *req, struct sim_wait *w)
{
	size_t		len;

	if (huge == NULL) {
		huge = kore_malloc(SIM_HUGE_MAX);
		memset(huge, 'x', SIM_HUGE_MAX);
		memcpy(huge, "{\"pad\": \"", 9);
	}
	len = (size_t)w->size;
	if (len >= 11) {
		huge[len - 2] = '"';
		huge[len - 1] = '}';
	}
	http_response_header(req, "content-type", "application/json");
	http_response(req, (int)w->status, huge, len);
	if (len >= 11) {
		huge[len - 2] = 'x';
		huge[len - 1] = 'x';
	}

	return (HTTP_STATE_COMPLETE);
}

/* The delay service's answer; malformed/ cuts it off. */
static void
sim_delay(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 256);
	kore_buf_appendf(&buf, "{\"delay_ms\": %lld, \"status\": %lld",
	    w->ms, w->status);
	if (w->body == SIM_BODY_NORMAL)
		kore_buf_appendf(&buf, ", \"pid\": %d}\n", (int)getpid());
	http_response_header(req, "content-type", "application/json");
	http_response(req, (int)w->status, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

static void
sim_wake(void *arg, u_int64_t now)
{
	struct http_request	*req = arg;
	struct sim_wait		*w = http_state_get(req);

	w->timer = NULL;
	http_request_wakeup(req);
}

static void
sim_onfree(struct http_request *req)
{
	struct sim_wait		*w = http_state_get(req);

	if (w == NULL)
		return;

	if (w->timer != NULL) {
		kore_timer_remove(w->timer);
		w->timer = NULL;
	}
	sim_waiting(w, 0);
	sim_partner_flight(w, 0);
}

static void
sim_waiting(struct sim_wait *w, int on)
{
	if (on && !w->waiting) {
		w->waiting = 1;
		if (++waiting > peak_waiting)
			peak_waiting = waiting;
	} else if (!on && w->waiting) {
		w->waiting = 0;
		waiting--;
	}
}
