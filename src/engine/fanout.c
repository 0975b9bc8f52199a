/*
 * The fan-out engine.
 *
 * A page's setup() adds calls; the engine runs them and hands the results
 * to the page's finish().  Async pages run this state machine:
 *
 *   SETUP  setup() reads the request and adds calls (nothing runs yet).
 *   WAIT   harvest finished calls (a finished kore_curl client has a NULL
 *          handle), start queued calls while fewer than `concurrency` are
 *          in flight, sleep while any is in flight.  Each started call is
 *          bound to the request: binding puts the request to sleep and a
 *          completion wakes it (several completions may give one wake-up,
 *          hence the harvest loop).
 *          When all are done, the page's next() (if any) may add another
 *          round of calls (at most FANOUT_ROUNDS_MAX rounds).
 *   DONE   finish() answers.
 *
 * A spawned fan-out (fanout_spawn(): a refresh nobody waits for) runs
 * the same WAIT turns (fanout_step()) without a request: its calls are
 * bound to a callback, and every wake-up arms a 0 ms timer that runs the
 * next turn; when done, the page's finish() gets req NULL and the
 * fan-out is freed.  It takes the same slots of the worker's caps.
 *
 * Two things Kore 4.1.0 does not do for us:
 *
 * - The kick.  Adding a transfer only asks libcurl for an immediate
 *   timeout; the worker would sleep up to 100 ms before acting on it.
 *   kore_curl_do_timeout() right after starting transfers runs them now.
 *
 * - Surviving a client that goes away mid-flight.  Kore frees the request
 *   and cancels its bound transfers, which can make libcurl report a socket
 *   it already closed; Kore then dies in kore_platform_disable_read().  So
 *   the request's onfree hook detaches every unfinished call first: it
 *   leaves the request's list, gets a callback instead, and finishes (at
 *   the latest at its curl timeout) into call_detached_done(), which frees
 *   it.  Nothing touches the freed request afterwards.
 *
 * Admission (admit.c).  Each worker caps the fan-outs in progress
 * (max_fanouts) and the upstream calls in flight (max_inflight).  A
 * fan-out is admitted when it first has calls to start: it reserves
 * min(queued calls, concurrency) slots of the in-flight cap at once, and
 * is refused with a 503 and Retry-After if the fan-out cap is reached or
 * the slots are not free.  It is never queued: a refusal costs nothing and
 * answers at once, a queue would hold a client connection and memory per
 * waiting request.  A later round (next()) that needs more slots takes
 * what is free and otherwise runs within what it holds.  A call detached
 * from a departed request keeps its slot until its transfer ends, so the
 * reserved slots bound the sockets of upstream calls.  Pages without calls
 * (calls=0, a cache hit, a parked follower) never take a slot and keep
 * answering during overload. By default both caps derive from the worker's
 * file limit (fanout_set_caps()).
 *
 * Memory after a load.  Per-call memory comes from libc, not from Kore's
 * pools, which never shrink.  Once the worker has had no fan-out for a
 * second it gives freed heap memory back to the system (malloc_trim());
 * after five, its pooled connections are too old to be reused: it closes
 * them and trims again.
 *
 * The overall deadline needs no timer: each call's curl timeout is capped
 * at what is left of it, and a queued call whose turn comes after the
 * deadline is failed without starting.
 *
 * Sync pages use the same calls and results, run one after another with
 * blocking transfers (which stall the whole worker: that is the lesson).
 *
 * A failed call's text, which pages show to clients, is its kind's fixed
 * message: libcurl's own ("Failed to connect to 10.0.0.5 port 8080")
 * names internal hosts and ports.  That detail goes to the log, with any
 * api_key in it or in the URL redacted, and to clients only with
 * fanout_set_error_detail(1) (development).
 */

#include <sys/types.h>
#include <sys/param.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "engine.h"
#include "fanout.h"
#include "metrics.h"
#include "qparam.h"
#include "reply.h"
#include "stiming.h"
#include "syncgate.h"
#include "trace.h"

#define FANOUT_STATE_SETUP	0
#define FANOUT_STATE_WAIT	1
#define FANOUT_STATE_DONE	2

/* What one turn of the WAIT state leads to (fanout_step()). */
#define STEP_SLEEP		0
#define STEP_AGAIN		1
#define STEP_DONE		2
#define STEP_REFUSED		3

#define CALL_QUEUED		0
#define CALL_RUNNING		1
#define CALL_DONE		2
#define CALL_BACKOFF		3	/* waiting to be retried */

#define CALL_HEADERS_MAX	16
#define CALL_ERRTEXT_MAX	(CURL_ERROR_SIZE + 64)
#define CALL_LOGURL_MAX		512
#define CALL_RESP_HDRS_MAX	(64 * 1024)
#define CALL_HVAL_MAX		256
#define CALL_BUF_MIN		512


#define REFUSED_LOG_MS		10000
#define TAIL_RETRY_AFTER_MAX	1000	/* ms: a 429 retried after it */

/* Bodies and headers of answers, in libc memory (see call_append()). */
struct call_buf {
	u_int8_t		*data;
	size_t			len;
	size_t			cap;
};

struct fanout_call {
	struct kore_curl	curl;
	struct fanout		*fo;
	int			state;
	int			inited;
	int			toobig;
	int			h2;		/* answered over HTTP/2 */
	int			capped;
	int			method;
	int			group;
	int			pool;
	char			*url;
	char			*hname[CALL_HEADERS_MAX];
	char			*hvalue[CALL_HEADERS_MAX];
	size_t			nheaders;
	u_int8_t		*body;
	size_t			body_len;
	size_t			max_body;
	struct call_buf		resp;
	struct call_buf		rhdrs;
	char			hval[CALL_HVAL_MAX];
	u_int64_t		start_us;
	char			errtext[CALL_ERRTEXT_MAX];
	struct fanout_result	result;
	/* Tail tolerance (tail.c, origin.c). */
	struct origin		*origin;
	struct fanout_call	*twin;		/* the hedge's other copy */
	int			attempts;
	int			copy;		/* 1, or 2 for a hedge */
	int			probe;		/* the breaker's probe */
	int			once;		/* never retried or hedged */
	const struct fanout_tail_rule	*rule;	/* its upstream's */
	void			(*end_cb)(void *);	/* detached_end() */
	void			*end_arg;
	u_int64_t		hedge_at_us;	/* 0: not to be hedged */
	u_int64_t		retry_at_us;	/* CALL_BACKOFF until then */
};


struct fanout_state {
	struct fanout		*fo;
};


static int	state_setup(struct http_request *);
static int	state_wait(struct http_request *);
static int	state_done(struct http_request *);

static struct fanout	*fanout_alloc(struct http_request *,
			    const struct fanout_page *, int);
static void		fanout_free(struct fanout *);
static int		fanout_setup(struct http_request *, struct fanout *);
static void		fanout_onfree(struct http_request *);
static void		fanout_harvest(struct fanout *);
static size_t		fanout_start_queued(struct fanout *);
static int		fanout_next_round(struct http_request *,
			    struct fanout *);
