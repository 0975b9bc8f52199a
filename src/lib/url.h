/*
 * The one check that a URL is an absolute http or https URL: settings
 * (the upstreams) and the comic parser (image and link URLs) share it.
 */

#ifndef __H_URL_H
#define __H_URL_H

#include <stddef.h>

size_t	url_http_prefix(const char *);
int	url_is_http(const char *);

#endif
