/*
 * Every answer of the app goes through reply_send(), which adds the
 * security headers, writes the access log line and answers.
 *
 * Content-Security-Policy: the pages load scripts, styles and images from
 * their own origin only, plus comic images from the xkcd upstream's origin
 * (and --csp-img-src).  HSTS goes out on requests that came over TLS, or
 * through a trusted proxy (--trusted-proxies) that says X-Forwarded-Proto:
 * https; Kore adds its own HSTS header on a TLS listener.  The client's
 * address in the log is the X-Forwarded-For of a trusted proxy, the peer's
 * address otherwise.
 *
 * The status pages (/_/stats, /_/whoami, /metrics; the simulator's
 * /_/stats and /_/trace) answer only a loopback client, or one in
 * --status-from: behind a trusted proxy the client is its
 * X-Forwarded-For, so a request relayed from outside is refused even
 * though the proxy itself is on loopback.  Others get the same 404 as an
 * unknown path.  On the --admin-port listener (which serves nothing else)
 * they answer whoever reaches it.
 *
 * An error answers a line of text, JSON to a JSON client, and to a browser
 * (Accept: text/html) the page assets/error.html, rendered by tmpl.c.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "jsongen.h"
#include "metrics.h"
#include "qparam.h"
#include "reply.h"
#include "reqlog.h"
#include "settings.h"
#include "tmpl.h"
#include "trace.h"
#include "webassets.h"

#define PROXIES_MAX	SETTINGS_ADDRS_MAX

struct ipaddr {
	int		family;
	u_int8_t	addr[16];
};

static size_t	reply_addrs(const char *, struct ipaddr *, size_t, int *);
static int	reply_addr_parse(const char *, struct ipaddr *);
static int	reply_addr_listed(const struct ipaddr *, const struct ipaddr *,
		    size_t);
static int	reply_loopback(const struct ipaddr *);
static int	reply_forwarded(struct http_request *, char *, size_t);
static int	reply_trusted(struct http_request *);
static int	reply_admin(struct http_request *);
static int	reply_peer_addr(struct connection *, struct ipaddr *);
static int	reply_peer(struct http_request *, char *, size_t);
static int	reply_origin(const char *, char *, size_t);
static void	reply_log(struct http_request *, int, size_t);
static int	reply_wants_html(struct http_request *);
static void	reply_error_html(struct http_request *, int, const char *);

static int		logfd = -1;
static char		csp[SETTINGS_STR_MAX * 3];
static char		kore_headers[SETTINGS_STR_MAX * 3 + 128];
static struct ipaddr	proxies[PROXIES_MAX];
static size_t		nproxies = 0;
static struct ipaddr	status_from[SETTINGS_ADDRS_MAX];
static size_t		nstatus_from = 0;
static int		status_any = 0;

/*
 * Once per worker: the CSP, the trusted proxies and --status-from
 * (validated at start-up by the parent, which also opened the access
 * log).
 */
void
reply_configure(int fd)
{
	char		origin[256];
	int		any;

	logfd = fd;

	if (!reply_origin(settings.xkcd_upstream, origin, sizeof(origin)))
		origin[0] = '\0';
	(void)snprintf(csp, sizeof(csp), "default-src 'self'; img-src 'self'"
	    "%s%s%s%s; script-src 'self'; style-src 'self'; object-src 'none'; "
	    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	    origin[0] != '\0' ? " " : "", origin,
	    settings.csp_img_src[0] != '\0' ? " " : "", settings.csp_img_src);

	/*
	 * The answers Kore makes itself (a malformed request, headers too
	 * large, a timeout) carry the same headers (patches/0005).
	 */
	(void)snprintf(kore_headers, sizeof(kore_headers),
	    "x-content-type-options: nosniff\r\n"
	    "referrer-policy: no-referrer\r\n"
	    "content-security-policy: %s\r\n", csp);
	http_error_headers = kore_headers;

	nproxies = reply_addrs(settings.trusted_proxies, proxies, PROXIES_MAX,
	    &any);
	nstatus_from = reply_addrs(settings.status_from, status_from,
	    SETTINGS_ADDRS_MAX, &status_any);
}

