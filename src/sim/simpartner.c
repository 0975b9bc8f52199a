/*
 * The simulator's stats sources: /analytics/stats (views and visitors of
 * products p01-p60) and /partner/stats?product=<id>&api_key=<key> (one
 * product's sales, revenue, clicks and conversion; 401 without the right
 * key, 404 for an unknown product).  Numbers are deterministic per
 * product.
 *
 * Partner products named err503-*, err429-* (with Retry-After: 2),
 * badjson-* and slow-* (3 s) fail on purpose.  The partner accepts the
 * key in --partner-key (FANOUT_PARTNER_KEY), or any non-empty key when
 * none is set.  Calls with an accepted key are counted, with how many
 * are in flight, for /_/stats.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "jsongen.h"
#include "qparam.h"
#include "reply.h"
#include "settings.h"
#include "sim.h"

#define SIM_PRODUCTS		60
#define SIM_KEY_MAX		64

static int	sim_partner_check(struct http_request *, struct sim_wait *);
static long long	sim_number(const char *, int, long long);

static u_int64_t	analytics_calls = 0;
static u_int64_t	partner_calls = 0;
static u_int64_t	partner_in_flight = 0;
static u_int64_t	partner_peak = 0;

/*
 * Before the wait: the partner's checks answer a bad call themselves
 * (returns 0); analytics calls are counted.
 */
int
sim_stats_start(struct http_request *req, struct sim_wait *w)
{
	if (w->endpoint == SIM_EP_PARTNER && !sim_partner_check(req, w))
		return (0);
	if (w->endpoint == SIM_EP_ANALYTICS)
		analytics_calls++;

	return (1);
}

void
sim_analytics(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;
	char			id[8];
	int			i;

	kore_buf_init(&buf, 4096);
	if (w->body == SIM_BODY_MALFORMED) {
		kore_buf_appendf(&buf, "{\"products\": {\"p01\": ");
	} else {
		kore_buf_appendf(&buf, "{\"products\": {");
		for (i = 1; i <= SIM_PRODUCTS; i++) {
			(void)snprintf(id, sizeof(id), "p%02d", i);
			kore_buf_appendf(&buf, "%s\"%s\": {\"views\": %lld, "
			    "\"visitors\": %lld}", i > 1 ? ", " : "", id,
			    1000 + sim_number(id, 1, 90000),
			    100 + sim_number(id, 2, 9000));
		}
		kore_buf_appendf(&buf, "}}");
	}

	http_response_header(req, "content-type", "application/json");
	http_response(req, (int)w->status, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

void
sim_partner(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;
	const char		*p = w->product;
	int			status;

	sim_partner_flight(w, 0);
	kore_buf_init(&buf, 256);
	status = (int)w->status;

	if (status == 404) {
		kore_buf_appendf(&buf, "{\"error\": \"unknown product\"}");
	} else if (!strncmp(p, "err503-", 7)) {
		status = 503;
		kore_buf_appendf(&buf, "{\"error\": \"unavailable\"}");
	} else if (!strncmp(p, "err429-", 7)) {
		status = 429;
		http_response_header(req, "retry-after", "2");
		kore_buf_appendf(&buf, "{\"error\": \"slow down\"}");
	} else if (!strncmp(p, "badjson-", 8) ||
	    w->body == SIM_BODY_MALFORMED) {
		kore_buf_appendf(&buf, "{\"product\": \"%s\", \"sales\": ", p);
	} else {
		kore_buf_appendf(&buf, "{\"product\": \"%s\", \"sales\": %lld, "
		    "\"revenue\": %lld.%02lld, \"clicks\": %lld, "
		    "\"conversion\": 0.%04lld}", p, sim_number(p, 3, 500),
		    sim_number(p, 4, 50000), sim_number(p, 5, 100),
		    500 + sim_number(p, 6, 20000), sim_number(p, 7, 10000));
	}

	http_response_header(req, "content-type", "application/json");
	http_response(req, status, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

void
sim_partner_flight(struct sim_wait *w, int on)
{
	if (on) {
		w->counted = 1;
		partner_calls++;
		if (++partner_in_flight > partner_peak)
			partner_peak = partner_in_flight;
	} else if (w->counted) {
		partner_in_flight--;
		w->counted = 0;
	}
}

/*
 * This file's counters in /_/stats.  The key itself is never shown (the
 * embedded simulator may hold the app's real one), only whether one is
 * configured.
 */
void
sim_partner_report(yajl_gen g)
{
	jsongen_int(g, "analytics_calls", (long long)analytics_calls);
	jsongen_bool(g, "partner_key_set", settings.partner_key[0] != '\0');
	jsongen_key(g, "partner");
	yajl_gen_map_open(g);
	jsongen_int(g, "calls", (long long)partner_calls);
	jsongen_int(g, "in_flight", (long long)partner_in_flight);
	jsongen_int(g, "peak", (long long)partner_peak);
	yajl_gen_map_close(g);
}

/*
 * The partner's checks, before the wait: the key (401), the product (404
 * unless known or a fault product).  Counts the accepted call.
 */
static int
sim_partner_check(struct http_request *req, struct sim_wait *w)
{
	struct qparams		qp;
	const char		*key, *product;
	long long		num;
	char			err[QPARAM_ERR_MAX];

	if (!qparam_parse(&qp, req->query_string, err, sizeof(err)) ||
	    (product = qparam_get(&qp, "product")) == NULL ||
	    strlen(product) >= sizeof(w->product)) {
		reply_json(req, 400, "{\"error\": \"bad request\"}", 26);
		return (0);
	}
	key = qparam_get(&qp, "api_key");
	if (key == NULL || *key == '\0' || strlen(key) >= SIM_KEY_MAX ||
	    (settings.partner_key[0] != '\0' &&
	    strcmp(key, settings.partner_key) != 0)) {
		reply_json(req, 401, "{\"error\": \"invalid api key\"}", 28);
		return (0);
	}
	(void)strcpy(w->product, product);

	sim_partner_flight(w, 1);

	if (!strncmp(product, "slow-", 5))
		w->ms = 3000;
	if (product[0] == 'p' && settings_parse_number(product + 1, 1,
	    SIM_PRODUCTS, &num) && strlen(product) == 3)
		return (1);
	if (!strncmp(product, "err503-", 7) ||
	    !strncmp(product, "err429-", 7) ||
	    !strncmp(product, "badjson-", 8) ||
	    !strncmp(product, "slow-", 5))
		return (1);

	w->status = 404;
	return (1);
}

/* Deterministic numbers for product p<nn>. */
static long long
sim_number(const char *product, int salt, long long mod)
{
	unsigned long long	h;
	const char		*p;

	h = 1469598103934665603ULL ^ (unsigned long long)salt;
	for (p = product; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;

	return ((long long)(h % (unsigned long long)mod));
}
