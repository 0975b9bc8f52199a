/*
 * A small test harness for the pure modules: every check counts, a check
 * prints one line only when it fails, main() prints the totals.
 */

#ifndef __H_UNIT_H
#define __H_UNIT_H

#include <stddef.h>

/* One check at the caller's line. */
#define CHECK(c, ...)	unit_check((c), __FILE__, __LINE__, __VA_ARGS__)

/* Rows of a table name their own line, so a failure points at the row. */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

extern int	unit_passed;
extern int	unit_failed;

void	unit_check(int, const char *, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
int	unit_str(const char *, int, const char *, const char *,
	    const char *);
int	unit_mem(const char *, int, const char *, const char *, size_t,
	    const char *, size_t);
int	unit_num(const char *, int, const char *, long long, long long);
int	unit_has(const char *, int, const char *, const char *,
	    const char *);
const char	*unit_quote(const char *, size_t);

void	test_settings(void);
void	test_qparam(void);
void	test_stiming(void);
void	test_demojson(void);
void	test_jsonload(void);
void	test_jsongen(void);
void	test_comic(void);
void	test_tmpl(void);
void	test_partner(void);
void	test_url(void);
void	test_tracectx(void);

#endif