static size_t		fanout_queued(const struct fanout *);
static void		fanout_refuse(struct http_request *, struct fanout *);
static void		fanout_refused(struct fanout *);
static int		fanout_step(struct fanout *);
static void		fanout_alert(struct fanout *);
static void		spawn_run(struct fanout *);
static void		spawn_kick(void *, u_int64_t);
static void		spawn_call_done(struct kore_curl *, void *);

static int		call_start(struct fanout *, struct fanout_call *, int);
static void		call_options(struct fanout *, struct fanout_call *,
			    long, int);
static void		call_finish(struct fanout_call *);
static void		call_fail(struct fanout_call *, int, const char *);
static void		call_error(struct fanout_call *, int, const char *,
			    const char *);
static void		call_free(struct fanout_call *);
static void		call_detach(struct fanout_call *);
static void		call_detach_page(struct fanout *, struct fanout_call *,
			    size_t);
static void		call_detached_done(struct kore_curl *, void *);
static void		call_ended(struct fanout_call *);
static size_t		call_write(char *, size_t, size_t, void *);
static size_t		call_header(char *, size_t, size_t, void *);
static void		call_append(struct call_buf *, const void *, size_t);
static curl_socket_t	call_opensocket(void *, curlsocktype,
			    struct curl_sockaddr *);
static u_int64_t	now_us(void);
static const char	*call_header_value(struct fanout_call *,
			    const char *);

static void		tail_sync_call(struct fanout *, size_t);
static struct fanout_call	*tail_settle(struct fanout *, size_t);
static void		tail_drop(struct fanout *, struct fanout_call *);
static int		tail_answered(const struct fanout_call *);
static void		tail_record(struct fanout_call *);
static int		tail_retry(struct fanout *, struct fanout_call *);
static void		tail_reset(struct fanout_call *);
static size_t		tail_start_retries(struct fanout *, size_t);
static size_t		tail_hedge(struct fanout *);
static struct fanout_call	*tail_copy(struct fanout_call *);
static int		tail_pending(struct fanout *);
static void		tail_wake(void *, u_int64_t);
static int		tail_idempotent(int);
static long		tail_retry_after(struct fanout_call *);
static int		tail_seconds(const char *, long long *);
static void		in_flight_add(void);
static void		tail_timing(const struct fanout_result *, char *,
			    size_t);


static struct http_state	states[] = {
	{ "FANOUT_STATE_SETUP",	state_setup },
	{ "FANOUT_STATE_WAIT",	state_wait },
	{ "FANOUT_STATE_DONE",	state_done },
};

#define states_size	(sizeof(states) / sizeof(states[0]))

static struct fanout_limits	defaults = {
	.max_calls = 100,
	.concurrency = 10,
	.call_timeout_ms = 10000,
	.connect_timeout_ms = 2000,
	.deadline_ms = 15000,
	.max_body = 1024 * 1024,
};
struct fanout_stats		engine_stats;	/* engine.h */
static u_int64_t		in_flight = 0;
static int			error_detail = 0;
static u_int64_t		refused_logged = 0;
static u_int64_t		refused_log_ms = 0;

void
fanout_configure(const struct fanout_limits *limits, long maxconns)
{
	defaults = *limits;
	conns_configure(maxconns);
}

/* 1: clients see libcurl's detail after the fixed message (redacted). */
void
fanout_set_error_detail(int on)
{
	error_detail = on;
}

int
fanout_serve_async(struct http_request *req, const struct fanout_page *page)
{
	struct fanout_state	*st;

	if (!http_state_exists(req)) {
		st = http_state_create(req, sizeof(*st), fanout_onfree);
		st->fo = fanout_alloc(req, page, 1);
	}

	return (http_state_run(states, states_size, req));
}

int
fanout_serve_sync(struct http_request *req, const struct fanout_page *page)
{
	struct fanout		*fo;
	size_t			i;
	int			gated;

	fo = fanout_alloc(req, page, 0);

	if (!fanout_setup(req, fo)) {
		fanout_free(fo);
		return (KORE_RESULT_OK);
	}

	/* --sync-pages limit: never block the last free worker. */
	if (fo->ncalls > 0 && !syncgate_enter()) {
		metrics_refused(METRICS_CAP_SYNC);
		http_response_header(req, "retry-after", "1");
		fanout_reply_error(req, fo, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "sync pages busy: every other worker is in one; retry "
		    "or use the async page");
		fanout_free(fo);
		return (KORE_RESULT_OK);
	}

	/*
	 * This worker now blocks for the sum of the calls: hand Kore's
	 * accept lock to the other workers first, or new connections would
	 * wait in the listen queue until it is done.
	 */
	gated = fo->ncalls > 0;
	if (gated)
		kore_worker_make_busy();

	do {
		for (i = fo->next; i < fo->ncalls; i++) {
			if (fo->calls[i]->state != CALL_DONE)
				tail_sync_call(fo, i);
		}
		fo->next = fo->ncalls;
	} while (fanout_next_round(req, fo));
	fo->elapsed_ms = (now_us() - fo->start_us) / 1000.0;
	metrics_note(fo);
	page->finish(req, fo);

	if (gated)
		syncgate_leave();
	fanout_free(fo);

	return (KORE_RESULT_OK);
}

/*
 * Add a call; its index, for fanout_result().  A call beyond --max-calls
 * is not refused here: it is there, failed (FANOUT_ERR_SETUP) without
 * running, so every page reports it as it reports any failed call.
 */
size_t
fanout_add(struct fanout *fo, int method, const char *url)
{
	struct fanout_call	*c;

	if (fo->ncalls == fo->cap) {
		fo->cap = fo->cap == 0 ? 8 : fo->cap * 2;
		fo->calls = kore_realloc(fo->calls,
		    fo->cap * sizeof(fo->calls[0]));
	}

	/*
	 * Not from Kore's allocator: its pools keep every block they ever
	 * held, and a burst of calls would stay resident after the load.
	 */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("fanout_add: calloc: %s", errno_s);
	c->fo = fo;
	c->state = CALL_QUEUED;
	c->pool = POOL_NONE;
	c->method = method;
	if ((c->url = strdup(url)) == NULL)
		fatal("fanout_add: strdup: %s", errno_s);
	c->rule = origin_rule(url);
	c->max_body = fo->limits.max_body;
	c->origin = origin_get(url);
	c->copy = 1;

	if (fo->ncalls >= fo->limits.max_calls)
		call_fail(c, FANOUT_ERR_SETUP, "more calls than --max-calls "
		    "allows");

	fo->calls[fo->ncalls++] = c;
	engine_stats.calls_live++;

	return (fo->ncalls - 1);
}

