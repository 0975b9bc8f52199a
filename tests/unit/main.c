/*
 * Unit tests for the libc/yajl-only modules: settings, qparam, stiming,
 * demojson, jsonload, jsongen (and the pages' envelope), comic, tmpl,
 * partner, url and tracectx.  Prints a line per failed check, then "N
 * passed, N failed".
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define QUOTE_MAX	240
#define QUOTE_BUFS	4

int	unit_passed;
int	unit_failed;

int
main(void)
{
	test_settings();
	test_qparam();
	test_stiming();
	test_demojson();
	test_jsonload();
	test_jsongen();
	test_comic();
	test_tmpl();
	test_partner();
	test_url();
	test_tracectx();

	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return (unit_failed == 0 ? 0 : 1);
}

void
unit_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list		ap;

	if (ok) {
		unit_passed++;
		return;
	}

	unit_failed++;
	printf("%s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * A printable, quoted copy of len bytes of s for a failure line: escapes
 * control and non-ASCII bytes, elides the middle of long strings.  Returns
 * one of a few rotating static buffers, so one printf can show several.
 */
const char *
unit_quote(const char *s, size_t len)
{
	static char	bufs[QUOTE_BUFS][QUOTE_MAX * 4 + 64];
	static int	next;
	char		*b;
	size_t		i, off, sz;
	unsigned char	c;

	b = bufs[next];
	next = (next + 1) % QUOTE_BUFS;
	sz = sizeof(bufs[0]);

	if (s == NULL) {
		(void)snprintf(b, sz, "NULL");
		return (b);
	}

	off = 0;
	b[off++] = '"';
	for (i = 0; i < len; i++) {
		if (len > QUOTE_MAX && i == QUOTE_MAX / 2) {
			off += (size_t)snprintf(b + off, sz - off,
			    "...<%zu bytes>...", len - QUOTE_MAX);
			i = len - QUOTE_MAX / 2;
		}
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			off += (size_t)snprintf(b + off, sz - off, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			off += (size_t)snprintf(b + off, sz - off, "\\x%02x",
			    c);
		else
			b[off++] = (char)c;
	}
	b[off++] = '"';
	b[off] = '\0';

	return (b);
}

int
unit_mem(const char *file, int line, const char *what, const char *want,
    size_t wlen, const char *got, size_t glen)
{
	int		ok;

	if (want == NULL || got == NULL)
		ok = want == got;
	else
		ok = wlen == glen && memcmp(want, got, wlen) == 0;

	if (want != NULL && got != NULL && (wlen > 60 || glen > 60))
		unit_check(ok, file, line, "%s: expected %s (%zu bytes), "
		    "got %s (%zu bytes)", what, unit_quote(want, wlen), wlen,
		    unit_quote(got, glen), glen);
	else
		unit_check(ok, file, line, "%s: expected %s, got %s", what,
		    unit_quote(want, want ? wlen : 0),
		    unit_quote(got, got ? glen : 0));
	return (ok);
}

int
unit_str(const char *file, int line, const char *what, const char *want,
    const char *got)
{
	return (unit_mem(file, line, what, want, want ? strlen(want) : 0,
	    got, got ? strlen(got) : 0));
}

int
unit_num(const char *file, int line, const char *what, long long want,
    long long got)
{
	unit_check(want == got, file, line, "%s: expected %lld, got %lld",
	    what, want, got);
	return (want == got);
}

/* got contains want (NULL want: nothing to check, still counted). */
int
unit_has(const char *file, int line, const char *what, const char *want,
    const char *got)
{
	int		ok;

	ok = want == NULL || (got != NULL && strstr(got, want) != NULL);
	unit_check(ok, file, line, "%s: expected to contain %s, got %s",
	    what, unit_quote(want, want ? strlen(want) : 0),
	    unit_quote(got, got ? strlen(got) : 0));
	return (ok);
}
