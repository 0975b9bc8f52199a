/*
 * Generating JSON with yajl_gen, the same way everywhere: UTF-8 checked,
 * no whitespace, '/' written as itself, not "\/" (no page puts JSON in
 * a <script> element, the one place where "</" would need escaping).
 * Each jsongen_<type>() writes a member, its key then its value; a NULL
 * key writes the bare value (an array element, or the value after
 * jsongen_key()).  They return 1, or 0 when yajl refused
 * (invalid UTF-8, a value where a key belongs): nothing of the value is
 * written then.  libc and yajl only, so the unit tests can call it.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "jsongen.h"

#define JSONGEN_DECIMALS_MAX	17

static int	jsongen_ok(yajl_gen_status);

yajl_gen
jsongen_alloc(void)
{
	yajl_gen	g;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return (NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	yajl_gen_config(g, yajl_gen_escape_solidus, 0);

	return (g);
}

void
jsongen_free(yajl_gen g)
{
	if (g != NULL)
		yajl_gen_free(g);
}

int
jsongen_key(yajl_gen g, const char *key)
{
	if (key == NULL)
		return (1);

	return (jsongen_ok(yajl_gen_string(g, (const unsigned char *)key,
	    strlen(key))));
}

int
jsongen_str(yajl_gen g, const char *key, const char *value)
{
	if (!jsongen_key(g, key))
		return (0);

	return (jsongen_ok(yajl_gen_string(g, (const unsigned char *)value,
	    strlen(value))));
}

int
jsongen_int(yajl_gen g, const char *key, long long value)
{
	if (!jsongen_key(g, key))
		return (0);

	return (jsongen_ok(yajl_gen_integer(g, value)));
}

/*
 * A number with a fixed count of decimals ("%.1f"), as shown on the
 * pages; yajl_gen_double() would print "%.17g".  JSON has no NaN or
 * infinity: those are null.
 */
int
jsongen_double(yajl_gen g, const char *key, double value, int decimals)
{
	char		num[64];
	int		n;

	if (!jsongen_key(g, key))
		return (0);
	if (!isfinite(value))
		return (jsongen_ok(yajl_gen_null(g)));

	if (decimals < 0)
		decimals = 0;
	if (decimals > JSONGEN_DECIMALS_MAX)
		decimals = JSONGEN_DECIMALS_MAX;
	n = snprintf(num, sizeof(num), "%.*f", decimals, value);
	if (n < 0 || (size_t)n >= sizeof(num))
		return (0);

	return (jsongen_ok(yajl_gen_number(g, num, (size_t)n)));
}

int
jsongen_bool(yajl_gen g, const char *key, int value)
{
	if (!jsongen_key(g, key))
		return (0);

	return (jsongen_ok(yajl_gen_bool(g, value != 0)));
}

int
jsongen_null(yajl_gen g, const char *key)
{
	if (!jsongen_key(g, key))
		return (0);

	return (jsongen_ok(yajl_gen_null(g)));
}

/* The document so far; it belongs to g until the next call on it. */
int
jsongen_finish(yajl_gen g, const unsigned char **out, size_t *len)
{
	if (!jsongen_ok(yajl_gen_get_buf(g, out, len))) {
		*out = NULL;
		*len = 0;
		return (0);
	}

	return (1);
}

static int
jsongen_ok(yajl_gen_status status)
{
	return (status == yajl_gen_status_ok);
}
