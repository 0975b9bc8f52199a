/*
 * The xkcd gallery: /xkcd (async) and /xkcd/sync.
 *
 * A gallery is `count` random comics (or the comics in `ids`), each
 * fetched from <xkcd-upstream>/<n>/info.0.json.  Random picks need the
 * latest comic's number first (<xkcd-upstream>/info.0.json, reused for
 * --xkcd-latest-ttl seconds), so a random gallery can take two rounds:
 * setup() asks for the latest number when it has none, next() picks the
 * comics once it has.  Concurrent async galleries share one lookup of the
 * number (the engine's request sharing, share.h): one fetches it, the
 * others wait for it.  Comics never change once published: parsed ones
 * are cached per worker (--xkcd-cache entries, oldest out first), and a
 * gallery only fetches what it does not have.
 *
 * With --redis the fleet shares both: the latest number is a fleet table
 * (share.h), and comics the worker lacks are asked of the store first
 * (comicstore.c; the request parks until the answer or its timeout).
 *
 * A comic that is missing, malformed, incomplete or too large becomes an
 * error card; the page still answers.  Everything from the upstream goes
 * through tmpl_render() (HTML) or yajl_gen (JSON), and only http(s) image
 * URLs are used (comic.c).
 */

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "comic.h"
#include "comicstore.h"
#include "envelope.h"
#include "fanout.h"
#include "jsongen.h"
#include "metrics.h"
#include "pages.h"
#include "pagevars.h"
#include "qparam.h"
#include "reply.h"
#include "settings.h"
#include "share.h"
#include "tmpl.h"
#include "webassets.h"

#define XKCD_COUNT_DEFAULT	5
#define XKCD_COUNT_MAX		50
#define XKCD_NUM_MAX		100000000
#define XKCD_BUCKETS		256

struct xkcd_slot {
	long long		num;
	long			call;
	int			cached;
	int			ok;
	struct comic		comic;
	char			err[CURL_ERROR_SIZE + 32];
};

/* The latest number as shared (0: the lookup failed, see fail). */
struct xkcd_latest {
	long long		num;
	int			stale;		/* RFC 5861: past its ttl */
	u_int64_t		known_at;	/* kore_time_ms() it came */
	char			fail[CURL_ERROR_SIZE + 64];
};

struct xkcd_req {
	int			json;
	int			nocache;	/* fetch every comic */
	int			random;
	long long		count;
	long			latest_call;
	int			latest_wait;
	int			refresh;	/* a background lookup only */
	long long		latest_age;	/* stale number's age, s; -1 */
	struct share_ticket	share;
	size_t			nslots;
	struct xkcd_slot	slots[XKCD_COUNT_MAX];
	char			fail[CURL_ERROR_SIZE + 64];
	int			store_wait;
	size_t			asked[XKCD_COUNT_MAX];
	struct comicstore_ask	ask;
};

struct cache_entry {
	struct comic			comic;
	LIST_ENTRY(cache_entry)		bucket;
	TAILQ_ENTRY(cache_entry)	age;
};

int	page_xkcd(struct http_request *);
int	page_xkcd_sync(struct http_request *);

static int	xkcd_setup(struct http_request *, struct fanout *);
static int	xkcd_refresh_setup(struct fanout *);
static void	xkcd_latest_join(struct fanout *, struct xkcd_req *);
static void	xkcd_next(struct http_request *, struct fanout *);
static void	xkcd_finish(struct http_request *, struct fanout *);
static void	xkcd_cleanup(void *);

static int	xkcd_params(struct http_request *, struct xkcd_req *, char *,
		    size_t);
static int	xkcd_parse_ids(struct xkcd_req *, const char *, char *, size_t);
static void	xkcd_pick(struct xkcd_req *, long long);
static void	xkcd_latest_call(struct fanout *, struct xkcd_req *);
static void	xkcd_latest_wait(struct fanout *, struct xkcd_req *);
static void	xkcd_latest_take(struct fanout *, struct xkcd_req *);
static void	xkcd_latest_fail(struct xkcd_latest *,
		    const struct fanout_result *, const char *);
static int	xkcd_latest_stale(long long, struct xkcd_latest *);
static void	xkcd_latest_use(struct fanout *, struct xkcd_req *,
		    const struct xkcd_latest *);
