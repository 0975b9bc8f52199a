/*
 * The upstream simulator (the --simulator role).
 *
 * GET /delay/<ms>/ answers after <ms> milliseconds with a small JSON body,
 * like the blog's "flash" delay service.  Waiting costs nothing: the request
 * sleeps and a one-shot Kore timer wakes it, so thousands can wait at once
 * in one worker.
 *
 * Faults are path segments before delay/, so a test points an app's
 * upstream base URL at them and the app's own paths stay unchanged:
 *
 *   /status/<code>/delay/<ms>/   answer with that HTTP status
 *   /malformed/delay/<ms>/       a JSON body cut off half way
 *   /huge/<bytes>/delay/<ms>/    a body of <bytes> bytes (oversized)
 *   /stall/delay/<ms>/           headers and part of the body, then nothing
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

#include <kore/kore.h>
#include <kore/http.h>

#include "reply.h"
#include "settings.h"

#define SIM_STATE_START		0
#define SIM_STATE_ANSWER	1
#define SIM_STATE_STALLED	2

#define SIM_DELAY_MAX		60000
#define SIM_HUGE_MAX		(16 * 1024 * 1024)

#define SIM_BODY_JSON		0
#define SIM_BODY_MALFORMED	1
#define SIM_BODY_HUGE		2
#define SIM_BODY_STALL		3

struct sim_wait {
	struct kore_timer	*timer;
	long long		ms;
	long long		status;
	long long		size;
	int			body;
	int			waiting;
};

int	sim_index(struct http_request *);
int	sim_delay(struct http_request *);
int	sim_stats(struct http_request *);

static int	state_start(struct http_request *);
static int	state_answer(struct http_request *);
static int	state_stalled(struct http_request *);

static int	sim_parse(struct sim_wait *, const char *, char *, size_t);
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
	    "GET /delay/<ms>/ (0-60000); faults: /status/<code>/, "
	    "/malformed/, /huge/<bytes>/, /stall/ before delay/");
	return (KORE_RESULT_OK);
}

int
sim_delay(struct http_request *req)
{
	if (!http_state_exists(req))
		(void)http_state_create(req, sizeof(struct sim_wait),
		    sim_onfree);

	return (http_state_run(states, states_size, req));
}

int
sim_stats(struct http_request *req)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "{\"pid\":%d,\"requests\":%llu,"
	    "\"waiting\":%llu,\"peak_waiting\":%llu}", (int)getpid(),
	    (unsigned long long)requests, (unsigned long long)waiting,
	    (unsigned long long)peak_waiting);
	reply_json(req, HTTP_STATUS_OK, (const char *)buf.data, buf.offset);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

static int
state_start(struct http_request *req)
{
	struct sim_wait		*w = http_state_get(req);
	char			err[128];

	requests++;

	if (!sim_parse(w, req->path, err, sizeof(err))) {
		reply_text(req, HTTP_STATUS_BAD_REQUEST, err);
		return (HTTP_STATE_COMPLETE);
	}

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
	struct kore_buf		buf;
	const char		*partial;
	size_t			len;

	sim_waiting(w, 0);

	switch (w->body) {
	case SIM_BODY_STALL:
		partial = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
		    "content-length: 1000\r\n\r\n{\"delay_ms\": ";
		net_send_queue(req->owner, partial, strlen(partial));
		(void)net_send_flush(req->owner);
		sim_waiting(w, 1);
		req->fsm_state = SIM_STATE_STALLED;
		http_request_sleep(req);
		return (HTTP_STATE_RETRY);
	case SIM_BODY_HUGE:
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

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "{\"delay_ms\": %lld, \"status\": %lld",
	    w->ms, w->status);
	if (w->body == SIM_BODY_JSON)
		kore_buf_appendf(&buf, ", \"pid\": %d}\n", (int)getpid());

	http_response_header(req, "content-type", "application/json");
	http_response(req, (int)w->status, buf.data, buf.offset);
	kore_buf_cleanup(&buf);

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
	char		copy[256], *seg[16], *p;
	int		n, i;

	w->status = 200;
	w->body = SIM_BODY_JSON;

	if (strlen(path) >= sizeof(copy)) {
		(void)snprintf(err, errlen, "path too long");
		return (0);
	}
	(void)strcpy(copy, path);

	n = 0;
	for (p = strtok(copy, "/"); p != NULL; p = strtok(NULL, "/")) {
		if (n == (int)(sizeof(seg) / sizeof(seg[0]))) {
			(void)snprintf(err, errlen, "too many path segments");
			return (0);
		}
		seg[n++] = p;
	}

	for (i = 0; i < n; i++) {
		if (!strcmp(seg[i], "delay") && i == n - 2) {
			if (!settings_parse_number(seg[i + 1], 0,
			    SIM_DELAY_MAX, &w->ms)) {
				(void)snprintf(err, errlen, "delay: expected "
				    "milliseconds from 0 to %d", SIM_DELAY_MAX);
				return (0);
			}
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
		} else if (!strcmp(seg[i], "malformed")) {
			w->body = SIM_BODY_MALFORMED;
		} else if (!strcmp(seg[i], "stall")) {
			w->body = SIM_BODY_STALL;
		} else {
			break;
		}
	}

	(void)snprintf(err, errlen, "expected [fault/...]delay/<ms>/, faults: "
	    "status/<code>, malformed, huge/<bytes>, stall");
	return (0);
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
