/*
 * The shared store (--redis): what several instances of the app share,
 * reached without ever blocking a worker.
 *
 * store_cmd() sends one Redis command and returns at once: NULL when the
 * store is not there now (not configured, not connected, the command too
 * large), and the caller then does what a single instance does; otherwise
 * the callback runs exactly once, later, with the answer or STORE_FAIL
 * (an error, a timeout, the connection lost), unless store_cancel() came
 * first.  A callback never runs inside store_cmd().
 *
 * Keys are "<prefix>:<kind>:<key>" (store_key()); values are bounded
 * (STORE_VALUE_MAX).  Nothing secret goes to the store.
 */

#ifndef __H_STORE_H
#define __H_STORE_H

#include <sys/types.h>

#include <stddef.h>

#define STORE_FAIL		0
#define STORE_OK		1
#define STORE_NIL		2

#define STORE_VALUE_MAX		(64 * 1024)
#define STORE_KEY_MAX		512
#define STORE_ERR_MAX		256
#define STORE_TEXT_ARGS		80	/* store_cmd_text()'s arguments */

struct store_reply {
	int			status;
	long long		integer;
	const char		*str;		/* a string answer, or NULL */
	size_t			len;
	size_t			n;		/* an array's elements */
	const void		*raw;
};

struct store_op;

typedef void	(*store_cb)(void *, const struct store_reply *);

int		store_configure(const char *, const char *, long, char *,
		    size_t);
void		store_worker_start(void);
int		store_enabled(void);
int		store_up(void);
const char	*store_state(void);
void		store_counts(u_int64_t *, u_int64_t *, u_int64_t *);

struct store_op	*store_cmd(store_cb, void *, int, const char **,
		    const size_t *);
struct store_op	*store_cmd_text(store_cb, void *, int, const char **);
void		store_flag(const char *, long);
void		store_cancel(struct store_op *);
int		store_key(char *, size_t, const char *, const char *);
int		store_channel(char *, size_t, const char *);
void		store_subscribe(const char *, void (*)(const char *, size_t));
int		store_reply_elem(const struct store_reply *, size_t,
		    struct store_reply *);
u_int64_t	store_wall_ms(void);

#endif