static void	xkcd_request_comics(struct fanout *, struct xkcd_req *);
static void	xkcd_call_missing(struct fanout *, struct xkcd_req *);
static void	xkcd_stored(void *);
static int	xkcd_latest_encode(const void *, struct kore_buf *);
static void	*xkcd_latest_decode(const void *, size_t, u_int64_t);
static void	xkcd_take_result(struct fanout *, struct xkcd_slot *);
static int	xkcd_cards(struct sbuf *, struct xkcd_req *, size_t *);
static void	xkcd_html(struct http_request *, struct fanout *,
		    struct xkcd_req *);
static void	xkcd_json(struct http_request *, struct fanout *,
		    struct xkcd_req *);
static size_t	xkcd_from_cache(const struct xkcd_req *);
static void	xkcd_link(char *, size_t, long long);
static void	xkcd_other_query(struct fanout *, const struct xkcd_req *,
		    char *, size_t);

static const struct comic	*cache_get(long long);
static void			cache_put(const struct comic *);

static const char *const	xkcd_accepted[] = {
	"count", "ids", "format", "cache", NULL
};

static const struct fanout_page	xkcd_page = {
	.udata_len = sizeof(struct xkcd_req),
	.setup = xkcd_setup,
	.next = xkcd_next,
	.finish = xkcd_finish,
	.cleanup = xkcd_cleanup,
};

static LIST_HEAD(, cache_entry)		buckets[XKCD_BUCKETS];
static TAILQ_HEAD(, cache_entry)	ages = TAILQ_HEAD_INITIALIZER(ages);
static size_t				cached = 0;
static long long			latest_known = 0;
static u_int64_t			latest_known_at = 0;
static struct share_table		latest_share =
    SHARE_FLEET_TABLE_INITIALIZER(latest_share, 1, kore_free, "xkcd-latest",
    xkcd_latest_encode, xkcd_latest_decode);

int
page_xkcd(struct http_request *req)
{
	return (fanout_serve_async(req, &xkcd_page));
}

int
page_xkcd_sync(struct http_request *req)
{
	return (fanout_serve_sync(req, &xkcd_page));
}

static int
xkcd_setup(struct http_request *req, struct fanout *fo)
{
	struct xkcd_req			*x = fanout_udata(fo);
	const struct xkcd_latest	*fresh;
	char				err[QPARAM_ERR_MAX];

	x->latest_call = -1;
	x->latest_age = -1;
	if (req == NULL)
		return (xkcd_refresh_setup(fo));

	if (!xkcd_params(req, x, err, sizeof(err))) {
		fanout_reply_error(req, fo, HTTP_STATUS_BAD_REQUEST, err);
		return (KORE_RESULT_ERROR);
	}

	if (!x->random) {
		xkcd_request_comics(fo, x);
		return (KORE_RESULT_OK);
	}

	/* A sync page cannot wait for another request's lookup. */
	if (!fanout_is_async(fo)) {
		if (metrics_cache(fo, METRICS_CACHE_LATEST, (fresh =
		    share_fresh(&latest_share, "latest")) != NULL))
			xkcd_latest_use(fo, x, fresh);
		else
			xkcd_latest_call(fo, x);
		return (KORE_RESULT_OK);
	}

	xkcd_latest_join(fo, x);

	return (KORE_RESULT_OK);
}

/*
 * The latest number: fresh, another gallery's lookup to wait for, or a
 * lookup of its own.  stale-while-revalidate: an expired number at most
 * --stale-while-revalidate seconds past its ttl (when it has one: ttl 0
 * asks every time) is used at once instead; the gallery that would have
 * looked it up leaves that to a background lookup (it joins before the
 * gallery leaves, so it leads next).
 */
static void
xkcd_latest_join(struct fanout *fo, struct xkcd_req *x)
{
	struct xkcd_latest	stale;
	int			role;

	role = metrics_share(fo, METRICS_CACHE_LATEST,
	    share_join(&latest_share, "latest", fo, &x->share));
	if (role == SHARE_FRESH) {
		xkcd_latest_use(fo, x, share_result(&x->share));
	} else if (settings.xkcd_latest_ttl > 0 &&
	    xkcd_latest_stale(settings.stale_while_revalidate, &stale)) {
		if (role == SHARE_LEADER)
			(void)fanout_spawn(&xkcd_page, NULL);
		share_leave(&x->share);
		xkcd_latest_use(fo, x, &stale);
	} else if (role == SHARE_FOLLOWER) {
		x->latest_wait = 1;
	} else {
		xkcd_latest_call(fo, x);
	}
}

