/*
 * Query-string arguments, parsed from the raw query string.
 *
 * Kore 4.1.0 drops undeclared arguments and silently drops values that
 * fail a validator, so a bad value would quietly become the default.  Pages
 * parse here instead and answer 400 with a message naming the parameter.
 */

#ifndef __H_QPARAM_H
#define __H_QPARAM_H

#include <stddef.h>

#define QPARAM_MAX		32
#define QPARAM_QS_MAX		4096
#define QPARAM_ERR_MAX		160
#define QPARAM_REDACTED		"REDACTED"

struct qparams {
	size_t		n;
	char		*name[QPARAM_MAX];
	char		*value[QPARAM_MAX];
	char		buf[QPARAM_QS_MAX + 1];
};

int		qparam_parse(struct qparams *, const char *, char *, size_t);
const char	*qparam_get(const struct qparams *, const char *);
int		qparam_only(const struct qparams *, const char *const *, char *,
		    size_t);
int		qparam_number(const struct qparams *, const char *, long long,
		    long long, long long, long long *, char *, size_t);
int		qparam_urldecode(char *);
void		qparam_redact(const char *, const char *, char *, size_t);

#endif
