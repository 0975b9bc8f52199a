/*
 * json_load(), json_load_error() and json_depth_ok(): the checks before
 * any field of an untrusted JSON document is read.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comic.h"
#include "jsonload.h"
#include "unit.h"

/* A string literal and its length (it may hold NUL bytes). */
#define B(s)		s, sizeof(s) - 1

/* A body, the depth limit, what json_load() says and its wording. */
struct load_case {
	int		 line;
	const char	*body;
	size_t		 len;
	int		 max;
	int		 why;
	const char	*err;
};

static const struct load_case	load_cases[] = {
	{ __LINE__, B("{}"), 1, JSON_LOAD_OK, "no error" },
	{ __LINE__, B(" {\"a\":[1,{\"b\":null}]} "), 3, JSON_LOAD_OK,
	    "no error" },
	{ __LINE__, B("{\"a\":\"\\u00e9\xc3\xa9\"}"), 1, JSON_LOAD_OK,
	    "no error" },
	/* The length is respected: what follows is not read. */
	{ __LINE__, "{}garbage", 2, 1, JSON_LOAD_OK, "no error" },

	/* Empty: no bytes, or a NULL body. */
	{ __LINE__, "", 0, 1, JSON_LOAD_EMPTY, "empty document" },
	{ __LINE__, "{}", 0, 1, JSON_LOAD_EMPTY, "empty document" },
	{ __LINE__, NULL, 0, 1, JSON_LOAD_EMPTY, "empty document" },
	{ __LINE__, NULL, 5, 1, JSON_LOAD_EMPTY, "empty document" },

	/* Too deep, checked first: even malformed text says so. */
	{ __LINE__, B("{\"a\":{}}"), 1, JSON_LOAD_DEEP,
	    "document nested deeper than 1 or not plain JSON" },
	{ __LINE__, B("[[[[[[[[["), 8, JSON_LOAD_DEEP,
	    "document nested deeper than 8 or not plain JSON" },
	{ __LINE__, B("[[[[[[[[[\0"), 8, JSON_LOAD_DEEP,
	    "document nested deeper than 8 or not plain JSON" },
	{ __LINE__, B("{}"), 0, JSON_LOAD_DEEP,
	    "document nested deeper than 0 or not plain JSON" },
	/* Comments are not plain JSON. */
	{ __LINE__, B("/* c */{}"), 4, JSON_LOAD_DEEP,
	    "document nested deeper than 4 or not plain JSON" },
	{ __LINE__, B("{}// c"), 4, JSON_LOAD_DEEP,
	    "document nested deeper than 4 or not plain JSON" },

	/* NUL bytes, anywhere. */
	{ __LINE__, B("\0"), 1, JSON_LOAD_NUL, "document contains a NUL byte" },
	{ __LINE__, B("{}\0"), 1, JSON_LOAD_NUL,
	    "document contains a NUL byte" },
	{ __LINE__, B("{\"a\":\"x\0y\"}"), 1, JSON_LOAD_NUL,
	    "document contains a NUL byte" },

	/* Malformed. */
	{ __LINE__, B(" "), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("}"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{}{}"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{},"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{'a':1}"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{a:1}"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{\"a\":01}"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{\"a\":NaN}"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },
	{ __LINE__, B("{\"a\":\"\xff\"}"), 1, JSON_LOAD_SYNTAX,
	    "malformed JSON" },
	{ __LINE__, B("{\"a\":\"\\x\"}"), 1, JSON_LOAD_SYNTAX,
	    "malformed JSON" },
	{ __LINE__, B("nul"), 1, JSON_LOAD_SYNTAX, "malformed JSON" },

	/* Well-formed, but not an object at the top. */
	{ __LINE__, B("[]"), 1, JSON_LOAD_NOT_OBJECT,
	    "document is not an object" },
	{ __LINE__, B("[{}]"), 2, JSON_LOAD_NOT_OBJECT,
	    "document is not an object" },
	{ __LINE__, B("1"), 1, JSON_LOAD_NOT_OBJECT,
	    "document is not an object" },
	{ __LINE__, B("\"a\""), 1, JSON_LOAD_NOT_OBJECT,
	    "document is not an object" },
	{ __LINE__, B("null"), 1, JSON_LOAD_NOT_OBJECT,
	    "document is not an object" },
	{ __LINE__, B("false"), 1, JSON_LOAD_NOT_OBJECT,
	    "document is not an object" },
};

static void	test_load_table(void);
static void	test_load_error(void);
static void	test_depth_ok(void);

void
test_jsonload(void)
{
	test_load_table();
	test_load_error();
	test_depth_ok();
}

/* Each body from an exact-size heap copy, so ASan sees any overread. */
static void
test_load_table(void)
{
	const struct load_case	*c;
	yajl_val		 root;
	char			 what[160], err[128];
	char			*b;
	size_t			 i;
	int			 why;

	for (i = 0; i < NELEM(load_cases); i++) {
		c = &load_cases[i];
		b = NULL;
		if (c->body != NULL) {
			if ((b = malloc(c->len > 0 ? c->len : 1)) == NULL) {
				CHECK(0, "malloc");
				return;
			}
			memcpy(b, c->body, c->len);
		}
		root = (yajl_val)&what;
		why = json_load(b, c->len, c->max, &root);
		free(b);
		(void)snprintf(what, sizeof(what), "json_load(%s, %zu, %d)",
		    unit_quote(c->body, c->body != NULL ? c->len : 0), c->len,
		    c->max);
		(void)unit_num(__FILE__, c->line, what, c->why, why);
		unit_check(why == JSON_LOAD_OK ? root != NULL &&
		    YAJL_IS_OBJECT(root) : root == NULL, __FILE__, c->line,
		    "%s: root %p for %d", what, (void *)root, why);
		yajl_tree_free(root);
		json_load_error(why, c->max, err, sizeof(err));
		(void)unit_str(__FILE__, c->line, "json_load_error", c->err,
		    err);
	}
}

/* Every reason, an unknown one, and truncation to the caller's buffer. */
static void
test_load_error(void)
{
	char		err[16];

	json_load_error(JSON_LOAD_SYNTAX, 1, err, sizeof(err));
	(void)unit_str(__FILE__, __LINE__, "syntax", "malformed JSON", err);
	json_load_error(JSON_LOAD_NOMEM, 1, err, sizeof(err));
	(void)unit_str(__FILE__, __LINE__, "nomem", "out of memory", err);
	json_load_error(99, 1, err, sizeof(err));
	(void)unit_str(__FILE__, __LINE__, "unknown", "malformed JSON", err);
	json_load_error(-1, 1, err, sizeof(err));
	(void)unit_str(__FILE__, __LINE__, "negative", "malformed JSON", err);
	json_load_error(JSON_LOAD_DEEP, 16, err, sizeof(err));
	(void)unit_str(__FILE__, __LINE__, "truncated", "document nested",
	    err);
	json_load_error(JSON_LOAD_NUL, 1, err, 1);
	(void)unit_str(__FILE__, __LINE__, "one byte", "", err);
}

struct depth_case {
	int		 line;
	const char	*body;
	size_t		 len;
	int		 max;
	int		 ok;
};

static const struct depth_case	depth_cases[] = {
	{ __LINE__, B(""), 0, 1 },
	{ __LINE__, B("1"), 0, 1 },
	{ __LINE__, B("[]"), 0, 0 },
	{ __LINE__, B("{}"), 0, 0 },
	{ __LINE__, B("[]"), 1, 1 },
	{ __LINE__, B("{}"), 1, 1 },
	{ __LINE__, B("[[]]"), 1, 0 },
	{ __LINE__, B("[[]]"), 2, 1 },
	{ __LINE__, B("[{\"a\":[{}]}]"), 4, 1 },
	{ __LINE__, B("[{\"a\":[{}]}]"), 3, 0 },
	{ __LINE__, B("[][][][][]"), 1, 1 },
	{ __LINE__, B("[[],[],[[]]]"), 2, 0 },
	{ __LINE__, B("[[],[],[[]]]"), 3, 1 },
	/* Only opening brackets are counted against the limit. */
	{ __LINE__, B("]]]]"), 0, 1 },
	{ __LINE__, B("}}}}"), 0, 1 },
	{ __LINE__, B("[[["), 2, 0 },
	{ __LINE__, B("[[["), 3, 1 },
	/* Inside strings brackets do not count. */
	{ __LINE__, B("\"[[[{{{\""), 0, 1 },
	{ __LINE__, B("[\"]]]]]]\",[\"[\"]]"), 2, 1 },
	{ __LINE__, B("[\"]]]]]]\",[\"[\"]]"), 1, 0 },
	{ __LINE__, B("\"[\"[\"[\""), 1, 1 },
	{ __LINE__, B("\"[\"[\"[\""), 0, 0 },
	{ __LINE__, B("{\"[\":\"{\"}"), 1, 1 },
	/* Escaped quotes keep the string open, escaped backslashes not. */
	{ __LINE__, B("\"\\\"[[[\""), 0, 1 },
	{ __LINE__, B("\"\\\"[[[\"["), 0, 0 },
	{ __LINE__, B("\"\\\\\"["), 0, 0 },
	{ __LINE__, B("\"\\\\\\\"[\""), 0, 1 },
	{ __LINE__, B("\"\\u005b\\[\""), 0, 1 },
	/* Unterminated strings and a final backslash. */
	{ __LINE__, B("\"[[[[[[[["), 0, 1 },
	{ __LINE__, B("\"\\"), 0, 1 },
	{ __LINE__, B("[\"\\"), 1, 1 },
	/* NUL bytes are bytes like others; len is respected. */
	{ __LINE__, B("\0["), 0, 0 },
	{ __LINE__, B("\"\0[\""), 0, 1 },
	{ __LINE__, "[[[", 1, 1, 1 },
	{ __LINE__, "[[[", 2, 1, 0 },
	{ __LINE__, "[[[", 0, 0, 1 },
	/* The comic limit. */
	{ __LINE__, B("[[[[[[[[[[[[[[[["), COMIC_DEPTH_MAX, 1 },
	{ __LINE__, B("[[[[[[[[[[[[[[[[["), COMIC_DEPTH_MAX, 0 },
	{ __LINE__, B("{{{{{{{{{{{{{{{{"), COMIC_DEPTH_MAX, 1 },
	{ __LINE__, B("{{{{{{{{{{{{{{{{{"), COMIC_DEPTH_MAX, 0 },
};

static void
test_depth_ok(void)
{
	const struct depth_case	*c;
	char			 what[160];
	char			*b;
	size_t			 i;
	int			 r;

	for (i = 0; i < NELEM(depth_cases); i++) {
		c = &depth_cases[i];
		/* Exactly len bytes on the heap: no read past them. */
		if ((b = malloc(c->len > 0 ? c->len : 1)) == NULL) {
			CHECK(0, "malloc");
			return;
		}
		memcpy(b, c->body, c->len);
		r = json_depth_ok(b, c->len, c->max);
		free(b);
		(void)snprintf(what, sizeof(what), "json_depth_ok(%s, %zu, %d)",
		    unit_quote(c->body, c->len), c->len, c->max);
		(void)unit_num(__FILE__, c->line, what, c->ok, r);
	}
}
