/*
 * qparam_parse(), qparam_get(), qparam_number(), qparam_urldecode() and
 * qparam_redact().
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "qparam.h"
#include "unit.h"

#define PAIRS_MAX	8

/*
 * One query string: the expected return, the exact error (return 0) and
 * the expected (name, value) pairs in order, NULL-terminated.
 */
struct parse_case {
	int		 line;
	const char	*qs;
	int		 ret;
	const char	*err;
	const char	*pairs[PAIRS_MAX * 2 + 1];
};

#define P(...)		{ __VA_ARGS__, NULL }
#define NOPAIRS		{ NULL }
#define EPCT		"malformed percent-encoding in the query string"

static const struct parse_case	parse_cases[] = {
	{ __LINE__, NULL, 1, NULL, NOPAIRS },
	{ __LINE__, "", 1, NULL, NOPAIRS },
	{ __LINE__, "&", 1, NULL, NOPAIRS },
	{ __LINE__, "&&&", 1, NULL, NOPAIRS },
	{ __LINE__, "=", 1, NULL, P("", "") },
	{ __LINE__, "==", 1, NULL, P("", "=") },
	{ __LINE__, "=1", 1, NULL, P("", "1") },
	{ __LINE__, "a", 1, NULL, P("a", "") },
	{ __LINE__, "a=", 1, NULL, P("a", "") },
	{ __LINE__, "a=1", 1, NULL, P("a", "1") },
	{ __LINE__, "a=1&b=2", 1, NULL, P("a", "1", "b", "2") },
	{ __LINE__, "&a=1&&b=2&", 1, NULL, P("a", "1", "b", "2") },
	{ __LINE__, "a&b", 1, NULL, P("a", "", "b", "") },
	{ __LINE__, "a=b=c", 1, NULL, P("a", "b=c") },
	{ __LINE__, "a=1;b=2", 1, NULL, P("a", "1;b=2") },
	{ __LINE__, "a+b=c+d", 1, NULL, P("a b", "c d") },
	{ __LINE__, "+=+", 1, NULL, P(" ", " ") },
	{ __LINE__, "a%20b=%41%62", 1, NULL, P("a b", "Ab") },
	{ __LINE__, "x=%2B", 1, NULL, P("x", "+") },
	{ __LINE__, "x=%2b%2F%3d%26", 1, NULL, P("x", "+/=&") },
	{ __LINE__, "x=%25", 1, NULL, P("x", "%") },
	{ __LINE__, "x=%2541", 1, NULL, P("x", "%41") },
	{ __LINE__, "a%3Db=1%263", 1, NULL, P("a=b", "1&3") },
	{ __LINE__, "x=%C3%A9", 1, NULL, P("x", "\xc3\xa9") },
	{ __LINE__, "x=%ff", 1, NULL, P("x", "\xff") },
	{ __LINE__, "x=%01%0a", 1, NULL, P("x", "\x01\n") },
	{ __LINE__, "x=\xc3\xa9", 1, NULL, P("x", "\xc3\xa9") },
	{ __LINE__, "calls=5&delay=100&_=1700000000", 1, NULL,
	    P("calls", "5", "delay", "100", "_", "1700000000") },

	/* Malformed percent-encoding, anywhere. */
	{ __LINE__, "%", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%4", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%4&y=1", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%&y", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%zz", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%g0", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%0g", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=% 1", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%+1", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%-1", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=%\xff\xff", 0, EPCT, NOPAIRS },
	{ __LINE__, "%zz=1", 0, EPCT, NOPAIRS },
	{ __LINE__, "%=1", 0, EPCT, NOPAIRS },
	{ __LINE__, "ok=1&x=%", 0, EPCT, NOPAIRS },

	/* A decoded NUL would cut the value short: rejected. */
	{ __LINE__, "x=%00", 0, EPCT, NOPAIRS },
	{ __LINE__, "x=a%00b", 0, EPCT, NOPAIRS },
	{ __LINE__, "%00=1", 0, EPCT, NOPAIRS },
	{ __LINE__, "a%00", 0, EPCT, NOPAIRS },

	/* Repeated names, compared after decoding. */
	{ __LINE__, "a=1&a=2", 0, "query parameter 'a' is given twice",
	    NOPAIRS },
	{ __LINE__, "a=1&a=1", 0, "query parameter 'a' is given twice",
	    NOPAIRS },
	{ __LINE__, "a&a", 0, "query parameter 'a' is given twice", NOPAIRS },
	{ __LINE__, "a=1&%61=2", 0, "query parameter 'a' is given twice",
	    NOPAIRS },
	{ __LINE__, "calls=1&delay=2&calls=3", 0,
	    "query parameter 'calls' is given twice", NOPAIRS },
	{ __LINE__, "A=1&a=2", 1, NULL, P("A", "1", "a", "2") },
	{ __LINE__, "a=1&a%20=2", 1, NULL, P("a", "1", "a ", "2") },
	{ __LINE__, "=1&=2", 0, "query parameter '' is given twice",
	    NOPAIRS },
	/* Names that are not plain are not echoed back. */
	{ __LINE__, "a+b=1&a%20b=2", 0, "a query parameter is given twice",
	    NOPAIRS },
	{ __LINE__, "%3Cscript%3E=1&<script>=2", 0,
	    "a query parameter is given twice", NOPAIRS },
	{ __LINE__, "A=1&A=2", 0, "a query parameter is given twice",
	    NOPAIRS },
	{ __LINE__, "%27=1&'=2", 0, "a query parameter is given twice",
	    NOPAIRS },
	{ __LINE__, "abcdefghijklmnopqrstuvwxyz_012345=1&"
	    "abcdefghijklmnopqrstuvwxyz_012345=2", 0,
	    "a query parameter is given twice", NOPAIRS },
	{ __LINE__, "abcdefghijklmnopqrstuvwxyz_01234=1&"
	    "abcdefghijklmnopqrstuvwxyz_01234=2", 0,
	    "query parameter 'abcdefghijklmnopqrstuvwxyz_01234' is given "
	    "twice", NOPAIRS },
};

