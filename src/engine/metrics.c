/*
 * The counters behind /metrics, and the page itself.
 *
 * Each Kore worker is its own process, and a scrape must not depend on
 * which one answers.  So the parent maps one shared anonymous segment
 * before it forks the workers, with a slot per worker id; a worker writes
 * only its own slot (relaxed atomic stores of u_int64_t, one writer per
 * word: no locks, no messages), and /metrics adds every slot up.  A
 * worker that Kore restarts takes over its predecessor's slot: counters
 * carry on from where it stopped, gauges (calls in flight) start at zero.
 *
 * Label sets are bounded: pages are a fixed list, status codes a fixed
 * list (the rest are "other"), upstreams the four configured at start-up
 * (a call to anything else is "other"), call outcomes a status class or
 * the engine's error kind.  Histograms keep a count per bucket and are
 * made cumulative when written out.  Nothing here holds a URL's path,
 * query or credentials: an upstream is its name, with its origin (scheme,
 * host, port) in fanout_upstream_info.
 *
 * The access log's fan-out summary (struct metrics_note) is made here
 * too: the engine notes a fan-out just before its page answers, and the
 * log line, written while that answer is sent, takes the note.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_version.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "engine.h"
#include "fanout.h"
#include "metrics.h"
#include "reply.h"
#include "settings.h"
#include "share.h"

#define M_PAGES		16
#define M_CODES		32
#define M_BUCKETS	16	/* the finite ones, then +Inf */
#define M_UPSTREAMS	5
#define M_OUTCOMES	13
#define M_HOST_MAX	256

/* Pages the path table below cannot name. */
#define M_PAGE_STATIC		8
#define M_PAGE_REDIRECT		13
#define M_PAGE_NOT_FOUND	14
#define M_PAGE_OTHER		15

/* One worker's counters: u_int64_t only (metrics_total() adds them). */
struct mslot {
	u_int64_t	pid;
	u_int64_t	ready;
	u_int64_t	requests[M_PAGES][M_CODES];
	u_int64_t	req_bucket[M_PAGES][M_BUCKETS + 1];
	u_int64_t	req_sum_us[M_PAGES];
	u_int64_t	calls[M_UPSTREAMS][M_OUTCOMES];
	u_int64_t	call_bucket[M_UPSTREAMS][M_BUCKETS + 1];
	u_int64_t	call_sum_us[M_UPSTREAMS];
	u_int64_t	tail[M_UPSTREAMS][METRICS_TAILS];
	u_int64_t	conns_opened;
	u_int64_t	cache[METRICS_CACHES][3];
	u_int64_t	refused[METRICS_CAPS];
	/* Gauges: zeroed when a worker starts. */
	u_int64_t	calls_in_flight;
	u_int64_t	sync_in_flight;
	u_int64_t	fanouts_in_flight;
	u_int64_t	circuit_open[M_UPSTREAMS];
};

#define SLOT_WORDS	(sizeof(struct mslot) / sizeof(u_int64_t))

struct mupstream {
	const char	*name;
	char		base[SETTINGS_STR_MAX];
	char		origin[SETTINGS_STR_MAX];
	char		host[M_HOST_MAX];
};

static const char *const	pages[M_PAGES] = {
	"index", "get_data", "async_get_data", "xkcd", "xkcd_sync", "stats",
	"stats_sync", "api_stats", "static", "status", "metrics", "healthz",
	"readyz", "redirect", "not_found", "other",
};

static const struct {
	const char	*path;
	int		page;
} paths[] = {
	{ "/", 0 }, { "/get_data", 1 }, { "/async_get_data", 2 },
	{ "/xkcd", 3 }, { "/xkcd/sync", 4 }, { "/stats", 5 },
	{ "/stats/sync", 6 }, { "/api/stats", 7 }, { "/app.js", 8 },
	{ "/style.css", 8 }, { "/xkcd.js", 8 }, { "/stats.js", 8 },
	{ "/favicon.svg", 8 }, { "/_/stats", 9 }, { "/_/whoami", 9 },
	{ "/metrics", 10 }, { "/healthz", 11 }, { "/readyz", 12 },
};

