/*
 * Request sharing: one fetch serves every concurrent request for the same
 * key, per worker.
 *
 * A page keeps a struct share_table (one per kind of result) and gives
 * each async request a struct share_ticket in its page state.  In setup(),
 * share_join() tells the request what it is:
 *
 * - SHARE_FRESH: a result stored less than its time-to-live ago is there
 *   (share_result()); no call needed;
 * - SHARE_LEADER: nobody is fetching it: the request adds the calls, and
 *   its finish() stores what it got with share_publish(), which wakes the
 *   followers;
 * - SHARE_FOLLOWER: another request is fetching it: the request adds no
 *   call, and its next() calls share_wait() until that gives
 *   SHARE_READY (the leader published: share_result()), SHARE_LEADER
 *   (the leader's client went away first: this request fetches instead)
 *   or SHARE_TIMEOUT (the page's deadline passed).
 *
 * The page's cleanup() calls share_leave() whatever happened.  Sync pages
 * cannot wait: they use share_fresh() and share_put() only.  Results are
 * the page's own structures; the table frees them with its free_result.
 *
 * A table with a name, an encode() and a decode() is shared by the whole
 * fleet when the store (store.h, --redis) is up: a request that would
 * lead asks the store first and is a follower meanwhile; it gets the
 * result another instance stored, or the fleet's lock on the fetch (then
 * it leads), or waits while another instance holds the lock.  The page's
 * code is the same either way.  encode() appends a result's bytes to a
 * buffer (0: not storable); decode() makes a result from them and the
 * age in ms of the fetch (NULL: unusable).
 */

#ifndef __H_SHARE_H
#define __H_SHARE_H

#include <sys/types.h>
#include <sys/queue.h>

#define SHARE_FRESH		1
#define SHARE_LEADER		2
#define SHARE_FOLLOWER		3
#define SHARE_READY		4
#define SHARE_WAITING		5
#define SHARE_TIMEOUT		6

struct fanout;
struct kore_buf;
struct share_entry;

struct share_table {
	size_t				max;
	void				(*free_result)(void *);
	const char			*name;
	int				(*encode)(const void *,
					    struct kore_buf *);
	void				*(*decode)(const void *, size_t,
					    u_int64_t);
	int				registered;
	size_t				n;
	TAILQ_HEAD(, share_entry)	entries;
};

#define SHARE_TABLE_INITIALIZER(t, m, f)				\
	{ .max = (m), .free_result = (f), .n = 0,			\
	  .entries = TAILQ_HEAD_INITIALIZER((t).entries) }

#define SHARE_FLEET_TABLE_INITIALIZER(t, m, f, nm, enc, dec)		\
	{ .max = (m), .free_result = (f), .name = (nm),			\
	  .encode = (enc), .decode = (dec), .n = 0,			\
	  .entries = TAILQ_HEAD_INITIALIZER((t).entries) }

struct share_ticket {
	struct share_entry		*entry;
	struct fanout			*fo;
	int				role;
	int				waiting;
	u_int64_t			seen;
	TAILQ_ENTRY(share_ticket)	list;
};

int		share_join(struct share_table *, const char *, struct fanout *,
		    struct share_ticket *);
int		share_wait(struct share_ticket *);
void		share_publish(struct share_ticket *, void *, u_int64_t);
void		share_publish_stale(struct share_ticket *);
void		share_leave(struct share_ticket *);
const void	*share_result(const struct share_ticket *);
const void	*share_stale(const struct share_ticket *, u_int64_t);

const void	*share_fresh(struct share_table *, const char *);
void		share_put(struct share_table *, const char *, void *,
		    u_int64_t);
void		share_reset(struct share_table *);
void		share_fleet_start(void);

#endif