void
reply_send(struct http_request *req, int status, const void *body,
    size_t len)
{
	if (req->owner == NULL)
		return;

	http_response_header(req, "x-content-type-options", "nosniff");
	http_response_header(req, "referrer-policy", "no-referrer");
	http_response_header(req, "content-security-policy", csp);
	if (req->owner->ssl == NULL && reply_https(req)) {
		http_response_header(req, "strict-transport-security",
		    "max-age=31536000");
	}

	trace_reply(req);
	reply_log(req, status, len);
	http_response(req, status, body, len);
}

void
reply_text(struct http_request *req, int status, const char *msg)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "%s\n", msg);

	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	reply_send(req, status, buf.data, buf.offset);

	kore_buf_cleanup(&buf);
}

void
reply_json(struct http_request *req, int status, const char *body,
    size_t len)
{
	http_response_header(req, "content-type", "application/json");
	reply_send(req, status, body, len);
}

/* A document from jsongen, or a 500 with what could not be encoded. */
void
reply_jsongen(struct http_request *req, int status, yajl_gen g,
    const char *what)
{
	const unsigned char	*out;
	size_t			len;

	if (jsongen_finish(g, &out, &len)) {
		reply_json(req, status, (const char *)out, len);
	} else {
		reply_text(req, HTTP_STATUS_INTERNAL_ERROR, what);
	}
}

void
reply_html(struct http_request *req, int status, const void *body, size_t len)
{
	http_response_header(req, "content-type", "text/html; charset=utf-8");
	reply_send(req, status, body, len);
}

/* A page rendered from templates, or a 500 if rendering failed. */
void
reply_rendered(struct http_request *req, int ok, const char *page,
    size_t len, const char *what)
{
	if (ok) {
		reply_html(req, HTTP_STATUS_OK, page, len);
		return;
	}

	kore_log(LOG_ERR, "%s: template rendering failed", what);
	reply_text(req, HTTP_STATUS_INTERNAL_ERROR,
	    "the page could not be rendered");
}

/* "path?query" (or "path" without a query) onto buf. */
void
reply_append_path(struct kore_buf *buf, const char *path, const char *query)
{
	kore_buf_appendf(buf, "%s%s%s", path, query != NULL ? "?" : "",
	    query != NULL ? query : "");
}

/* The client's address: a trusted proxy's X-Forwarded-For, or the peer. */
void
reply_client(struct http_request *req, char *buf, size_t len)
{
	struct ipaddr	a;
	char		hop[REPLY_ADDR_MAX];

	if (reply_forwarded(req, hop, sizeof(hop)) &&
	    reply_addr_parse(hop, &a)) {
		(void)snprintf(buf, len, "%s", hop);
		return;
	}

	if (!reply_peer(req, buf, len))
		(void)snprintf(buf, len, "-");
}

/*
 * May this client see a status page?  Loopback or --status-from (or any).
 * Behind a trusted proxy the client is its X-Forwarded-For, which must
 * parse; a trusted proxy's own request (no X-Forwarded-For) is the peer's.
 */
int
reply_status_allowed(struct http_request *req)
{
	struct ipaddr		a;
	char			hop[REPLY_ADDR_MAX];

	if (status_any || reply_admin(req))
		return (1);

	if (reply_forwarded(req, hop, sizeof(hop))) {
		if (!reply_addr_parse(hop, &a))
			return (0);
	} else if (!reply_peer_addr(req->owner, &a)) {
		return (0);
	}

	return (reply_loopback(&a) ||
	    reply_addr_listed(&a, status_from, nstatus_from));
}

/* The answer to an unknown path, and to a refused status page. */
void
reply_not_found(struct http_request *req)
{
	reply_error(req, HTTP_STATUS_NOT_FOUND, "not found");
}

/*
 * Whether the client takes JSON: format=json in the query (any other
 * format says no), else an /api/ path or Accept: application/json.
 */
int
reply_wants_json(struct http_request *req)
{
	struct qparams	qp;
	char		err[QPARAM_ERR_MAX];

	if (!qparam_parse(&qp, req->query_string, err, sizeof(err)))
		return (reply_wants_json_format(req, NULL));

	return (reply_wants_json_format(req, qparam_get(&qp, "format")));
}

