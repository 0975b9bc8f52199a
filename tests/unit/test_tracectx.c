/*
 * tracectx_parse() and tracectx_state_ok(): valid and invalid
 * traceparent headers (the W3C rules), and the tracestates passed on.
 */

#include <string.h>

#include "tracectx.h"
#include "unit.h"

#define ID	"4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN	"00f067aa0ba902b7"
#define ZID	"00000000000000000000000000000000"
#define ZSPAN	"0000000000000000"

struct tp_case {
	int		 line;
	const char	*in;
	int		 ok;
	const char	*flags;
};

static const struct tp_case	tp_cases[] = {
	{ __LINE__, "00-" ID "-" SPAN "-01", 1, "01" },
	{ __LINE__, "00-" ID "-" SPAN "-00", 1, "00" },
	/* A later version: 55 characters, or more after a dash. */
	{ __LINE__, "01-" ID "-" SPAN "-09", 1, "09" },
	{ __LINE__, "cc-" ID "-" SPAN "-01-what-comes-next", 1, "01" },
	{ __LINE__, "cc-" ID "-" SPAN "-01x", 0, NULL },
	/* Version 00 is exactly 55 characters. */
	{ __LINE__, "00-" ID "-" SPAN "-01-", 0, NULL },
	{ __LINE__, "00-" ID "-" SPAN "-1", 0, NULL },
	{ __LINE__, "ff-" ID "-" SPAN "-01", 0, NULL },
	{ __LINE__, "00-" ZID "-" SPAN "-01", 0, NULL },
	{ __LINE__, "00-" ID "-" ZSPAN "-01", 0, NULL },
	/* Lower-case hex only, dashes in their places. */
	{ __LINE__, "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01", 0,
	    NULL },
	{ __LINE__, "00-" ID "-" SPAN "-0g", 0, NULL },
	{ __LINE__, "00_" ID "-" SPAN "-01", 0, NULL },
	{ __LINE__, "00-" ID "_" SPAN "-01", 0, NULL },
	{ __LINE__, "0x-" ID "-" SPAN "-01", 0, NULL },
	{ __LINE__, " 00-" ID "-" SPAN "-01", 0, NULL },
	{ __LINE__, "", 0, NULL },
	{ __LINE__, "00", 0, NULL },
};

struct ts_case {
	int		 line;
	const char	*in;
	int		 ok;
};

static const struct ts_case	ts_cases[] = {
	{ __LINE__, "vendor=abc", 1 },
	{ __LINE__, "a=1,b=2 ,c=3", 1 },
	{ __LINE__, "", 0 },
	{ __LINE__, "a=1\r\nx-injected: 1", 0 },
	{ __LINE__, "a=\x01", 0 },
	{ __LINE__, "a=\xc3\xa9", 0 },
};

void
test_tracectx(void)
{
	struct trace_ctx	ctx;
	char			big[TRACESTATE_MAX + 2];
	size_t			i;
	int			ok;

	for (i = 0; i < NELEM(tp_cases); i++) {
		memset(&ctx, 0, sizeof(ctx));
		ok = tracectx_parse(tp_cases[i].in, &ctx);
		CHECK(ok == tp_cases[i].ok, "line %d: %s gave %d",
		    tp_cases[i].line, unit_quote(tp_cases[i].in,
		    strlen(tp_cases[i].in)), ok);
		if (!ok || !tp_cases[i].ok)
			continue;
		unit_str(__FILE__, tp_cases[i].line, "trace id", ID,
		    ctx.trace_id);
		unit_str(__FILE__, tp_cases[i].line, "parent", SPAN,
		    ctx.parent_id);
		unit_str(__FILE__, tp_cases[i].line, "flags",
		    tp_cases[i].flags, ctx.flags);
	}

	for (i = 0; i < NELEM(ts_cases); i++) {
		ok = tracectx_state_ok(ts_cases[i].in);
		CHECK(ok == ts_cases[i].ok, "line %d: %s gave %d",
		    ts_cases[i].line, unit_quote(ts_cases[i].in,
		    strlen(ts_cases[i].in)), ok);
	}

	memset(big, 'a', sizeof(big) - 1);
	big[TRACESTATE_MAX] = '\0';
	CHECK(tracectx_state_ok(big), "512 bytes refused");
	big[TRACESTATE_MAX] = 'a';
	big[TRACESTATE_MAX + 1] = '\0';
	CHECK(!tracectx_state_ok(big), "513 bytes passed on");
}
