/*
 * Every answer of the app goes through here: security headers, the
 * access log, the client's address and scheme behind trusted proxies.
 */

#ifndef __H_REPLY_H
#define __H_REPLY_H

#include <kore/kore.h>
#include <kore/http.h>

#include <yajl/yajl_gen.h>

#define REPLY_ADDR_MAX		64
#define REPLY_ADMIN_SERVER	"admin"	/* the --admin-port listener */

void	reply_configure(int);
void	reply_send(struct http_request *, int, const void *, size_t);
void	reply_text(struct http_request *, int, const char *);
void	reply_error(struct http_request *, int, const char *);
int	reply_wants_json(struct http_request *);
int	reply_wants_json_format(struct http_request *, const char *);
void	reply_json(struct http_request *, int, const char *, size_t);
void	reply_jsongen(struct http_request *, int, yajl_gen, const char *);
void	reply_html(struct http_request *, int, const void *, size_t);
void	reply_rendered(struct http_request *, int, const char *, size_t,
	    const char *);
void	reply_append_path(struct kore_buf *, const char *, const char *);
void	reply_client(struct http_request *, char *, size_t);
int	reply_https(struct http_request *);
int	reply_status_allowed(struct http_request *);
void	reply_not_found(struct http_request *);

#endif