/* The background lookup's setup (no request): join, lead or follow. */
static int
xkcd_refresh_setup(struct fanout *fo)
{
	struct xkcd_req		*x = fanout_udata(fo);

	x->refresh = 1;

	switch (share_join(&latest_share, "latest", fo, &x->share)) {
	case SHARE_FRESH:
		return (KORE_RESULT_ERROR);
	case SHARE_FOLLOWER:
		x->latest_wait = 1;
		break;
	default:
		xkcd_latest_call(fo, x);
		break;
	}

	return (KORE_RESULT_OK);
}

/*
 * The last number known, while at most secs past its ttl: 1 and *l (its
 * age marked stale), or 0.
 */
static int
xkcd_latest_stale(long long secs, struct xkcd_latest *l)
{
	if (latest_known <= 0 || kore_time_ms() >= latest_known_at +
	    (u_int64_t)(settings.xkcd_latest_ttl + secs) * 1000)
		return (0);

	memset(l, 0, sizeof(*l));
	l->num = latest_known;
	l->stale = 1;
	l->known_at = latest_known_at;

	return (1);
}

/* The latest comic's number is in (or shared): pick the gallery. */
static void
xkcd_next(struct http_request *req, struct fanout *fo)
{
	struct xkcd_req		*x = fanout_udata(fo);

	if (x->store_wait) {
		if (comicstore_pending(&x->ask)) {
			fanout_park(fo);
			return;
		}
		x->store_wait = 0;
		xkcd_call_missing(fo, x);
		return;
	}

	if (x->nslots > 0 || x->fail[0] != '\0')
		return;

	if (x->latest_wait)
		xkcd_latest_wait(fo, x);
	else if (x->latest_call >= 0)
		xkcd_latest_take(fo, x);

	/* The picks went to the store: wait for its answer. */
	if (x->store_wait)
		fanout_park(fo);
}

static void
xkcd_latest_call(struct fanout *fo, struct xkcd_req *x)
{
	char		url[SETTINGS_STR_MAX + 32];

	(void)snprintf(url, sizeof(url), "%s/info.0.json",
	    settings.xkcd_upstream);
	x->latest_call = (long)fanout_add(fo, HTTP_METHOD_GET, url);
}

/* A follower: the number another gallery fetched, or its place. */
static void
xkcd_latest_wait(struct fanout *fo, struct xkcd_req *x)
{
	switch (share_wait(&x->share)) {
	case SHARE_READY:
		x->latest_wait = 0;
		xkcd_latest_use(fo, x, share_result(&x->share));
		break;
	case SHARE_LEADER:
		x->latest_wait = 0;
		xkcd_latest_call(fo, x);
		break;
	case SHARE_TIMEOUT:
		x->latest_wait = 0;
		(void)snprintf(x->fail, sizeof(x->fail), "timed out waiting "
		    "for the latest comic's number");
		break;
	}
}

/*
 * The lookup's answer: a number that parses is kept and shared for
 * --xkcd-latest-ttl seconds; otherwise the last number known will do
 * for --stale-if-error seconds past that (RFC 5861), and without one the
 * gallery fails.  Either way the
 * waiting galleries get it (shared once).
 */
static void
xkcd_latest_take(struct fanout *fo, struct xkcd_req *x)
{
	const struct fanout_result	*r;
	struct xkcd_latest		*l;
	struct comic			c;
	u_int64_t			ttl;
	char				err[128];

	r = fanout_result(fo, (size_t)x->latest_call);
	l = kore_calloc(1, sizeof(*l));
	ttl = 0;
	l->known_at = kore_time_ms();
	if (r->error == FANOUT_ERR_NONE &&
	    comic_parse(r->body, r->body_len, &c, err, sizeof(err))) {
		latest_known = l->num = c.num;
		latest_known_at = kore_time_ms();
		ttl = (u_int64_t)settings.xkcd_latest_ttl * 1000;
		cache_put(&c);
		comic_cleanup(&c);
	} else if (!xkcd_latest_stale(settings.stale_if_error, l)) {
		xkcd_latest_fail(l, r, err);
	}

	xkcd_latest_use(fo, x, l);
	if (fanout_is_async(fo))
		share_publish(&x->share, l, ttl);
	else
		share_put(&latest_share, "latest", l, ttl);
}

