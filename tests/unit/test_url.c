/*
 * url_http_prefix() and url_is_http().
 */

#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "url.h"

struct url_case {
	int		 line;
	const char	*url;
	size_t		 prefix;
	int		 http;
};

static const struct url_case	url_cases[] = {
	{ __LINE__, "http://x", 7, 1 },
	{ __LINE__, "https://x", 8, 1 },
	{ __LINE__, "http://127.0.0.1:8889/xkcd", 7, 1 },
	{ __LINE__, "https://upstream.test/614/", 8, 1 },
	{ __LINE__, "http://[::1]:80/", 7, 1 },
	{ __LINE__, "https://9.example", 8, 1 },
	/* No host after the scheme. */
	{ __LINE__, "http://", 7, 0 },
	{ __LINE__, "https://", 8, 0 },
	{ __LINE__, "http:///x", 7, 0 },
	{ __LINE__, "https:///", 8, 0 },
	{ __LINE__, "http://-x", 7, 0 },
	{ __LINE__, "http://.x", 7, 0 },
	{ __LINE__, "http:// x", 7, 0 },
	{ __LINE__, "http://\"x", 7, 0 },
	{ __LINE__, "https://:80", 8, 0 },
	{ __LINE__, "http://\xc3\xa9", 7, 0 },
	/* Not http or https, as written. */
	{ __LINE__, "", 0, 0 },
	{ __LINE__, "x", 0, 0 },
	{ __LINE__, "/", 0, 0 },
	{ __LINE__, "ftp://x", 0, 0 },
	{ __LINE__, "HTTP://x", 0, 0 },
	{ __LINE__, "Https://x", 0, 0 },
	{ __LINE__, " http://x", 0, 0 },
	{ __LINE__, "http:/x", 0, 0 },
	{ __LINE__, "http:x", 0, 0 },
	{ __LINE__, "https:/x", 0, 0 },
	{ __LINE__, "httpx://x", 0, 0 },
	{ __LINE__, "//x", 0, 0 },
	{ __LINE__, "javascript:alert(1)", 0, 0 },
	{ __LINE__, "127.0.0.1:8889", 0, 0 },
};

void
test_url(void)
{
	const struct url_case	*c;
	char			 what[96];
	size_t			 i;

	for (i = 0; i < NELEM(url_cases); i++) {
		c = &url_cases[i];
		(void)snprintf(what, sizeof(what), "url_http_prefix(%s)",
		    unit_quote(c->url, strlen(c->url)));
		(void)unit_num(__FILE__, c->line, what, (long long)c->prefix,
		    (long long)url_http_prefix(c->url));
		(void)snprintf(what, sizeof(what), "url_is_http(%s)",
		    unit_quote(c->url, strlen(c->url)));
		(void)unit_num(__FILE__, c->line, what, c->http,
		    url_is_http(c->url));
	}
}