static const int	codes[M_CODES - 1] = {
	200, 201, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404,
	405, 406, 408, 409, 410, 413, 414, 415, 416, 429, 431, 500, 501, 502,
	503, 504, 505,
};

/* Upper bounds, seconds; the last bucket is +Inf. */
static const double	buckets[M_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30, 60, 120,
};
static const char *const	bucket_names[M_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10", "30", "60", "120",
};

static const char *const	outcomes[M_OUTCOMES] = {
	"1xx", "2xx", "3xx", "4xx", "5xx", "timeout", "deadline", "connect",
	"body_too_large", "transport", "setup", "skipped", "circuit_open",
};
static const char *const	tails[METRICS_TAILS] = {
	"retry", "hedge", "circuit_open",
};

static const char *const	caches[METRICS_CACHES] = {
	"comic", "xkcd_latest", "stats",
};
static const char *const	cache_events[3] = { "hits", "misses", "waits" };
static const char *const	cache_helps[3] = {
	"found a fresh entry", "had to fetch", "waited for another request's "
	"fetch",
};
static const char *const	caps[METRICS_CAPS] = {
	"fanouts", "inflight", "sync_pages",
};

static void		metrics_upstream_add(const char *, const char *);
static int		metrics_page(struct http_request *);
static int		metrics_code(int);
static size_t		metrics_upstream(const char *);
static size_t		metrics_outcome(int, long);
static void		metrics_observe(u_int64_t *, u_int64_t *, u_int64_t);
static struct mslot	*metrics_slot(void);
static void		metrics_total(struct mslot *);
static void		metrics_head(struct kore_buf *, const char *,
			    const char *, const char *);
static void		metrics_histogram(struct kore_buf *, const char *,
			    const char *, const char *, const u_int64_t *,
			    u_int64_t);
static void		metrics_out_requests(struct kore_buf *,
			    const struct mslot *);
static void		metrics_out_calls(struct kore_buf *,
			    const struct mslot *);
static void		metrics_out_engine(struct kore_buf *,
			    const struct mslot *);
static void		metrics_out_process(struct kore_buf *);
static u_int64_t	now_us(void);

