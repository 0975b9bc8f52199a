/*
 * The upstream simulator (the --simulator role).
 *
 * Endpoints:
 *
 *   /delay/<ms>/                 a small JSON body after <ms> ms, like the
 *                                blog's "flash" delay service
 *   /xkcd/info.0.json            the latest comic (SIM_XKCD_LATEST)
 *   /xkcd/<n>/info.0.json        comic <n>, xkcd's format, generated
 *   /xkcd/<n>/                   the comic's page
 *   /xkcd/img/<n>.svg            its image
 *   /analytics/stats             views and visitors of products p01-p60
 *   /partner/stats?product=<id>&api_key=<key>
 *                                one product's sales, revenue, clicks and
 *                                conversion; 401 without the right key
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
 * Some comics are broken on purpose (see sim_comic()): 404 does not exist
 * (as on the real site), 405-411 are malformed, incomplete, oversized,
 * hostile or absurdly nested documents.  Likewise partner products named
 * err503-*, err429-* (with Retry-After: 2), badjson-* and slow-* (3 s).
 * The partner accepts the key in --partner-key (FANOUT_PARTNER_KEY), or
 * any non-empty key when none is set.
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

#include "qparam.h"
#include "reply.h"
#include "settings.h"

#define SIM_STATE_START		0
#define SIM_STATE_ANSWER	1
#define SIM_STATE_STALLED	2

#define SIM_DELAY_MAX		60000
#define SIM_HUGE_MAX		(16 * 1024 * 1024)
#define SIM_XKCD_LATEST		420
#define SIM_XKCD_LAG		200

#define SIM_BODY_NORMAL		0
#define SIM_BODY_MALFORMED	1
#define SIM_BODY_HUGE		2
#define SIM_BODY_STALL		3

#define SIM_EP_DELAY		0
#define SIM_EP_COMIC		1
#define SIM_EP_PAGE		2
#define SIM_EP_IMAGE		3
#define SIM_EP_ANALYTICS	4
#define SIM_EP_PARTNER		5

#define SIM_PRODUCTS		60
#define SIM_STATS_LAG		150
#define SIM_STATS_JITTER	50
#define SIM_KEY_MAX		64

struct sim_wait {
	struct kore_timer	*timer;
	int			endpoint;
	long long		ms;
	long long		num;
	long long		status;
	long long		size;
	int			body;
	int			waiting;
	int			counted;
	char			product[40];
};

int	sim_index(struct http_request *);
int	sim_serve(struct http_request *);
int	sim_stats(struct http_request *);

static int	state_start(struct http_request *);
static int	state_answer(struct http_request *);
static int	state_stalled(struct http_request *);

static int	sim_parse(struct sim_wait *, const char *, char *, size_t);
static int	sim_endpoint(struct sim_wait *, char **, int, char *, size_t);
static void	sim_comic(struct http_request *, struct sim_wait *,
		    struct kore_buf *);
static void	sim_image(struct http_request *, struct sim_wait *);
static void	sim_analytics(struct http_request *, struct sim_wait *);
static void	sim_partner(struct http_request *, struct sim_wait *);
static int	sim_partner_check(struct http_request *, struct sim_wait *);
static void	sim_partner_flight(struct sim_wait *, int);
static long long	sim_number(const char *, int, long long);
static void	sim_gen_str(yajl_gen, const char *, const char *);
static void	sim_gen_int(yajl_gen, const char *, long long);
static void	sim_wake(void *, u_int64_t);
static void	sim_onfree(struct http_request *);
static void	sim_waiting(struct sim_wait *, int);

static struct http_state	states[] = {
	{ "SIM_STATE_START",	state_start },
	{ "SIM_STATE_ANSWER",	state_answer },
	{ "SIM_STATE_STALLED",	state_stalled },
};

#define states_size	(sizeof(states) / sizeof(states[0]))

static const char	*words[] = {
	"Orbital", "Mechanics", "Regex", "Golf", "Compiling", "Standards",
	"Sandwich", "Dependency", "Tar", "Password", "Strength", "Estimation",
	"Exploits", "Mom", "Automation", "Nerd", "Sniping", "Purity",
	"Lisp", "Cycles", "Correlation", "Causation", "Bobby", "Tables",
};

#define words_len	(sizeof(words) / sizeof(words[0]))

static u_int64_t	requests = 0;
static u_int64_t	waiting = 0;
static u_int64_t	peak_waiting = 0;
static u_int8_t		*huge = NULL;
static u_int64_t	analytics_calls = 0;
static u_int64_t	partner_calls = 0;
static u_int64_t	partner_in_flight = 0;
static u_int64_t	partner_peak = 0;

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
 * Counters for tests.  Partner calls are those with an accepted key; the
 * key itself is never shown (the embedded simulator may hold the app's
 * real one), only whether one is configured.  Loopback clients only
 * (or --status-from), as the app's status pages.
 */
