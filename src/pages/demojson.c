/*
 * JSON for /get_data and /async_get_data: the envelope (envelope.c),
 * then one key per upstream call, response_1 .. response_N, then the
 * errors.  A call that got an HTTP answer reports its status as a number
 * (as the blog does); one that got none reports a string "kind:
 * message".  Each call that got no answer or a status outside 2xx is also
 * an entry of "errors" ({"error": ..., "call": i}) and makes the answer
 * partial.  libc and yajl only, so the unit tests can call it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "demojson.h"
#include "envelope.h"
#include "jsongen.h"

static size_t	utf8_valid_len(const unsigned char *, size_t);
static void	demo_value(const struct demo_entry *, char *, size_t);
static int	demo_failed(const struct demo_entry *);
static int	demo_errors(yajl_gen, const struct demo_entry *, size_t);

/*
 * A failed call's string, "kind: message", as valid UTF-8.  yajl's check
 * lets overlong forms and surrogates through: validate here.  A cut at
 * len may split the last character, which is dropped; any other bad byte
 * means the message is not text, and only the kind is reported.
 */
static void
demo_value(const struct demo_entry *e, char *val, size_t size)
{
	size_t		len;
	int		vlen;

	if (e->msg != NULL && e->msg[0] != '\0')
		vlen = snprintf(val, size, "%s: %s", e->kind, e->msg);
	else
		vlen = snprintf(val, size, "%s", e->kind);
	len = vlen < 0 ? 0 : (size_t)vlen;

	if (len >= size) {
		len = utf8_valid_len((unsigned char *)val, size - 1);
		if (len + 4 < size - 1)
			len = 0;
	} else if (utf8_valid_len((unsigned char *)val, len) != len) {
		len = 0;
	}

	if (len == 0)
		(void)snprintf(val, size, "%s", e->kind);
	else
		val[len] = '\0';
}

/* No answer, or one outside 2xx. */
static int
demo_failed(const struct demo_entry *e)
{
	return (e->status < 200 || e->status > 299);
}

/*
 * The document for n calls; env gives mode, time and counts, partial
 * comes from the entries.  NULL if it could not be encoded.
 */
char *
demo_json(const struct envelope *env, const struct demo_entry *e, size_t n,
    size_t *outlen)
{
	struct envelope		head;
	yajl_gen		g;
	const unsigned char	*buf;
	size_t			i, len;
	char			key[32], val[512], *out;
	int			ok;

	if ((g = jsongen_alloc()) == NULL)
		return (NULL);

	head = *env;
	head.partial = 0;
	for (i = 0; i < n; i++) {
		if (demo_failed(&e[i]))
			head.partial = 1;
	}

	out = NULL;
	ok = envelope_open(g, &head);
	for (i = 0; i < n && ok; i++) {
		(void)snprintf(key, sizeof(key), "response_%zu", i + 1);
		if (e[i].status > 0) {
			ok = jsongen_int(g, key, e[i].status);
		} else {
			demo_value(&e[i], val, sizeof(val));
			ok = jsongen_str(g, key, val);
		}
	}

	if (ok && demo_errors(g, e, n) && envelope_close(g) &&
	    jsongen_finish(g, &buf, &len) &&
	    (out = malloc(len + 1)) != NULL) {
		memcpy(out, buf, len);
		out[len] = '\0';
		*outlen = len;
	}

	jsongen_free(g);
	return (out);
}

/* "errors": one object per failed call, with its number (from 1). */
static int
demo_errors(yajl_gen g, const struct demo_entry *e, size_t n)
{
	size_t		i;
	char		val[512];

	if (!envelope_errors(g))
		return (0);

	for (i = 0; i < n; i++) {
		if (!demo_failed(&e[i]))
			continue;
		if (e[i].status > 0) {
			(void)snprintf(val, sizeof(val),
			    "upstream answered %ld", e[i].status);
		} else {
			demo_value(&e[i], val, sizeof(val));
		}
		if (!envelope_error(g, val) ||
		    !jsongen_int(g, "call", (long long)(i + 1)) ||
		    yajl_gen_map_close(g) != yajl_gen_status_ok)
			return (0);
	}

	return (1);
}

/*
 * The length of the longest prefix of s that is well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF).
 */
static size_t
utf8_valid_len(const unsigned char *s, size_t len)
{
	size_t		i, n, k;
	unsigned int	c, min;

	for (i = 0; i < len; i += n) {
		c = s[i];
		if (c < 0x80) {
			n = 1;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 2;
			c &= 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			c &= 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			c &= 0x07;
			min = 0x10000;
		} else {
			return (i);
		}
		if (n > len - i)
			return (i);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (i);
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return (i);
	}

	return (len);
}