int
fanout_add_header(struct fanout *fo, const char *name, const char *value)
{
	struct fanout_call	*c;

	if (fo->ncalls == 0)
		return (KORE_RESULT_ERROR);

	c = fo->calls[fo->ncalls - 1];
	if (c->nheaders == CALL_HEADERS_MAX || value == NULL)
		return (KORE_RESULT_ERROR);

	c->hname[c->nheaders] = kore_strdup(name);
	c->hvalue[c->nheaders] = kore_strdup(value);
	c->nheaders++;

	return (KORE_RESULT_OK);
}

int
fanout_add_body(struct fanout *fo, const void *body, size_t len)
{
	struct fanout_call	*c;

	if (fo->ncalls == 0)
		return (KORE_RESULT_ERROR);

	c = fo->calls[fo->ncalls - 1];
	kore_free(c->body);
	c->body = kore_malloc(len);
	memcpy(c->body, body, len);
	c->body_len = len;

	return (KORE_RESULT_OK);
}

void
fanout_set_group(struct fanout *fo, int group)
{
	if (fo->ncalls > 0)
		fo->calls[fo->ncalls - 1]->group = group;
}

/*
 * The last call added is made once: never retried, never hedged (a GET
 * with side effects; other methods than GET, HEAD, PUT, DELETE and
 * OPTIONS are made once anyway).
 */
void
fanout_set_once(struct fanout *fo)
{
	if (fo->ncalls > 0)
		fo->calls[fo->ncalls - 1]->once = 1;
}

/* Calls of a group that have not started yet will not: they fail. */
void
fanout_skip_group(struct fanout *fo, int group, const char *msg)
{
	size_t			i;
	struct fanout_call	*c;

	for (i = 0; i < fo->ncalls; i++) {
		c = fo->calls[i];
		if (c->group != group)
			continue;
		if (c->state == CALL_QUEUED)
			call_fail(c, FANOUT_ERR_SKIPPED, msg);
		else if (c->state == CALL_BACKOFF)
			c->state = CALL_DONE;	/* its last answer stands */
	}
}

void
fanout_set_concurrency(struct fanout *fo, size_t n)
{
	fo->limits.concurrency = n > 0 ? n : 1;
}

void
fanout_park(struct fanout *fo)
{
	if (!fo->async)
		fatal("fanout_park: sync pages cannot wait for others");
	fo->parked = 1;
}

/* Wake a parked fan-out: its page's next() runs again. */
void
fanout_wake(struct fanout *fo)
{
	fanout_alert(fo);
}

/*
 * A fan-out of no request (a background refresh, say): the page's hooks
 * run as for a request's, with req NULL, from setup() to finish(), and
 * nothing is answered.  udata, when not NULL, is copied into the page
 * state before setup().  0 if setup() declined (nothing runs).
 */
int
fanout_spawn(const struct fanout_page *page, const void *udata)
{
	struct fanout	*fo;

	fo = fanout_alloc(NULL, page, 1);
	if (udata != NULL && page->udata_len > 0)
		memcpy(fo->udata, udata, page->udata_len);

	if (!page->setup(NULL, fo)) {
		fanout_free(fo);
		return (0);
	}

	engine_stats.spawned++;
	engine_stats.spawned_live++;
	spawn_run(fo);

	return (1);
}

int
fanout_deadline_passed(const struct fanout *fo)
{
	return (now_us() >= fo->deadline_us);
}

/*
 * A header of a finished call's answer, or NULL; the value lives until the
 * next lookup on that call.  Values longer than CALL_HVAL_MAX are NULL.
 */
const char *
fanout_result_header(struct fanout *fo, size_t idx, const char *name)
{
	if (idx >= fo->ncalls)
		return (NULL);

	return (call_header_value(fo->calls[idx], name));
}

