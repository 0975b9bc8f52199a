/*
 * Server-Timing header values (W3C Server Timing): a pure formatter.
 */

#ifndef __H_STIMING_H
#define __H_STIMING_H

#include <stddef.h>

#define STIMING_MAX	16384

struct stiming_entry {
	const char	*name;
	double		ms;
	const char	*desc;
};

size_t	stiming_format(char *, size_t, const struct stiming_entry *, size_t);

#endif
