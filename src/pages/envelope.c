/*
 * The pages' JSON envelope: every JSON answer of a page is an object
 * that opens with the same members, of the same types, and ends with
 * "errors", a list of objects:
 *
 *	{"mode": "async", "elapsed_ms": 201.3, "upstream_calls": 3,
 *	 "from_cache": 0, "partial": true, <the page's own members>,
 *	 "errors": [{"error": "timeout: ...", "call": 2}]}
 *
 * envelope_open() writes the object's start, envelope_errors() opens the
 * list, each envelope_error() opens one error object (the caller adds
 * what it is about, then closes it with yajl_gen_map_close()), and
 * envelope_close() ends list and object.  They return 1, or 0 when yajl
 * refused.  libc and yajl only, so the unit tests can call it.
 */

#include <yajl/yajl_gen.h>

#include "envelope.h"
#include "jsongen.h"

int
envelope_open(yajl_gen g, const struct envelope *e)
{
	return (yajl_gen_map_open(g) == yajl_gen_status_ok &&
	    jsongen_str(g, "mode", e->mode) &&
	    jsongen_double(g, "elapsed_ms", e->elapsed_ms, 1) &&
	    jsongen_int(g, "upstream_calls", (long long)e->upstream_calls) &&
	    jsongen_int(g, "from_cache", (long long)e->from_cache) &&
	    jsongen_bool(g, "partial", e->partial));
}

int
envelope_errors(yajl_gen g)
{
	return (jsongen_key(g, "errors") &&
	    yajl_gen_array_open(g) == yajl_gen_status_ok);
}

/* An error text that is not valid UTF-8 is replaced, not dropped. */
int
envelope_error(yajl_gen g, const char *msg)
{
	if (yajl_gen_map_open(g) != yajl_gen_status_ok ||
	    !jsongen_key(g, "error"))
		return (0);

	return (jsongen_str(g, NULL, msg) ||
	    jsongen_str(g, NULL, "unreadable error text"));
}

int
envelope_close(yajl_gen g)
{
	return (yajl_gen_array_close(g) == yajl_gen_status_ok &&
	    yajl_gen_map_close(g) == yajl_gen_status_ok);
}
