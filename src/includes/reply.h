/*
 * Small answers shared by every page.
 */

#ifndef __H_REPLY_H
#define __H_REPLY_H

#include <kore/kore.h>
#include <kore/http.h>

#include "qparam.h"

void	reply_text(struct http_request *, int, const char *);
void	reply_json(struct http_request *, int, const char *, size_t);

#endif