static const char *
call_header_value(struct fanout_call *c, const char *name)
{
	const char		*p, *end, *eol, *colon, *v;
	size_t			nlen, vlen;

	if (!c->inited || c->state != CALL_DONE || c->rhdrs.data == NULL)
		return (NULL);

	nlen = strlen(name);
	p = (const char *)c->rhdrs.data;
	for (end = p + c->rhdrs.len; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			eol = end;
		colon = memchr(p, ':', eol - p);
		if (colon == NULL || (size_t)(colon - p) != nlen ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		vlen = eol - v;
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' ' ||
		    v[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= sizeof(c->hval))
			return (NULL);
		memcpy(c->hval, v, vlen);
		c->hval[vlen] = '\0';
		return (c->hval);
	}

	return (NULL);
}

size_t
fanout_count(const struct fanout *fo)
{
	return (fo->ncalls);
}

/*
 * The calls that went out: not those skipped or failed before starting;
 * each retry and each hedge's copy counts (the upstream saw them).
 */
size_t
fanout_calls_made(const struct fanout *fo)
{
	size_t		i, n;

	for (i = n = 0; i < fo->ncalls; i++) {
		if (fo->calls[i]->start_us != 0)
			n += (size_t)MAX(fo->calls[i]->attempts, 1);
	}

	return (n + fo->copies);
}

int
fanout_is_async(const struct fanout *fo)
{
	return (fo->async);
}

void *
fanout_udata(struct fanout *fo)
{
	return (fo->udata);
}

double
fanout_elapsed_ms(const struct fanout *fo)
{
	return (fo->elapsed_ms);
}

const struct fanout_limits *
fanout_limits(const struct fanout *fo)
{
	return (&fo->limits);
}

const struct fanout_result *
fanout_result(const struct fanout *fo, size_t idx)
{
	if (idx >= fo->ncalls)
		return (NULL);

	return (&fo->calls[idx]->result);
}

const char *
fanout_strerror(int error)
{
	switch (error) {
	case FANOUT_ERR_NONE:
		return ("ok");
	case FANOUT_ERR_HTTP:
		return ("http_status");
	case FANOUT_ERR_TIMEOUT:
		return ("timeout");
	case FANOUT_ERR_DEADLINE:
		return ("deadline");
	case FANOUT_ERR_CONNECT:
		return ("connect");
	case FANOUT_ERR_TOOBIG:
		return ("body_too_large");
	case FANOUT_ERR_TRANSPORT:
		return ("transport");
	case FANOUT_ERR_SETUP:
		return ("setup");
	case FANOUT_ERR_SKIPPED:
		return ("skipped");
	case FANOUT_ERR_CIRCUIT:
		return ("circuit_open");
	}

	return ("unknown");
}

void
fanout_server_timing(struct http_request *req, struct fanout *fo)
{
	struct stiming_entry	*e;
	const struct fanout_result *r;
	size_t			i, n;
	char			(*names)[32], (*descs)[48];
	static char		buf[STIMING_MAX];

	n = fo->ncalls + 1;
	e = kore_calloc(n, sizeof(*e));
	names = kore_calloc(n, sizeof(*names));
	descs = kore_calloc(n, sizeof(*descs));

	e[0].name = "total";
	e[0].ms = fo->elapsed_ms;
	e[0].desc = fo->async ? "async" : "sync";

	for (i = 0; i < fo->ncalls; i++) {
		r = &fo->calls[i]->result;
		(void)snprintf(names[i + 1], sizeof(names[i + 1]),
		    "call%zu", i + 1);
		if (r->error == FANOUT_ERR_NONE ||
		    r->error == FANOUT_ERR_HTTP) {
			(void)snprintf(descs[i + 1], sizeof(descs[i + 1]),
			    "%ld", r->status);
		} else {
			(void)snprintf(descs[i + 1], sizeof(descs[i + 1]),
			    "%s", fanout_strerror(r->error));
		}
		tail_timing(r, descs[i + 1], sizeof(descs[i + 1]));
		e[i + 1].name = names[i + 1];
		e[i + 1].ms = r->ms;
		e[i + 1].desc = descs[i + 1];
	}

	if (stiming_format(buf, sizeof(buf), e, n) > 0)
		http_response_header(req, "server-timing", buf);

	kore_free(descs);
	kore_free(names);
	kore_free(e);
}

void
fanout_reply_error(struct http_request *req, struct fanout *fo, int status,
    const char *msg)
{
	fo->elapsed_ms = (now_us() - fo->start_us) / 1000.0;
	metrics_note(fo);
	fanout_server_timing(req, fo);
	reply_error(req, status, msg);
}

void
fanout_get_stats(struct fanout_stats *out)
{
	*out = engine_stats;
	out->in_flight = in_flight;
	conns_counts(&out->pools, &out->pooled);
}

static int
state_setup(struct http_request *req)
{
	struct fanout_state	*st = http_state_get(req);

	if (!fanout_setup(req, st->fo))
		return (HTTP_STATE_COMPLETE);

	req->fsm_state = FANOUT_STATE_WAIT;
	return (HTTP_STATE_CONTINUE);
}

static int
state_wait(struct http_request *req)
{
	struct fanout_state	*st = http_state_get(req);
	struct fanout		*fo = st->fo;

	switch (fanout_step(fo)) {
	case STEP_REFUSED:
		fanout_refuse(req, fo);
		return (HTTP_STATE_COMPLETE);
	case STEP_SLEEP:
		http_request_sleep(req);
		return (HTTP_STATE_RETRY);
	case STEP_AGAIN:
		return (HTTP_STATE_CONTINUE);
	}

	req->fsm_state = FANOUT_STATE_DONE;
	return (HTTP_STATE_CONTINUE);
}

/*
 * One turn of the WAIT state, for a request's fan-out or a background
 * one: harvest, start, hedge; then whether to sleep until a wake-up, run
 * again at once (a new round), or finish.
 */
static int
fanout_step(struct fanout *fo)
{
	if (fo->reserved == 0 && !admit_fanout(fo, fanout_queued(fo)))
		return (STEP_REFUSED);

	do {
		fanout_harvest(fo);
	} while (fanout_start_queued(fo) + tail_hedge(fo) > 0);

	/* A page holding a call back wakes the fan-out when it may go. */
	if (tail_pending(fo) || fo->running > 0 || fo->held)
		return (STEP_SLEEP);

	if (fanout_next_round(fo->req, fo))
		return (STEP_AGAIN);

	if (fo->parked) {
		/* Woken by whatever the page waits for: next() runs again. */
		fo->parked = 0;
		return (STEP_SLEEP);
	}

	fo->elapsed_ms = (now_us() - fo->start_us) / 1000.0;
	return (STEP_DONE);
}

static int
state_done(struct http_request *req)
{
	struct fanout_state	*st = http_state_get(req);

	/* Answering a sleeping request is fatal in Kore 4.1.0. */
	http_request_wakeup(req);
	metrics_note(st->fo);
	st->fo->page->finish(req, st->fo);

	return (HTTP_STATE_COMPLETE);
}

/* Something the fan-out waits for happened: run its next turn. */
static void
fanout_alert(struct fanout *fo)
{
	if (fo->req != NULL)
		http_request_wakeup(fo->req);
	else if (fo->kick == NULL)
		fo->kick = kore_timer_add(spawn_kick, 0, fo,
		    KORE_TIMER_ONESHOT);
}

/*
 * A spawned fan-out's turns, until it is done: then its finish() and
 * the end of it.  Each wake-up (a call's end, a hedge or retry due, the
 * page's fanout_wake()) gives a turn from a timer of its own, never from
 * within libcurl's callbacks.
 */
static void
spawn_run(struct fanout *fo)
{
	int		step;

	while ((step = fanout_step(fo)) == STEP_AGAIN)
		;

	if (step == STEP_SLEEP)
		return;
	if (step == STEP_REFUSED)
		fanout_refused(fo);

	fo->page->finish(NULL, fo);
	engine_stats.spawned_live--;
	fanout_free(fo);
}

static void
spawn_kick(void *arg, u_int64_t now)
{
	struct fanout	*fo = arg;

	fo->kick = NULL;
	spawn_run(fo);
}

static void
spawn_call_done(struct kore_curl *curl, void *arg)
{
	struct fanout_call	*c = arg;

	fanout_alert(c->fo);
}

static struct fanout *
fanout_alloc(struct http_request *req, const struct fanout_page *page,
    int async)
{
	struct fanout	*fo;

	fo = kore_calloc(1, sizeof(*fo));
	fo->req = req;
	fo->page = page;
	fo->async = async;
	fo->limits = defaults;
	fo->start_us = now_us();
	fo->deadline_us = fo->start_us + (u_int64_t)defaults.deadline_ms * 1000;

	if (page->udata_len > 0)
		fo->udata = kore_calloc(1, page->udata_len);

	engine_stats.fanouts_live++;

	return (fo);
}

/* Every fan-out page is read-only: GET and HEAD, then the page's setup. */
static int
fanout_setup(struct http_request *req, struct fanout *fo)
{
	if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD) {
		http_response_header(req, "allow", "GET, HEAD");
		fanout_reply_error(req, fo, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "only GET and HEAD are allowed here");
		return (KORE_RESULT_ERROR);
	}

	return (fo->page->setup(req, fo));
}

static void
fanout_free(struct fanout *fo)
{
	size_t			i, detached;
	struct fanout_call	*c;

	if (fo->timer != NULL)
		kore_timer_remove(fo->timer);
	if (fo->kick != NULL)
		kore_timer_remove(fo->kick);

	detached = 0;
	for (i = 0; i < fo->ncalls; i++) {
		c = fo->calls[i];
		if (c->twin != NULL && c->twin->state == CALL_RUNNING &&
		    c->twin->curl.handle != NULL) {
			call_detach(c->twin);
			detached++;
		} else if (c->twin != NULL) {
			if (c->twin->state == CALL_RUNNING)
				call_ended(c->twin);
			call_free(c->twin);
		}
		if (c->state == CALL_RUNNING && c->curl.handle != NULL) {
			call_detach_page(fo, c, i);
			detached++;
			continue;
		}
		if (c->state == CALL_RUNNING)
			call_ended(c);
		call_free(c);
	}

	if (fo->udata != NULL && fo->page->cleanup != NULL)
		fo->page->cleanup(fo->udata);

	admit_release(fo, detached);

	kore_free(fo->calls);
	kore_free(fo->udata);
	kore_free(fo);

	engine_stats.fanouts_live--;
}

