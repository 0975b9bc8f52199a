/*
 * The partner's Retry-After block across the fleet (--redis).
 *
 * A 429 seen by any worker of any instance is written to the store as
 * the wall-clock time the block ends (SET PX: it goes when the block
 * does).  Every worker reads that key every BLOCK_POLL_MS and raises its
 * own block to it, so within that time no worker of the fleet calls the
 * partner before the Retry-After has passed.  Reading it is never on a
 * page's path: a page looks at the worker's own block only.  With the
 * store down each worker has only the blocks it saw itself.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "stats.h"
#include "store.h"

#define BLOCK_POLL_MS		100

static void	fleet_block_poll(void *, u_int64_t);
static void	fleet_block_read(void *, const struct store_reply *);
static int	fleet_block_key(char *, size_t);

static int		polling = 0;
static struct store_op	*reading = NULL;

/* Each worker, at start (--redis only). */
void
stats_fleet_start(void)
{
	if (polling || !store_enabled())
		return;

	polling = 1;
	(void)kore_timer_add(fleet_block_poll, BLOCK_POLL_MS, NULL, 0);
}

/* A 429 here: the fleet stops calling the partner for secs too. */
void
stats_fleet_block(long secs)
{
	const char	*argv[5];
	size_t		lens[5];
	char		key[STORE_KEY_MAX], until[24], ms[24];

	if (!fleet_block_key(key, sizeof(key)))
		return;

	(void)snprintf(until, sizeof(until), "%llu",
	    (unsigned long long)(store_wall_ms() + (u_int64_t)secs * 1000));
	(void)snprintf(ms, sizeof(ms), "%ld", secs * 1000);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = until;
	argv[3] = "PX";
	argv[4] = ms;
	lens[0] = 3;
	lens[1] = strlen(key);
	lens[2] = strlen(until);
	lens[3] = 2;
	lens[4] = strlen(ms);
	(void)store_cmd(NULL, NULL, 5, argv, lens);
}

static void
fleet_block_poll(void *arg, u_int64_t now)
{
	const char	*argv[2];
	size_t		lens[2];
	char		key[STORE_KEY_MAX];

	if (reading != NULL || !fleet_block_key(key, sizeof(key)))
		return;

	argv[0] = "GET";
	argv[1] = key;
	lens[0] = 3;
	lens[1] = strlen(key);
	reading = store_cmd(fleet_block_read, NULL, 2, argv, lens);
}

static void
fleet_block_read(void *arg, const struct store_reply *r)
{
	char		num[24];
	u_int64_t	until, now;

	reading = NULL;
	if (r->status != STORE_OK || r->str == NULL || r->len == 0 ||
	    r->len >= sizeof(num))
		return;

	memcpy(num, r->str, r->len);
	num[r->len] = '\0';
	until = strtoull(num, NULL, 10);
	now = store_wall_ms();
	if (until > now &&
	    until - now <= (u_int64_t)RETRY_AFTER_MAX * 1000)
		stats_block(kore_time_ms() + (until - now));
}

static int
fleet_block_key(char *buf, size_t len)
{
	return (store_key(buf, len, "partner", "blocked-until"));
}
