/*
 * The engine's status page, /_/stats: the answering worker's counters
 * (struct fanout_stats) as one JSON object, plus its pid and the sync
 * pages' gate.  Tests read it to prove nothing leaks, connections are
 * reused and the caps hold; only loopback and --status-from see it.
 */

#include <stddef.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fanout.h"
#include "reply.h"
#include "store.h"
#include "syncgate.h"

int	page_engine_stats(struct http_request *);

#define FIELD(n)	{ #n, offsetof(struct fanout_stats, n) }

static const struct {
	const char	*name;
	size_t		off;
} fields[] = {
	FIELD(fanouts_live), FIELD(calls_live), FIELD(calls_detached),
	FIELD(calls_started), FIELD(conns_opened), FIELD(peak_in_flight),
	FIELD(pools), FIELD(pooled), FIELD(file_limit), FIELD(max_fanouts),
	FIELD(max_inflight), FIELD(fanouts_active), FIELD(in_flight),
	FIELD(reserved), FIELD(refused), FIELD(trims), FIELD(retries),
	FIELD(hedges), FIELD(hedges_won), FIELD(circuit_opened),
	FIELD(circuit_rejected), FIELD(spawned), FIELD(spawned_live),
};

int
page_engine_stats(struct http_request *req)
{
	struct fanout_stats	st;
	struct kore_buf		buf;
	u_int32_t		busy, slots;
	u_int64_t		ops, fails, lost;
	size_t			i;

	if (!reply_status_allowed(req)) {
		reply_not_found(req);
		return (KORE_RESULT_OK);
	}

	fanout_get_stats(&st);
	syncgate_counts(&busy, &slots);

	kore_buf_init(&buf, 512);
	kore_buf_appendf(&buf, "{\"pid\":%d", (int)getpid());
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		kore_buf_appendf(&buf, ",\"%s\":%llu", fields[i].name,
		    (unsigned long long)*(const u_int64_t *)
		    ((const u_int8_t *)&st + fields[i].off));
	}
	kore_buf_appendf(&buf, ",\"sync_busy\":%u,\"sync_slots\":%u",
	    busy, slots);
	fanout_report_origins(&buf);
	store_counts(&ops, &fails, &lost);
	kore_buf_appendf(&buf, ",\"store\":\"%s\",\"store_ops\":%llu,"
	    "\"store_fails\":%llu,\"store_lost\":%llu}", store_state(),
	    (unsigned long long)ops, (unsigned long long)fails,
	    (unsigned long long)lost);

	reply_json(req, HTTP_STATUS_OK, (const char *)buf.data, buf.offset);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}
