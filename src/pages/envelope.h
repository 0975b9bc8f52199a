/*
 * The members every page's JSON answer opens with, and its errors list
 * (README "Pages": the envelope).
 */

#ifndef __H_ENVELOPE_H
#define __H_ENVELOPE_H

#include <stddef.h>

#include <yajl/yajl_gen.h>

struct envelope {
	const char	*mode;		/* "sync" or "async" */
	double		elapsed_ms;	/* this answer's time */
	size_t		upstream_calls;	/* calls made for this answer */
	size_t		from_cache;	/* items answered from a cache */
	int		partial;	/* some item is missing or failed */
};

/* How a call went (tail tolerance): listed when retried or hedged. */
struct envelope_try {
	int		tries;		/* 1 + retries */
	int		hedged;
	int		copy;		/* the hedge's winning copy, 1 or 2 */
};

int	envelope_open(yajl_gen, const struct envelope *);
int	envelope_tail(yajl_gen, const struct envelope_try *, size_t);
int	envelope_errors(yajl_gen);
int	envelope_error(yajl_gen, const char *);
int	envelope_close(yajl_gen);

#endif
