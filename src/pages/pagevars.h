/*
 * What the pages share: the format choice (format=json|html, Accept),
 * the figures of the JSON envelope, and the template variables every
 * gallery-style page has: its mode, the link to the other mode with the
 * same query, the time taken, and its counts of upstream calls, items
 * and errors.
 */

#ifndef __H_PAGEVARS_H
#define __H_PAGEVARS_H

#include <kore/kore.h>
#include <kore/http.h>

#include "envelope.h"
#include "fanout.h"
#include "qparam.h"
#include "tmpl.h"

#define PAGE_VARS	7

struct page_vars {
	char		other[QPARAM_QS_MAX + 32];
	char		elapsed[32];
	char		calls[24];
	char		count[24];
	char		errors[24];
};

int	page_format(struct http_request *, const struct qparams *, int *,
	    char *, size_t);
void	page_envelope(const struct fanout *, size_t, int, struct envelope *);
size_t	page_vars(struct http_request *, struct fanout *, const char *,
	    const char *, const char *, double, size_t, size_t,
	    struct page_vars *, struct tmpl_var *);
void	page_render(struct http_request *, int, const u_int8_t *, size_t,
	    const struct tmpl_var *, size_t, const char *);

#endif
