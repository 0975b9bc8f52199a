/*
 * Loading an untrusted JSON document: not empty, nested at most max deep
 * (checked before yajl sees it: yajl recurses without a limit), no NUL
 * byte, well-formed, and an object at the top level.  json_load() says
 * which check failed; json_load_error() words it for the caller's error
 * message.  libc and yajl only, so the unit tests can call it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "jsonload.h"

static int	json_load_text(const void *, size_t, yajl_val *);

/*
 * Parse len bytes of body into *root (NULL unless JSON_LOAD_OK; the
 * caller frees it with yajl_tree_free()).
 */
int
json_load(const void *body, size_t len, int max, yajl_val *root)
{
	int		why;

	*root = NULL;

	if (body == NULL || len == 0)
		return (JSON_LOAD_EMPTY);
	if (!json_depth_ok(body, len, max))
		return (JSON_LOAD_DEEP);
	if (memchr(body, '\0', len) != NULL)
		return (JSON_LOAD_NUL);

	if ((why = json_load_text(body, len, root)) != JSON_LOAD_OK)
		return (why);

	if (!YAJL_IS_OBJECT(*root)) {
		yajl_tree_free(*root);
		*root = NULL;
		return (JSON_LOAD_NOT_OBJECT);
	}

	return (JSON_LOAD_OK);
}

/* A short reason for what json_load() returned; max as passed to it. */
void
json_load_error(int why, int max, char *err, size_t errlen)
{
	switch (why) {
	case JSON_LOAD_OK:
		(void)snprintf(err, errlen, "no error");
		break;
	case JSON_LOAD_EMPTY:
		(void)snprintf(err, errlen, "empty document");
		break;
	case JSON_LOAD_DEEP:
		(void)snprintf(err, errlen, "document nested deeper than %d "
		    "or not plain JSON", max);
		break;
	case JSON_LOAD_NUL:
		(void)snprintf(err, errlen, "document contains a NUL byte");
		break;
	case JSON_LOAD_NOMEM:
		(void)snprintf(err, errlen, "out of memory");
		break;
	case JSON_LOAD_NOT_OBJECT:
		(void)snprintf(err, errlen, "document is not an object");
		break;
	default:
		(void)snprintf(err, errlen, "malformed JSON");
		break;
	}
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

/* yajl_tree_parse() wants a C string: parse a terminated copy. */
static int
json_load_text(const void *body, size_t len, yajl_val *root)
{
	char		*text, ebuf[128];

	if ((text = malloc(len + 1)) == NULL)
		return (JSON_LOAD_NOMEM);
	memcpy(text, body, len);
	text[len] = '\0';

	*root = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	free(text);

	return (*root != NULL ? JSON_LOAD_OK : JSON_LOAD_SYNTAX);
}
