/*
 * The basic demo's JSON body: the blog's {"response_1": 200, ...} inside
 * the pages' envelope.
 */

#ifndef __H_DEMOJSON_H
#define __H_DEMOJSON_H

#include <stddef.h>

#include "envelope.h"

struct demo_entry {
	long		status;		/* HTTP status, 0 when none came */
	const char	*kind;		/* error kind when status is 0 */
	const char	*msg;		/* error text, may be empty */
};

char	*demo_json(const struct envelope *, const struct demo_entry *, size_t,
	    size_t *);

#endif
