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
		if ((size_t)vlen >= sizeof(val))
			vlen = sizeof(val) - 1;
		if (yajl_gen_string(g, (const unsigned char *)val,
		    (size_t)vlen) != yajl_gen_status_ok &&
		    yajl_gen_string(g, (const unsigned char *)e[i].kind,
		    strlen(e[i].kind)) != yajl_gen_status_ok)
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
