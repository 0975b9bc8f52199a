/*
 * HTML output in one place.  Templates (the .html files in assets/) name
 * values as {{name}}; tmpl_render() substitutes each in one pass, escaping
 * it with html_escape() unless the variable says it is HTML already (a template
 * rendered before).  An unknown name or an unclosed {{ is an error, so a
 * template typo fails loudly in the tests instead of leaving holes.
 * libc only, so the unit tests can call it.
 */

#include <stdlib.h>
#include <string.h>

#include "tmpl.h"

void
sbuf_init(struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
sbuf_cleanup(struct sbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int
sbuf_append(struct sbuf *b, const void *data, size_t len)
{
	char		*p;
	size_t		cap;

	if (len > (size_t)-1 / 2 - b->len - 1)
		return (0);

	if (b->len + len + 1 > b->cap) {
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL)
			return (0);
		b->data = p;
		b->cap = cap;
	}

	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';

	return (1);
}

int
html_escape(struct sbuf *b, const char *s)
{
	const char	*p, *rep;
	size_t		run;

	for (p = s; *p != '\0'; p += run) {
		run = strcspn(p, "&<>\"'");
		if (run > 0) {
			if (!sbuf_append(b, p, run))
				return (0);
			continue;
		}
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		default:
			rep = "&#39;";
			break;
		}
		if (!sbuf_append(b, rep, strlen(rep)))
			return (0);
		run = 1;
	}

	return (1);
}

int
tmpl_render(struct sbuf *b, const char *tmpl, size_t len,
    const struct tmpl_var *vars, size_t nvars)
{
	const char	*p, *end, *open, *close;
	size_t		i, nlen;

	p = tmpl;
	end = tmpl + len;

	while (p < end) {
		open = memmem(p, (size_t)(end - p), "{{", 2);
		if (open == NULL)
			return (sbuf_append(b, p, (size_t)(end - p)));
		if (!sbuf_append(b, p, (size_t)(open - p)))
			return (0);

		open += 2;
		close = memmem(open, (size_t)(end - open), "}}", 2);
		if (close == NULL)
			return (0);
		nlen = (size_t)(close - open);

		for (i = 0; i < nvars; i++) {
			if (strlen(vars[i].name) == nlen &&
			    memcmp(vars[i].name, open, nlen) == 0)
				break;
		}
		if (i == nvars)
			return (0);

		if (vars[i].type == TMPL_HTML) {
			if (!sbuf_append(b, vars[i].value,
			    strlen(vars[i].value)))
				return (0);
		} else if (!html_escape(b, vars[i].value)) {
			return (0);
		}

		p = close + 2;
	}

	return (1);
}