static void	test_parse_table(void);
static void	test_parse_limits(void);
static void	test_get(void);
static void	test_number(void);
static void	test_urldecode(void);
static void	test_redact(void);
static void	test_only(void);

void
test_qparam(void)
{
	test_only();
	test_parse_table();
	test_parse_limits();
	test_get();
	test_number();
	test_urldecode();
	test_redact();
}

static void
test_parse_table(void)
{
	static struct qparams	 qp;
	const struct parse_case	*c;
	char			 err[QPARAM_ERR_MAX], what[160];
	size_t			 i, j, n;
	int			 r;

	for (i = 0; i < NELEM(parse_cases); i++) {
		c = &parse_cases[i];
		(void)strcpy(err, "untouched");
		r = qparam_parse(&qp, c->qs, err, sizeof(err));
		(void)snprintf(what, sizeof(what), "qparam_parse(%s) return",
		    c->qs == NULL ? "NULL" : unit_quote(c->qs, strlen(c->qs)));
		if (!unit_num(__FILE__, c->line, what, c->ret, r))
			continue;
		if (r == 0) {
			(void)unit_str(__FILE__, c->line, "qparam_parse err",
			    c->err, err);
			continue;
		}
		for (n = 0; c->pairs[n] != NULL; n++)
			;
		(void)unit_num(__FILE__, c->line, "qparam_parse n",
		    (long long)n / 2, (long long)qp.n);
		for (j = 0; j < qp.n && j < n / 2; j++) {
			(void)unit_str(__FILE__, c->line, "qparam_parse name",
			    c->pairs[j * 2], qp.name[j]);
			(void)unit_str(__FILE__, c->line, "qparam_parse value",
			    c->pairs[j * 2 + 1], qp.value[j]);
		}
	}
}

