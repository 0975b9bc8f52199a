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

int	envelope_open(yajl_gen, const struct envelope *);
int	envelope_errors(yajl_gen);
int	envelope_error(yajl_gen, const char *);
int	envelope_close(yajl_gen);

#endif
