/*
 * demo_json(): the envelope, {"response_1":200,...} with error strings,
 * and the errors list, compared as exact bytes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demojson.h"
#include "unit.h"

#define DEMO_ENTRIES_MAX	4
#define DEMO_WANT_MAX		80000

/*
 * The members between the envelope and "errors", and the errors list's
 * contents; check_json() adds the rest.
 */
struct json_case {
	int			 line;
	size_t			 n;
	struct demo_entry	 e[DEMO_ENTRIES_MAX];
	const char		*responses;
	const char		*errors;
};

/* One failed call: its response_1 value is also its error text. */
#define ONE(v)	"\"response_1\":" v, "{\"error\":" v ",\"call\":1}"

static const struct json_case	json_cases[] = {
	{ __LINE__, 0, { { 0, NULL, NULL } }, "", "" },
	{ __LINE__, 1, { { 200, NULL, NULL } }, "\"response_1\":200", "" },
	{ __LINE__, 2, { { 204, NULL, NULL }, { 299, NULL, NULL } },
	    "\"response_1\":204,\"response_2\":299", "" },
	/* Statuses outside 2xx are the blog's numbers, and errors. */
	{ __LINE__, 3, { { 200, NULL, NULL }, { 404, NULL, NULL },
	    { 503, NULL, NULL } },
	    "\"response_1\":200,\"response_2\":404,\"response_3\":503",
	    "{\"error\":\"upstream answered 404\",\"call\":2},"
	    "{\"error\":\"upstream answered 503\",\"call\":3}" },
	{ __LINE__, 2, { { 100, "ignored", "ignored" },
	    { 599, "ignored", NULL } },
	    "\"response_1\":100,\"response_2\":599",
	    "{\"error\":\"upstream answered 100\",\"call\":1},"
	    "{\"error\":\"upstream answered 599\",\"call\":2}" },

	/* No HTTP answer: "kind: message", or the kind alone. */
	{ __LINE__, 1, { { 0, "timeout", "after 10000 ms" } },
	    ONE("\"timeout: after 10000 ms\"") },
	{ __LINE__, 1, { { 0, "timeout", "" } }, ONE("\"timeout\"") },
	{ __LINE__, 1, { { 0, "timeout", NULL } }, ONE("\"timeout\"") },
	{ __LINE__, 1, { { 0, "", NULL } }, ONE("\"\"") },
	{ __LINE__, 3, { { 200, NULL, NULL },
	    { 0, "connect", "Connection refused" }, { 502, NULL, NULL } },
	    "\"response_1\":200,\"response_2\":\"connect: Connection "
	    "refused\",\"response_3\":502",
	    "{\"error\":\"connect: Connection refused\",\"call\":2},"
	    "{\"error\":\"upstream answered 502\",\"call\":3}" },

	/* Escaping: quotes, backslashes, controls; '/' stays as it is. */
	{ __LINE__, 1, { { 0, "read", "say \"hi\"" } },
	    ONE("\"read: say \\\"hi\\\"\"") },
	{ __LINE__, 1, { { 0, "read", "a\\b" } }, ONE("\"read: a\\\\b\"") },
	{ __LINE__, 1, { { 0, "read", "line1\nline2\r\n\ttab" } },
	    ONE("\"read: line1\\nline2\\r\\n\\ttab\"") },
	{ __LINE__, 1, { { 0, "read", "\x01\x1f\b\f" } },
	    ONE("\"read: \\u0001\\u001F\\b\\f\"") },
	{ __LINE__, 1, { { 0, "read", "</script><script>alert(1)</script>" } },
	    ONE("\"read: </script><script>alert(1)</script>\"") },
	{ __LINE__, 1, { { 0, "http/2", "a/b" } }, ONE("\"http/2: a/b\"") },
	{ __LINE__, 1, { { 0, "read",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" } },
	    ONE("\"read: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"") },

	/* Invalid UTF-8 in the message: the kind alone. */
	{ __LINE__, 1, { { 0, "read", "bad \xff byte" } }, ONE("\"read\"") },
	{ __LINE__, 1, { { 0, "read", "cut \xc3" } }, ONE("\"read\"") },
	{ __LINE__, 1, { { 0, "read", "\x80" } }, ONE("\"read\"") },
	{ __LINE__, 1, { { 0, "read", "\xe2\x82" } }, ONE("\"read\"") },
	{ __LINE__, 2, { { 0, "read", "\xfe\xfe" }, { 204, NULL, NULL } },
	    "\"response_1\":\"read\",\"response_2\":204",
	    "{\"error\":\"read\",\"call\":1}" },
	/* Overlong, surrogate and past U+10FFFF are not UTF-8 either. */
	{ __LINE__, 1, { { 0, "read", "<\xc0\xafscript>" } }, ONE("\"read\"") },
	{ __LINE__, 1, { { 0, "read", "\xed\xa0\x80" } }, ONE("\"read\"") },
	{ __LINE__, 1, { { 0, "read", "\xf4\x90\x80\x80" } },
	    ONE("\"read\"") },
};

static void	test_json_table(void);
static void	test_json_envelope(void);
static void	test_json_many(void);
static void	test_json_long(void);
static void	check_long(int, const struct demo_entry *, const char *);
static int	check_json(const char *, int, const struct demo_entry *,
		    size_t, const char *, const char *);

void
test_demojson(void)
{
	test_json_table();
	test_json_envelope();
	test_json_many();
	test_json_long();
}

/*
 * demo_json() for n entries against the whole document: the envelope of
 * n calls (partial exactly when there are errors), the responses, the
 * errors.  The envelope given says partial and 9 calls cached, to show
 * that partial comes from the entries and the rest is passed through.
 */
static int
check_json(const char *file, int line, const struct demo_entry *e, size_t n,
    const char *responses, const char *errors)
{
	static char		 want[DEMO_WANT_MAX];
	struct envelope		 env = { "async", 12.34, 0, 9, 1 };
	char			*out;
	size_t			 len;
	int			 ok;

	env.upstream_calls = n;
	(void)snprintf(want, sizeof(want), "{\"mode\":\"async\","
	    "\"elapsed_ms\":12.3,\"upstream_calls\":%zu,\"from_cache\":9,"
	    "\"partial\":%s,%s%s\"errors\":[%s]}", n,
	    errors[0] != '\0' ? "true" : "false", responses,
	    responses[0] != '\0' ? "," : "", errors);

	len = (size_t)-1;
	out = demo_json(&env, e, n, &len);
	ok = unit_mem(file, line, "demo_json", want, strlen(want), out,
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
		(void)check_json(__FILE__, c->line, c->e, c->n, c->responses,
		    c->errors);
	}
}

/* The envelope as given, exactly: sync, no calls, nothing cached. */
static void
test_json_envelope(void)
{
	struct envelope	 env = { "sync", 0.04, 0, 0, 0 };
	const char	*want = "{\"mode\":\"sync\",\"elapsed_ms\":0.0,"
			    "\"upstream_calls\":0,\"from_cache\":0,"
			    "\"partial\":false,\"errors\":[]}";
	char		*out;
	size_t		 len;

	out = demo_json(&env, NULL, 0, &len);
	(void)unit_mem(__FILE__, __LINE__, "calls=0", want, strlen(want),
	    out, out != NULL ? len : 0);
	free(out);
}

/* Keys past response_9, and many entries. */
static void
test_json_many(void)
{
	static struct demo_entry	 e[1000];
	static char			 resp[DEMO_WANT_MAX];
	static char			 errs[DEMO_WANT_MAX];
	size_t				 i, roff, eoff;

	roff = eoff = 0;
	for (i = 0; i < NELEM(e); i++) {
		if (i % 7 == 3) {
			e[i].status = 0;
			e[i].kind = "timeout";
			e[i].msg = "slow";
			roff += (size_t)snprintf(resp + roff,
			    sizeof(resp) - roff, "%s\"response_%zu\":"
			    "\"timeout: slow\"", i ? "," : "", i + 1);
			eoff += (size_t)snprintf(errs + eoff,
			    sizeof(errs) - eoff, "%s{\"error\":\"timeout: "
			    "slow\",\"call\":%zu}", eoff ? "," : "", i + 1);
		} else {
			e[i].status = 200 + (long)(i % 5);
			roff += (size_t)snprintf(resp + roff,
			    sizeof(resp) - roff, "%s\"response_%zu\":%ld",
			    i ? "," : "", i + 1, e[i].status);
		}
		if (i == 11) {
			(void)check_json(__FILE__, __LINE__, e, 12, resp,
			    errs);
		}
	}
	(void)check_json(__FILE__, __LINE__, e, NELEM(e), resp, errs);
}

/* One failed call e whose response_1 and error text are "val". */
static void
check_long(int line, const struct demo_entry *e, const char *val)
{
	static char	resp[DEMO_WANT_MAX], errs[DEMO_WANT_MAX];

	(void)snprintf(resp, sizeof(resp), "\"response_1\":\"%s\"", val);
	(void)snprintf(errs, sizeof(errs), "{\"error\":\"%s\",\"call\":1}",
	    val);
	(void)check_json(__FILE__, line, e, 1, resp, errs);
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
	(void)snprintf(want, sizeof(want), "read: %s", msg);
	check_long(__LINE__, &e, want);

	/* 1000 bytes: cut to 505. */
	memset(msg, 'a', 1000);
	msg[1000] = '\0';
	check_long(__LINE__, &e, want);

	/* Cut where every byte needs escaping: still 505 source bytes. */
	memset(msg, '"', 1000);
	(void)snprintf(want, sizeof(want), "read: ");
	for (i = 0; i < 505; i++)
		(void)strcat(want, "\\\"");
	check_long(__LINE__, &e, want);

	/*
	 * 300 two-byte characters: 505 bytes is 252 of them and half of
	 * the 253rd.  Expected: the message cut back to the 252 whole ones.
	 */
	msg[0] = '\0';
	for (i = 0; i < 300; i++)
		(void)strcat(msg, "\xc3\xa9");
	(void)snprintf(want, sizeof(want), "read: ");
	for (i = 0; i < 252; i++)
		(void)strcat(want, "\xc3\xa9");
	check_long(__LINE__, &e, want);

	/* A long kind alone is cut the same way. */
	memset(msg, 'k', 600);
	msg[600] = '\0';
	e.kind = msg;
	e.msg = NULL;
	memset(want, 'k', 511);
	want[511] = '\0';
	check_long(__LINE__, &e, want);
}
