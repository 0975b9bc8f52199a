/*
 * http(s) URLs: the scheme, lower case as written ("http://" or
 * "https://"), then a host: a name, an IPv4 address or an [IPv6] literal.
 * What may follow the host is the caller's to judge.  libc only, so the
 * unit tests can call it.
 */

#include <ctype.h>
#include <string.h>

#include "url.h"

#define URL_HTTP	"http://"
#define URL_HTTPS	"https://"

/* The length of the "http://" or "https://" a URL starts with, else 0. */
size_t
url_http_prefix(const char *url)
{
	if (strncmp(url, URL_HTTPS, sizeof(URL_HTTPS) - 1) == 0)
		return (sizeof(URL_HTTPS) - 1);
	if (strncmp(url, URL_HTTP, sizeof(URL_HTTP) - 1) == 0)
		return (sizeof(URL_HTTP) - 1);

	return (0);
}

/* Whether url starts with "http://" or "https://" and a host follows. */
int
url_is_http(const char *url)
{
	size_t		skip;

	if ((skip = url_http_prefix(url)) == 0)
		return (0);

	return (isalnum((unsigned char)url[skip]) || url[skip] == '[');
}