/* QPARAM_QS_MAX bytes and QPARAM_MAX parameters, and one more of each. */
static void
test_parse_limits(void)
{
	static struct qparams	qp;
	static char		qs[QPARAM_QS_MAX * 2];
	char			err[QPARAM_ERR_MAX];
	size_t			i, off;
	int			r;

	/* Exactly QPARAM_QS_MAX bytes: one long value. */
	memcpy(qs, "v=", 2);
	memset(qs + 2, 'x', QPARAM_QS_MAX - 2);
	qs[QPARAM_QS_MAX] = '\0';
	r = qparam_parse(&qp, qs, err, sizeof(err));
	CHECK(r == 1, "query string of %d bytes: returned %d (%s)",
	    QPARAM_QS_MAX, r, err);
	CHECK(r == 1 && qp.n == 1 && strlen(qp.value[0]) ==
	    QPARAM_QS_MAX - 2, "query string of %d bytes: value not kept",
	    QPARAM_QS_MAX);

	/* One byte more. */
	qs[QPARAM_QS_MAX] = 'x';
	qs[QPARAM_QS_MAX + 1] = '\0';
	r = qparam_parse(&qp, qs, err, sizeof(err));
	CHECK(r == 0, "query string of %d bytes: returned %d",
	    QPARAM_QS_MAX + 1, r);
	(void)unit_str(__FILE__, __LINE__, "long query string err",
	    "query string longer than 4096 bytes", err);
	CHECK(qp.n == 0, "long query string: n %zu", qp.n);

	/* Much longer, of separators only: still rejected on length. */
	memset(qs, '&', sizeof(qs) - 1);
	qs[sizeof(qs) - 1] = '\0';
	r = qparam_parse(&qp, qs, err, sizeof(err));
	CHECK(r == 0, "%zu '&': returned %d", sizeof(qs) - 1, r);

	/* Exactly QPARAM_MAX parameters, padded with empty ones. */
	off = 0;
	for (i = 0; i < QPARAM_MAX; i++)
		off += (size_t)snprintf(qs + off, sizeof(qs) - off,
		    "p%zu=%zu&&", i, i);
	r = qparam_parse(&qp, qs, err, sizeof(err));
	CHECK(r == 1 && qp.n == QPARAM_MAX,
	    "%d parameters: returned %d, n %zu (%s)", QPARAM_MAX, r, qp.n,
	    r ? "" : err);
	CHECK(r == 1 && qparam_get(&qp, "p31") != NULL &&
	    strcmp(qparam_get(&qp, "p31"), "31") == 0,
	    "%d parameters: the last one is lost", QPARAM_MAX);

	/* One more. */
	(void)snprintf(qs + off, sizeof(qs) - off, "p%d", QPARAM_MAX);
	r = qparam_parse(&qp, qs, err, sizeof(err));
	CHECK(r == 0, "%d parameters: returned %d", QPARAM_MAX + 1, r);
	(void)unit_str(__FILE__, __LINE__, "too many parameters err",
	    "more than 32 query parameters", err);

	/* Many distinct names without values. */
	memset(qs, 0, sizeof(qs));
	for (i = 0; i < 200; i++) {
		qs[i * 3] = 'a' + (char)(i / 26);
		qs[i * 3 + 1] = 'a' + (char)(i % 26);
		qs[i * 3 + 2] = '&';
	}
	r = qparam_parse(&qp, qs, err, sizeof(err));
	CHECK(r == 0, "200 bare names: returned %d", r);
	(void)unit_str(__FILE__, __LINE__, "200 bare names err",
	    "more than 32 query parameters", err);

	/* A short err buffer is truncated, not overrun. */
	r = qparam_parse(&qp, "x=%zz", err, 4);
	CHECK(r == 0 && strcmp(err, "mal") == 0,
	    "err buffer of 4: returned %d, err %s", r,
	    unit_quote(err, strlen(err)));

	/* The struct is reusable: a good parse after a failed one. */
	r = qparam_parse(&qp, "a=1", err, sizeof(err));
	CHECK(r == 1 && qp.n == 1 && strcmp(qp.value[0], "1") == 0,
	    "reuse after failure: returned %d, n %zu", r, qp.n);
	r = qparam_parse(&qp, "", err, sizeof(err));
	CHECK(r == 1 && qp.n == 0 && qparam_get(&qp, "a") == NULL,
	    "reuse with empty string: returned %d, n %zu", r, qp.n);
}