static void
xkcd_latest_fail(struct xkcd_latest *l, const struct fanout_result *r,
    const char *err)
{
	if (r->error == FANOUT_ERR_NONE) {
		(void)snprintf(l->fail, sizeof(l->fail),
		    "the latest comic could not be read: %s", err);
	} else if (r->error == FANOUT_ERR_HTTP) {
		(void)snprintf(l->fail, sizeof(l->fail),
		    "the latest comic could not be fetched: "
		    "upstream answered %ld", r->status);
	} else {
		(void)snprintf(l->fail, sizeof(l->fail),
		    "the latest comic could not be fetched: %s: %s",
		    fanout_strerror(r->error), r->errmsg);
	}
}

static void
xkcd_latest_use(struct fanout *fo, struct xkcd_req *x,
    const struct xkcd_latest *l)
{
	if (x->refresh)
		return;
	if (l->num <= 0) {
		(void)snprintf(x->fail, sizeof(x->fail), "%s", l->fail);
		return;
	}

	x->latest_age = l->stale ?
	    (long long)((kore_time_ms() - l->known_at) / 1000) : -1;
	xkcd_pick(x, l->num);
	xkcd_request_comics(fo, x);
}

static void
xkcd_finish(struct http_request *req, struct fanout *fo)
{
	struct xkcd_req		*x = fanout_udata(fo);
	size_t			i;

	if (req == NULL)
		return;
	fanout_server_timing(req, fo);

	if (x->fail[0] != '\0') {
		reply_error(req, HTTP_STATUS_BAD_GATEWAY, x->fail);
		return;
	}

	for (i = 0; i < x->nslots; i++)
		xkcd_take_result(fo, &x->slots[i]);

	if (x->json)
		xkcd_json(req, fo, x);
	else
		xkcd_html(req, fo, x);
}

static void
xkcd_cleanup(void *arg)
{
	struct xkcd_req		*x = arg;
	size_t			i;

	share_leave(&x->share);
	comicstore_cleanup(&x->ask);
	for (i = 0; i < x->nslots; i++)
		comic_cleanup(&x->slots[i].comic);
}

static int
xkcd_params(struct http_request *req, struct xkcd_req *x, char *err,
    size_t errlen)
{
	struct qparams		qp;
	const char		*ids;
	long long		cache;

	if (!qparam_parse(&qp, req->query_string, err, errlen) ||
	    !qparam_only(&qp, xkcd_accepted, err, errlen) ||
	    !page_format(req, &qp, &x->json, err, errlen))
		return (KORE_RESULT_ERROR);

	if (!qparam_number(&qp, "cache", 1, 0, 1, &cache, err, errlen))
		return (KORE_RESULT_ERROR);
	x->nocache = cache == 0;

	if ((ids = qparam_get(&qp, "ids")) != NULL) {
		if (qparam_get(&qp, "count") != NULL) {
			(void)snprintf(err, errlen,
			    "give either 'ids' or 'count', not both");
			return (KORE_RESULT_ERROR);
		}
		return (xkcd_parse_ids(x, ids, err, errlen));
	}

	x->random = 1;
	return (qparam_number(&qp, "count", XKCD_COUNT_DEFAULT, 1,
	    XKCD_COUNT_MAX, &x->count, err, errlen));
}

static int
xkcd_parse_ids(struct xkcd_req *x, const char *ids, char *err,
    size_t errlen)
{
	char		copy[QPARAM_QS_MAX + 1], *p, *comma;
	long long	num;
	size_t		i;

	(void)snprintf(copy, sizeof(copy), "%s", ids);

	for (p = copy; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (!settings_parse_number(p, 1, XKCD_NUM_MAX, &num)) {
			(void)snprintf(err, errlen, "invalid parameter 'ids': "
			    "expected comic numbers from 1 to %d, separated "
			    "by commas", XKCD_NUM_MAX);
			return (KORE_RESULT_ERROR);
		}
		for (i = 0; i < x->nslots; i++) {
			if (x->slots[i].num == num)
				break;
		}
		if (i < x->nslots)
			continue;
		if (x->nslots == XKCD_COUNT_MAX) {
			(void)snprintf(err, errlen, "invalid parameter 'ids': "
			    "at most %d comics", XKCD_COUNT_MAX);
			return (KORE_RESULT_ERROR);
		}
		x->slots[x->nslots].num = num;
		x->slots[x->nslots].call = -1;
		x->nslots++;
	}

	return (KORE_RESULT_OK);
}

