/*
 * JSON for /get_data and /async_get_data: one key per upstream call,
 * response_1 .. response_N.  A call that got an HTTP answer reports its
 * status as a number (as the blog does); one that got none reports a
 * string "kind: message".  Built with yajl_gen; libc and yajl only, so
 * the unit tests can call it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "demojson.h"

static size_t	utf8_valid_len(const unsigned char *, size_t);

char *
demo_json(const struct demo_entry *e, size_t n, size_t *outlen)
{
	yajl_gen		g;
	const unsigned char	*buf;
	size_t			i, len;
	char			key[32], val[512], *out;
	int			vlen;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return (NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	yajl_gen_config(g, yajl_gen_escape_solidus, 1);

	out = NULL;
	if (yajl_gen_map_open(g) != yajl_gen_status_ok)
		goto cleanup;

	for (i = 0; i < n; i++) {
		(void)snprintf(key, sizeof(key), "response_%zu", i + 1);
		if (yajl_gen_string(g, (const unsigned char *)key,
		    strlen(key)) != yajl_gen_status_ok)
			goto cleanup;
		if (e[i].status > 0) {
			if (yajl_gen_integer(g, e[i].status) !=
			    yajl_gen_status_ok)
				goto cleanup;
			continue;
		}
		if (e[i].msg != NULL && e[i].msg[0] != '\0')
			vlen = snprintf(val, sizeof(val), "%s: %s", e[i].kind,
			    e[i].msg);
		else
			vlen = snprintf(val, sizeof(val), "%s", e[i].kind);
		if (vlen < 0)
			goto cleanup;
		len = (size_t)vlen;
		/*
		 * yajl's check lets overlong forms and surrogates through:
		 * validate here.  A cut at sizeof(val) may split the last
		 * character, which is dropped; any other bad byte means the
		 * message is not text, and only the kind is reported.
		 */
		if (len >= sizeof(val)) {
			len = utf8_valid_len((unsigned char *)val,
			    sizeof(val) - 1);
			if (len + 4 < sizeof(val) - 1)
				len = 0;
		} else if (utf8_valid_len((unsigned char *)val, len) != len) {
			len = 0;
		}
		if (len == 0) {
			(void)snprintf(val, sizeof(val), "%s", e[i].kind);
			len = strlen(val);
		}
		if (yajl_gen_string(g, (const unsigned char *)val, len) !=
		    yajl_gen_status_ok)
			goto cleanup;
	}

	if (yajl_gen_map_close(g) != yajl_gen_status_ok)
		goto cleanup;
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		goto cleanup;

	if ((out = malloc(len + 1)) != NULL) {
		memcpy(out, buf, len);
		out[len] = '\0';
		*outlen = len;
	}

cleanup:
	yajl_gen_free(g);
	return (out);
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
