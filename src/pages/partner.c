/*
 * The stats page's sources, as data, and its configured product list.
 *
 * analytics: {"products": {"<id>": {"views": N, "visitors": N}, ...}}
 * partner:   {"product": "<id>", "sales": N, "revenue": X, "clicks": N,
 *             "conversion": X}
 *
 * Both are untrusted: loaded with json_load() (depth-checked before yajl),
 * each number must be there with the right type and not negative;
 * anything else is that source's error for that product, with a short
 * reason.  libc and yajl only, so the unit tests can call it.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "jsonload.h"
#include "partner.h"

#define PARTNER_DEPTH_MAX	8

static yajl_val	partner_load(const void *, size_t, char *, size_t);
static int	json_count(yajl_val, const char *, long long *);
static int	json_amount(yajl_val, const char *, double *);

int
product_id_ok(const char *id)
{
	size_t		len;

	len = strlen(id);
	if (len == 0 || len > PRODUCT_ID_MAX)
		return (0);

	return (strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len);
}

/*
 * Parse "a,b,c" into out (when not NULL, room for max ids); returns how
 * many ids, or 0 with err set.  Ids must be valid and distinct.
 */
size_t
product_list_parse(const char *list, product_id *out, size_t max, char *err,
    size_t errlen)
{
	const char	*p, *comma;
	product_id	id, seen[PRODUCTS_MAX];
	size_t		n, len, i;

	n = 0;
	for (p = list;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len > PRODUCT_ID_MAX) {
			(void)snprintf(err, errlen, "product ids are 1 to %d "
			    "characters, comma-separated", PRODUCT_ID_MAX);
			return (0);
		}
		memcpy(id, p, len);
		id[len] = '\0';
		if (!product_id_ok(id)) {
			(void)snprintf(err, errlen, "product ids use only a-z, "
			    "0-9, '-' and '_'");
			return (0);
		}
		for (i = 0; i < n; i++) {
			if (strcmp(seen[i], id) == 0)
				break;
		}
		if (i < n) {
			(void)snprintf(err, errlen, "product '%s' is listed "
			    "twice", id);
			return (0);
		}
		if (n == PRODUCTS_MAX || (out != NULL && n == max)) {
			(void)snprintf(err, errlen, "at most %zu products",
			    out != NULL && max < PRODUCTS_MAX ? max :
			    (size_t)PRODUCTS_MAX);
			return (0);
		}
		memcpy(seen[n], id, len + 1);
		if (out != NULL)
			memcpy(out[n], id, len + 1);
		n++;
		if (comma == NULL)
			break;
	}

	return (n);
}

/*
 * The stats page's configured product list (--stats-products), checked in
 * the parent before any worker starts; err is the reason it is not valid.
 */
int
product_list_check(const char *list, char *err, size_t errlen)
{
	return (product_list_parse(list, NULL, 0, err, errlen) != 0);
}

int
analytics_parse(const void *body, size_t len, const product_id *ids,
    size_t n, struct analytics_row *rows, char *err, size_t errlen)
{
	yajl_val	root, products, v;
	const char	*path[2] = { "products", NULL };
	const char	*one[2] = { NULL, NULL };
	size_t		i;

	memset(rows, 0, n * sizeof(*rows));

	if ((root = partner_load(body, len, err, errlen)) == NULL)
		return (0);

	products = yajl_tree_get(root, path, yajl_t_object);
	if (products == NULL) {
		(void)snprintf(err, errlen, "missing or invalid field "
		    "'products'");
		yajl_tree_free(root);
		return (0);
	}

	for (i = 0; i < n; i++) {
		one[0] = ids[i];
		if ((v = yajl_tree_get(products, one, yajl_t_any)) == NULL)
			continue;
		if (YAJL_IS_OBJECT(v) &&
		    json_count(v, "views", &rows[i].views) &&
		    json_count(v, "visitors", &rows[i].visitors))
			rows[i].found = 1;
		else
			rows[i].found = -1;
	}

	yajl_tree_free(root);
	return (1);
}

