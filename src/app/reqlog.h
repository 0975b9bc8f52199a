/*
 * The access log's JSON format (--log-format json): one object per
 * request.
 */

#ifndef __H_REQLOG_H
#define __H_REQLOG_H

#include <kore/kore.h>
#include <kore/http.h>

struct metrics_note;

void	reqlog_json(int, struct http_request *, const char *, int, size_t,
	    const struct metrics_note *);

#endif