/* count distinct comics from 1 .. max (all of them if there are fewer). */
static void
xkcd_pick(struct xkcd_req *x, long long max)
{
	long long	num;
	size_t		i, want;

	want = (size_t)(x->count < max ? x->count : max);

	while (x->nslots < want) {
		num = 1 + (long long)arc4random_uniform((u_int32_t)max);
		for (i = 0; i < x->nslots; i++) {
			if (x->slots[i].num == num)
				break;
		}
		if (i < x->nslots)
			continue;
		x->slots[x->nslots].num = num;
		x->slots[x->nslots].call = -1;
		x->nslots++;
	}
}

/*
 * The comics the worker's cache has; the rest are asked of the store
 * (then next() waits for its answer) or fetched.
 */
static void
xkcd_request_comics(struct fanout *fo, struct xkcd_req *x)
{
	const struct comic	*c;
	struct xkcd_slot	*s;
	size_t			i;

	if (x->nocache || !fanout_is_async(fo)) {
		xkcd_call_missing(fo, x);
		return;
	}

	x->ask.n = 0;
	for (i = 0; i < x->nslots; i++) {
		s = &x->slots[i];
		if (metrics_cache(fo, METRICS_CACHE_COMIC,
		    (c = cache_get(s->num)) != NULL) &&
		    comic_copy(&s->comic, c)) {
			s->cached = 1;
			s->ok = 1;
			continue;
		}
		x->asked[x->ask.n] = i;
		x->ask.nums[x->ask.n++] = s->num;
	}

	if (settings.xkcd_cache > 0 && comicstore_ask(&x->ask, xkcd_stored, fo))
		x->store_wait = 1;
	else
		xkcd_call_missing(fo, x);
}

/* The store's answer (or its failure): take what it had, wake the page. */
static void
xkcd_stored(void *arg)
{
	struct fanout		*fo = arg;
	struct xkcd_req		*x = fanout_udata(fo);
	struct xkcd_slot	*s;
	size_t			i;

	for (i = 0; i < x->ask.n; i++) {
		if (!x->ask.found[i])
			continue;
		s = &x->slots[x->asked[i]];
		s->comic = x->ask.comics[i];
		x->ask.found[i] = 0;
		s->cached = 1;
		s->ok = 1;
		cache_put(&s->comic);
	}

	fanout_wake(fo);
}

/* One call per comic not had yet. */
static void
xkcd_call_missing(struct fanout *fo, struct xkcd_req *x)
{
	struct xkcd_slot	*s;
	size_t			i;
	char			url[SETTINGS_STR_MAX + 48];

	for (i = 0; i < x->nslots; i++) {
		s = &x->slots[i];
		if (s->ok || s->call >= 0)
			continue;
		(void)snprintf(url, sizeof(url), "%s/%lld/info.0.json",
		    settings.xkcd_upstream, s->num);
		s->call = (long)fanout_add(fo, HTTP_METHOD_GET, url);
	}
}

static void
xkcd_take_result(struct fanout *fo, struct xkcd_slot *s)
{
	const struct fanout_result	*r;
	char				err[128];

	if (s->call < 0)
		return;

	r = fanout_result(fo, (size_t)s->call);
	switch (r->error) {
	case FANOUT_ERR_NONE:
		if (!comic_parse(r->body, r->body_len, &s->comic, err,
		    sizeof(err))) {
			(void)snprintf(s->err, sizeof(s->err), "%s", err);
		} else if (s->comic.num != s->num) {
			(void)snprintf(s->err, sizeof(s->err),
			    "upstream sent comic %lld", s->comic.num);
			comic_cleanup(&s->comic);
		} else {
			s->ok = 1;
			/* The sync page is the baseline: no cache at all. */
			if (fanout_is_async(fo)) {
				cache_put(&s->comic);
				if (settings.xkcd_cache > 0)
					comicstore_put(&s->comic);
			}
		}
		break;
	case FANOUT_ERR_HTTP:
		if (r->status == 404) {
			(void)snprintf(s->err, sizeof(s->err),
			    "no such comic (404)");
		} else {
			(void)snprintf(s->err, sizeof(s->err),
			    "upstream answered %ld", r->status);
		}
		break;
	default:
		(void)snprintf(s->err, sizeof(s->err), "%s: %s",
		    fanout_strerror(r->error), r->errmsg);
		break;
	}
}

