/*
 * The probes: /healthz (the process answers) and /readyz (every worker
 * is up and every configured upstream's host name resolves).
 *
 * Neither calls an upstream, and neither looks a name up while it
 * answers: each worker resolves the upstreams' host names in the
 * background (getaddrinfo_a(), glibc's resolver threads, as libcurl's
 * own lookups do, inside the same chroot and sandbox), a new round every
 * HEALTH_ROUND_MS, and /readyz reads the last results.  An IP literal
 * needs no lookup.  A name not resolved yet counts as not ready, so a
 * fresh worker turns ready after its first round.  Whether the workers
 * are up comes from Kore's shared worker table and the metrics slots
 * (metrics_workers_up()).  With --redis, the answering worker's link to
 * the shared store must be up too (store_up(): a worker without it
 * serves as a single instance would, but the fleet's sharing is off).
 * Clients allowed the status pages see the reasons; others only the
 * verdict.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "health.h"
#include "metrics.h"
#include "reply.h"
#include "store.h"

#define HEALTH_TICK_MS		500
#define HEALTH_ROUND_MS		10000
#define HEALTH_HOSTS_MAX	8

#define LOOKUP_UNKNOWN		0
#define LOOKUP_OK		1
#define LOOKUP_FAILED		2

struct lookup {
	const char	*name;
	const char	*host;
	struct gaicb	cb;
	struct addrinfo	hints;
	int		numeric;
	int		pending;
	int		state;
	int		err;
};

int		page_healthz(struct http_request *);
int		page_readyz(struct http_request *);

static void	health_tick(void *, u_int64_t);
static void	health_round(void);
static void	health_harvest(struct lookup *);
static int	health_ready(struct kore_buf *);

static struct lookup	lookups[HEALTH_HOSTS_MAX];
static size_t		nlookups = 0;
static u_int64_t	round_at = 0;

/* Each app worker: its host names, a first round now, then the timer. */
void
health_worker_start(void)
{
	struct lookup	*l;
	u_int8_t	addr[16];
	size_t		i;

	nlookups = 0;
	for (i = 0; i < metrics_upstream_count() && i < HEALTH_HOSTS_MAX;
	    i++) {
		l = &lookups[nlookups++];
		memset(l, 0, sizeof(*l));
		l->name = metrics_upstream_name(i);
		l->host = metrics_upstream_host(i);
		if (inet_pton(AF_INET, l->host, addr) == 1 ||
		    inet_pton(AF_INET6, l->host, addr) == 1) {
			l->numeric = 1;
			l->state = LOOKUP_OK;
		}
	}

	health_round();
	(void)kore_timer_add(health_tick, HEALTH_TICK_MS, NULL, 0);
}

int
page_healthz(struct http_request *req)
{
	http_response_header(req, "cache-control", "no-store");
	reply_text(req, HTTP_STATUS_OK, "ok");

	return (KORE_RESULT_OK);
}

int
page_readyz(struct http_request *req)
{
	struct kore_buf		buf;
	int			ready;

	kore_buf_init(&buf, 256);
	ready = health_ready(&buf);

	http_response_header(req, "cache-control", "no-store");
	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	if (!reply_status_allowed(req)) {
		buf.offset = 0;
		kore_buf_appendf(&buf, "%s\n", ready ? "ready" : "not ready");
	}
	reply_send(req, ready ? HTTP_STATUS_OK :
	    HTTP_STATUS_SERVICE_UNAVAILABLE, buf.data, buf.offset);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

static void
health_tick(void *arg, u_int64_t now)
{
	size_t		i;
	int		pending;

	pending = 0;
	for (i = 0; i < nlookups; i++) {
		if (lookups[i].pending)
			health_harvest(&lookups[i]);
		pending |= lookups[i].pending;
	}

	if (!pending && now - round_at >= HEALTH_ROUND_MS)
		health_round();
}

/* Start a lookup of every host name at once, in glibc's threads. */
static void
health_round(void)
{
	struct gaicb	*list[HEALTH_HOSTS_MAX];
	struct lookup	*l;
	size_t		i;
	int		n;

	round_at = kore_time_ms();
	n = 0;
	for (i = 0; i < nlookups; i++) {
		l = &lookups[i];
		if (l->numeric)
			continue;
		memset(&l->cb, 0, sizeof(l->cb));
		memset(&l->hints, 0, sizeof(l->hints));
		l->hints.ai_family = AF_UNSPEC;
		l->hints.ai_socktype = SOCK_STREAM;
		l->cb.ar_name = l->host;
		l->cb.ar_request = &l->hints;
		l->pending = 1;
		list[n++] = &l->cb;
	}

	if (n > 0 && getaddrinfo_a(GAI_NOWAIT, list, n, NULL) != 0) {
		kore_log(LOG_NOTICE, "readiness: cannot start host lookups");
		for (i = 0; i < nlookups; i++)
			lookups[i].pending = 0;
	}
}

/* A finished lookup: its result, logged when it changes. */
static void
health_harvest(struct lookup *l)
{
	int		r, state;

	if ((r = gai_error(&l->cb)) == EAI_INPROGRESS)
		return;

	l->pending = 0;
	if (r == 0 && l->cb.ar_result != NULL)
		freeaddrinfo(l->cb.ar_result);
	l->cb.ar_result = NULL;

	state = r == 0 ? LOOKUP_OK : LOOKUP_FAILED;
	if (state != l->state && state == LOOKUP_FAILED) {
		kore_log(LOG_NOTICE, "readiness: upstream %s: %s does not "
		    "resolve (%s)", l->name, l->host, gai_strerror(r));
	} else if (state != l->state && l->state == LOOKUP_FAILED) {
		kore_log(LOG_NOTICE, "readiness: upstream %s: %s resolves "
		    "again", l->name, l->host);
	}
	l->state = state;
	l->err = r;
}

/* Ready or not, with the reasons (a line each) in buf. */
static int
health_ready(struct kore_buf *buf)
{
	struct lookup	*l;
	u_int32_t	up, want;
	size_t		i;
	int		ready;

	ready = metrics_workers_up(&up, &want);
	if (!ready)
		kore_buf_appendf(buf, "workers: %u of %u up\n", up, want);

	for (i = 0; i < nlookups; i++) {
		l = &lookups[i];
		if (l->state == LOOKUP_OK)
			continue;
		ready = 0;
		if (l->state == LOOKUP_UNKNOWN) {
			kore_buf_appendf(buf, "upstream %s: %s not resolved "
			    "yet\n", l->name, l->host);
		} else {
			kore_buf_appendf(buf, "upstream %s: %s does not "
			    "resolve (%s)\n", l->name, l->host,
			    gai_strerror(l->err));
		}
	}

	/* With --redis, this worker's connection to the shared store. */
	if (store_enabled() && !store_up()) {
		ready = 0;
		kore_buf_appendf(buf, "shared store: %s\n", store_state());
	}

	if (ready)
		kore_buf_appendf(buf, "ready\n");

	return (ready);
}