static void
fanout_onfree(struct http_request *req)
{
	struct fanout_state	*st = http_state_get(req);

	if (st != NULL && st->fo != NULL) {
		fanout_free(st->fo);
		st->fo = NULL;
	}
}

static void
fanout_harvest(struct fanout *fo)
{
	size_t			i;
	struct fanout_call	*c;

	for (i = 0; i < fo->next && fo->running > 0; i++) {
		if (fo->calls[i]->state != CALL_RUNNING)
			continue;
		if ((c = tail_settle(fo, i)) == NULL)
			continue;
		fo->running--;
		if (tail_retry(fo, c))
			continue;
		if (fo->page->call_done != NULL)
			fo->page->call_done(fo, i);
	}
}

static size_t
fanout_start_queued(struct fanout *fo)
{
	size_t		started, limit;

	admit_more(fo, fanout_queued(fo));
	/* A running hedge's slot is its own, not one for another call. */
	limit = MIN(fo->limits.concurrency, fo->reserved - fo->twins);

	fo->held = 0;
	started = tail_start_retries(fo, limit);
	while (fo->next < fo->ncalls && fo->running < limit) {
		if (fo->calls[fo->next]->state == CALL_DONE) {
			fo->next++;
			continue;
		}
		if (fo->page->may_start != NULL &&
		    !fo->page->may_start(fo, fo->next)) {
			fo->held = 1;
			break;
		}
		if (call_start(fo, fo->calls[fo->next++], KORE_CURL_ASYNC)) {
			fo->running++;
			started++;
			in_flight_add();
		}
	}

	/* The kick: run the new transfers now, not after the loop sleeps. */
	if (started > 0)
		kore_curl_do_timeout();

	return (started);
}

/* Calls not started yet (and not failed or skipped before they could). */
static size_t
fanout_queued(const struct fanout *fo)
{
	size_t		i, n;

	n = 0;
	for (i = fo->next; i < fo->ncalls; i++) {
		if (fo->calls[i]->state == CALL_QUEUED)
			n++;
	}

	return (n);
}

/* Over the worker's caps: 503 at once, the client may try again soon. */
static void
fanout_refuse(struct http_request *req, struct fanout *fo)
{
	fanout_refused(fo);
	http_request_wakeup(req);
	http_response_header(req, "retry-after", "1");
	fanout_reply_error(req, fo, HTTP_STATUS_SERVICE_UNAVAILABLE,
	    "too busy: too many upstream calls in flight, retry in a second");
}

/* A refused fan-out's queued calls fail (skipped); the log says so. */
static void
fanout_refused(struct fanout *fo)
{
	size_t		i;
	u_int64_t	now;

	for (i = fo->next; i < fo->ncalls; i++) {
		if (fo->calls[i]->state == CALL_QUEUED) {
			call_fail(fo->calls[i], FANOUT_ERR_SKIPPED,
			    "the worker is at capacity");
		}
	}

	now = kore_time_ms();
	if (now - refused_log_ms >= REFUSED_LOG_MS) {
		kore_log(LOG_NOTICE, "at capacity (%llu fan-outs, %llu calls "
		    "reserved): %llu fan-out(s) refused",
		    (unsigned long long)engine_stats.fanouts_active,
		    (unsigned long long)engine_stats.reserved,
		    (unsigned long long)(engine_stats.refused -
		    refused_logged));
		refused_logged = engine_stats.refused;
		refused_log_ms = now;
	}
}

/*
 * Every call so far is done: let the page add another round.  Returns
 * whether it did (then the caller runs the new calls).
 */
static int
fanout_next_round(struct http_request *req, struct fanout *fo)
{
	size_t		before;

	if (fo->page->next == NULL || fo->rounds == FANOUT_ROUNDS_MAX - 1)
		return (0);

	before = fo->ncalls;
	fo->page->next(req, fo);
	if (fo->parked)
		return (0);
	fo->rounds++;

	return (fo->ncalls > before);
}

/* The curl options of a call, once its handle exists. */
static void
call_options(struct fanout *fo, struct fanout_call *c, long timeout,
    int flags)
{
	CURL		*h = c->curl.handle;
	size_t		i;

	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    MIN(fo->limits.connect_timeout_ms, timeout));
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, call_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)c->max_body);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, call_opensocket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
	/*
	 * Do not reuse a connection idle for longer than this: an upstream
	 * that timed it out may have queued an answer (Kore queues a 408)
	 * that libcurl would read as the answer to the next request.
	 */
	curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, UPSTREAM_IDLE_MAX);
	conns_tls(h, c->url);
	if ((flags & KORE_CURL_ASYNC) && (c->pool = conns_take()) != POOL_NONE)
		curl_easy_setopt(h, CURLOPT_SHARE, conns_share(c->pool));

	kore_curl_http_setup(&c->curl, c->method, c->body, c->body_len);
	for (i = 0; i < c->nheaders; i++)
		kore_curl_http_set_header(&c->curl, c->hname[i], c->hvalue[i]);
	trace_call(fo->req, &c->curl);
	/* The answer's headers in the call's own buffer, not Kore's. */
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, call_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
}

static int
call_start(struct fanout *fo, struct fanout_call *c, int flags)
{
	u_int64_t	now;
	long		left, timeout;

	now = now_us();
	left = fo->deadline_us > now ?
	    (long)((fo->deadline_us - now) / 1000) : 0;
	if (left < 1) {
		call_fail(c, FANOUT_ERR_DEADLINE,
		    "deadline passed before the call started");
		return (KORE_RESULT_ERROR);
	}

	timeout = fo->limits.call_timeout_ms;
	if (left < timeout) {
		timeout = left;
		c->capped = 1;
	}

	switch (origin_admit(c->origin)) {
	case ORIGIN_REJECT:
		metrics_tail(c->url, METRICS_TAIL_CIRCUIT);
		call_fail(c, FANOUT_ERR_CIRCUIT, "the upstream failed "
		    "repeatedly: not called until it recovers");
		return (KORE_RESULT_ERROR);
	case ORIGIN_PROBE:
		c->probe = 1;
		break;
	}
	if (c->attempts++ == 0 && c->copy == 1)
		origin_call(c->origin);

	if (!kore_curl_init(&c->curl, c->url, flags)) {
		call_error(c, FANOUT_ERR_SETUP, "the call could not be started",
		    c->curl.errbuf);
		return (KORE_RESULT_ERROR);
	}
	c->inited = 1;
	call_options(fo, c, timeout, flags);

	c->state = CALL_RUNNING;
	c->start_us = now_us();
	engine_stats.calls_started++;

	if (flags & KORE_CURL_ASYNC) {
		if (fo->req != NULL)
			kore_curl_bind_request(&c->curl, fo->req);
		else
			kore_curl_bind_callback(&c->curl, spawn_call_done, c);
		kore_curl_run(&c->curl);
		if (c->copy == 1 && !c->once && tail_idempotent(c->method) &&
		    (left = origin_hedge_delay(c->origin, c->rule)) >= 0)
			c->hedge_at_us = c->start_us + (u_int64_t)left * 1000;
	} else {
		metrics_sync_call(1);
		kore_curl_run(&c->curl);
		metrics_sync_call(0);
		call_finish(c);
	}

	return (KORE_RESULT_OK);
}