/* One card per slot, a comic or an error; 0 if rendering failed. */
static int
xkcd_cards(struct sbuf *cards, struct xkcd_req *x, size_t *nerr)
{
	struct xkcd_slot	*s;
	size_t			i;
	int			ok;
	char			num[24], link[SETTINGS_STR_MAX + 32];

	ok = 1;
	*nerr = 0;
	for (i = 0; i < x->nslots && ok; i++) {
		s = &x->slots[i];
		(void)snprintf(num, sizeof(num), "%lld", s->num);
		xkcd_link(link, sizeof(link), s->num);
		if (s->ok) {
			struct tmpl_var v[] = {
				{ "num", num, TMPL_TEXT },
				{ "link", link, TMPL_TEXT },
				{ "title", s->comic.title, TMPL_TEXT },
				{ "alt", s->comic.alt, TMPL_TEXT },
				{ "img", s->comic.img, TMPL_TEXT },
				{ "source", s->cached ? "cache" : "upstream",
				    TMPL_TEXT },
			};
			ok = tmpl_render(cards,
			    (const char *)asset_xkcd_card_html,
			    asset_len_xkcd_card_html, v, TMPL_NVARS(v));
		} else {
			struct tmpl_var v[] = {
				{ "num", num, TMPL_TEXT },
				{ "link", link, TMPL_TEXT },
				{ "reason", s->err, TMPL_TEXT },
			};
			(*nerr)++;
			ok = tmpl_render(cards,
			    (const char *)asset_xkcd_error_html,
			    asset_len_xkcd_error_html, v, TMPL_NVARS(v));
		}
	}

	return (ok);
}

static void
xkcd_html(struct http_request *req, struct fanout *fo, struct xkcd_req *x)
{
	struct sbuf		cards;
	struct page_vars	pv;
	struct tmpl_var		v[PAGE_VARS + 2];
	size_t			n, nerr;
	int			ok;
	char			fromcache[24], other[QPARAM_QS_MAX];

	sbuf_init(&cards);
	n = 0;

	if ((ok = xkcd_cards(&cards, x, &nerr))) {
		xkcd_other_query(fo, x, other, sizeof(other));
		n = page_vars(req, fo, "/xkcd/sync", "/xkcd", other,
		    fanout_elapsed_ms(fo), x->nslots, nerr, &pv, v);
		(void)snprintf(fromcache, sizeof(fromcache), "%zu",
		    xkcd_from_cache(x));
		v[n++] = (struct tmpl_var){ "from_cache", fromcache,
		    TMPL_TEXT };
		v[n++] = (struct tmpl_var){ "cards",
		    cards.data != NULL ? cards.data : "", TMPL_HTML };
	}

	page_render(req, ok, asset_xkcd_html, asset_len_xkcd_html, v, n,
	    "xkcd");
	sbuf_cleanup(&cards);
}

/*
 * The query of the link to the other variant: the same comics (a random
 * gallery's picks as ids), and the async variant cold (cache=0), so that
 * the two pages compare the same work; the sync page never uses the
 * cache.
 */
static void
xkcd_other_query(struct fanout *fo, const struct xkcd_req *x, char *buf,
    size_t len)
{
	size_t		i, off;

	off = (size_t)snprintf(buf, len, "ids=");
	for (i = 0; i < x->nslots && off < len; i++) {
		off += (size_t)snprintf(buf + off, len - off, "%s%lld",
		    i > 0 ? "," : "", x->slots[i].num);
	}
	if (!fanout_is_async(fo) && off < len)
		(void)snprintf(buf + off, len - off, "&cache=0");
}

/*
 * The envelope (envelope.c), the count and the comics, and a broken
 * comic as an entry of "errors" ({"error": ..., "num": n}).
 */
