/*
 * The stats page's rows: the analytics call and each product's partner
 * call merged into one row per product, with the reason for every figure
 * that is missing (a failed call, an unreadable answer, an unknown
 * product, the partner's back-off).
 */

#include <sys/param.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fanout.h"
#include "partner.h"
#include "qparam.h"
#include "settings.h"
#include "stats.h"

static void	stats_reason(char *, size_t, const char *,
		    const struct fanout_result *);
static int	stats_analytics(struct fanout *, struct stats_req *,
		    struct analytics_row *, char *, size_t);
static int	stats_partner(struct fanout *, struct stats_req *, size_t,
		    struct stats_result *, struct stats_row *);

/* Bounded, truncating formatting for reasons shown to the user. */
void
stats_reasonf(char *buf, size_t len, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void
stats_reason(char *buf, size_t len, const char *what,
    const struct fanout_result *r)
{
	if (r->error == FANOUT_ERR_HTTP && r->status == 401) {
		stats_reasonf(buf, len, "the %s rejected the API key (401)",
		    what);
	} else if (r->error == FANOUT_ERR_HTTP && r->status == 429) {
		stats_reasonf(buf, len, "rate limited by the %s (429)", what);
	} else if (r->error == FANOUT_ERR_HTTP) {
		stats_reasonf(buf, len, "the %s answered %ld", what,
		    r->status);
	} else if (r->error == FANOUT_ERR_SKIPPED) {
		stats_reasonf(buf, len, "%s", r->errmsg);
	} else {
		stats_reasonf(buf, len, "%s: %s", fanout_strerror(r->error),
		    r->errmsg);
	}
}

/* The analytics call's rows; 0 (and why in a_err) if it failed. */
static int
stats_analytics(struct fanout *fo, struct stats_req *x,
    struct analytics_row *arows, char *a_err, size_t len)
{
	const struct fanout_result	*r;
	char				err[REASON_MAX];

	a_err[0] = '\0';
	memset(arows, 0, sizeof(arows[0]) * PRODUCTS_MAX);
	if (x->analytics_call < 0)
		return (0);

	r = fanout_result(fo, (size_t)x->analytics_call);
	if (r->error != FANOUT_ERR_NONE) {
		stats_reason(a_err, len, "analytics service", r);
		return (0);
	}
	if (!analytics_parse(r->body, r->body_len,
	    (const product_id *)x->products, x->nproducts, arows, err,
	    sizeof(err))) {
		stats_reasonf(a_err, len, "unreadable analytics: %s", err);
		return (0);
	}

	return (1);
}

/* Product i's partner figures into row; 0 if they are missing. */
static int
stats_partner(struct fanout *fo, struct stats_req *x, size_t i,
    struct stats_result *res, struct stats_row *row)
{
	const struct fanout_result	*r;
	long				wait;
	char				err[REASON_MAX];

	if (x->partner_call[i] < 0) {
		wait = (long)((stats_blocked_until() - kore_time_ms() +
		    999) / 1000);
		stats_reasonf(row->p_err, sizeof(row->p_err),
		    "rate limited by the partner, retrying in %ld s",
		    wait > 0 ? wait : 1);
		return (0);
	}

	r = fanout_result(fo, (size_t)x->partner_call[i]);
	if (r->error == FANOUT_ERR_HTTP && r->status == 401)
		res->key_rejected = 1;
	if (r->error != FANOUT_ERR_NONE) {
		stats_reason(row->p_err, sizeof(row->p_err), "partner", r);
		return (0);
	}
	if (!partner_parse(r->body, r->body_len, &row->p, err,
	    sizeof(err))) {
		stats_reasonf(row->p_err, sizeof(row->p_err),
		    "unreadable partner answer: %s", err);
		return (0);
	}

	row->p_ok = 1;
	return (1);
}

struct stats_result *
stats_collect(struct fanout *fo, struct stats_req *x)
{
	struct stats_result		*res;
	struct analytics_row		arows[PRODUCTS_MAX];
	struct stats_row		*row;
	size_t				i, p_tried, p_failed;
	int				a_ok;
	char				a_err[REASON_MAX];

	res = kore_calloc(1, sizeof(*res));
	res->nrows = x->nproducts;
	res->elapsed_ms = fanout_elapsed_ms(fo);
	res->fetched_at = kore_time_ms();
	res->calls = fanout_count(fo);
	a_ok = stats_analytics(fo, x, arows, a_err, sizeof(a_err));

	p_tried = p_failed = 0;
	for (i = 0; i < x->nproducts; i++) {
		row = &res->rows[i];
		memcpy(row->product, x->products[i], sizeof(row->product));
		row->known = stats_known(row->product);

		if (!row->known) {
			stats_reasonf(row->a_err, sizeof(row->a_err),
			    "unknown product");
			stats_reasonf(row->p_err, sizeof(row->p_err),
			    "unknown product");
			continue;
		}

		if (!a_ok) {
			stats_reasonf(row->a_err, sizeof(row->a_err), "%s",
			    a_err);
		} else if (arows[i].found == 1) {
			row->a = arows[i];
		} else {
			stats_reasonf(row->a_err, sizeof(row->a_err), "%s",
			    arows[i].found == 0 ? "no analytics data" :
			    "unreadable analytics data");
		}

		p_tried++;
		if (!stats_partner(fo, x, i, res, row))
			p_failed++;
	}

	for (i = 0; i < res->nrows; i++) {
		if (res->rows[i].a_err[0] != '\0' ||
		    res->rows[i].p_err[0] != '\0')
			res->partial = 1;
	}
	res->all_failed = !a_ok && p_tried > 0 && p_failed == p_tried;

	return (res);
}

/* Whether a product is in --stats-products (validated at start-up). */
int
stats_known(const char *product)
{
	static product_id	list[PRODUCTS_MAX];
	static size_t		n = 0;
	size_t			i;
	char			err[QPARAM_ERR_MAX];

	if (n == 0) {
		n = product_list_parse(settings.stats_products, list,
		    PRODUCTS_MAX, err, sizeof(err));
	}

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], product) == 0)
			return (1);
	}

	return (0);
}


