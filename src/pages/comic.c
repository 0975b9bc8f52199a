/*
 * Parsing xkcd's info.0.json: {"num": 614, "title": "...", "safe_title":
 * "...", "alt": "...", "img": "https://...", ...}.
 *
 * Upstream bytes are untrusted: the document is depth-checked before yajl
 * sees it (yajl recurses without a limit), every field we use must be
 * there with the right type, strings are bounded, and the image URL must
 * be http or https.  Anything else is the comic's error, with a short
 * reason.  libc and yajl only, so the unit tests can call it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "comic.h"
#include "url.h"

static int	comic_string(yajl_val, const char *, char **, char *, size_t);

int
comic_parse(const void *body, size_t len, struct comic *c, char *err,
    size_t errlen)
{
	yajl_val	root, v;
	const char	*path[2] = { NULL, NULL };
	char		*text, ebuf[128];
	int		ret;

	memset(c, 0, sizeof(*c));
	ret = 0;
	root = NULL;
	text = NULL;

	if (len == 0 || body == NULL) {
		(void)snprintf(err, errlen, "empty document");
		return (0);
	}
	if (!json_depth_ok(body, len, COMIC_DEPTH_MAX)) {
		(void)snprintf(err, errlen, "document nested deeper than %d "
		    "or not plain JSON", COMIC_DEPTH_MAX);
		return (0);
	}
	if (memchr(body, '\0', len) != NULL) {
		(void)snprintf(err, errlen, "document contains a NUL byte");
		return (0);
	}

	/* yajl_tree_parse() wants a C string. */
	if ((text = malloc(len + 1)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (0);
	}
	memcpy(text, body, len);
	text[len] = '\0';

	if ((root = yajl_tree_parse(text, ebuf, sizeof(ebuf))) == NULL) {
		(void)snprintf(err, errlen, "malformed JSON");
		goto cleanup;
	}
	if (!YAJL_IS_OBJECT(root)) {
		(void)snprintf(err, errlen, "document is not an object");
		goto cleanup;
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
	if (root != NULL)
		yajl_tree_free(root);
	free(text);
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

/*
 * Whether JSON text nests objects and arrays at most max deep.  Brackets
 * inside strings do not count.  Text with a '/' outside strings fails:
 * JSON has none there, but yajl accepts comments, and a quote inside a
 * comment would hide brackets from this count.
 */
int
json_depth_ok(const void *body, size_t len, int max)
{
	const unsigned char	*p = body;
	size_t			i;
	int			depth, instr;

	depth = 0;
	instr = 0;
	for (i = 0; i < len; i++) {
		if (instr) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				instr = 0;
			continue;
		}
		switch (p[i]) {
		case '"':
			instr = 1;
			break;
		case '{':
		case '[':
			if (++depth > max)
				return (0);
			break;
		case '}':
		case ']':
			depth--;
			break;
		case '/':
			return (0);
		}
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
