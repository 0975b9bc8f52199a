/*
 * demo_json(): {"response_1":200,...} with error strings, compared as
 * exact bytes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demojson.h"
#include "unit.h"

#define DEMO_ENTRIES_MAX	4

struct json_case {
	int			 line;
	size_t			 n;
	struct demo_entry	 e[DEMO_ENTRIES_MAX];
	const char		*want;
};

static const struct json_case	json_cases[] = {
	{ __LINE__, 0, { { 0, NULL, NULL } }, "{}" },
	{ __LINE__, 1, { { 200, NULL, NULL } }, "{\"response_1\":200}" },
	{ __LINE__, 3, { { 200, NULL, NULL }, { 404, NULL, NULL },
	    { 503, NULL, NULL } },
	    "{\"response_1\":200,\"response_2\":404,\"response_3\":503}" },
	{ __LINE__, 2, { { 100, "ignored", "ignored" },
	    { 599, "ignored", NULL } },
	    "{\"response_1\":100,\"response_2\":599}" },

	/* No HTTP answer: "kind: message", or the kind alone. */
	{ __LINE__, 1, { { 0, "timeout", "after 10000 ms" } },
	    "{\"response_1\":\"timeout: after 10000 ms\"}" },
	{ __LINE__, 1, { { 0, "timeout", "" } },
	    "{\"response_1\":\"timeout\"}" },
	{ __LINE__, 1, { { 0, "timeout", NULL } },
	    "{\"response_1\":\"timeout\"}" },
	{ __LINE__, 1, { { 0, "", NULL } }, "{\"response_1\":\"\"}" },
	{ __LINE__, 3, { { 200, NULL, NULL },
	    { 0, "connect", "Connection refused" }, { 502, NULL, NULL } },
	    "{\"response_1\":200,\"response_2\":\"connect: Connection "
	    "refused\",\"response_3\":502}" },

	/* Escaping: quotes, backslashes, controls; '/' stays as it is. */
	{ __LINE__, 1, { { 0, "read", "say \"hi\"" } },
	    "{\"response_1\":\"read: say \\\"hi\\\"\"}" },
	{ __LINE__, 1, { { 0, "read", "a\\b" } },
	    "{\"response_1\":\"read: a\\\\b\"}" },
	{ __LINE__, 1, { { 0, "read", "line1\nline2\r\n\ttab" } },
	    "{\"response_1\":\"read: line1\\nline2\\r\\n\\ttab\"}" },
	{ __LINE__, 1, { { 0, "read", "\x01\x1f\b\f" } },
	    "{\"response_1\":\"read: \\u0001\\u001F\\b\\f\"}" },
	{ __LINE__, 1, { { 0, "read", "</script><script>alert(1)</script>" } },
	    "{\"response_1\":\"read: </script><script>alert(1)</script>\"}" },
	{ __LINE__, 1, { { 0, "http/2", "a/b" } },
	    "{\"response_1\":\"http/2: a/b\"}" },
	{ __LINE__, 1, { { 0, "read",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" } },
	    "{\"response_1\":\"read: caf\xc3\xa9 \xe2\x82\xac "
	    "\xf0\x9f\x98\x80\"}" },

	/* Invalid UTF-8 in the message: the kind alone. */
	{ __LINE__, 1, { { 0, "read", "bad \xff byte" } },
	    "{\"response_1\":\"read\"}" },
	{ __LINE__, 1, { { 0, "read", "cut \xc3" } },
	    "{\"response_1\":\"read\"}" },
	{ __LINE__, 1, { { 0, "read", "\x80" } }, "{\"response_1\":\"read\"}" },
	{ __LINE__, 1, { { 0, "read", "\xe2\x82" } },
	    "{\"response_1\":\"read\"}" },
	{ __LINE__, 2, { { 0, "read", "\xfe\xfe" }, { 204, NULL, NULL } },
	    "{\"response_1\":\"read\",\"response_2\":204}" },
	/* Overlong, surrogate and past U+10FFFF are not UTF-8 either. */
	{ __LINE__, 1, { { 0, "read", "<\xc0\xafscript>" } },
	    "{\"response_1\":\"read\"}" },
	{ __LINE__, 1, { { 0, "read", "\xed\xa0\x80" } },
	    "{\"response_1\":\"read\"}" },
	{ __LINE__, 1, { { 0, "read", "\xf4\x90\x80\x80" } },
	    "{\"response_1\":\"read\"}" },
};

static void	test_json_table(void);
static void	test_json_many(void);
static void	test_json_long(void);
static int	check_json(const char *, int, const struct demo_entry *,
		    size_t, const char *, size_t);

void
test_demojson(void)
{
	test_json_table();
	test_json_many();
	test_json_long();
}

static int
check_json(const char *file, int line, const struct demo_entry *e, size_t n,
    const char *want, size_t wlen)
{
	char		*out;
	size_t		 len;
	int		 ok;

	len = (size_t)-1;
	out = demo_json(e, n, &len);
	ok = unit_mem(file, line, "demo_json", want, wlen, out,
	    out != NULL ? len : 0);
	if (out != NULL) {
		unit_check(out[len] == '\0' && strlen(out) == len, file, line,
		    "demo_json: length %zu, not NUL-terminated there", len);
	}
	free(out);

	return (ok);
}

static void
test_json_table(void)
{
	const struct json_case	*c;
	size_t			 i;

	for (i = 0; i < NELEM(json_cases); i++) {
		c = &json_cases[i];
		(void)check_json(__FILE__, c->line, c->e, c->n, c->want,
		    strlen(c->want));
	}
}

/* Keys past response_9, and many entries. */
static void
test_json_many(void)
{
	static struct demo_entry	 e[1000];
	static char			 want[32000], twelve[512];
	size_t				 i, off;

	off = 0;
	want[off++] = '{';
	for (i = 0; i < NELEM(e); i++) {
		if (i % 7 == 3) {
			e[i].status = 0;
			e[i].kind = "timeout";
			e[i].msg = "slow";
			off += (size_t)snprintf(want + off, sizeof(want) - off,
			    "%s\"response_%zu\":\"timeout: slow\"",
			    i ? "," : "", i + 1);
		} else {
			e[i].status = 200 + (long)(i % 5);
			off += (size_t)snprintf(want + off, sizeof(want) - off,
			    "%s\"response_%zu\":%ld", i ? "," : "", i + 1,
			    e[i].status);
		}
		if (i == 11) {
			memcpy(twelve, want, off);
			twelve[off] = '}';
			(void)check_json(__FILE__, __LINE__, e, 12, twelve,
			    off + 1);
		}
	}
	want[off++] = '}';
	want[off] = '\0';
	(void)check_json(__FILE__, __LINE__, e, NELEM(e), want, off);
}

/*
 * "kind: message" is cut to 511 bytes.  ASCII is cut anywhere; a cut that
 * lands inside a UTF-8 character must not throw the message away.
 */
static void
test_json_long(void)
{
	static char		msg[2048], want[4096];
	struct demo_entry	e;
	size_t			i;

	e.status = 0;
	e.kind = "read";
	e.msg = msg;

	/* 505 bytes of message make exactly 511: not cut. */
	memset(msg, 'a', 505);
	msg[505] = '\0';
	(void)snprintf(want, sizeof(want), "{\"response_1\":\"read: %s\"}",
	    msg);
	(void)check_json(__FILE__, __LINE__, &e, 1, want, strlen(want));

	/* 1000 bytes: cut to 505. */
	memset(msg, 'a', 1000);
	msg[1000] = '\0';
	(void)check_json(__FILE__, __LINE__, &e, 1, want, strlen(want));

	/* Cut where every byte needs escaping: still 505 source bytes. */
	memset(msg, '"', 1000);
	(void)snprintf(want, sizeof(want), "{\"response_1\":\"read: ");
	for (i = 0; i < 505; i++)
		(void)strcat(want, "\\\"");
	(void)strcat(want, "\"}");
	(void)check_json(__FILE__, __LINE__, &e, 1, want, strlen(want));

	/*
	 * 300 two-byte characters: 505 bytes is 252 of them and half of
	 * the 253rd.  Expected: the message cut back to the 252 whole ones.
	 */
	msg[0] = '\0';
	for (i = 0; i < 300; i++)
		(void)strcat(msg, "\xc3\xa9");
	(void)snprintf(want, sizeof(want), "{\"response_1\":\"read: ");
	for (i = 0; i < 252; i++)
		(void)strcat(want, "\xc3\xa9");
	(void)strcat(want, "\"}");
	(void)check_json(__FILE__, __LINE__, &e, 1, want, strlen(want));

	/* A long kind alone is cut the same way. */
	memset(msg, 'k', 600);
	msg[600] = '\0';
	e.kind = msg;
	e.msg = NULL;
	memcpy(want, "{\"response_1\":\"", 15);
	memset(want + 15, 'k', 511);
	memcpy(want + 15 + 511, "\"}", 3);
	(void)check_json(__FILE__, __LINE__, &e, 1, want, strlen(want));
}
