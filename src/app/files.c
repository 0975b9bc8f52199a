/*
 * Static files compiled into the binary from assets/ by kodev: the pages'
 * scripts and style, and Debian's jQuery and DataTables (assets/vendor/,
 * copied from /usr/share/javascript by the Makefile).  Served here rather
 * than by kodev's asset_serve_* functions, which answer anything but GET
 * (HEAD included) with a 400.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "reply.h"
#include "webassets.h"

struct file {
	const char		*path;
	const char		*type;
	const u_int8_t		*data;
	const u_int32_t		*len;
	const char		**etag;
};

int	page_file(struct http_request *);

static const struct file	files[] = {
	{ "/", "text/html; charset=utf-8", asset_index_html,
	    &asset_len_index_html, &asset_sha256_index_html },
	{ "/app.js", "application/javascript; charset=utf-8", asset_app_js,
	    &asset_len_app_js, &asset_sha256_app_js },
	{ "/style.css", "text/css; charset=utf-8", asset_style_css,
	    &asset_len_style_css, &asset_sha256_style_css },
	{ "/xkcd.js", "application/javascript; charset=utf-8", asset_xkcd_js,
	    &asset_len_xkcd_js, &asset_sha256_xkcd_js },
	{ "/stats.js", "application/javascript; charset=utf-8", asset_stats_js,
	    &asset_len_stats_js, &asset_sha256_stats_js },
	{ "/favicon.svg", "image/svg+xml", asset_favicon_svg,
	    &asset_len_favicon_svg, &asset_sha256_favicon_svg },
	{ "/vendor/jquery.min.js", "application/javascript; charset=utf-8",
	    asset_jquery_min_js, &asset_len_jquery_min_js,
	    &asset_sha256_jquery_min_js },
	{ "/vendor/jquery.dataTables.min.js",
	    "application/javascript; charset=utf-8",
	    asset_jquery_dataTables_min_js, &asset_len_jquery_dataTables_min_js,
	    &asset_sha256_jquery_dataTables_min_js },
	{ "/vendor/css/jquery.dataTables.min.css", "text/css; charset=utf-8",
	    asset_jquery_dataTables_min_css,
	    &asset_len_jquery_dataTables_min_css,
	    &asset_sha256_jquery_dataTables_min_css },
	{ "/vendor/images/sort_asc.png", "image/png", asset_sort_asc_png,
	    &asset_len_sort_asc_png, &asset_sha256_sort_asc_png },
	{ "/vendor/images/sort_desc.png", "image/png", asset_sort_desc_png,
	    &asset_len_sort_desc_png, &asset_sha256_sort_desc_png },
	{ "/vendor/images/sort_both.png", "image/png", asset_sort_both_png,
	    &asset_len_sort_both_png, &asset_sha256_sort_both_png },
	{ "/vendor/images/sort_asc_disabled.png", "image/png",
	    asset_sort_asc_disabled_png, &asset_len_sort_asc_disabled_png,
	    &asset_sha256_sort_asc_disabled_png },
	{ "/vendor/images/sort_desc_disabled.png", "image/png",
	    asset_sort_desc_disabled_png, &asset_len_sort_desc_disabled_png,
	    &asset_sha256_sort_desc_disabled_png },
};

#define files_len	(sizeof(files) / sizeof(files[0]))

int
page_file(struct http_request *req)
{
	const struct file	*f;
	const char		*match;
	size_t			i;

	for (i = 0; i < files_len; i++) {
		if (strcmp(files[i].path, req->path) == 0)
			break;
	}
	if (i == files_len) {
		reply_not_found(req);
		return (KORE_RESULT_OK);
	}
	f = &files[i];

	if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD) {
		http_response_header(req, "allow", "GET, HEAD");
		reply_error(req, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "only GET and HEAD are allowed here");
		return (KORE_RESULT_OK);
	}

	http_response_header(req, "etag", *f->etag);
	http_response_header(req, "cache-control", "no-cache");

	if (http_request_header(req, "if-none-match", &match) &&
	    strcmp(match, *f->etag) == 0) {
		reply_send(req, HTTP_STATUS_NOT_MODIFIED, NULL, 0);
		return (KORE_RESULT_OK);
	}

	http_response_header(req, "content-type", f->type);
	reply_send(req, HTTP_STATUS_OK, f->data, *f->len);

	return (KORE_RESULT_OK);
}
