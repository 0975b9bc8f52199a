/*
 * Small answers shared by every page: a one-line text message (errors),
 * a JSON body.
 */

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "reply.h"

void
reply_text(struct http_request *req, int status, const char *msg)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "%s\n", msg);

	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	http_response(req, status, buf.data, buf.offset);

	kore_buf_cleanup(&buf);
}

void
reply_json(struct http_request *req, int status, const char *body,
    size_t len)
{
	http_response_header(req, "content-type", "application/json");
	http_response(req, status, body, len);
}
