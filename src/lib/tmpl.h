/*
 * HTML output: escaping and a one-pass template renderer.
 */

#ifndef __H_TMPL_H
#define __H_TMPL_H

#include <stddef.h>

#define TMPL_TEXT	0	/* escaped for HTML text and attributes */
#define TMPL_HTML	1	/* already HTML (another rendered template) */

/* The number of variables in an array of them. */
#define TMPL_NVARS(v)	(sizeof(v) / sizeof((v)[0]))

struct tmpl_var {
	const char	*name;
	const char	*value;
	int		type;
};

struct sbuf {
	char		*data;
	size_t		len;
	size_t		cap;
};

void	sbuf_init(struct sbuf *);
void	sbuf_cleanup(struct sbuf *);
int	sbuf_append(struct sbuf *, const void *, size_t);
int	html_escape(struct sbuf *, const char *);
int	tmpl_render(struct sbuf *, const char *, size_t,
	    const struct tmpl_var *, size_t);

#endif