int
sim_stats(struct http_request *req)
{
	struct kore_buf		buf;

	if (!reply_status_allowed(req)) {
		reply_not_found(req);
		return (KORE_RESULT_OK);
	}

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "{\"pid\":%d,\"requests\":%llu,"
	    "\"waiting\":%llu,\"peak_waiting\":%llu,"
	    "\"analytics_calls\":%llu,\"partner_key_set\":%s,"
	    "\"partner\":{\"calls\":%llu,\"in_flight\":%llu,"
	    "\"peak\":%llu}}", (int)getpid(),
	    (unsigned long long)requests, (unsigned long long)waiting,
	    (unsigned long long)peak_waiting,
	    (unsigned long long)analytics_calls,
	    settings.partner_key[0] != '\0' ? "true" : "false",
	    (unsigned long long)partner_calls,
	    (unsigned long long)partner_in_flight,
	    (unsigned long long)partner_peak);
	reply_json(req, HTTP_STATUS_OK, (const char *)buf.data, buf.offset);
	kore_buf_cleanup(&buf);

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

	if (w->endpoint == SIM_EP_PARTNER && !sim_partner_check(req, w))
		return (HTTP_STATE_COMPLETE);
	if (w->endpoint == SIM_EP_ANALYTICS)
		analytics_calls++;

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

	kore_buf_init(&buf, 256);

	switch (w->endpoint) {
	case SIM_EP_COMIC:
		sim_comic(req, w, &buf);
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
	case SIM_EP_PAGE:
		kore_buf_appendf(&buf, "<!doctype html><title>xkcd-sim %lld"
		    "</title><h1>Simulated comic %lld</h1>\n", w->num, w->num);
		http_response_header(req, "content-type",
		    "text/html; charset=utf-8");
		http_response(req, (int)w->status, buf.data, buf.offset);
		break;
	default:
		kore_buf_appendf(&buf, "{\"delay_ms\": %lld, \"status\": %lld",
		    w->ms, w->status);
		if (w->body == SIM_BODY_NORMAL)
			kore_buf_appendf(&buf, ", \"pid\": %d}\n",
			    (int)getpid());
		http_response_header(req, "content-type", "application/json");
		http_response(req, (int)w->status, buf.data, buf.offset);
		break;
	}

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
	long long	lag;
	int		n, i;

	w->status = 200;
	w->body = SIM_BODY_NORMAL;
	lag = -1;

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
		if (!strcmp(seg[i], "delay") || !strcmp(seg[i], "xkcd") ||
		    !strcmp(seg[i], "analytics") || !strcmp(seg[i], "partner")) {
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

/*
 * Comic <num> in xkcd's format, deterministic.  404 and anything past the
 * latest do not exist; 405-411 are broken on purpose.
 */
static void
sim_comic(struct http_request *req, struct sim_wait *w, struct kore_buf *b)
{
	yajl_gen		g;
	const unsigned char	*out;
	size_t			len;
	const char		*host;
	long long		n = w->num;
	char			title[128], alt[256], img[300], *pad;

	http_response_header(req, "content-type", "application/json");

	if (w->status == 404) {
		http_response_header(req, "content-type", "text/html");
		kore_buf_appendf(b, "<h1>404 Not Found</h1>\n");
		http_response(req, 404, b->data, b->offset);
		return;
	}

	if (n == 405 || w->body == SIM_BODY_MALFORMED) {
		kore_buf_appendf(b, "{\"num\": %lld, \"title\": \"Cut off", n);
		http_response(req, (int)w->status, b->data, b->offset);
		return;
	}
	if (n == 410) {
		kore_buf_appendf(b, "{\"num\": \"410\", \"title\": 7, "
		    "\"safe_title\": [], \"alt\": null, \"img\": {}}");
		http_response(req, (int)w->status, b->data, b->offset);
		return;
	}
	if (n == 411) {
		/* Deep enough to crash a recursive parser without a cap. */
		pad = kore_malloc(200000);
		memset(pad, '[', 200000);
		kore_buf_appendf(b, "{\"num\": 411, \"x\": ");
		kore_buf_append(b, pad, 200000);
		kore_free(pad);
		http_response(req, (int)w->status, b->data, b->offset);
		return;
	}

	if (!http_request_header(req, "host", &host) ||
	    strlen(host) > 200 || strpbrk(host, "\"<> \\") != NULL)
		host = "127.0.0.1";

	(void)snprintf(title, sizeof(title), "%s %s",
	    words[(n * 7) % words_len], words[(n * 13 + 5) % words_len]);
	(void)snprintf(alt, sizeof(alt), "Comic %lld: the one about %s and "
	    "%s.", n, words[(n * 3) % words_len], words[(n * 11) % words_len]);
	(void)snprintf(img, sizeof(img), "http://%s/xkcd/img/%lld.svg",
	    host, n);

	if (n == 408) {
		(void)snprintf(title, sizeof(title),
		    "<script>alert(1)</script>");
		(void)snprintf(alt, sizeof(alt),
		    "\"><img src=x onerror=alert(1)> & 'quotes'");
	}
	if (n == 409)
		(void)snprintf(img, sizeof(img), "javascript:alert(1)");

	g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	yajl_gen_map_open(g);
	sim_gen_str(g, "month", "1");
	sim_gen_int(g, "num", n);
	sim_gen_str(g, "link", "");
	sim_gen_int(g, "year", 2006 + n / 150);
	sim_gen_str(g, "news", "");
	sim_gen_str(g, "safe_title", title);
	sim_gen_str(g, "transcript", "");
	if (n == 407) {
		/* Over the app's default 1 MiB body limit. */
		pad = kore_malloc(2 * 1024 * 1024);
		memset(pad, 'a', 2 * 1024 * 1024 - 1);
		pad[2 * 1024 * 1024 - 1] = '\0';
		sim_gen_str(g, "alt", pad);
		kore_free(pad);
	} else {
		sim_gen_str(g, "alt", alt);
	}
	if (n != 406)
		sim_gen_str(g, "img", img);
	sim_gen_str(g, "title", title);
	sim_gen_int(g, "day", 1 + n % 28);
	yajl_gen_map_close(g);

	yajl_gen_get_buf(g, &out, &len);
	http_response(req, (int)w->status, out, len);
	yajl_gen_free(g);
}

static void
sim_image(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 512);
	kore_buf_appendf(&buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"240\" height=\"160\" viewBox=\"0 0 240 160\">"
	    "<rect width=\"240\" height=\"160\" fill=\"#fff\" "
	    "stroke=\"#222\" stroke-width=\"4\"/>"
	    "<circle cx=\"60\" cy=\"60\" r=\"14\" fill=\"none\" "
	    "stroke=\"#222\" stroke-width=\"3\"/>"
	    "<path d=\"M60 74v40m0-30l-20 14m20-14l20 14m-20 16l-16 24m16-24"
	    "l16 24\" stroke=\"#222\" stroke-width=\"3\" fill=\"none\"/>"
	    "<text x=\"150\" y=\"90\" font-family=\"sans-serif\" "
	    "font-size=\"28\" text-anchor=\"middle\">#%lld</text></svg>\n",
	    w->num);

	http_response_header(req, "content-type", "image/svg+xml");
	http_response_header(req, "cache-control", "max-age=86400");
	http_response(req, HTTP_STATUS_OK, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

static void
sim_gen_str(yajl_gen g, const char *key, const char *value)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_string(g, (const unsigned char *)value, strlen(value));
}

static void
sim_gen_int(yajl_gen g, const char *key, long long value)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_integer(g, value);
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

/*
 * The partner's checks, before the wait: the key (401), the product (404
 * unless known or a fault product).  Counts the accepted call.
 */
static int
sim_partner_check(struct http_request *req, struct sim_wait *w)
{
	struct qparams		qp;
	const char		*key, *product;
	long long		num;
	char			err[QPARAM_ERR_MAX];

	if (!qparam_parse(&qp, req->query_string, err, sizeof(err)) ||
	    (product = qparam_get(&qp, "product")) == NULL ||
	    strlen(product) >= sizeof(w->product)) {
		reply_json(req, 400, "{\"error\": \"bad request\"}", 26);
		return (0);
	}
	key = qparam_get(&qp, "api_key");
	if (key == NULL || *key == '\0' || strlen(key) >= SIM_KEY_MAX ||
	    (settings.partner_key[0] != '\0' &&
	    strcmp(key, settings.partner_key) != 0)) {
		reply_json(req, 401, "{\"error\": \"invalid api key\"}", 28);
		return (0);
	}
	(void)strcpy(w->product, product);

	sim_partner_flight(w, 1);

	if (!strncmp(product, "slow-", 5))
		w->ms = 3000;
	if (product[0] == 'p' && settings_parse_number(product + 1, 1,
	    SIM_PRODUCTS, &num) && strlen(product) == 3)
		return (1);
	if (!strncmp(product, "err503-", 7) || !strncmp(product, "err429-", 7) ||
	    !strncmp(product, "badjson-", 8) || !strncmp(product, "slow-", 5))
		return (1);

	w->status = 404;
	return (1);
}

static void
sim_partner_flight(struct sim_wait *w, int on)
{
	if (on) {
		w->counted = 1;
		partner_calls++;
		if (++partner_in_flight > partner_peak)
			partner_peak = partner_in_flight;
	} else if (w->counted) {
		partner_in_flight--;
		w->counted = 0;
	}
}

/* Deterministic numbers for product p<nn>. */
static long long
sim_number(const char *product, int salt, long long mod)
{
	unsigned long long	h;
	const char		*p;

	h = 1469598103934665603ULL ^ (unsigned long long)salt;
	for (p = product; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;

	return ((long long)(h % (unsigned long long)mod));
}

static void
sim_analytics(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;
	char			id[8];
	int			i;

	kore_buf_init(&buf, 4096);
	if (w->body == SIM_BODY_MALFORMED) {
		kore_buf_appendf(&buf, "{\"products\": {\"p01\": ");
	} else {
		kore_buf_appendf(&buf, "{\"products\": {");
		for (i = 1; i <= SIM_PRODUCTS; i++) {
			(void)snprintf(id, sizeof(id), "p%02d", i);
			kore_buf_appendf(&buf, "%s\"%s\": {\"views\": %lld, "
			    "\"visitors\": %lld}", i > 1 ? ", " : "", id,
			    1000 + sim_number(id, 1, 90000),
			    100 + sim_number(id, 2, 9000));
		}
		kore_buf_appendf(&buf, "}}");
	}

	http_response_header(req, "content-type", "application/json");
	http_response(req, (int)w->status, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

static void
sim_partner(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;
	const char		*p = w->product;
	int			status;

	sim_partner_flight(w, 0);
	kore_buf_init(&buf, 256);
	status = (int)w->status;

	if (status == 404) {
		kore_buf_appendf(&buf, "{\"error\": \"unknown product\"}");
	} else if (!strncmp(p, "err503-", 7)) {
		status = 503;
		kore_buf_appendf(&buf, "{\"error\": \"unavailable\"}");
	} else if (!strncmp(p, "err429-", 7)) {
		status = 429;
		http_response_header(req, "retry-after", "2");
		kore_buf_appendf(&buf, "{\"error\": \"slow down\"}");
	} else if (!strncmp(p, "badjson-", 8) ||
	    w->body == SIM_BODY_MALFORMED) {
		kore_buf_appendf(&buf, "{\"product\": \"%s\", \"sales\": ", p);
	} else {
		kore_buf_appendf(&buf, "{\"product\": \"%s\", \"sales\": %lld, "
		    "\"revenue\": %lld.%02lld, \"clicks\": %lld, "
		    "\"conversion\": 0.%04lld}", p, sim_number(p, 3, 500),
		    sim_number(p, 4, 50000), sim_number(p, 5, 100),
		    500 + sim_number(p, 6, 20000), sim_number(p, 7, 10000));
	}

	http_response_header(req, "content-type", "application/json");
	http_response(req, status, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}