static void
call_finish(struct fanout_call *c)
{
	struct fanout_result	*r = &c->result;
	CURLcode		code = c->curl.result;
	const char		*detail;
	char			big[64];

	r->ms = (now_us() - c->start_us) / 1000.0;
	r->status = c->curl.http.status;
	r->errmsg = "";
	r->body = c->resp.data;
	r->body_len = c->resp.len;
	detail = kore_curl_strerror(&c->curl);

	if (code == CURLE_OK) {
		r->error = (r->status >= 200 && r->status <= 299) ?
		    FANOUT_ERR_NONE : FANOUT_ERR_HTTP;
	} else if (c->toobig || code == CURLE_FILESIZE_EXCEEDED) {
		(void)snprintf(big, sizeof(big), "body larger than %zu bytes",
		    c->max_body);
		call_error(c, FANOUT_ERR_TOOBIG, big, detail);
	} else if (code == CURLE_OPERATION_TIMEDOUT && c->capped) {
		call_error(c, FANOUT_ERR_DEADLINE,
		    "no answer before the page's deadline", detail);
	} else if (code == CURLE_OPERATION_TIMEDOUT) {
		call_error(c, FANOUT_ERR_TIMEOUT,
		    "no answer within the call timeout", detail);
	} else if (code == CURLE_COULDNT_CONNECT ||
	    code == CURLE_COULDNT_RESOLVE_HOST ||
	    code == CURLE_COULDNT_RESOLVE_PROXY) {
		call_error(c, FANOUT_ERR_CONNECT,
		    "upstream refused or unreachable", detail);
	} else if (code == CURLE_PEER_FAILED_VERIFICATION) {
		call_error(c, FANOUT_ERR_TRANSPORT,
		    "the upstream's certificate could not be verified", detail);
	} else if (code == CURLE_SSL_CONNECT_ERROR) {
		call_error(c, FANOUT_ERR_TRANSPORT,
		    "the TLS handshake with the upstream failed", detail);
	} else {
		call_error(c, FANOUT_ERR_TRANSPORT, "the transfer failed",
		    detail);
	}

	if (r->error != FANOUT_ERR_NONE && r->error != FANOUT_ERR_HTTP) {
		r->body = NULL;
		r->body_len = 0;
		/* Its host's connections may be dead: no waiting for them. */
		if (r->error != FANOUT_ERR_TOOBIG)
			conns_h2_learn(c->url, -1);
	} else if (c->h2) {
		conns_h2_learn(c->url, 1);
	}

	r->attempts = c->attempts;
	r->copy = c->copy;
	c->state = CALL_DONE;
	metrics_call(c->url, r->error, r->status, r->ms);
	tail_record(c);
}

static void
call_fail(struct fanout_call *c, int error, const char *msg)
{
	(void)snprintf(c->errtext, sizeof(c->errtext), "%s", msg);
	c->result.error = error;
	c->result.errmsg = c->errtext;
	c->state = CALL_DONE;
}

/*
 * A transfer error: clients get msg (plus the detail with error_detail),
 * the log gets the detail and the URL, any api_key redacted in both.
 */
static void
call_error(struct fanout_call *c, int error, const char *msg,
    const char *detail)
{
	char		why[CURL_ERROR_SIZE], url[CALL_LOGURL_MAX];

	qparam_redact(detail != NULL ? detail : "", "api_key", why,
	    sizeof(why));
	qparam_redact(c->url, "api_key", url, sizeof(url));
	kore_log(LOG_NOTICE, "upstream call failed: %s: %s (%s)",
	    fanout_strerror(error), why, url);

	if (error_detail && why[0] != '\0') {
		(void)snprintf(c->errtext, sizeof(c->errtext), "%s (%s)", msg,
		    why);
	} else {
		(void)snprintf(c->errtext, sizeof(c->errtext), "%s", msg);
	}
	c->result.error = error;
	c->result.errmsg = c->errtext;
	c->state = CALL_DONE;
}

static void
call_free(struct fanout_call *c)
{
	size_t		i;

	if (c->inited)
		kore_curl_cleanup(&c->curl);
	if (c->probe)
		origin_probe_cancel(c->origin);

	for (i = 0; i < c->nheaders; i++) {
		kore_free(c->hname[i]);
		kore_free(c->hvalue[i]);
	}

	free(c->url);
	free(c->resp.data);
	free(c->rhdrs.data);
	kore_free(c->body);
	free(c);

	engine_stats.calls_live--;
}

static void
call_detach(struct fanout_call *c)
{
	if (c->curl.flags & KORE_CURL_FLAG_BOUND) {
		LIST_REMOVE(&c->curl, list);
		c->curl.flags &= ~KORE_CURL_FLAG_BOUND;
	}

	c->curl.req = NULL;
	c->fo = NULL;
	kore_curl_bind_callback(&c->curl, call_detached_done, c);

	engine_stats.calls_detached++;
}

/* A page's call runs on without it; the page may want to hear its end. */
static void
call_detach_page(struct fanout *fo, struct fanout_call *c, size_t i)
{
	if (fo->udata != NULL && fo->page->detached != NULL &&
	    fo->page->detached_end != NULL &&
	    (c->end_arg = fo->page->detached(fo->udata, i)) != NULL)
		c->end_cb = fo->page->detached_end;
	call_detach(c);
}

static void
call_detached_done(struct kore_curl *curl, void *arg)
{
	struct fanout_call	*c = arg;

	engine_stats.calls_detached--;
	if (c->end_cb != NULL)
		c->end_cb(c->end_arg);
	call_finish(c);
	call_ended(c);
	call_free(c);
	admit_slot_done();
}

static size_t
call_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fanout_call	*c = arg;
	size_t			len;

	len = size * nmemb;

	if (len > c->max_body - c->resp.len) {
		c->toobig = 1;
		return (0);
	}

	call_append(&c->resp, ptr, len);

	return (len);
}

/* Only the last answer's headers: a status line starts them afresh. */
static size_t
call_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fanout_call	*c = arg;
	size_t			len;

	len = size * nmemb;

	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		c->rhdrs.len = 0;
		c->h2 = len >= 7 && strncmp(ptr, "HTTP/2 ", 7) == 0;
	}

	if (len > CALL_RESP_HDRS_MAX - c->rhdrs.len)
		return (0);

	call_append(&c->rhdrs, ptr, len);

	return (len);
}

/*
 * Bodies and headers grow in libc memory, not in Kore's pools, which keep
 * every block they ever held: a burst would stay resident after the load.
 * The first chunk sets the size, at least CALL_BUF_MIN: most answers are
 * small and come whole, and headers come a line at a time (growing from
 * one line was four or five realloc() calls per call; 512 bytes stay in
 * libc's per-thread cache).
 */