/*
 * A complete result for the shared store (share.h): a header saying the
 * layout, the result's fields, then its rows.  Only the same build's
 * layout is read back; strings are re-terminated, counts bounded.
 */
int
stats_encode(const void *arg, struct kore_buf *buf)
{
	const struct stats_result	*res = arg;
	u_int32_t			hdr[4];

	hdr[0] = STATS_CODE_MAGIC;
	hdr[1] = (u_int32_t)sizeof(struct stats_row);
	hdr[2] = (u_int32_t)offsetof(struct stats_result, rows);
	hdr[3] = (u_int32_t)res->nrows;
	kore_buf_append(buf, hdr, sizeof(hdr));
	kore_buf_append(buf, res, offsetof(struct stats_result, rows) +
	    res->nrows * sizeof(struct stats_row));

	return (1);
}

void *
stats_decode(const void *data, size_t len, u_int64_t age_ms)
{
	struct stats_result	*res;
	u_int32_t		hdr[4];
	size_t			i, fixed;

	fixed = sizeof(hdr) + offsetof(struct stats_result, rows);
	if (len < fixed)
		return (NULL);
	memcpy(hdr, data, sizeof(hdr));
	if (hdr[0] != STATS_CODE_MAGIC || hdr[1] != sizeof(struct stats_row) ||
	    hdr[2] != offsetof(struct stats_result, rows) ||
	    hdr[3] > PRODUCTS_MAX ||
	    len != fixed + hdr[3] * sizeof(struct stats_row))
		return (NULL);

	res = kore_calloc(1, sizeof(*res));
	memcpy(res, (const u_int8_t *)data + sizeof(hdr), len - sizeof(hdr));
	if (res->nrows != hdr[3]) {
		kore_free(res);
		return (NULL);
	}
	for (i = 0; i < res->nrows; i++) {
		res->rows[i].product[PRODUCT_ID_MAX] = '\0';
		res->rows[i].a_err[REASON_MAX - 1] = '\0';
		res->rows[i].p_err[REASON_MAX - 1] = '\0';
	}
	res->fetched_at = kore_time_ms() - MIN(age_ms, kore_time_ms());

	return (res);
}
