/*
 * The basic demo's JSON body, as in the blog: {"response_1": 200, ...},
 * and "tail" when a call was retried or hedged.
 */

#ifndef __H_DEMOJSON_H
#define __H_DEMOJSON_H

#include <stddef.h>

struct demo_entry {
	long		status;		/* HTTP status, 0 when none came */
	const char	*kind;		/* error kind when status is 0 */
	const char	*msg;		/* error text, may be empty */
};

/* How a call went (tail tolerance): reported when retried or hedged. */
struct demo_try {
	int		attempts;	/* retried: more than 1 */
	int		hedged;
	int		copy;		/* the hedge's winning copy */
};

char	*demo_json(const struct demo_entry *, size_t, size_t *);
char	*demo_json_tries(const struct demo_entry *, const struct demo_try *,
	    size_t, size_t *);

#endif