static void
call_append(struct call_buf *b, const void *data, size_t n)
{
	size_t		want;

	if (b->len + n > b->cap) {
		want = MAX(MAX(b->cap * 2, b->len + n), CALL_BUF_MIN);
		if ((b->data = realloc(b->data, want)) == NULL)
			fatal("call_append: realloc: %s", errno_s);
		b->cap = want;
	}

	memcpy(b->data + b->len, data, n);
	b->len += n;
}

/* A running call's transfer is over: it no longer counts as in flight. */
static void
call_ended(struct fanout_call *c)
{
	in_flight--;
	metrics_calls_in_flight(in_flight);
	conns_release(c->pool);
	c->pool = POOL_NONE;
}

static curl_socket_t
call_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	engine_stats.conns_opened++;
	metrics_conn_opened();

	return (socket(addr->family, addr->socktype, addr->protocol));
}

static u_int64_t
now_us(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return ((u_int64_t)ts.tv_sec * 1000000 + (u_int64_t)ts.tv_nsec / 1000);
}


/*
 * Tail tolerance (README "Tail tolerance"; the policies and per-origin
 * state are in origin.c).
 *
 * Retries.  A finished idempotent call that could not connect or got 502,
 * 503 or 504 goes to CALL_BACKOFF for origin_backoff_ms() and is started
 * again, up to --retries times, while its origin's retry budget allows and
 * the wait ends before the page's deadline.
 *
 * Hedges.  An idempotent async call still running after its origin's
 * hedge delay gets a second copy (its twin), within the hedge budget and
 * the worker's in-flight cap (the copy reserves a slot of its own).  The
 * first copy with an answer (an HTTP status) wins; the other is detached
 * as a departed client's calls are (call_detach(): it runs to its end
 * into a callback that frees it, nothing wakes the request) and hands its
 * slot over with it.  A copy that fails without an answer is dropped and
 * the other carries on.
 *
 * One Kore timer per fan-out wakes the request for the earliest hedge or
 * retry due; fanout_free() removes it.  The sync flavour retries (it
 * sleeps the worker through the back-off) but never hedges.
 */

static void
tail_sync_call(struct fanout *fo, size_t i)
{
	struct fanout_call	*c = fo->calls[i];
	struct timespec		ts;
	u_int64_t		now, wait;

	if (!call_start(fo, c, KORE_CURL_SYNC))
		return;

	while (tail_retry(fo, c)) {
		now = now_us();
		wait = c->retry_at_us > now ? c->retry_at_us - now : 0;
		ts.tv_sec = (time_t)(wait / 1000000);
		ts.tv_nsec = (long)(wait % 1000000) * 1000;
		(void)nanosleep(&ts, NULL);
		tail_reset(c);
		if (!call_start(fo, c, KORE_CURL_SYNC))
			return;
	}

	if (fo->page->call_done != NULL)
		fo->page->call_done(fo, i);
}

/*
 * The call at i once it has its result (finished, hedge settled), or NULL
 * while it is still running.
 */
static struct fanout_call *
tail_settle(struct fanout *fo, size_t i)
{
	struct fanout_call	*c = fo->calls[i], *t = c->twin, *win;
	int			cdone, tdone;

	if (c->state == CALL_RUNNING && c->curl.handle == NULL) {
		call_finish(c);
		call_ended(c);
	}
	if (t == NULL)
		return (c->state == CALL_DONE ? c : NULL);
	if (t->state == CALL_RUNNING && t->curl.handle == NULL) {
		call_finish(t);
		call_ended(t);
	}

	cdone = c->state == CALL_DONE;
	tdone = t->state == CALL_DONE;
	if (!cdone && !tdone)
		return (NULL);

	if (cdone && tail_answered(c))
		win = c;
	else if (tdone && tail_answered(t))
		win = t;
	else if (cdone && tdone)
		win = c;
	else
		win = cdone ? t : c;	/* failed without an answer: go on */

	fo->calls[i] = win;
	tail_drop(fo, win == c ? t : c);
	c->twin = NULL;
	win->twin = NULL;
	win->result.hedged = 1;

	if (win->state != CALL_DONE)
		return (NULL);
	/* The call took as long as the page waited for it. */
	win->result.ms = (now_us() - MIN(c->start_us, t->start_us)) / 1000.0;
	if (win->copy == 2)
		engine_stats.hedges_won++;

	return (win);
}

/* The copy that lost: detached if still running, its slot with it. */
static void
tail_drop(struct fanout *fo, struct fanout_call *c)
{
	fo->reserved--;
	fo->twins--;
	if (c->state == CALL_RUNNING) {
		call_detach(c);
		return;
	}

	engine_stats.reserved--;
	call_free(c);
}

static int
tail_answered(const struct fanout_call *c)
{
	return (c->result.error == FANOUT_ERR_NONE ||
	    c->result.error == FANOUT_ERR_HTTP ||
	    c->result.error == FANOUT_ERR_TOOBIG);
}

/* An attempt's outcome for its origin's breaker and latency. */
static void
tail_record(struct fanout_call *c)
{
	const struct fanout_result	*r = &c->result;
	int				failed;

	switch (r->error) {
	case FANOUT_ERR_CONNECT:
	case FANOUT_ERR_TIMEOUT:
	case FANOUT_ERR_TRANSPORT:
		failed = 1;
		break;
	case FANOUT_ERR_HTTP:
		failed = r->status >= 500;
		break;
	case FANOUT_ERR_NONE:
	case FANOUT_ERR_TOOBIG:
		failed = 0;
		break;
	default:
		/* Cut by the page's deadline: says nothing of the origin. */
		if (c->probe)
			origin_probe_cancel(c->origin);
		c->probe = 0;
		return;
	}

	origin_record(c->origin, failed, r->ms, c->probe);
	c->probe = 0;
}

/*
 * Should the finished call c be tried again?  Then it waits in BACKOFF,
 * its answer kept until it starts again (a page that skips it keeps it).
 */
static int
tail_retry(struct fanout *fo, struct fanout_call *c)
{
	const struct fanout_result	*r = &c->result;
	long				wait;

	if (c->attempts > c->rule->retries || c->once ||
	    !tail_idempotent(c->method))
		return (0);
	if (r->error == FANOUT_ERR_HTTP && r->status == 429) {
		if ((wait = tail_retry_after(c)) < 0)
			return (0);
	} else if (r->error == FANOUT_ERR_CONNECT || (r->error ==
	    FANOUT_ERR_HTTP && (r->status == 502 || r->status == 503 ||
	    r->status == 504))) {
		wait = origin_backoff_ms(c->attempts);
	} else {
		return (0);
	}

	if (now_us() + (u_int64_t)(wait + 1) * 1000 >= fo->deadline_us ||
	    !origin_retry_take(c->origin, c->rule->retry_budget_pct))
		return (0);

	c->state = CALL_BACKOFF;
	c->retry_at_us = now_us() + (u_int64_t)wait * 1000;
	engine_stats.retries++;
	metrics_tail(c->url, METRICS_TAIL_RETRY);

	return (1);
}

