/*
 * The sync pages' gate (--sync-pages limit).
 *
 * A sync page blocks its whole worker for the sum of its upstream calls:
 * a handful of them at once freeze every worker, and with them every
 * page.  Under "limit" a sync page runs only while at least one other
 * worker is free: the workers count the ones busy in a sync page in a
 * shared page, mapped by the parent before it forks them, and a sync page
 * that would take the last free worker answers 503 at once instead.  A
 * worker is in at most one sync page at a time (it is blocked in it), so
 * each worker has one flag, and the busy count is the flags raised: a
 * worker that died inside a sync page has its flag cleared by its
 * successor, nothing else to repair.
 */

#include <sys/mman.h>

#include <string.h>

#include <kore/kore.h>

#include "syncgate.h"

struct syncgate {
	u_int32_t	slots;			/* workers in sync pages, max */
	u_int8_t	in[KORE_WORKER_MAX + 2];	/* per worker id */
};

static struct syncgate	*gate = NULL;

static u_int32_t	syncgate_busy(void);

/* The parent, before the workers exist: slots for all workers but one. */
void
syncgate_init(u_int32_t workers)
{
	gate = mmap(NULL, sizeof(*gate), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (gate == MAP_FAILED)
		fatal("syncgate_init: mmap: %s", errno_s);

	memset(gate, 0, sizeof(*gate));
	gate->slots = workers > 1 ? workers - 1 : 1;
}

/* A worker that starts where one died inside a sync page frees its slot. */
void
syncgate_worker_start(void)
{
	if (gate != NULL && worker != NULL && worker->id < sizeof(gate->in))
		__atomic_store_n(&gate->in[worker->id], 0, __ATOMIC_SEQ_CST);
}

/*
 * Take a slot for this worker's sync page; 0 when none is free.  The
 * worker raises its flag first and then counts: two workers racing for
 * the last slot may both back off, never both get in.
 */
int
syncgate_enter(void)
{
	if (gate == NULL || worker == NULL || worker->id >= sizeof(gate->in))
		return (1);

	__atomic_store_n(&gate->in[worker->id], 1, __ATOMIC_SEQ_CST);
	if (syncgate_busy() > gate->slots) {
		__atomic_store_n(&gate->in[worker->id], 0, __ATOMIC_SEQ_CST);
		return (0);
	}

	return (1);
}

void
syncgate_leave(void)
{
	if (gate != NULL && worker != NULL && worker->id < sizeof(gate->in))
		__atomic_store_n(&gate->in[worker->id], 0, __ATOMIC_SEQ_CST);
}

/* For the engine's status page. */
void
syncgate_counts(u_int32_t *busy, u_int32_t *slots)
{
	*busy = gate != NULL ? syncgate_busy() : 0;
	*slots = gate != NULL ? gate->slots : 0;
}

static u_int32_t
syncgate_busy(void)
{
	size_t		i;
	u_int32_t	n;

	n = 0;
	for (i = 0; i < sizeof(gate->in); i++)
		n += __atomic_load_n(&gate->in[i], __ATOMIC_SEQ_CST);

	return (n);
}
