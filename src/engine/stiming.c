/*
 * Server-Timing formatting.
 *
 * Each entry becomes name;dur=ms[;desc="..."], entries joined by ", ".
 * Names are tokens we choose; descriptions can carry upstream error text,
 * so they are quoted with '"' and '\\' escaped; control and non-ASCII bytes
 * are dropped.
 * An entry that does not fit is left out whole: the value stays valid.
 * A duration that is not a number, negative or absurd (over 1e12 ms)
 * is written as 0.
 */

#include <stdio.h>
#include <string.h>

#include "stiming.h"

static size_t	stiming_entry(char *, size_t, const struct stiming_entry *);

size_t
stiming_format(char *buf, size_t len, const struct stiming_entry *e,
    size_t n)
{
	size_t		i, off, w;

	if (len == 0)
		return (0);

	off = 0;
	buf[0] = '\0';

	for (i = 0; i < n; i++) {
		if (off > 0) {
			if (len - off < 3)
				break;
			buf[off++] = ',';
			buf[off++] = ' ';
			buf[off] = '\0';
		}
		w = stiming_entry(buf + off, len - off, &e[i]);
		if (w == 0) {
			if (off >= 2)
				off -= 2;
			buf[off] = '\0';
			break;
		}
		off += w;
	}

	return (off);
}

static size_t
stiming_entry(char *buf, size_t len, const struct stiming_entry *e)
{
	const char	*p;
	size_t		off;
	int		r;

	r = snprintf(buf, len, "%s;dur=%.1f", e->name,
	    e->ms >= 0 && e->ms < 1e12 ? e->ms : 0);
	if (r < 0 || (size_t)r >= len)
		return (0);
	off = (size_t)r;

	if (e->desc == NULL)
		return (off);

	if (len - off < 8)
		return (0);
	memcpy(buf + off, ";desc=\"", 7);
	off += 7;

	for (p = e->desc; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			continue;
		if (*p == '"' || *p == '\\') {
			if (len - off < 3)
				return (0);
			buf[off++] = '\\';
		}
		if (len - off < 2)
			return (0);
		buf[off++] = *p;
	}

	if (len - off < 2)
		return (0);
	buf[off++] = '"';
	buf[off] = '\0';

	return (off);
}