static void
test_only(void)
{
	static struct qparams	 qp;
	const char		*names[] = { "calls", "delay", NULL };
	const char		*none[] = { NULL };
	char			 err[QPARAM_ERR_MAX];
	int			 r;

	(void)qparam_parse(&qp, "calls=2&delay=5", err, sizeof(err));
	CHECK(qparam_only(&qp, names, err, sizeof(err)) == 1,
	    "qparam_only calls, delay: %s", err);
	(void)qparam_parse(&qp, "", err, sizeof(err));
	CHECK(qparam_only(&qp, none, err, sizeof(err)) == 1,
	    "qparam_only on nothing");
	(void)qparam_parse(&qp, "calls=2&cout=3", err, sizeof(err));
	r = qparam_only(&qp, names, err, sizeof(err));
	CHECK(r == 0, "qparam_only cout=3 returned %d", r);
	(void)unit_str(__FILE__, __LINE__, "qparam_only err",
	    "unknown parameter 'cout': accepted are calls, delay", err);
	(void)qparam_parse(&qp, "x=1", err, sizeof(err));
	r = qparam_only(&qp, none, err, sizeof(err));
	(void)unit_str(__FILE__, __LINE__, "qparam_only none err",
	    "unknown parameter 'x': accepted are", err);
	(void)qparam_parse(&qp, "calls=1&delay", err, sizeof(err));
	CHECK(qparam_only(&qp, names, err, 8) == 1, "value-less delay");
	(void)qparam_parse(&qp, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaa=1", err, sizeof(err));
	CHECK(qparam_only(&qp, names, err, 16) == 0 && strlen(err) == 15,
	    "a short err buffer: %s", err);
}

static void
test_get(void)
{
	static struct qparams	 qp;
	char			 err[QPARAM_ERR_MAX];
	const char		*v;
	int			 r;

	r = qparam_parse(&qp, "a=1&b&c=&d+e=%20", err, sizeof(err));
	CHECK(r == 1, "qparam_parse for get: returned %d (%s)", r, err);

	v = qparam_get(&qp, "a");
	(void)unit_str(__FILE__, __LINE__, "qparam_get a", "1", v);
	v = qparam_get(&qp, "b");
	(void)unit_str(__FILE__, __LINE__, "qparam_get b", "", v);
	v = qparam_get(&qp, "c");
	(void)unit_str(__FILE__, __LINE__, "qparam_get c", "", v);
	v = qparam_get(&qp, "d e");
	(void)unit_str(__FILE__, __LINE__, "qparam_get 'd e'", " ", v);
	v = qparam_get(&qp, "z");
	(void)unit_str(__FILE__, __LINE__, "qparam_get z", NULL, v);
	v = qparam_get(&qp, "");
	(void)unit_str(__FILE__, __LINE__, "qparam_get ''", NULL, v);
	v = qparam_get(&qp, "A");
	(void)unit_str(__FILE__, __LINE__, "qparam_get A", NULL, v);
	v = qparam_get(&qp, "d+e");
	(void)unit_str(__FILE__, __LINE__, "qparam_get d+e", NULL, v);

	r = qparam_parse(&qp, NULL, err, sizeof(err));
	CHECK(r == 1 && qparam_get(&qp, "a") == NULL,
	    "qparam_get after NULL query string");
}

struct number_case {
	int		 line;
	const char	*qs;
	const char	*name;
	long long	 def;
	long long	 min;
	long long	 max;
	int		 ret;
	long long	 out;
	const char	*err;
};

#define ENUM(n, lo, hi)	"invalid parameter '" n "': expected an integer " \
			    "from " #lo " to " #hi

static const struct number_case	number_cases[] = {
	/* Absent: the default, whatever the range says. */
	{ __LINE__, NULL, "calls", 3, 0, 100, 1, 3, NULL },
	{ __LINE__, "", "calls", 3, 0, 100, 1, 3, NULL },
	{ __LINE__, "delay=5", "calls", 3, 0, 100, 1, 3, NULL },
	{ __LINE__, "Calls=5", "calls", 3, 0, 100, 1, 3, NULL },
	{ __LINE__, "calls_=5", "calls", 3, 0, 100, 1, 3, NULL },

	/* In range, at the boundaries. */
	{ __LINE__, "calls=0", "calls", 3, 0, 100, 1, 0, NULL },
	{ __LINE__, "calls=100", "calls", 3, 0, 100, 1, 100, NULL },
	{ __LINE__, "calls=42&delay=7", "calls", 3, 0, 100, 1, 42, NULL },
	{ __LINE__, "calls=42&delay=7", "delay", 3, 0, 100, 1, 7, NULL },
	{ __LINE__, "calls=007", "calls", 3, 0, 100, 1, 7, NULL },
	{ __LINE__, "calls=%34%32", "calls", 3, 0, 100, 1, 42, NULL },
	{ __LINE__, "c%61lls=9", "calls", 3, 0, 100, 1, 9, NULL },
	{ __LINE__, "n=9223372036854775807", "n", 0, 0, LLONG_MAX, 1,
	    LLONG_MAX, NULL },

	/* Out of range, or not a plain decimal: the error names it. */
	{ __LINE__, "calls=101", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=0", "calls", 3, 1, 100, 0, 0,
	    ENUM("calls", 1, 100) },
	{ __LINE__, "calls=", "calls", 3, 0, 100, 0, 0, ENUM("calls", 0, 100) },
	{ __LINE__, "calls", "calls", 3, 0, 100, 0, 0, ENUM("calls", 0, 100) },
	{ __LINE__, "calls=-1", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=-0", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=%2B1", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=+1", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=%201", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=1%20", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=1+", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=%091", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=0x10", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=1e2", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=1.0", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=ten", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=99999999999999999999", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "calls=99999999999999999999", "calls", 3, 0, LLONG_MAX,
	    0, 0, ENUM("calls", 0, 9223372036854775807) },
	{ __LINE__, "calls=18446744073709551617", "calls", 3, 0, 100, 0, 0,
	    ENUM("calls", 0, 100) },
	{ __LINE__, "delay=30001", "delay", 0, 0, 30000, 0, 0,
	    ENUM("delay", 0, 30000) },
};

static void
test_number(void)
{
	static struct qparams		 qp;
	const struct number_case	*c;
	char				 err[QPARAM_ERR_MAX], what[160];
	long long			 out;
	size_t				 i;
	int				 r;

	for (i = 0; i < NELEM(number_cases); i++) {
		c = &number_cases[i];
		r = qparam_parse(&qp, c->qs, err, sizeof(err));
		CHECK(r == 1, "row %d: qparam_parse failed: %s", c->line, err);
		(void)strcpy(err, "untouched");
		out = -42;
		r = qparam_number(&qp, c->name, c->def, c->min, c->max, &out,
		    err, sizeof(err));
		(void)snprintf(what, sizeof(what), "qparam_number(%s, %s) "
		    "return", c->qs == NULL ? "NULL" :
		    unit_quote(c->qs, strlen(c->qs)), c->name);
		if (!unit_num(__FILE__, c->line, what, c->ret, r))
			continue;
		if (r == 1)
			(void)unit_num(__FILE__, c->line, "qparam_number out",
			    c->out, out);
		else
			(void)unit_str(__FILE__, c->line, "qparam_number err",
			    c->err, err);
	}
}

struct decode_case {
	int		 line;
	const char	*in;
	int		 ret;
	const char	*out;
};

static const struct decode_case	decode_cases[] = {
	{ __LINE__, "", 1, "" },
	{ __LINE__, "abc", 1, "abc" },
	{ __LINE__, "+", 1, " " },
	{ __LINE__, "a+b+", 1, "a b " },
	{ __LINE__, "%2B", 1, "+" },
	{ __LINE__, "%2b%2B", 1, "++" },
	{ __LINE__, "%41%42%43", 1, "ABC" },
	{ __LINE__, "%61bc%7A", 1, "abcz" },
	{ __LINE__, "%25%32%35", 1, "%25" },
	{ __LINE__, "%7f%80%FF", 1, "\x7f\x80\xff" },
	{ __LINE__, "%0A%0d%09", 1, "\n\r\t" },
	{ __LINE__, "%", 0, NULL },
	{ __LINE__, "%%", 0, NULL },
	{ __LINE__, "%%41", 0, NULL },
	{ __LINE__, "%4", 0, NULL },
	{ __LINE__, "a%4", 0, NULL },
	{ __LINE__, "%zz", 0, NULL },
	{ __LINE__, "%G1", 0, NULL },
	{ __LINE__, "%1G", 0, NULL },
	{ __LINE__, "%00", 0, NULL },
	{ __LINE__, "abc%00", 0, NULL },
	{ __LINE__, "%\xc3\xa9", 0, NULL },
};

static void
test_urldecode(void)
{
	const struct decode_case	*c;
	char				 buf[64], what[96];
	size_t				 i, len;
	int				 r;

	for (i = 0; i < NELEM(decode_cases); i++) {
		c = &decode_cases[i];
		/* Copy just the string, so ASan sees any read past it. */
		len = strlen(c->in);
		memset(buf, 0x5a, sizeof(buf));
		memcpy(buf, c->in, len + 1);
		r = qparam_urldecode(buf);
		(void)snprintf(what, sizeof(what), "qparam_urldecode(%s)",
		    unit_quote(c->in, len));
		if (!unit_num(__FILE__, c->line, what, c->ret, r))
			continue;
		if (r == 1)
			(void)unit_str(__FILE__, c->line, what, c->out, buf);
	}
}

struct redact_case {
	int		 line;
	const char	*in;
	size_t		 len;
	const char	*out;
};

#define R	"REDACTED"

static const struct redact_case	redact_cases[] = {
	{ __LINE__, "", 64, "" },
	{ __LINE__, "no key here", 64, "no key here" },
	{ __LINE__, "http://h/stats?product=p01&api_key=s3cr%2Ft", 64,
	    "http://h/stats?product=p01&api_key=" R },
	{ __LINE__, "http://h/s?api_key=abc&product=p01", 64,
	    "http://h/s?api_key=" R "&product=p01" },
	{ __LINE__, "?api_key=a&api_key=b#frag", 64,
	    "?api_key=" R "&api_key=" R "#frag" },
	{ __LINE__, "?API_Key=abc", 64, "?API_Key=" R },
	{ __LINE__, "?api_key=", 64, "?api_key=" R },
	{ __LINE__, "url 'x?api_key=abc' failed", 64,
	    "url 'x?api_key=" R "' failed" },
	{ __LINE__, "x?api_key=ab cd", 64, "x?api_key=" R " cd" },
	{ __LINE__, "x?api_key=ab\ncd", 64, "x?api_key=" R "\ncd" },
	{ __LINE__, "api_key", 64, "api_key" },
	{ __LINE__, "api_keyx=1", 64, "api_keyx=1" },
	/* Cut short: never a piece of the value. */
	{ __LINE__, "?api_key=secret", 10, "?" },
	{ __LINE__, "?api_key=secret", 18, "?api_key=" R },
	{ __LINE__, "?api_key=secret", 17, "?" },
	{ __LINE__, "abcdef", 4, "abc" },
	{ __LINE__, "abcdef", 1, "" },
};

static void
test_redact(void)
{
	const struct redact_case	*c;
	char				 buf[64], what[96];
	size_t				 i;

	for (i = 0; i < NELEM(redact_cases); i++) {
		c = &redact_cases[i];
		memset(buf, 0x5a, sizeof(buf));
		qparam_redact(c->in, "api_key", buf, c->len);
		(void)snprintf(what, sizeof(what), "qparam_redact(%s, %zu)",
		    unit_quote(c->in, strlen(c->in)), c->len);
		(void)unit_str(__FILE__, c->line, what, c->out, buf);
		CHECK(c->len == sizeof(buf) || buf[c->len] == 0x5a,
		    "%s wrote past its buffer", what);
	}
}
