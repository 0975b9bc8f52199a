/*
 * Query-string parsing: split on '&', then '=', percent-decode both sides
 * in place in a bounded copy.  Repeated names are an error (which value
 * would win is a guess); unknown names are ignored (cache busters).
 * libc only, so the unit tests can call it.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "qparam.h"
#include "settings.h"

static int	hexval(int);

int
qparam_parse(struct qparams *qp, const char *qs, char *err, size_t errlen)
{
	size_t		i, len;
	char		*p, *amp, *eq;

	qp->n = 0;
	qp->buf[0] = '\0';

	if (qs == NULL || *qs == '\0')
		return (1);

	len = strlen(qs);
	if (len > QPARAM_QS_MAX) {
		(void)snprintf(err, errlen, "query string longer than %d bytes",
		    QPARAM_QS_MAX);
		return (0);
	}
	memcpy(qp->buf, qs, len + 1);

	for (p = qp->buf; p != NULL; p = amp) {
		if ((amp = strchr(p, '&')) != NULL)
			*amp++ = '\0';
		if (*p == '\0')
			continue;
		if (qp->n == QPARAM_MAX) {
			(void)snprintf(err, errlen,
			    "more than %d query parameters", QPARAM_MAX);
			return (0);
		}
		if ((eq = strchr(p, '=')) != NULL)
			*eq++ = '\0';
		else
			eq = p + strlen(p);
		if (!qparam_urldecode(p) || !qparam_urldecode(eq)) {
			(void)snprintf(err, errlen,
			    "malformed percent-encoding in the query string");
			return (0);
		}
		for (i = 0; i < qp->n; i++) {
			if (strcmp(qp->name[i], p) == 0)
				break;
		}
		if (i < qp->n) {
			if (strlen(p) > 32 || strspn(p,
			    "abcdefghijklmnopqrstuvwxyz_0123456789") !=
			    strlen(p)) {
				(void)snprintf(err, errlen,
				    "a query parameter is given twice");
			} else {
				(void)snprintf(err, errlen,
				    "query parameter '%s' is given twice", p);
			}
			return (0);
		}
		qp->name[qp->n] = p;
		qp->value[qp->n] = eq;
		qp->n++;
	}

	return (1);
}

const char *
qparam_get(const struct qparams *qp, const char *name)
{
	size_t		i;

	for (i = 0; i < qp->n; i++) {
		if (strcmp(qp->name[i], name) == 0)
			return (qp->value[i]);
	}

	return (NULL);
}

/*
 * Every parameter given is one of names (NULL-terminated): a typo such as
 * cout=3 would otherwise quietly give the default.  The error names it
 * and the accepted ones.
 */
int
qparam_only(const struct qparams *qp, const char *const *names, char *err,
    size_t errlen)
{
	size_t		i, j, off;

	for (i = 0; i < qp->n; i++) {
		for (j = 0; names[j] != NULL; j++) {
			if (strcmp(qp->name[i], names[j]) == 0)
				break;
		}
		if (names[j] != NULL)
			continue;

		off = (size_t)snprintf(err, errlen, "unknown parameter '%.40s':"
		    " accepted are", qp->name[i]);
		for (j = 0; names[j] != NULL && off < errlen; j++) {
			off += (size_t)snprintf(err + off, errlen - off,
			    "%s %s", j > 0 ? "," : "", names[j]);
		}
		return (0);
	}

	return (1);
}

int
qparam_number(const struct qparams *qp, const char *name, long long def,
    long long min, long long max, long long *out, char *err, size_t errlen)
{
	const char	*v;

	if ((v = qparam_get(qp, name)) == NULL) {
		*out = def;
		return (1);
	}

	if (!settings_parse_number(v, min, max, out)) {
		(void)snprintf(err, errlen, "invalid parameter '%s': expected "
		    "an integer from %lld to %lld", name, min, max);
		return (0);
	}

	return (1);
}

int
qparam_urldecode(char *s)
{
	char		*r, *w;
	int		hi, lo;

	for (r = w = s; *r != '\0'; r++, w++) {
		if (*r == '+') {
			*w = ' ';
		} else if (*r == '%') {
			if ((hi = hexval(r[1])) == -1 ||
			    (lo = hexval(r[2])) == -1)
				return (0);
			*w = (char)(hi << 4 | lo);
			if (*w == '\0')
				return (0);
			r += 2;
		} else {
			*w = *r;
		}
	}
	*w = '\0';

	return (1);
}

/*
 * A copy of text (a URL, or a message that may quote one) with the value
 * of every "<name>=" replaced by REDACTED, for logs.  The name matches
 * without regard to case, anywhere; a value ends at '&', '#', a quote,
 * white space or a control character.  Always NUL-terminates out (len >
 * 0); a copy cut short never holds part of a value.
 */
void
qparam_redact(const char *text, const char *name, char *out, size_t len)
{
	const char	*r;
	size_t		nlen, w, add;

	if (len == 0)
		return;

	nlen = strlen(name);
	w = 0;
	r = text;
	while (*r != '\0') {
		if (nlen > 0 && strncasecmp(r, name, nlen) == 0 &&
		    r[nlen] == '=') {
			add = nlen + 1 + sizeof(QPARAM_REDACTED) - 1;
			if (w + add >= len)
				break;
			memcpy(out + w, r, nlen + 1);
			memcpy(out + w + nlen + 1, QPARAM_REDACTED,
			    sizeof(QPARAM_REDACTED) - 1);
			w += add;
			for (r += nlen + 1; *r != '\0' &&
			    strchr("&#\"' \t", *r) == NULL &&
			    (unsigned char)*r >= 0x20; r++)
				;
			continue;
		}
		if (w + 1 >= len)
			break;
		out[w++] = *r++;
	}
	out[w] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}