/* Back to a call not yet started (its attempts kept). */
static void
tail_reset(struct fanout_call *c)
{
	if (c->inited)
		kore_curl_cleanup(&c->curl);
	c->inited = 0;
	c->toobig = 0;
	c->h2 = 0;
	c->capped = 0;
	c->resp.len = 0;
	c->rhdrs.len = 0;
	c->hedge_at_us = 0;
	c->errtext[0] = '\0';
	memset(&c->result, 0, sizeof(c->result));
}

/* Start the calls whose back-off is over, while below limit. */
static size_t
tail_start_retries(struct fanout *fo, size_t limit)
{
	struct fanout_call	*c;
	size_t			i, started;
	u_int64_t		now;

	now = now_us();
	started = 0;
	for (i = 0; i < fo->next && fo->running < limit; i++) {
		c = fo->calls[i];
		if (c->state != CALL_BACKOFF || c->retry_at_us > now)
			continue;
		tail_reset(c);
		if (call_start(fo, c, KORE_CURL_ASYNC)) {
			fo->running++;
			started++;
			in_flight_add();
		}
	}

	return (started);
}

/* Send the hedges that are due; how many. */
static size_t
tail_hedge(struct fanout *fo)
{
	struct fanout_call	*c, *t;
	size_t			i, started;
	u_int64_t		now;

	now = now_us();
	started = 0;
	for (i = 0; i < fo->next; i++) {
		c = fo->calls[i];
		if (c->state != CALL_RUNNING || c->twin != NULL ||
		    c->hedge_at_us == 0 || c->hedge_at_us > now)
			continue;
		c->hedge_at_us = 0;
		if (engine_stats.reserved >= engine_stats.max_inflight ||
		    !origin_hedge_take(c->origin, c->rule->hedge_budget_pct))
			continue;
		t = tail_copy(c);
		if (!call_start(fo, t, KORE_CURL_ASYNC)) {
			call_free(t);
			continue;
		}
		c->twin = t;
		fo->copies++;
		fo->twins++;
		fo->reserved++;
		engine_stats.reserved++;
		engine_stats.hedges++;
		metrics_tail(c->url, METRICS_TAIL_HEDGE);
		in_flight_add();
		started++;
	}

	if (started > 0)
		kore_curl_do_timeout();

	return (started);
}

/* The hedge's copy of c: same request, copy 2. */
static struct fanout_call *
tail_copy(struct fanout_call *c)
{
	struct fanout_call	*t;
	size_t			i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("tail_copy: calloc: %s", errno_s);
	t->fo = c->fo;
	t->state = CALL_QUEUED;
	t->pool = POOL_NONE;
	t->method = c->method;
	t->group = c->group;
	t->max_body = c->max_body;
	t->origin = c->origin;
	t->rule = c->rule;
	t->copy = 2;
	t->attempts = c->attempts - 1;
	if ((t->url = strdup(c->url)) == NULL)
		fatal("tail_copy: strdup: %s", errno_s);
	for (i = 0; i < c->nheaders; i++) {
		t->hname[i] = kore_strdup(c->hname[i]);
		t->hvalue[i] = kore_strdup(c->hvalue[i]);
	}
	t->nheaders = c->nheaders;
	if (c->body != NULL) {
		t->body = kore_malloc(c->body_len);
		memcpy(t->body, c->body, c->body_len);
		t->body_len = c->body_len;
	}
	engine_stats.calls_live++;

	return (t);
}

/*
 * Arm the fan-out's timer for its earliest hedge or retry; whether a
 * retry is waiting (then the request must sleep, though nothing runs).
 */
static int
tail_pending(struct fanout *fo)
{
	struct fanout_call	*c;
	size_t			i;
	u_int64_t		when, now;
	int			backoff;

	when = 0;
	backoff = 0;
	for (i = 0; i < fo->next; i++) {
		c = fo->calls[i];
		if (c->state == CALL_BACKOFF) {
			backoff = 1;
			if (when == 0 || c->retry_at_us < when)
				when = c->retry_at_us;
		} else if (c->state == CALL_RUNNING && c->hedge_at_us != 0 &&
		    (when == 0 || c->hedge_at_us < when)) {
			when = c->hedge_at_us;
		}
	}

	if (when == 0 || (fo->timer != NULL && fo->timer_at_us <= when))
		return (backoff);

	if (fo->timer != NULL)
		kore_timer_remove(fo->timer);
	now = now_us();
	fo->timer = kore_timer_add(tail_wake, when > now ?
	    (when - now + 999) / 1000 : 0, fo, KORE_TIMER_ONESHOT);
	fo->timer_at_us = when;

	return (backoff);
}

static void
tail_wake(void *arg, u_int64_t now)
{
	struct fanout	*fo = arg;

	fo->timer = NULL;
	fanout_alert(fo);
}

/*
 * A 429's wait, ms: its Retry-After in seconds, when at most
 * TAIL_RETRY_AFTER_MAX (a longer one is the page's to handle, as the
 * stats page blocks its partner); -1: no retry.
 */
static long
tail_retry_after(struct fanout_call *c)
{
	const char	*v;
	long long	secs;

	if ((v = call_header_value(c, "retry-after")) == NULL ||
	    !tail_seconds(v, &secs) || secs * 1000 > TAIL_RETRY_AFTER_MAX)
		return (-1);

	return ((long)secs * 1000);
}

/* RFC 9110 9.2.2: a repeated request has the same effect. */
static int
tail_idempotent(int method)
{
	return (method == HTTP_METHOD_GET || method == HTTP_METHOD_HEAD ||
	    method == HTTP_METHOD_PUT || method == HTTP_METHOD_DELETE ||
	    method == HTTP_METHOD_OPTIONS);
}

static void
in_flight_add(void)
{
	if (++in_flight > engine_stats.peak_in_flight)
		engine_stats.peak_in_flight = in_flight;
	metrics_calls_in_flight(in_flight);
}

/* Server-Timing: " 3 tries", " hedged copy 2 won" after the status. */
static void
tail_timing(const struct fanout_result *r, char *desc, size_t len)
{
	size_t		off;

	off = strlen(desc);
	if (r->attempts > 1 && off < len) {
		off += (size_t)snprintf(desc + off, len - off, " %d tries",
		    r->attempts);
	}
	if (r->hedged && off < len) {
		(void)snprintf(desc + off, len - off, " hedged copy %d won",
		    r->copy);
	}
}

/* Retry-After's delay-seconds (an HTTP-date is not waited for here). */
static int
tail_seconds(const char *v, long long *secs)
{
	long long	n;

	if (*v < '0' || *v > '9')
		return (0);
	for (n = 0; *v >= '0' && *v <= '9' && n < 100000; v++)
		n = n * 10 + (*v - '0');
	if (*v != '\0')
		return (0);

	*secs = n;
	return (1);
}
