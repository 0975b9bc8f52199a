/*
 * The comic cache shared by the fleet (--redis): comics never change once
 * published, so any instance's fetch serves every other instance.
 */

#ifndef __H_COMICSTORE_H
#define __H_COMICSTORE_H

#include <sys/types.h>

#include "comic.h"

#define COMICSTORE_MAX		50

struct store_op;

struct comicstore_ask {
	struct store_op		*op;
	size_t			n;
	long long		nums[COMICSTORE_MAX];
	int			found[COMICSTORE_MAX];
	struct comic		comics[COMICSTORE_MAX];
	void			(*done)(void *);
	void			*arg;
};

int	comicstore_ask(struct comicstore_ask *, void (*)(void *), void *);
int	comicstore_pending(const struct comicstore_ask *);
void	comicstore_cleanup(struct comicstore_ask *);
void	comicstore_put(const struct comic *);

#endif