#define M_ADD(p, n)	__atomic_store_n((p), __atomic_load_n((p),	\
			    __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define M_SET(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define M_GET(p)	__atomic_load_n((p), __ATOMIC_RELAXED)

static struct mslot		*slots = NULL;
static u_int32_t		nslots = 0;
static struct mupstream		ups[M_UPSTREAMS];
static size_t			nups = 0;
static time_t			started = 0;
static struct metrics_note	note;
static struct http_request	*note_req = NULL;

/*
 * The parent, before the workers fork: the shared slots (one per worker
 * id, 1 to workers) and the upstream table from the settings.
 */
void
metrics_init(u_int32_t workers)
{
	size_t		len;

	started = time(NULL);
	nslots = workers + 1;
	len = sizeof(struct mslot) * nslots;
	slots = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		fatal("metrics_init: mmap: %s", errno_s);
	memset(slots, 0, len);

	nups = 0;
	metrics_upstream_add("delay", settings.upstream);
	metrics_upstream_add("xkcd", settings.xkcd_upstream);
	metrics_upstream_add("analytics", settings.analytics_upstream);
	metrics_upstream_add("partner", settings.partner_upstream);
	ups[nups].name = "other";
	nups++;
}

/* A worker (maybe a restarted one) takes its slot: gauges start at 0. */
void
metrics_worker_start(void)
{
	struct mslot	*s;
	size_t		i;

	if ((s = metrics_slot()) == NULL)
		return;

	M_SET(&s->calls_in_flight, 0);
	M_SET(&s->sync_in_flight, 0);
	M_SET(&s->fanouts_in_flight, 0);
	for (i = 0; i < M_UPSTREAMS; i++)
		M_SET(&s->circuit_open[i], 0);
	M_SET(&s->pid, (u_int64_t)getpid());
	M_SET(&s->ready, 1);
}

/* An answer: by page and status, and its duration by page. */
void
metrics_request(struct http_request *req, int status,
    const struct metrics_note *n)
{
	struct mslot	*s;
	u_int64_t	start, now;
	int		p;

	if ((s = metrics_slot()) == NULL)
		return;

	now = now_us();
	start = n != NULL ? n->start_us : req->start * 1000;
	p = metrics_page(req);
	M_ADD(&s->requests[p][metrics_code(status)], 1);
	metrics_observe(s->req_bucket[p], &s->req_sum_us[p],
	    now > start ? now - start : 0);
}

/* A finished upstream transfer (async or sync). */
void
metrics_call(const char *url, int error, long status, double ms)
{
	struct mslot	*s;
	size_t		u;

	if ((s = metrics_slot()) == NULL)
		return;

	u = metrics_upstream(url);
	M_ADD(&s->calls[u][metrics_outcome(error, status)], 1);
	metrics_observe(s->call_bucket[u], &s->call_sum_us[u],
	    ms > 0 ? (u_int64_t)(ms * 1000.0) : 0);
}

/* A retry, a hedge or a call an open circuit failed (README "Tail"). */
void
metrics_tail(const char *url, int what)
{
	struct mslot	*s;

	if ((s = metrics_slot()) != NULL && what >= 0 && what < METRICS_TAILS)
		M_ADD(&s->tail[metrics_upstream(url)][what], 1);
}

void
metrics_calls_in_flight(u_int64_t n)
{
	struct mslot	*s;

	if ((s = metrics_slot()) != NULL)
		M_SET(&s->calls_in_flight, n);
}

/* A sync page's blocking call: 1 before, 0 after. */
void
metrics_sync_call(int on)
{
	struct mslot	*s;

	if ((s = metrics_slot()) != NULL)
		M_SET(&s->sync_in_flight, on ? 1 : 0);
}

void
metrics_fanouts_in_flight(u_int64_t n)
{
	struct mslot	*s;

	if ((s = metrics_slot()) != NULL)
		M_SET(&s->fanouts_in_flight, n);
}

void
metrics_circuit(const char *origin, int open)
{
	struct mslot	*s;
	size_t		u;

	if ((s = metrics_slot()) == NULL)
		return;

	/* Upstreams on one origin share its circuit. */
	for (u = 0; u + 1 < nups; u++) {
		if (strcasecmp(ups[u].origin, origin) == 0)
			M_SET(&s->circuit_open[u], open ? 1 : 0);
	}
}

void
metrics_conn_opened(void)
{
	struct mslot	*s;

	if ((s = metrics_slot()) != NULL)
		M_ADD(&s->conns_opened, 1);
}

void
metrics_refused(int cap)
{
	struct mslot	*s;

	if ((s = metrics_slot()) != NULL && cap >= 0 && cap < METRICS_CAPS)
		M_ADD(&s->refused[cap], 1);
}

/* A cache lookup: counted, noted on the request; returns hit. */
int
metrics_cache(struct fanout *fo, int cache, int hit)
{
	struct mslot	*s;
	int		ev;

	ev = hit ? 0 : 1;
	if (fo != NULL)
		fo->cache_events[ev]++;
	if ((s = metrics_slot()) != NULL && cache >= 0 &&
	    cache < METRICS_CACHES)
		M_ADD(&s->cache[cache][ev], 1);

	return (hit);
}

/*
 * A shared lookup (share_join()): a fresh result is a hit, fetching it a
 * miss, waiting for another request's fetch a wait.  Returns role.
 */
int
metrics_share(struct fanout *fo, int cache, int role)
{
	struct mslot	*s;
	int		ev;

	switch (role) {
	case SHARE_FRESH:
		ev = 0;
		break;
	case SHARE_FOLLOWER:
		ev = 2;
		break;
	default:
		ev = 1;
		break;
	}

	if (fo != NULL)
		fo->cache_events[ev]++;
	if ((s = metrics_slot()) != NULL && cache >= 0 &&
	    cache < METRICS_CACHES)
		M_ADD(&s->cache[cache][ev], 1);

	return (role);
}

/* The fan-out is about to answer: what the access log says of it. */
void
metrics_note(struct fanout *fo)
{
	const struct fanout_result	*r;
	size_t				i;

	memset(&note, 0, sizeof(note));
	note_req = fo->req;
	note.start_us = fo->start_us;
	memcpy(note.cache, fo->cache_events, sizeof(note.cache));

	for (i = 0; i < fo->ncalls; i++) {
		r = fanout_result(fo, i);
		note.calls++;
		note.outcomes[metrics_outcome(r->error, r->status)]++;
		if (r->error != FANOUT_ERR_NONE)
			note.failed++;
		if (r->ms > note.slowest_ms || note.slowest == 0) {
			note.slowest = (long)i + 1;
			note.slowest_ms = r->ms;
		}
	}
}

/* The note for req, if the answer being sent is a fan-out's; it is used up. */
int
metrics_note_take(struct http_request *req, struct metrics_note *out)
{
	int		mine;

	mine = note_req == req && req != NULL;
	if (mine)
		*out = note;
	note_req = NULL;

	return (mine);
}

const char *
metrics_outcome_name(size_t i)
{
	return (i < M_OUTCOMES ? outcomes[i] : NULL);
}

/*
 * Every app worker Kore runs has started and taken its slot (the slot's
 * pid is the worker's current one).  Counts into *up and *want.
 */
int
metrics_workers_up(u_int32_t *up, u_int32_t *want)
{
	struct kore_worker	*kw;
	u_int16_t		idx;

	*up = *want = 0;
	if (slots == NULL)
		return (0);

	for (idx = KORE_WORKER_BASE; idx < worker_count; idx++) {
		kw = kore_worker_data((u_int8_t)idx);
		(*want)++;
		if (kw->running && kw->id < nslots &&
		    M_GET(&slots[kw->id].ready) &&
		    M_GET(&slots[kw->id].pid) == (u_int64_t)kw->pid)
			(*up)++;
	}

	return (*up == *want && *want > 0);
}

/* The configured upstreams (not "other"), for the readiness check. */
size_t
metrics_upstream_count(void)
{
	return (nups > 0 ? nups - 1 : 0);
}

const char *
metrics_upstream_name(size_t i)
{
	return (ups[i].name);
}

const char *
metrics_upstream_host(size_t i)
{
	return (ups[i].host);
}

int
page_metrics(struct http_request *req)
{
	struct kore_buf		buf;
	struct mslot		*tot;

	if (!reply_status_allowed(req) || slots == NULL) {
		reply_not_found(req);
		return (KORE_RESULT_OK);
	}

	tot = kore_calloc(1, sizeof(*tot));
	metrics_total(tot);

	kore_buf_init(&buf, 16384);
	metrics_out_requests(&buf, tot);
	metrics_out_calls(&buf, tot);
	metrics_out_engine(&buf, tot);
	metrics_out_process(&buf);
	kore_free(tot);

	http_response_header(req, "content-type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	reply_send(req, HTTP_STATUS_OK, buf.data, buf.offset);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

/*
 * An upstream's base URL, its origin without any user:password, and its
 * host (brackets off an IPv6 literal).
 */
static void
metrics_upstream_add(const char *name, const char *url)
{
	struct mupstream	*u = &ups[nups++];
	const char		*h, *end, *at, *colon;
	size_t			hl;

	u->name = name;
	(void)snprintf(u->base, sizeof(u->base), "%s", url);
	if ((h = strstr(url, "://")) == NULL)
		return;
	h += 3;
	end = h + strcspn(h, "/?#");
	if ((at = memchr(h, '@', (size_t)(end - h))) != NULL)
		h = at + 1;
	(void)snprintf(u->origin, sizeof(u->origin), "%.*s%.*s",
	    (int)(strstr(url, "://") + 3 - url), url, (int)(end - h), h);

	if (*h == '[') {
		colon = memchr(h, ']', (size_t)(end - h));
		h++;
		hl = colon != NULL ? (size_t)(colon - h) : 0;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((colon != NULL ? colon : end) - h);
	}
	(void)snprintf(u->host, sizeof(u->host), "%.*s", (int)hl, h);
}

static int
metrics_page(struct http_request *req)
{
	size_t		i;

	if (req->hdlr != NULL && strcmp(req->hdlr->func, "page_redirect") == 0)
		return (M_PAGE_REDIRECT);
	if (strncmp(req->path, "/vendor/", 8) == 0)
		return (M_PAGE_STATIC);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (strcmp(req->path, paths[i].path) == 0)
			return (paths[i].page);
	}
	if (req->hdlr != NULL && strcmp(req->hdlr->func, "page_not_found") == 0)
		return (M_PAGE_NOT_FOUND);

	return (M_PAGE_OTHER);
}

static int
metrics_code(int status)
{
	size_t		i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (codes[i] == status)
			return ((int)i);
	}

	return (M_CODES - 1);
}

/* The configured upstream whose base URL is the longest prefix of url. */
static size_t
metrics_upstream(const char *url)
{
	size_t		i, len, best, bestlen;

	best = nups - 1;
	bestlen = 0;
	for (i = 0; i + 1 < nups; i++) {
		len = strlen(ups[i].base);
		if (len == 0 || len <= bestlen ||
		    strncmp(url, ups[i].base, len) != 0)
			continue;
		if (url[len] != '\0' && url[len] != '/' && url[len] != '?')
			continue;
		best = i;
		bestlen = len;
	}

	return (best);
}

static size_t
metrics_outcome(int error, long status)
{
	switch (error) {
	case FANOUT_ERR_NONE:
	case FANOUT_ERR_HTTP:
		if (status >= 100 && status <= 599)
			return ((size_t)(status / 100 - 1));
		return (9);
	case FANOUT_ERR_TIMEOUT:
		return (5);
	case FANOUT_ERR_DEADLINE:
		return (6);
	case FANOUT_ERR_CONNECT:
		return (7);
	case FANOUT_ERR_TOOBIG:
		return (8);
	case FANOUT_ERR_SETUP:
		return (10);
	case FANOUT_ERR_SKIPPED:
		return (11);
	case FANOUT_ERR_CIRCUIT:
		return (12);
	}

	return (9);
}

static void
metrics_observe(u_int64_t *bucket, u_int64_t *sum, u_int64_t us)
{
	size_t		i;

	for (i = 0; i < M_BUCKETS; i++) {
		if ((double)us <= buckets[i] * 1e6)
			break;
	}
	M_ADD(&bucket[i], 1);
	M_ADD(sum, us);
}

/* This worker's slot; NULL outside the app's workers. */
static struct mslot *
metrics_slot(void)
{
	if (slots == NULL || worker == NULL || worker->id >= nslots)
		return (NULL);

	return (&slots[worker->id]);
}

static void
metrics_total(struct mslot *tot)
{
	u_int64_t	*t, *w;
	u_int32_t	i;
	size_t		j;

	t = (u_int64_t *)tot;
	for (i = 0; i < nslots; i++) {
		w = (u_int64_t *)&slots[i];
		for (j = 0; j < SLOT_WORDS; j++)
			t[j] += M_GET(&w[j]);
	}
}

static void
metrics_head(struct kore_buf *b, const char *name, const char *type,
    const char *help)
{
	kore_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* One labelled histogram, cumulative buckets from per-bucket counts. */
static void
metrics_histogram(struct kore_buf *b, const char *name, const char *label,
    const char *value, const u_int64_t *bucket, u_int64_t sum_us)
{
	u_int64_t	cum;
	size_t		i;

	cum = 0;
	for (i = 0; i <= M_BUCKETS; i++) {
		cum += bucket[i];
		kore_buf_appendf(b, "%s_bucket{%s=\"%s\",le=\"%s\"} %llu\n",
		    name, label, value, i < M_BUCKETS ? bucket_names[i] :
		    "+Inf", (unsigned long long)cum);
	}
	kore_buf_appendf(b, "%s_sum{%s=\"%s\"} %llu.%06llu\n", name, label,
	    value, (unsigned long long)(sum_us / 1000000),
	    (unsigned long long)(sum_us % 1000000));
	kore_buf_appendf(b, "%s_count{%s=\"%s\"} %llu\n", name, label, value,
	    (unsigned long long)cum);
}

static void
metrics_out_requests(struct kore_buf *b, const struct mslot *t)
{
	size_t		p, c;
	u_int64_t	n;

	metrics_head(b, "fanout_http_requests_total", "counter",
	    "Requests answered, by page and status code.");
	for (p = 0; p < M_PAGES; p++) {
		for (c = 0; c < M_CODES; c++) {
			if ((n = t->requests[p][c]) == 0)
				continue;
			if (c < M_CODES - 1) {
				kore_buf_appendf(b, "fanout_http_requests_total"
				    "{page=\"%s\",code=\"%d\"} %llu\n",
				    pages[p], codes[c], (unsigned long long)n);
			} else {
				kore_buf_appendf(b, "fanout_http_requests_total"
				    "{page=\"%s\",code=\"other\"} %llu\n",
				    pages[p], (unsigned long long)n);
			}
		}
	}

	metrics_head(b, "fanout_http_request_duration_seconds", "histogram",
	    "Time from the request's start to its answer, by page.");
	for (p = 0; p < M_PAGES; p++) {
		for (n = 0, c = 0; c <= M_BUCKETS; c++)
			n += t->req_bucket[p][c];
		if (n > 0)
			metrics_histogram(b,
			    "fanout_http_request_duration_seconds", "page",
			    pages[p], t->req_bucket[p], t->req_sum_us[p]);
	}
}

static void
metrics_out_calls(struct kore_buf *b, const struct mslot *t)
{
	size_t		u, o;
	u_int64_t	n;

	metrics_head(b, "fanout_upstream_info", "gauge",
	    "The configured upstreams and their origins.");
	for (u = 0; u + 1 < nups; u++) {
		kore_buf_appendf(b, "fanout_upstream_info{upstream=\"%s\","
		    "origin=\"%s\"} 1\n", ups[u].name, ups[u].origin);
	}

	metrics_head(b, "fanout_upstream_requests_total", "counter",
	    "Upstream calls made, by upstream and outcome (status class or "
	    "error kind).");
	for (u = 0; u < nups; u++) {
		for (o = 0; o < M_OUTCOMES; o++) {
			if ((n = t->calls[u][o]) == 0)
				continue;
			kore_buf_appendf(b, "fanout_upstream_requests_total"
			    "{upstream=\"%s\",outcome=\"%s\"} %llu\n",
			    ups[u].name, outcomes[o], (unsigned long long)n);
		}
	}

	metrics_head(b, "fanout_upstream_tail_total", "counter",
	    "Retries, hedges sent and calls failed at once by an open "
	    "circuit, by upstream and event.");
	for (u = 0; u < nups; u++) {
		for (o = 0; o < METRICS_TAILS; o++) {
			if ((n = t->tail[u][o]) == 0)
				continue;
			kore_buf_appendf(b, "fanout_upstream_tail_total"
			    "{upstream=\"%s\",event=\"%s\"} %llu\n",
			    ups[u].name, tails[o], (unsigned long long)n);
		}
	}

	metrics_head(b, "fanout_upstream_circuit_open", "gauge",
	    "Workers whose circuit breaker for the upstream's origin is open "
	    "or half-open.");
	for (u = 0; u + 1 < nups; u++) {
		kore_buf_appendf(b, "fanout_upstream_circuit_open"
		    "{upstream=\"%s\"} %llu\n", ups[u].name,
		    (unsigned long long)t->circuit_open[u]);
	}

	metrics_head(b, "fanout_upstream_request_duration_seconds",
	    "histogram", "Upstream call duration, by upstream.");
	for (u = 0; u < nups; u++) {
		for (n = 0, o = 0; o <= M_BUCKETS; o++)
			n += t->call_bucket[u][o];
		if (n > 0)
			metrics_histogram(b,
			    "fanout_upstream_request_duration_seconds",
			    "upstream", ups[u].name, t->call_bucket[u],
			    t->call_sum_us[u]);
	}
}

static void
metrics_out_engine(struct kore_buf *b, const struct mslot *t)
{
	size_t		i, j;

	metrics_head(b, "fanout_upstream_requests_in_flight", "gauge",
	    "Upstream calls in flight (async and sync pages).");
	kore_buf_appendf(b, "fanout_upstream_requests_in_flight %llu\n",
	    (unsigned long long)(t->calls_in_flight + t->sync_in_flight));
	metrics_head(b, "fanout_fanouts_in_flight", "gauge",
	    "Async fan-outs in progress holding call slots.");
	kore_buf_appendf(b, "fanout_fanouts_in_flight %llu\n",
	    (unsigned long long)t->fanouts_in_flight);
	metrics_head(b, "fanout_upstream_connections_opened_total", "counter",
	    "New upstream connections (sockets opened).");
	kore_buf_appendf(b, "fanout_upstream_connections_opened_total %llu\n",
	    (unsigned long long)t->conns_opened);

	for (j = 0; j < 3; j++) {
		kore_buf_appendf(b, "# HELP fanout_cache_%s_total Cache "
		    "lookups that %s, by cache.\n# TYPE fanout_cache_%s_total "
		    "counter\n", cache_events[j], cache_helps[j],
		    cache_events[j]);
		for (i = 0; i < METRICS_CACHES; i++) {
			kore_buf_appendf(b, "fanout_cache_%s_total"
			    "{cache=\"%s\"} %llu\n", cache_events[j],
			    caches[i], (unsigned long long)t->cache[i][j]);
		}
	}

	metrics_head(b, "fanout_overload_refusals_total", "counter",
	    "Requests answered 503 by a load cap, by cap.");
	for (i = 0; i < METRICS_CAPS; i++) {
		kore_buf_appendf(b, "fanout_overload_refusals_total"
		    "{cap=\"%s\"} %llu\n", caps[i],
		    (unsigned long long)t->refused[i]);
	}
}

static void
metrics_out_process(struct kore_buf *b)
{
	u_int32_t	up, want;
	const curl_version_info_data	*cv;

	(void)metrics_workers_up(&up, &want);
	metrics_head(b, "fanout_workers", "gauge", "Worker processes "
	    "configured.");
	kore_buf_appendf(b, "fanout_workers %u\n", want);
	metrics_head(b, "fanout_workers_up", "gauge", "Worker processes "
	    "running and started.");
	kore_buf_appendf(b, "fanout_workers_up %u\n", up);

	metrics_head(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch, in seconds.");
	kore_buf_appendf(b, "process_start_time_seconds %lld\n",
	    (long long)started);

	cv = curl_version_info(CURLVERSION_NOW);
	metrics_head(b, "fanout_build_info", "gauge",
	    "Versions the binary was built with (always 1).");
	kore_buf_appendf(b, "fanout_build_info{kore=\"%s\",libcurl=\"%s\","
	    "yajl=\"%d.%d.%d\"} 1\n", kore_version, cv->version,
	    YAJL_MAJOR, YAJL_MINOR, YAJL_MICRO);
}

static u_int64_t
now_us(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return ((u_int64_t)ts.tv_sec * 1000000 + (u_int64_t)ts.tv_nsec / 1000);
}