static void
xkcd_json(struct http_request *req, struct fanout *fo, struct xkcd_req *x)
{
	yajl_gen		g;
	struct envelope		env;
	struct xkcd_slot	*s;
	size_t			i, nerr;
	char			link[SETTINGS_STR_MAX + 32];

	for (i = nerr = 0; i < x->nslots; i++) {
		if (!x->slots[i].ok)
			nerr++;
	}

	g = jsongen_alloc();
	page_envelope(fo, xkcd_from_cache(x), nerr > 0, &env);
	envelope_open(g, &env);
	jsongen_int(g, "count", (long long)x->nslots);
	if (x->random) {
		/* The number picked from: stale when its lookup failed. */
		jsongen_bool(g, "latest_stale", x->latest_age >= 0);
		jsongen_int(g, "latest_age_s",
		    x->latest_age >= 0 ? x->latest_age : 0);
	}
	jsongen_key(g, "comics");
	yajl_gen_array_open(g);
	for (i = 0; i < x->nslots; i++) {
		s = &x->slots[i];
		if (!s->ok)
			continue;
		xkcd_link(link, sizeof(link), s->num);
		yajl_gen_map_open(g);
		jsongen_int(g, "num", s->num);
		jsongen_str(g, "title", s->comic.title);
		jsongen_str(g, "safe_title", s->comic.safe_title);
		jsongen_str(g, "alt", s->comic.alt);
		jsongen_str(g, "img", s->comic.img);
		jsongen_str(g, "link", link);
		jsongen_bool(g, "cached", s->cached);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);

	page_tail(g, fo);
	envelope_errors(g);
	for (i = 0; i < x->nslots; i++) {
		s = &x->slots[i];
		if (s->ok)
			continue;
		envelope_error(g, s->err);
		jsongen_int(g, "num", s->num);
		yajl_gen_map_close(g);
	}
	envelope_close(g);

	reply_jsongen(req, HTTP_STATUS_OK, g,
	    "the gallery could not be encoded");
	jsongen_free(g);
}

static size_t
xkcd_from_cache(const struct xkcd_req *x)
{
	size_t		i, n;

	for (i = n = 0; i < x->nslots; i++) {
		if (x->slots[i].cached)
			n++;
	}

	return (n);
}

static void
xkcd_link(char *buf, size_t len, long long num)
{
	(void)snprintf(buf, len, "%s/%lld/", settings.xkcd_upstream, num);
}

static const struct comic *
cache_get(long long num)
{
	struct cache_entry	*e;

	if (settings.xkcd_cache == 0)
		return (NULL);

	LIST_FOREACH(e, &buckets[num % XKCD_BUCKETS], bucket) {
		if (e->comic.num == num)
			return (&e->comic);
	}

	return (NULL);
}

static void
cache_put(const struct comic *c)
{
	struct cache_entry	*e;

	if (settings.xkcd_cache == 0 || cache_get(c->num) != NULL)
		return;

	if (cached >= (size_t)settings.xkcd_cache) {
		e = TAILQ_FIRST(&ages);
		TAILQ_REMOVE(&ages, e, age);
		LIST_REMOVE(e, bucket);
		comic_cleanup(&e->comic);
		kore_free(e);
		cached--;
	}

	e = kore_calloc(1, sizeof(*e));
	if (!comic_copy(&e->comic, c)) {
		kore_free(e);
		return;
	}
	LIST_INSERT_HEAD(&buckets[c->num % XKCD_BUCKETS], e, bucket);
	TAILQ_INSERT_TAIL(&ages, e, age);
	cached++;
}

/* The latest number in the store: its decimal digits. */
static int
xkcd_latest_encode(const void *arg, struct kore_buf *buf)
{
	const struct xkcd_latest	*l = arg;

	if (l->num <= 0)
		return (0);
	kore_buf_appendf(buf, "%lld", l->num);
	return (1);
}

static void *
xkcd_latest_decode(const void *data, size_t len, u_int64_t age_ms)
{
	struct xkcd_latest	*l;
	char			num[24];
	long long		n;

	if (len == 0 || len >= sizeof(num))
		return (NULL);
	memcpy(num, data, len);
	num[len] = '\0';
	if (!settings_parse_number(num, 1, XKCD_NUM_MAX, &n))
		return (NULL);

	l = kore_calloc(1, sizeof(*l));
	l->num = n;
	latest_known = n;
	return (l);
}

/* SIGHUP: forget the cached comics and the latest number. */
void
xkcd_reset(void)
{
	struct cache_entry	*e;

	while ((e = TAILQ_FIRST(&ages)) != NULL) {
		TAILQ_REMOVE(&ages, e, age);
		LIST_REMOVE(e, bucket);
		comic_cleanup(&e->comic);
		kore_free(e);
	}
	cached = 0;
	latest_known = 0;
	share_reset(&latest_share);
}
