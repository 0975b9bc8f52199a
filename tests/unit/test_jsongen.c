/*
 * jsongen_*(): exact output bytes of one member in an object, bare values
 * in an array, and what yajl refuses; the pages' envelope (envelope.c)
 * written with them.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "jsongen.h"
#include "unit.h"

#define T_STR		0
#define T_INT		1
#define T_DOUBLE	2
#define T_BOOL		3
#define T_NULL		4

/* One call inside {...} (key) or [...] (key NULL), and the document. */
struct gen_case {
	int		 line;
	int		 type;
	const char	*key;
	const char	*str;
	long long	 num;
	double		 dbl;
	int		 ret;
	const char	*want;
};

static const struct gen_case	gen_cases[] = {
	{ __LINE__, T_STR, "a", "b", 0, 0, 1, "{\"a\":\"b\"}" },
	{ __LINE__, T_STR, "", "", 0, 0, 1, "{\"\":\"\"}" },
	{ __LINE__, T_STR, NULL, "x", 0, 0, 1, "[\"x\"]" },
	/* Escapes: quotes, backslash, controls; '/' is not escaped. */
	{ __LINE__, T_STR, "q\"", "a\"b\\c\n\t\x01", 0, 0, 1,
	    "{\"q\\\"\":\"a\\\"b\\\\c\\n\\t\\u0001\"}" },
	{ __LINE__, T_STR, "url", "http://x/y", 0, 0, 1,
	    "{\"url\":\"http://x/y\"}" },
	{ __LINE__, T_STR, "t", "</script><b>&'", 0, 0, 1,
	    "{\"t\":\"</script><b>&'\"}" },
	/* UTF-8 passes as is; invalid UTF-8 is refused (the key stays). */
	{ __LINE__, T_STR, "u", "caf\xc3\xa9 \xe2\x98\x83", 0, 0, 1,
	    "{\"u\":\"caf\xc3\xa9 \xe2\x98\x83\"}" },
	{ __LINE__, T_STR, "u", "\xff", 0, 0, 0, "{\"u\"}" },
	{ __LINE__, T_STR, "u", "caf\xc3", 0, 0, 0, "{\"u\"}" },
	{ __LINE__, T_STR, "\xff", "v", 0, 0, 0, "{}" },
	{ __LINE__, T_STR, NULL, "\xc3", 0, 0, 0, "[]" },

	{ __LINE__, T_INT, "n", NULL, 0, 0, 1, "{\"n\":0}" },
	{ __LINE__, T_INT, "n", NULL, -614, 0, 1, "{\"n\":-614}" },
	{ __LINE__, T_INT, "n", NULL, 9223372036854775807LL, 0, 1,
	    "{\"n\":9223372036854775807}" },
	{ __LINE__, T_INT, "n", NULL, -9223372036854775807LL - 1, 0, 1,
	    "{\"n\":-9223372036854775808}" },
	{ __LINE__, T_INT, NULL, NULL, 7, 0, 1, "[7]" },

	/* Fixed decimals, rounded as printf does; num is the decimals. */
	{ __LINE__, T_DOUBLE, "d", NULL, 1, 12.34, 1, "{\"d\":12.3}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 1, 0, 1, "{\"d\":0.0}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 2, 1234.5, 1, "{\"d\":1234.50}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 4, 0.12345678, 1,
	    "{\"d\":0.1235}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 0, 2.5, 1, "{\"d\":2}" },
	{ __LINE__, T_DOUBLE, "d", NULL, -3, 7.7, 1, "{\"d\":8}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 1, -0.25, 1, "{\"d\":-0.2}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 99, 0.5, 1,
	    "{\"d\":0.50000000000000000}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 2, 999999999999999.0, 1,
	    "{\"d\":999999999999999.00}" },
	{ __LINE__, T_DOUBLE, NULL, NULL, 1, 1.25, 1, "[1.2]" },
	/* No NaN or infinity in JSON; too long for the buffer: refused. */
	{ __LINE__, T_DOUBLE, "d", NULL, 1, NAN, 1, "{\"d\":null}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 1, INFINITY, 1, "{\"d\":null}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 1, -INFINITY, 1, "{\"d\":null}" },
	{ __LINE__, T_DOUBLE, "d", NULL, 1, 1e300, 0, "{\"d\"}" },

	{ __LINE__, T_BOOL, "b", NULL, 1, 0, 1, "{\"b\":true}" },
	{ __LINE__, T_BOOL, "b", NULL, 0, 0, 1, "{\"b\":false}" },
	{ __LINE__, T_BOOL, "b", NULL, 42, 0, 1, "{\"b\":true}" },
	{ __LINE__, T_BOOL, NULL, NULL, 0, 0, 1, "[false]" },

	{ __LINE__, T_NULL, "z", NULL, 0, 0, 1, "{\"z\":null}" },
	{ __LINE__, T_NULL, NULL, NULL, 0, 0, 1, "[null]" },
};

static int	gen_one(yajl_gen, const struct gen_case *);
static void	test_gen_table(void);
static void	test_gen_document(void);
static void	test_gen_misuse(void);
static void	test_gen_envelope(void);

void
test_jsongen(void)
{
	test_gen_table();
	test_gen_document();
	test_gen_misuse();
	test_gen_envelope();
}

static int
gen_one(yajl_gen g, const struct gen_case *c)
{
	switch (c->type) {
	case T_STR:
		return (jsongen_str(g, c->key, c->str));
	case T_INT:
		return (jsongen_int(g, c->key, c->num));
	case T_DOUBLE:
		return (jsongen_double(g, c->key, c->dbl, (int)c->num));
	case T_BOOL:
		return (jsongen_bool(g, c->key, (int)c->num));
	default:
		return (jsongen_null(g, c->key));
	}
}

static void
test_gen_table(void)
{
	const struct gen_case	*c;
	const unsigned char	*out;
	yajl_gen		 g;
	size_t			 i, len;
	int			 r;

	for (i = 0; i < NELEM(gen_cases); i++) {
		c = &gen_cases[i];
		if ((g = jsongen_alloc()) == NULL) {
			CHECK(0, "jsongen_alloc");
			return;
		}
		if (c->key != NULL)
			yajl_gen_map_open(g);
		else
			yajl_gen_array_open(g);
		r = gen_one(g, c);
		if (c->key != NULL)
			yajl_gen_map_close(g);
		else
			yajl_gen_array_close(g);
		(void)unit_num(__FILE__, c->line, "jsongen return", c->ret, r);
		r = jsongen_finish(g, &out, &len);
		(void)unit_num(__FILE__, c->line, "jsongen_finish", 1, r);
		(void)unit_mem(__FILE__, c->line, "jsongen output", c->want,
		    strlen(c->want), (const char *)out, len);
		jsongen_free(g);
	}
}

/* A nested document, as the pages write them: no whitespace anywhere. */
static void
test_gen_document(void)
{
	const char		*want = "{\"mode\":\"async\",\"elapsed_ms\":"
				    "201.5,\"count\":2,\"comics\":[{\"num\":1,"
				    "\"cached\":false},{\"num\":2,"
				    "\"cached\":true}],\"errors\":[]}";
	const unsigned char	*out;
	yajl_gen		 g;
	size_t			 len;
	long long		 n;

	g = jsongen_alloc();
	yajl_gen_map_open(g);
	CHECK(jsongen_str(g, "mode", "async"), "mode");
	CHECK(jsongen_double(g, "elapsed_ms", 201.54, 1), "elapsed_ms");
	CHECK(jsongen_int(g, "count", 2), "count");
	CHECK(jsongen_key(g, "comics"), "comics");
	yajl_gen_array_open(g);
	for (n = 1; n <= 2; n++) {
		yajl_gen_map_open(g);
		CHECK(jsongen_int(g, "num", n), "num");
		CHECK(jsongen_bool(g, "cached", n == 2), "cached");
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	CHECK(jsongen_key(g, "errors"), "errors");
	yajl_gen_array_open(g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	CHECK(jsongen_finish(g, &out, &len), "jsongen_finish");
	(void)unit_mem(__FILE__, __LINE__, "document", want, strlen(want),
	    (const char *)out, len);
	jsongen_free(g);

	/* A NULL key writes nothing; freeing NULL is a no-op. */
	g = jsongen_alloc();
	CHECK(jsongen_key(g, NULL), "jsongen_key(NULL)");
	CHECK(jsongen_finish(g, &out, &len) && len == 0, "empty: %zu", len);
	jsongen_free(g);
	jsongen_free(NULL);
}

/* yajl's own rules: a key must be a string, one top-level value. */
static void
test_gen_misuse(void)
{
	const unsigned char	*out;
	yajl_gen		 g;
	size_t			 len;

	g = jsongen_alloc();
	yajl_gen_map_open(g);
	CHECK(jsongen_str(g, "a", "b"), "first member");
	CHECK(!jsongen_int(g, NULL, 1), "an integer where a key belongs");
	yajl_gen_map_close(g);
	CHECK(!jsongen_int(g, NULL, 2), "a second top-level value");
	CHECK(jsongen_finish(g, &out, &len), "jsongen_finish");
	(void)unit_mem(__FILE__, __LINE__, "after misuse", "{\"a\":\"b\"}", 9,
	    (const char *)out, len);
	jsongen_free(g);
}

/*
 * The envelope's members with their types (a count never a boolean, the
 * time a number even when NaN slips in), then a page's member, then the
 * errors: an error text that is not UTF-8 is replaced, not dropped.
 */
static void
test_gen_envelope(void)
{
	struct envelope		 env = { "async", 201.25, 3, 2, 1 };
	const char		*want = "{\"mode\":\"async\",\"elapsed_ms\":"
				    "201.2,\"upstream_calls\":3,\"from_cache\":"
				    "2,\"partial\":true,\"count\":5,\"errors\":"
				    "[{\"error\":\"no such comic (404)\","
				    "\"num\":404},{\"error\":\"unreadable "
				    "error text\",\"num\":7}]}";
	const char		*empty = "{\"mode\":\"sync\",\"elapsed_ms\":"
				    "null,\"upstream_calls\":0,\"from_cache\":"
				    "0,\"partial\":false,\"errors\":[]}";
	const unsigned char	*out;
	yajl_gen		 g;
	size_t			 len;

	g = jsongen_alloc();
	CHECK(envelope_open(g, &env), "envelope_open");
	CHECK(jsongen_int(g, "count", 5), "count");
	CHECK(envelope_errors(g), "envelope_errors");
	CHECK(envelope_error(g, "no such comic (404)"), "error 404");
	CHECK(jsongen_int(g, "num", 404), "num 404");
	yajl_gen_map_close(g);
	CHECK(envelope_error(g, "bad \xff text"), "error not UTF-8");
	CHECK(jsongen_int(g, "num", 7), "num 7");
	yajl_gen_map_close(g);
	CHECK(envelope_close(g), "envelope_close");
	CHECK(jsongen_finish(g, &out, &len), "jsongen_finish");
	(void)unit_mem(__FILE__, __LINE__, "envelope", want, strlen(want),
	    (const char *)out, len);
	jsongen_free(g);

	env = (struct envelope){ "sync", NAN, 0, 0, 0 };
	g = jsongen_alloc();
	CHECK(envelope_open(g, &env) && envelope_errors(g) &&
	    envelope_close(g), "empty envelope");
	CHECK(jsongen_finish(g, &out, &len), "jsongen_finish");
	(void)unit_mem(__FILE__, __LINE__, "empty envelope", empty,
	    strlen(empty), (const char *)out, len);
	jsongen_free(g);
}
