/*
 * Site-wide answers: the HTTPS redirect of the plain listener, 404 for
 * unknown paths (so they get the security headers too), and /_/whoami,
 * which shows how the app sees the client behind proxies (to loopback
 * and --status-from clients only, like /_/stats).
 */

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "reply.h"
#include "settings.h"

int	page_redirect(struct http_request *);
int	page_not_found(struct http_request *);
int	page_whoami(struct http_request *);

/* http://host[:port]/path?q -> https://host[:https-port]/path?q */
int
page_redirect(struct http_request *req)
{
	struct kore_buf		buf;
	const char		*host;
	size_t			hlen;

	if (!http_request_header(req, "host", &host) || *host == '\0' ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]") != strlen(host)) {
		reply_text(req, HTTP_STATUS_BAD_REQUEST,
		    "a valid Host header is needed to redirect to HTTPS");
		return (KORE_RESULT_OK);
	}

	/* Drop the port: [v6]:port or name:port. */
	if (host[0] == '[')
		hlen = strcspn(host, "]") + 1;
	else
		hlen = strcspn(host, ":");

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "https://%.*s", (int)hlen, host);
	if (settings.port != 443)
		kore_buf_appendf(&buf, ":%lld", settings.port);
	reply_append_path(&buf, req->path, req->query_string);

	http_response_header(req, "location", kore_buf_stringify(&buf, NULL));
	reply_text(req, req->method == HTTP_METHOD_GET ||
	    req->method == HTTP_METHOD_HEAD ? 301 : 308,
	    "this site is served over HTTPS");
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

int
page_not_found(struct http_request *req)
{
	reply_not_found(req);
	return (KORE_RESULT_OK);
}

int
page_whoami(struct http_request *req)
{
	struct kore_buf		buf;
	char			client[REPLY_ADDR_MAX];

	if (!reply_status_allowed(req)) {
		reply_not_found(req);
		return (KORE_RESULT_OK);
	}

	reply_client(req, client, sizeof(client));

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "{\"client\":\"%s\",\"scheme\":\"%s\"}", client,
	    reply_https(req) ? "https" : "http");
	reply_json(req, HTTP_STATUS_OK, (const char *)buf.data, buf.offset);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}