/* The same, for a page that has its format parameter (NULL: none) at hand. */
int
reply_wants_json_format(struct http_request *req, const char *fmt)
{
	const char	*accept;

	if (fmt != NULL)
		return (strcmp(fmt, "json") == 0);

	if (strncmp(req->path, "/api/", 5) == 0)
		return (1);

	return (http_request_header(req, "accept", &accept) &&
	    strstr(accept, "application/json") != NULL);
}

/*
 * An error answer: a line of text, a page for a browser (not a JSON
 * client, Accept: text/html), or for a JSON client {"error": msg},
 * with "param" when msg names a parameter ("... parameter 'x' ...").
 */
void
reply_error(struct http_request *req, int status, const char *msg)
{
	yajl_gen	g;
	const char	*p, *end;
	char		param[QPARAM_ERR_MAX];

	if (!reply_wants_json(req)) {
		if (reply_wants_html(req))
			reply_error_html(req, status, msg);
		else
			reply_text(req, status, msg);
		return;
	}

	g = jsongen_alloc();
	yajl_gen_map_open(g);
	jsongen_str(g, "error", msg);
	if ((p = strstr(msg, "parameter '")) != NULL &&
	    (end = strchr(p + 11, '\'')) != NULL &&
	    (size_t)(end - p - 11) < sizeof(param)) {
		memcpy(param, p + 11, (size_t)(end - p - 11));
		param[end - p - 11] = '\0';
		jsongen_str(g, "param", param);
	}
	yajl_gen_map_close(g);
	reply_jsongen(req, status, g, msg);
	jsongen_free(g);
}

/* Whether the client reached us over TLS (directly or via the proxy). */
int
reply_https(struct http_request *req)
{
	const char	*proto;

	if (req->owner->ssl != NULL)
		return (1);

	return (reply_trusted(req) &&
	    http_request_header(req, "x-forwarded-proto", &proto) &&
	    strcmp(proto, "https") == 0);
}

/*
 * Addresses from a comma-separated list (validated at start-up); "any"
 * sets *any instead.  Returns how many were kept (at most max).
 */
static size_t
reply_addrs(const char *list, struct ipaddr *out, size_t max, int *any)
{
	char		copy[SETTINGS_STR_MAX], *p, *comma;
	size_t		n;

	*any = 0;
	n = 0;
	(void)snprintf(copy, sizeof(copy), "%s", list);
	for (p = copy; p != NULL && *p != '\0' && n < max; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (strcmp(p, "any") == 0)
			*any = 1;
		else if (reply_addr_parse(p, &out[n]))
			n++;
	}

	return (n);
}

static int
reply_addr_parse(const char *str, struct ipaddr *a)
{
	if (inet_pton(AF_INET, str, a->addr) == 1) {
		a->family = AF_INET;
		return (1);
	}
	if (inet_pton(AF_INET6, str, a->addr) == 1) {
		a->family = AF_INET6;
		return (1);
	}

	return (0);
}

static int
reply_addr_listed(const struct ipaddr *a, const struct ipaddr *list,
    size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		if (list[i].family == a->family && memcmp(list[i].addr,
		    a->addr, a->family == AF_INET ? 4 : 16) == 0)
			return (1);
	}

	return (0);
}

/* 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6. */
static int
reply_loopback(const struct ipaddr *a)
{
	static const u_int8_t	v6lo[16] = { [15] = 1 };
	static const u_int8_t	v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a->family == AF_INET)
		return (a->addr[0] == 127);

	return (memcmp(a->addr, v6lo, 16) == 0 ||
	    (memcmp(a->addr, v4mapped, 12) == 0 && a->addr[12] == 127));
}

/*
 * A trusted proxy's X-Forwarded-For: its last hop (the address the proxy
 * saw; earlier ones are the client's say) into hop.  0 without one.
 */
static int
reply_forwarded(struct http_request *req, char *hop, size_t len)
{
	const char	*xff, *last;

	if (!reply_trusted(req) ||
	    !http_request_header(req, "x-forwarded-for", &xff))
		return (0);

	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	while (*last == ' ')
		last++;
	(void)snprintf(hop, len, "%s", last);

	return (1);
}

static int
reply_trusted(struct http_request *req)
{
	struct ipaddr		peer;

	return (reply_peer_addr(req->owner, &peer) &&
	    reply_addr_listed(&peer, proxies, nproxies));
}