int
partner_parse(const void *body, size_t len, struct partner_row *row,
    char *err, size_t errlen)
{
	yajl_val	root;
	int		ok;

	memset(row, 0, sizeof(*row));

	if ((root = partner_load(body, len, err, errlen)) == NULL)
		return (0);

	ok = 1;
	if (!json_count(root, "sales", &row->sales)) {
		(void)snprintf(err, errlen, "missing or invalid 'sales'");
		ok = 0;
	} else if (!json_count(root, "clicks", &row->clicks)) {
		(void)snprintf(err, errlen, "missing or invalid 'clicks'");
		ok = 0;
	} else if (!json_amount(root, "revenue", &row->revenue)) {
		(void)snprintf(err, errlen, "missing or invalid 'revenue'");
		ok = 0;
	} else if (!json_amount(root, "conversion", &row->conversion)) {
		(void)snprintf(err, errlen, "missing or invalid 'conversion'");
		ok = 0;
	}

	yajl_tree_free(root);
	return (ok);
}

/*
 * Retry-After (RFC 9110): delay-seconds or an HTTP-date.  Returns the
 * seconds to wait from now, capped at RETRY_AFTER_MAX, or -1 when the
 * value is neither.
 */
long
retry_after_parse(const char *value, time_t now)
{
	struct tm	tm;
	const char	*end;
	char		*ep;
	long long	secs;
	time_t		when;

	while (*value == ' ')
		value++;

	if (isdigit((unsigned char)*value)) {
		secs = strtoll(value, &ep, 10);
		while (*ep == ' ')
			ep++;
		if (*ep != '\0' || secs < 0)
			return (-1);
	} else {
		memset(&tm, 0, sizeof(tm));
		end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (end == NULL || *end != '\0')
			return (-1);
		when = timegm(&tm);
		secs = when > now ? (long long)(when - now) : 0;
	}

	return (secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)secs);
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
int
url_encode(char *dst, size_t len, const char *src)
{
	const char	*hex = "0123456789ABCDEF";
	size_t		off;

	for (off = 0; *src != '\0'; src++) {
		if (isalnum((unsigned char)*src) || strchr("-._~", *src)) {
			if (off + 1 >= len)
				return (0);
			dst[off++] = *src;
		} else {
			if (off + 3 >= len)
				return (0);
			dst[off++] = '%';
			dst[off++] = hex[(unsigned char)*src >> 4];
			dst[off++] = hex[(unsigned char)*src & 0x0f];
		}
	}
	if (off >= len)
		return (0);
	dst[off] = '\0';

	return (1);
}

/*
 * The stats sources' documents: one reason for every unreadable one, so
 * the page's error cells stay short.
 */
static yajl_val
partner_load(const void *body, size_t len, char *err, size_t errlen)
{
	yajl_val	root;
	int		why;

	why = json_load(body, len, PARTNER_DEPTH_MAX, &root);
	if (why == JSON_LOAD_EMPTY || why == JSON_LOAD_NOMEM)
		json_load_error(why, PARTNER_DEPTH_MAX, err, errlen);
	else if (why != JSON_LOAD_OK)
		json_load_error(JSON_LOAD_SYNTAX, PARTNER_DEPTH_MAX, err,
		    errlen);

	return (root);
}

static int
json_count(yajl_val obj, const char *name, long long *out)
{
	yajl_val	v;
	const char	*path[2] = { name, NULL };

	v = yajl_tree_get(obj, path, yajl_t_any);
	if (v == NULL || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0)
		return (0);

	*out = YAJL_GET_INTEGER(v);
	return (1);
}

static int
json_amount(yajl_val obj, const char *name, double *out)
{
	yajl_val	v;
	const char	*path[2] = { name, NULL };

	v = yajl_tree_get(obj, path, yajl_t_any);
	if (v == NULL || !YAJL_IS_NUMBER(v))
		return (0);

	*out = YAJL_IS_INTEGER(v) ? (double)YAJL_GET_INTEGER(v) :
	    YAJL_GET_DOUBLE(v);
	if (!(*out >= 0 && *out < 1e15))
		return (0);

	return (1);
}
