/*
 * Parsing xkcd's info.0.json: {"num": 614, "title": "...", "safe_title":
 * "...", "alt": "...", "img": "https://...", ...}.
 *
 * Upstream bytes are untrusted: json_load() checks the document (its
 * depth before yajl sees it, as yajl recurses without a limit), every
 * field we use must be there with the right type, strings are bounded,
 * and the image URL must be http or https.  Anything else is the comic's
 * error, with a short reason.  libc and yajl only, so the unit tests can
 * call it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "comic.h"
#include "jsonload.h"
#include "url.h"

static int	comic_string(yajl_val, const char *, char **, char *, size_t);

int
comic_parse(const void *body, size_t len, struct comic *c, char *err,
    size_t errlen)
{
	yajl_val	root, v;
	const char	*path[2] = { NULL, NULL };
	int		ret, why;

	memset(c, 0, sizeof(*c));
	ret = 0;

	if ((why = json_load(body, len, COMIC_DEPTH_MAX, &root)) !=
	    JSON_LOAD_OK) {
		json_load_error(why, COMIC_DEPTH_MAX, err, errlen);
		return (0);
	}

	path[0] = "num";
	v = yajl_tree_get(root, path, yajl_t_any);
	if (v == NULL || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 1) {
		(void)snprintf(err, errlen, "missing or invalid field 'num'");
		goto cleanup;
	}
	c->num = YAJL_GET_INTEGER(v);

	if (!comic_string(root, "title", &c->title, err, errlen) ||
	    !comic_string(root, "safe_title", &c->safe_title, err, errlen) ||
	    !comic_string(root, "alt", &c->alt, err, errlen) ||
	    !comic_string(root, "img", &c->img, err, errlen))
		goto cleanup;

	if (!comic_url_ok(c->img)) {
		(void)snprintf(err, errlen, "image URL is not http or https");
		goto cleanup;
	}

	ret = 1;

cleanup:
	yajl_tree_free(root);
	if (!ret)
		comic_cleanup(c);
	return (ret);
}

void
comic_cleanup(struct comic *c)
{
	free(c->title);
	free(c->safe_title);
	free(c->alt);
	free(c->img);
	memset(c, 0, sizeof(*c));
}

int
comic_copy(struct comic *dst, const struct comic *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->num = src->num;
	if ((dst->title = strdup(src->title)) == NULL ||
	    (dst->safe_title = strdup(src->safe_title)) == NULL ||
	    (dst->alt = strdup(src->alt)) == NULL ||
	    (dst->img = strdup(src->img)) == NULL) {
		comic_cleanup(dst);
		return (0);
	}

	return (1);
}

/*
 * An absolute http(s) URL with a host and no bytes that could break out
 * of an attribute or a header (space, quotes, angle brackets, controls).
 */
int
comic_url_ok(const char *url)
{
	const char	*p;

	if (!url_is_http(url))
		return (0);

	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' ||
		    *p == '\'' || *p == '<' || *p == '>' || *p == '\\' ||
		    *p == '`')
			return (0);
	}

	return (1);
}

static int
comic_string(yajl_val root, const char *name, char **out, char *err,
    size_t errlen)
{
	yajl_val	v;
	const char	*path[2] = { name, NULL };
	const char	*s;

	v = yajl_tree_get(root, path, yajl_t_any);
	if (v == NULL || !YAJL_IS_STRING(v)) {
		(void)snprintf(err, errlen, "missing or invalid field '%s'",
		    name);
		return (0);
	}

	s = YAJL_GET_STRING(v);
	if (strlen(s) > COMIC_TEXT_MAX) {
		(void)snprintf(err, errlen, "field '%s' longer than %d bytes",
		    name, COMIC_TEXT_MAX);
		return (0);
	}

	if ((*out = strdup(s)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (0);
	}

	return (1);
}