/* Whether the request came in on the --admin-port listener. */
static int
reply_admin(struct http_request *req)
{
	struct listener		*l = req->owner->owner;

	return (l != NULL && l->server != NULL &&
	    strcmp(l->server->name, REPLY_ADMIN_SERVER) == 0);
}

static int
reply_peer_addr(struct connection *c, struct ipaddr *a)
{
	if (c->family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->addr, &c->addr.ipv4.sin_addr, 4);
		return (1);
	}
	if (c->family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->addr, &c->addr.ipv6.sin6_addr, 16);
		return (1);
	}

	return (0);
}

static int
reply_peer(struct http_request *req, char *buf, size_t len)
{
	struct connection	*c = req->owner;

	if (c->family == AF_INET)
		return (inet_ntop(AF_INET, &c->addr.ipv4.sin_addr, buf,
		    (socklen_t)len) != NULL);
	if (c->family == AF_INET6)
		return (inet_ntop(AF_INET6, &c->addr.ipv6.sin6_addr, buf,
		    (socklen_t)len) != NULL);

	return (0);
}

/* "https://host:port/path" -> "https://host:port". */
static int
reply_origin(const char *url, char *buf, size_t len)
{
	const char	*host, *slash;

	if ((host = strstr(url, "://")) == NULL)
		return (0);
	host += 3;
	slash = strchr(host, '/');

	(void)snprintf(buf, len, "%.*s", (int)(slash != NULL ?
	    (size_t)(slash - url) : strlen(url)), url);

	return (1);
}

/*
 * client [time] "METHOD /path?query" status bytes scheme trace-id
 * Bytes that could forge a line (controls, quotes) are replaced.  The
 * metrics count the answer here too; --log-format json: reqlog.c.
 */
static void
reply_log(struct http_request *req, int status, size_t len)
{
	struct kore_buf		buf;
	struct metrics_note	note, *np;
	struct trace_ctx	tc;
	char			client[REPLY_ADDR_MAX], when[32], *p;
	time_t			now;
	struct tm		tm;
	size_t			i, start;

	np = metrics_note_take(req, &note) ? &note : NULL;
	metrics_request(req, status, np);
	if (logfd == -1)
		return;

	reply_client(req, client, sizeof(client));
	if (settings.log_format == SETTINGS_LOG_JSON) {
		reqlog_json(logfd, req, client, status, len, np);
		return;
	}
	now = time(NULL);
	(void)gmtime_r(&now, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

	kore_buf_init(&buf, 256);
	kore_buf_appendf(&buf, "%s [%s] \"%s ", client, when,
	    http_method_text(req->method));
	start = buf.offset;
	reply_append_path(&buf, req->path, req->query_string);
	for (i = start, p = (char *)buf.data; i < buf.offset; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == '"' ||
		    (unsigned char)p[i] >= 0x7f)
			p[i] = '?';
	}
	trace_get(req, &tc);
	kore_buf_appendf(&buf, "\" %d %zu %s %s\n", status, len,
	    reply_https(req) ? "https" : "http", tc.trace_id);

	(void)write(logfd, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

/* A browser: Accept names text/html (curl's default does not). */
static int
reply_wants_html(struct http_request *req)
{
	const char	*accept;

	return (http_request_header(req, "accept", &accept) &&
	    strstr(accept, "text/html") != NULL);
}

/*
 * The error page: the status, its reason and msg, escaped by the one
 * renderer; the line of text if it cannot be rendered.
 */
static void
reply_error_html(struct http_request *req, int status, const char *msg)
{
	struct sbuf	page;
	struct tmpl_var	v[3];
	char		code[16];

	(void)snprintf(code, sizeof(code), "%d", status);
	v[0] = (struct tmpl_var){ "status", code, TMPL_TEXT };
	v[1] = (struct tmpl_var){ "reason", http_status_text(status),
	    TMPL_TEXT };
	v[2] = (struct tmpl_var){ "message", msg, TMPL_TEXT };

	sbuf_init(&page);
	if (tmpl_render(&page, (const char *)asset_error_html,
	    asset_len_error_html, v, TMPL_NVARS(v))) {
		reply_html(req, status, page.data, page.len);
	} else {
		kore_log(LOG_ERR, "error page: template rendering failed");
		reply_text(req, status, msg);
	}
	sbuf_cleanup(&page);
}
