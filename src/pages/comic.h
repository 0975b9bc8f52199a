/*
 * One xkcd comic, parsed from its info.0.json document.
 */

#ifndef __H_COMIC_H
#define __H_COMIC_H

#include <stddef.h>

#define COMIC_DEPTH_MAX		16
#define COMIC_TEXT_MAX		4096

struct comic {
	long long	num;
	char		*title;
	char		*safe_title;
	char		*alt;
	char		*img;
};

int	comic_parse(const void *, size_t, struct comic *, char *, size_t);
void	comic_cleanup(struct comic *);
int	comic_copy(struct comic *, const struct comic *);
int	comic_url_ok(const char *);

#endif
