/*
 * product_id_ok(), product_list_parse(), product_list_check(),
 * analytics_parse(), partner_parse(), retry_after_parse() and
 * url_encode(): the stats page's sources, as data.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "partner.h"
#include "unit.h"

#define ERR_LEN		256

/* A string literal and its length (it may hold NUL bytes). */
#define B(s)		s, sizeof(s) - 1

#define S10		"abcdefghij"
#define S32		S10 S10 S10 "kl"
#define S33		S32 "m"

#define EIDLEN		"product ids are 1 to 32 characters, comma-separated"
#define EIDCH		"product ids use only a-z, 0-9, '-' and '_'"
#define ETWICE(id)	"product '" id "' is listed twice"
#define EMANY(n)	"at most " #n " products"

#define EEMPTY		"empty document"
#define EJSON		"malformed JSON"
#define EPRODUCTS	"missing or invalid field 'products'"
#define EFIELD(f)	"missing or invalid '" f "'"

struct id_case {
	int		 line;
	const char	*id;
	int		 ok;
};

static const struct id_case	id_cases[] = {
	{ __LINE__, "a", 1 },
	{ __LINE__, "p01", 1 },
	{ __LINE__, "0", 1 },
	{ __LINE__, "-", 1 },
	{ __LINE__, "_", 1 },
	{ __LINE__, "a-b_c-0123456789", 1 },
	{ __LINE__, "abcdefghijklmnopqrstuvwxyz", 1 },
	{ __LINE__, "err503-x", 1 },
	{ __LINE__, S32, 1 },
	{ __LINE__, "", 0 },
	{ __LINE__, S33, 0 },
	{ __LINE__, S32 S32, 0 },
	{ __LINE__, "A", 0 },
	{ __LINE__, "p01A", 0 },
	{ __LINE__, "P01", 0 },
	{ __LINE__, "a b", 0 },
	{ __LINE__, " a", 0 },
	{ __LINE__, "a ", 0 },
	{ __LINE__, "a.b", 0 },
	{ __LINE__, "..", 0 },
	{ __LINE__, "a/b", 0 },
	{ __LINE__, "a%20b", 0 },
	{ __LINE__, "a,b", 0 },
	{ __LINE__, "a&b", 0 },
	{ __LINE__, "a=b", 0 },
	{ __LINE__, "a+b", 0 },
	{ __LINE__, "a'b", 0 },
	{ __LINE__, "a\"b", 0 },
	{ __LINE__, "a<b", 0 },
	{ __LINE__, "a\\b", 0 },
	{ __LINE__, "a\tb", 0 },
	{ __LINE__, "a\nb", 0 },
	{ __LINE__, "a\x7f", 0 },
	{ __LINE__, "caf\xc3\xa9", 0 },
	{ __LINE__, "\xff", 0 },
};

#define IDS_MAX		8
#define IDS(...)	{ __VA_ARGS__, NULL }
#define NOIDS		{ NULL }

/*
 * A list, the room given (max; out is an exactly-sized heap array, or
 * NULL when max is -1), the expected count, the exact error on 0 and the
 * ids on success.
 */
struct list_case {
	int		 line;
	const char	*list;
	int		 max;
	size_t		 ret;
	const char	*err;
	const char	*ids[IDS_MAX + 1];
};

static const struct list_case	list_cases[] = {
	{ __LINE__, "a", 1, 1, NULL, IDS("a") },
	{ __LINE__, "a", -1, 1, NULL, NOIDS },
	{ __LINE__, "p01,p02,p03", 3, 3, NULL, IDS("p01", "p02", "p03") },
	{ __LINE__, "p01,p02,p03", 100, 3, NULL, IDS("p01", "p02", "p03") },
	{ __LINE__, "p01,p02,p03", -1, 3, NULL, NOIDS },
	{ __LINE__, "b,a", 2, 2, NULL, IDS("b", "a") },
	{ __LINE__, "a-1,b_2,-,_", 4, 4, NULL, IDS("a-1", "b_2", "-", "_") },
	{ __LINE__, S32 ",x", 2, 2, NULL, IDS(S32, "x") },
	{ __LINE__, "x," S32, 2, 2, NULL, IDS("x", S32) },
	{ __LINE__, "a,ab,abc", 3, 3, NULL, IDS("a", "ab", "abc") },
	{ __LINE__, "abc,ab,a", 3, 3, NULL, IDS("abc", "ab", "a") },

	/* Empty list, empty items. */
	{ __LINE__, "", 4, 0, EIDLEN, NOIDS },
	{ __LINE__, "", -1, 0, EIDLEN, NOIDS },
	{ __LINE__, ",", 4, 0, EIDLEN, NOIDS },
	{ __LINE__, ",a", 4, 0, EIDLEN, NOIDS },
	{ __LINE__, "a,", 4, 0, EIDLEN, NOIDS },
	{ __LINE__, "a,", -1, 0, EIDLEN, NOIDS },
	{ __LINE__, "a,,b", 4, 0, EIDLEN, NOIDS },
	{ __LINE__, ",,", 4, 0, EIDLEN, NOIDS },

	/* Length. */
	{ __LINE__, S33, 4, 0, EIDLEN, NOIDS },
	{ __LINE__, S33, -1, 0, EIDLEN, NOIDS },
	{ __LINE__, "a," S33, 4, 0, EIDLEN, NOIDS },
	{ __LINE__, S33 ",a", 4, 0, EIDLEN, NOIDS },
	{ __LINE__, S32 S32 S32 S32, 4, 0, EIDLEN, NOIDS },

	/* Characters. */
	{ __LINE__, "A", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a,B", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a,B", -1, 0, EIDCH, NOIDS },
	{ __LINE__, "a b", 4, 0, EIDCH, NOIDS },
	{ __LINE__, " a", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a ", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a, b", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a.b", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "../etc", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a/b", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a%2Cb", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a;b", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a&api_key=x", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "caf\xc3\xa9", 4, 0, EIDCH, NOIDS },
	{ __LINE__, "a\nb", 4, 0, EIDCH, NOIDS },
	/* The first bad item decides. */
	{ __LINE__, "A," S33, 4, 0, EIDCH, NOIDS },
	{ __LINE__, S33 ",A", 4, 0, EIDLEN, NOIDS },
	{ __LINE__, "a,a,B", 4, 0, ETWICE("a"), NOIDS },
	{ __LINE__, "B,a,a", 4, 0, EIDCH, NOIDS },

	/* Duplicates. */
	{ __LINE__, "a,a", 4, 0, ETWICE("a"), NOIDS },
	{ __LINE__, "a,b,a", 4, 0, ETWICE("a"), NOIDS },
	{ __LINE__, "a,b,a", -1, 0, ETWICE("a"), NOIDS },
	{ __LINE__, "a,b,c,d,b", 8, 0, ETWICE("b"), NOIDS },
	{ __LINE__, "p01,p02,p02,p01", 8, 0, ETWICE("p02"), NOIDS },
	{ __LINE__, S32 "," S32, 4, 0, ETWICE(S32), NOIDS },
	{ __LINE__, "ab,a,b", 4, 3, NULL, IDS("ab", "a", "b") },

	/* More than max, when out is given. */
	{ __LINE__, "a,b", 1, 0, EMANY(1), NOIDS },
	{ __LINE__, "a,b,c,d", 3, 0, EMANY(3), NOIDS },
	{ __LINE__, "a,b,c", 3, 3, NULL, IDS("a", "b", "c") },
	{ __LINE__, "a", 0, 0, EMANY(0), NOIDS },
	/* Without out, max does not count. */
	{ __LINE__, "a,b,c,d", -1, 4, NULL, NOIDS },
};

#define IDS_N		3

/* One analytics_parse() row: found, views, visitors. */
struct arow {
	int		found;
	long long	views;
	long long	visitors;
};

#define ROW(v, u)	{ 1, v, u }
#define ABSENT		{ 0, 0, 0 }
#define UNREAD		{ -1, 0, 0 }
#define NOROWS		{ ABSENT, ABSENT, ABSENT }
#define UNREAD1		{ UNREAD, ABSENT, ABSENT }

/*
 * A body for the ids "p01", "p02", "p03": the expected return, the exact
 * error and the rows (views and visitors checked when found is 1).
 */
struct analytics_case {
	int		 line;
	const char	*body;
	size_t		 len;
	int		 ret;
	const char	*err;
	struct arow	 rows[IDS_N];
};

#define DOC(p)		"{\"products\":{" p "}}"
#define VV(v, u)	"{\"views\":" #v ",\"visitors\":" #u "}"
#define P01(x)		DOC("\"p01\":" x)

static const struct analytics_case	analytics_cases[] = {
	{ __LINE__, B(DOC("\"p01\":" VV(10, 3) ",\"p02\":" VV(20, 4) ","
	    "\"p03\":" VV(30, 5))), 1, NULL,
	    { ROW(10, 3), ROW(20, 4), ROW(30, 5) } },
	/* Order in the document does not matter. */
	{ __LINE__, B(DOC("\"p03\":" VV(30, 5) ",\"p01\":" VV(10, 3) ","
	    "\"p02\":" VV(20, 4))), 1, NULL,
	    { ROW(10, 3), ROW(20, 4), ROW(30, 5) } },
	{ __LINE__, B(DOC("")), 1, NULL, NOROWS },
	{ __LINE__, B(DOC("\"p04\":" VV(1, 1))), 1, NULL, NOROWS },
	{ __LINE__, B(DOC("\"p02\":" VV(0, 0))), 1, NULL,
	    { ABSENT, ROW(0, 0), ABSENT } },
	{ __LINE__, B(P01("{\"visitors\":7,\"views\":8}")), 1, NULL,
	    { ROW(8, 7), ABSENT, ABSENT } },
	{ __LINE__, B(P01(VV(9223372036854775807, 1))), 1, NULL,
	    { ROW(9223372036854775807LL, 1), ABSENT, ABSENT } },
	{ __LINE__, B(P01(VV(-0, 0))), 1, NULL,
	    { ROW(0, 0), ABSENT, ABSENT } },
	/* Ids are case-sensitive, compared after unescaping. */
	{ __LINE__, B(DOC("\"P01\":" VV(1, 1))), 1, NULL, NOROWS },
	{ __LINE__, B(DOC("\"p\\u00301\":" VV(1, 2))), 1, NULL,
	    { ROW(1, 2), ABSENT, ABSENT } },
	{ __LINE__, B(DOC("\"p01 \":" VV(1, 2))), 1, NULL, NOROWS },
	/* Extra fields anywhere are ignored. */
	{ __LINE__, B("{\"generated\":\"now\",\"products\":{\"p01\":{\"views\":"
	    "1,\"visitors\":2,\"bounce\":0.5,\"tags\":[\"a\",{}]},\"x\":null},"
	    "\"z\":[1,2]}"), 1, NULL, { ROW(1, 2), ABSENT, ABSENT } },
	{ __LINE__, B(" \n{ \"products\" : { \"p02\" : { \"views\" : 5 , "
	    "\"visitors\" : 6 } } }\n"), 1, NULL,
	    { ABSENT, ROW(5, 6), ABSENT } },
	/* The first of two keys wins (yajl_tree_get). */
	{ __LINE__, B(DOC("\"p01\":" VV(1, 1) ",\"p01\":" VV(2, 2))), 1, NULL,
	    { ROW(1, 1), ABSENT, ABSENT } },

	/* Present but unreadable: per product, the others still count. */
	{ __LINE__, B(P01("{\"visitors\":1}")), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01("{\"views\":1}")), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01("{}")), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(-1, 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(1, -1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(1.5, 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(1, 1.0))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(1e2, 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV("1", 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(1, "1"))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(null, 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(true, 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV([1], 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV({}, 1))), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01(VV(9223372036854775808, 1))), 1, NULL,
	    UNREAD1 },
	{ __LINE__, B(P01("{\"Views\":1,\"visitors\":1}")), 1, NULL,
	    UNREAD1 },
	{ __LINE__, B(DOC("\"p01\":" VV(1, -1) ",\"p02\":" VV(2, 3) ","
	    "\"p03\":{}")), 1, NULL, { UNREAD, ROW(2, 3), UNREAD } },

	/*
	 * A product whose entry is there but is not an object is unreadable
	 * data (-1), not absent (0).
	 */
	{ __LINE__, B(P01("null")), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01("5")), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01("\"x\"")), 1, NULL, UNREAD1 },
	{ __LINE__, B(P01("[10,3]")), 1, NULL, UNREAD1 },

	/* Whole-document errors. */
	{ __LINE__, "", 0, 0, EEMPTY, NOROWS },
	{ __LINE__, DOC(""), 0, 0, EEMPTY, NOROWS },
	{ __LINE__, B(" "), 0, EJSON, NOROWS },
	{ __LINE__, B("{"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"products\":{}"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"products\":{},}"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"products\":{\"p01\":" VV(1, 1) ",}}"), 0, EJSON,
	    NOROWS },
	{ __LINE__, B("{products:{}}"), 0, EJSON, NOROWS },
	{ __LINE__, B("{'products':{}}"), 0, EJSON, NOROWS },
	{ __LINE__, B(DOC("") "x"), 0, EJSON, NOROWS },
	{ __LINE__, B(DOC("") DOC("")), 0, EJSON, NOROWS },
	{ __LINE__, B(P01(VV(01, 1))), 0, EJSON, NOROWS },
	{ __LINE__, B(P01(VV(NaN, 1))), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"products\":{\"p01\":" VV(1, 1) "\xff}}"), 0, EJSON,
	    NOROWS },
	{ __LINE__, B("{\"products\":{\"p\xff\":" VV(1, 1) "}}"), 0, EJSON,
	    NOROWS },
	/* A NUL byte, anywhere. */
	{ __LINE__, B("\0"), 0, EJSON, NOROWS },
	{ __LINE__, B(DOC("") "\0"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"products\":{\"p01\":" VV(1, 1) "}\0}"), 0, EJSON,
	    NOROWS },
	{ __LINE__, B(DOC("\"p0\0001\":" VV(1, 1))), 0, EJSON, NOROWS },
	/* The top level is an object. */
	{ __LINE__, B("[]"), 0, EJSON, NOROWS },
	{ __LINE__, B("[" DOC("\"p01\":" VV(1, 1)) "]"), 0, EJSON, NOROWS },
	{ __LINE__, B("null"), 0, EJSON, NOROWS },
	{ __LINE__, B("1"), 0, EJSON, NOROWS },
	{ __LINE__, B("\"products\""), 0, EJSON, NOROWS },
	/* "products" there and an object. */
	{ __LINE__, B("{}"), 0, EPRODUCTS, NOROWS },
	{ __LINE__, B("{\"p01\":" VV(1, 1) "}"), 0, EPRODUCTS, NOROWS },
	{ __LINE__, B("{\"Products\":{}}"), 0, EPRODUCTS, NOROWS },
	{ __LINE__, B("{\"products\":null}"), 0, EPRODUCTS, NOROWS },
	{ __LINE__, B("{\"products\":[]}"), 0, EPRODUCTS, NOROWS },
	{ __LINE__, B("{\"products\":[{\"p01\":" VV(1, 1) "}]}"), 0, EPRODUCTS,
	    NOROWS },
	{ __LINE__, B("{\"products\":\"p01\"}"), 0, EPRODUCTS, NOROWS },
	{ __LINE__, B("{\"products\":1}"), 0, EPRODUCTS, NOROWS },
	{ __LINE__, B("{\"data\":{\"products\":{\"p01\":" VV(1, 1) "}}}"), 0,
	    EPRODUCTS, NOROWS },

	/* Nesting: the document is level 1, the limit is 8. */
	{ __LINE__, B("{\"products\":{\"p01\":{\"views\":1,\"visitors\":2,"
	    "\"x\":[[[[[]]]]]}}}"), 1, NULL, { ROW(1, 2), ABSENT, ABSENT } },
	{ __LINE__, B("{\"products\":{\"p01\":{\"views\":1,\"visitors\":2,"
	    "\"x\":[[[[[[]]]]]]}}}"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{}}}}}}},\"products\":{}}"), 1, NULL, NOROWS },
	{ __LINE__, B("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{}}}}}}}}},\"products\":{}}"), 0, EJSON, NOROWS },
	{ __LINE__, B("[[[[[[[[["), 0, EJSON, NOROWS },
	/* Siblings do not add up. */
	{ __LINE__, B("{\"x\":[[[[[[[]]]]]]],\"y\":[[[[[[[]]]]]]],"
	    "\"products\":{}}"), 1, NULL, NOROWS },
	/* Brackets inside strings do not count, escaped quotes included. */
	{ __LINE__, B("{\"x\":\"[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{\","
	    "\"products\":{\"p01\":" VV(1, 2) "}}"), 1, NULL,
	    { ROW(1, 2), ABSENT, ABSENT } },
	{ __LINE__, B("{\"x\":\"\\\"[[[[[[[[[[[[[[[\\\"\",\"products\":{}}"), 1,
	    NULL, NOROWS },
	{ __LINE__, B("{\"[[[[[[[[[[\":1,\"products\":{\"p01\":" VV(1, 2) "}}"),
	    1, NULL, { ROW(1, 2), ABSENT, ABSENT } },
	/* An escaped backslash ends the escape: the quote closes. */
	{ __LINE__, B("{\"x\":\"\\\\\",\"y\":[[[[[[[[]]]]]]]],"
	    "\"products\":{}}"), 0, EJSON, NOROWS },
	/* A slash in a string is fine, escaped or not. */
	{ __LINE__, B("{\"url\":\"http://x/y\",\"u\":\"\\/\",\"products\":{}}"),
	    1, NULL, NOROWS },
	/* Comments (yajl would take them) are refused before yajl. */
	{ __LINE__, B("/* c */" DOC("\"p01\":" VV(1, 2))), 0, EJSON, NOROWS },
	{ __LINE__, B(DOC("\"p01\":" VV(1, 2)) "// c"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"products\":{\"p01\":/* \" */" VV(1, 2) "}}"), 0,
	    EJSON, NOROWS },
	{ __LINE__, B("{\"x\":/*\"*/[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"
	    "/*\"*/,\"products\":{}}"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"x\":// \"\n[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"
	    "// \"\n,\"products\":{}}"), 0, EJSON, NOROWS },
	{ __LINE__, B("{\"products\":{}}/"), 0, EJSON, NOROWS },
};

/* A body: the expected return, the exact error and the row on success. */
struct partner_case {
	int		 line;
	const char	*body;
	size_t		 len;
	int		 ret;
	const char	*err;
	long long	 sales;
	long long	 clicks;
	double		 revenue;
	double		 conversion;
};

#define PBAD		0, 0, 0.0, 0.0

/* A partner answer with one field given as "name":value, or left out. */
#define WITH_SALES(v)	"{\"sales\":" v ",\"clicks\":2,\"revenue\":3.5," \
			"\"conversion\":0.25}"
#define WITH_CLICKS(v)	"{\"sales\":1,\"clicks\":" v ",\"revenue\":3.5," \
			"\"conversion\":0.25}"
#define WITH_REV(v)	"{\"sales\":1,\"clicks\":2,\"revenue\":" v "," \
			"\"conversion\":0.25}"
#define WITH_CONV(v)	"{\"sales\":1,\"clicks\":2,\"revenue\":3.5," \
			"\"conversion\":" v "}"
#define GOOD_REST	1, 2, 3.5, 0.25

static const struct partner_case	partner_cases[] = {
	{ __LINE__, B("{\"product\":\"p01\",\"sales\":91,\"revenue\":25562.29,"
	    "\"clicks\":14088,\"conversion\":0.7295}"), 1, NULL, 91, 14088,
	    25562.29, 0.7295 },
	{ __LINE__, B(WITH_SALES("1")), 1, NULL, GOOD_REST },
	{ __LINE__, B("{\"sales\":0,\"clicks\":0,\"revenue\":0,"
	    "\"conversion\":0}"), 1, NULL, 0, 0, 0.0, 0.0 },
	{ __LINE__, B("{\"sales\":0,\"clicks\":0,\"revenue\":0.0,"
	    "\"conversion\":0.0}"), 1, NULL, 0, 0, 0.0, 0.0 },
	{ __LINE__, B(WITH_REV("12")), 1, NULL, 1, 2, 12.0, 0.25 },
	{ __LINE__, B(WITH_REV("1e3")), 1, NULL, 1, 2, 1000.0, 0.25 },
	{ __LINE__, B(WITH_REV("1.25E2")), 1, NULL, 1, 2, 125.0, 0.25 },
	{ __LINE__, B(WITH_REV("999999999999999")), 1, NULL, 1, 2,
	    999999999999999.0, 0.25 },
	{ __LINE__, B(WITH_REV("999999999999999.5")), 1, NULL, 1, 2,
	    999999999999999.5, 0.25 },
	{ __LINE__, B(WITH_REV("-0")), 1, NULL, 1, 2, 0.0, 0.25 },
	/* Negative zero is >= 0: taken (it prints as "-0.00"). */
	{ __LINE__, B(WITH_REV("-0.0")), 1, NULL, 1, 2, 0.0, 0.25 },
	{ __LINE__, B(WITH_CONV("-1e-400")), 1, NULL, 1, 2, 3.5, 0.0 },
	{ __LINE__, B(WITH_REV("0.000001")), 1, NULL, 1, 2, 0.000001, 0.25 },
	{ __LINE__, B(WITH_CONV("1")), 1, NULL, 1, 2, 3.5, 1.0 },
	{ __LINE__, B(WITH_CONV("2.5")), 1, NULL, 1, 2, 3.5, 2.5 },
	{ __LINE__, B(WITH_SALES("9223372036854775807")), 1, NULL,
	    9223372036854775807LL, 2, 3.5, 0.25 },
	{ __LINE__, B(WITH_CLICKS("9223372036854775807")), 1, NULL, 1,
	    9223372036854775807LL, 3.5, 0.25 },
	/* Extra fields of any type are ignored. */
	{ __LINE__, B("{\"product\":\"p01\",\"currency\":\"EUR\",\"x\":[1,{}],"
	    "\"n\":null,\"conversion\":0.25,\"revenue\":3.5,\"clicks\":2,"
	    "\"sales\":1,\"t\":true}"), 1, NULL, GOOD_REST },
	{ __LINE__, B(" \r\n\t{ \"sales\" : 1 , \"clicks\" : 2 , \"revenue\" : "
	    "3.5 , \"conversion\" : 0.25 } \n"), 1, NULL, GOOD_REST },
	/* The first of two keys wins. */
	{ __LINE__, B("{\"sales\":1,\"sales\":-1,\"clicks\":2,\"revenue\":3.5,"
	    "\"conversion\":0.25}"), 1, NULL, GOOD_REST },
	/* The length is respected: what follows is not read. */
	{ __LINE__, WITH_SALES("1") "garbage", sizeof(WITH_SALES("1")) - 1, 1,
	    NULL, GOOD_REST },

	/* sales: an integer >= 0; checked first. */
	{ __LINE__, B("{}"), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B("{\"clicks\":2,\"revenue\":3.5,\"conversion\":0.25}"), 0,
	    EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("-1")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("1.0")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("1.5")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("1e2")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("\"1\"")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("null")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("true")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("[1]")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("{\"sales\":1}")), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B(WITH_SALES("9223372036854775808")), 0, EFIELD("sales"),
	    PBAD },
	{ __LINE__, B("{\"Sales\":1,\"clicks\":2,\"revenue\":3.5,"
	    "\"conversion\":0.25}"), 0, EFIELD("sales"), PBAD },
	{ __LINE__, B("{\"sales\":-1,\"clicks\":-1,\"revenue\":-1,"
	    "\"conversion\":-1}"), 0, EFIELD("sales"), PBAD },

	/* clicks: an integer >= 0. */
	{ __LINE__, B("{\"sales\":1}"), 0, EFIELD("clicks"), PBAD },
	{ __LINE__, B("{\"sales\":1,\"revenue\":3.5,\"conversion\":0.25}"), 0,
	    EFIELD("clicks"), PBAD },
	{ __LINE__, B(WITH_CLICKS("-1")), 0, EFIELD("clicks"), PBAD },
	{ __LINE__, B(WITH_CLICKS("-9223372036854775808")), 0,
	    EFIELD("clicks"), PBAD },
	{ __LINE__, B(WITH_CLICKS("2.0")), 0, EFIELD("clicks"), PBAD },
	{ __LINE__, B(WITH_CLICKS("\"2\"")), 0, EFIELD("clicks"), PBAD },
	{ __LINE__, B(WITH_CLICKS("null")), 0, EFIELD("clicks"), PBAD },
	{ __LINE__, B(WITH_CLICKS("false")), 0, EFIELD("clicks"), PBAD },
	{ __LINE__, B(WITH_CLICKS("[]")), 0, EFIELD("clicks"), PBAD },

	/* revenue: a number >= 0 and < 1e15. */
	{ __LINE__, B("{\"sales\":1,\"clicks\":2}"), 0, EFIELD("revenue"),
	    PBAD },
	{ __LINE__, B("{\"sales\":1,\"clicks\":2,\"conversion\":0.25}"), 0,
	    EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("-1")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("-0.01")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("-1e-300")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("1e15")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("1000000000000000")), 0, EFIELD("revenue"),
	    PBAD },
	{ __LINE__, B(WITH_REV("1e308")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("1e999")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("99999999999999999999")), 0, EFIELD("revenue"),
	    PBAD },
	{ __LINE__, B(WITH_REV("\"3.5\"")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("null")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("true")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("[3.5]")), 0, EFIELD("revenue"), PBAD },
	{ __LINE__, B(WITH_REV("{}")), 0, EFIELD("revenue"), PBAD },

	/* conversion: a number >= 0 and < 1e15. */
	{ __LINE__, B("{\"sales\":1,\"clicks\":2,\"revenue\":3.5}"), 0,
	    EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("-0.25")), 0, EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("-1")), 0, EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("1e15")), 0, EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("1e999")), 0, EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("\"0.25\"")), 0, EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("null")), 0, EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("false")), 0, EFIELD("conversion"), PBAD },
	{ __LINE__, B(WITH_CONV("{\"v\":0.25}")), 0, EFIELD("conversion"),
	    PBAD },

	/* Empty, malformed, not an object, NUL bytes. */
	{ __LINE__, "", 0, 0, EEMPTY, PBAD },
	{ __LINE__, WITH_SALES("1"), 0, 0, EEMPTY, PBAD },
	{ __LINE__, B(" "), 0, EJSON, PBAD },
	{ __LINE__, B("{"), 0, EJSON, PBAD },
	{ __LINE__, B("{\"sales\":1,"), 0, EJSON, PBAD },
	{ __LINE__, B("{\"sales\":1,}"), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("01")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("+1")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_REV(".5")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_REV("NaN")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_REV("Infinity")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("1") "x"), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("1") WITH_SALES("1")), 0, EJSON, PBAD },
	{ __LINE__, B("<html>502 Bad Gateway</html>"), 0, EJSON, PBAD },
	{ __LINE__, B("{\"sales\":1,\"clicks\":2,\"revenue\":3.5,"
	    "\"conversion\":0.2"), 0, EJSON, PBAD },
	{ __LINE__, B("[]"), 0, EJSON, PBAD },
	{ __LINE__, B("[" WITH_SALES("1") "]"), 0, EJSON, PBAD },
	{ __LINE__, B("1"), 0, EJSON, PBAD },
	{ __LINE__, B("null"), 0, EJSON, PBAD },
	{ __LINE__, B("\"x\""), 0, EJSON, PBAD },
	{ __LINE__, B("\0"), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("1") "\0"), 0, EJSON, PBAD },
	{ __LINE__, B("{\"sales\":1\0,\"clicks\":2,\"revenue\":3.5,"
	    "\"conversion\":0.25}"), 0, EJSON, PBAD },
	{ __LINE__, B("{\"product\":\"p\xff\",\"sales\":1,\"clicks\":2,"
	    "\"revenue\":3.5,\"conversion\":0.25}"), 0, EJSON, PBAD },

	/* Nesting: the object is level 1, the limit is 8. */
	{ __LINE__, B("{\"x\":[[[[[[[]]]]]]],\"sales\":1,\"clicks\":2,"
	    "\"revenue\":3.5,\"conversion\":0.25}"), 1, NULL, GOOD_REST },
	{ __LINE__, B("{\"x\":[[[[[[[[]]]]]]]],\"sales\":1,\"clicks\":2,"
	    "\"revenue\":3.5,\"conversion\":0.25}"), 0, EJSON, PBAD },
	{ __LINE__, B("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["), 0, EJSON, PBAD },
	{ __LINE__, B("{\"x\":\"[[[[[[[[[[[[{{{{{{{{{{{{\",\"sales\":1,"
	    "\"clicks\":2,\"revenue\":3.5,\"conversion\":0.25}"), 1, NULL,
	    GOOD_REST },
	/* Comments are refused. */
	{ __LINE__, B("/**/" WITH_SALES("1")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("/* one */ 1")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("1 // one\n")), 0, EJSON, PBAD },
	{ __LINE__, B(WITH_SALES("1") "//"), 0, EJSON, PBAD },
	{ __LINE__, B("{\"x\":/*\"*/[[[[[[[[[[[[]]]]]]]]]]]]/*\"*/,\"sales\":1,"
	    "\"clicks\":2,\"revenue\":3.5,\"conversion\":0.25}"), 0, EJSON,
	    PBAD },
	/* A slash inside a string is fine. */
	{ __LINE__, B("{\"u\":\"a/b\\/c\",\"sales\":1,\"clicks\":2,"
	    "\"revenue\":3.5,\"conversion\":0.25}"), 1, NULL, GOOD_REST },
};

/* A Retry-After value, "now" as an offset from the date below, the want. */
struct retry_case {
	int		 line;
	const char	*value;
	long		 now;
	long		 want;
};

#define DATE		"Wed, 21 Oct 2015 07:28:00 GMT"

static const struct retry_case	retry_cases[] = {
	/* delay-seconds, whatever the time. */
	{ __LINE__, "0", 0, 0 },
	{ __LINE__, "1", 0, 1 },
	{ __LINE__, "2", 0, 2 },
	{ __LINE__, "2", 86400, 2 },
	{ __LINE__, "120", 0, 120 },
	{ __LINE__, "007", 0, 7 },
	{ __LINE__, " 5 ", 0, 5 },
	{ __LINE__, "   5", 0, 5 },
	{ __LINE__, "5   ", 0, 5 },
	{ __LINE__, "3599", 0, 3599 },
	{ __LINE__, "3600", 0, 3600 },
	{ __LINE__, "3601", 0, 3600 },
	{ __LINE__, "99999", 0, 3600 },
	{ __LINE__, "9223372036854775807", 0, 3600 },
	{ __LINE__, "99999999999999999999999999", 0, 3600 },
	{ __LINE__, "-1", 0, -1 },
	{ __LINE__, "-0", 0, -1 },
	{ __LINE__, " -5", 0, -1 },
	{ __LINE__, "+5", 0, -1 },
	{ __LINE__, "1.5", 0, -1 },
	{ __LINE__, "1,5", 0, -1 },
	{ __LINE__, "1e3", 0, -1 },
	{ __LINE__, "0x10", 0, -1 },
	{ __LINE__, "5x", 0, -1 },
	{ __LINE__, "5 x", 0, -1 },
	{ __LINE__, "5 5", 0, -1 },
	{ __LINE__, "5s", 0, -1 },
	{ __LINE__, "abc", 0, -1 },
	{ __LINE__, "x5", 0, -1 },
	{ __LINE__, "", 0, -1 },
	{ __LINE__, " ", 0, -1 },
	{ __LINE__, "5\n", 0, -1 },

	/* An HTTP-date: the seconds from now, 0 when past, at most 3600. */
	{ __LINE__, DATE, -120, 120 },
	{ __LINE__, DATE, -1, 1 },
	{ __LINE__, DATE, 0, 0 },
	{ __LINE__, DATE, 1, 0 },
	{ __LINE__, DATE, 86400 * 365, 0 },
	{ __LINE__, DATE, -3599, 3599 },
	{ __LINE__, DATE, -3600, 3600 },
	{ __LINE__, DATE, -3601, 3600 },
	{ __LINE__, DATE, -86400 * 365, 3600 },
	{ __LINE__, " " DATE, -120, 120 },
	{ __LINE__, "Wed, 21 Oct 2015 07:30:00 GMT", 0, 120 },
	{ __LINE__, "Thu, 22 Oct 2015 07:28:00 GMT", -86400 + 3600, 3600 },
	{ __LINE__, "Thu, 22 Oct 2015 07:28:00 GMT", -86400 + 10, 3600 },
	{ __LINE__, "Thu, 22 Oct 2015 07:28:00 GMT", 86400 - 10, 10 },
	{ __LINE__, "Sun, 01 Nov 2015 00:00:00 GMT", 0, 3600 },
	{ __LINE__, "Tue, 20 Oct 2015 07:28:00 GMT", 0, 0 },

	/* Other date formats. */
	{ __LINE__, "Wednesday, 21-Oct-15 07:28:00 GMT", -120, -1 },
	{ __LINE__, "Wed Oct 21 07:28:00 2015", -120, -1 },
	{ __LINE__, "2015-10-21T07:28:00Z", -120, -1 },
	{ __LINE__, "Wed, 21 Oct 2015 07:28:00", -120, -1 },
	{ __LINE__, "Wed, 21 Oct 2015 07:28:00 UTC", -120, -1 },
	{ __LINE__, "Wed, 21 Oct 2015 07:28:00 +0000", -120, -1 },
	{ __LINE__, "Wed, 21 Oct 2015 07:28:00 GMTx", -120, -1 },
	{ __LINE__, "Wed, 21 Oct 2015", -120, -1 },
	{ __LINE__, "21 Oct 2015 07:28:00 GMT", -120, -1 },
	{ __LINE__, "Wed, 21 Foo 2015 07:28:00 GMT", -120, -1 },
	{ __LINE__, "Wed, 21 Oct 2015 25:28:00 GMT", -120, -1 },
	{ __LINE__, "Xyz, 21 Oct 2015 07:28:00 GMT", -120, -1 },
	{ __LINE__, "Wed", -120, -1 },
};

/* src and its exact encoding. */
struct enc_case {
	int		 line;
	const char	*src;
	const char	*want;
};

static const struct enc_case	enc_cases[] = {
	{ __LINE__, "", "" },
	{ __LINE__, "a", "a" },
	{ __LINE__, "abcXYZ019", "abcXYZ019" },
	{ __LINE__, "-._~", "-._~" },
	{ __LINE__, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~" },
	{ __LINE__, " ", "%20" },
	{ __LINE__, "a b", "a%20b" },
	{ __LINE__, "&", "%26" },
	{ __LINE__, "=", "%3D" },
	{ __LINE__, "/", "%2F" },
	{ __LINE__, "+", "%2B" },
	{ __LINE__, "%", "%25" },
	{ __LINE__, "%41", "%2541" },
	{ __LINE__, "?", "%3F" },
	{ __LINE__, "#", "%23" },
	{ __LINE__, ":", "%3A" },
	{ __LINE__, "@", "%40" },
	{ __LINE__, "\"'<>\\", "%22%27%3C%3E%5C" },
	{ __LINE__, "!$()*,;[]{}|^`", "%21%24%28%29%2A%2C%3B%5B%5D%7B%7D%7C"
	    "%5E%60" },
	{ __LINE__, "\t\n\r", "%09%0A%0D" },
	{ __LINE__, "\x01\x1f\x7f", "%01%1F%7F" },
	{ __LINE__, "caf\xc3\xa9", "caf%C3%A9" },
	{ __LINE__, "\xe2\x98\x83", "%E2%98%83" },
	{ __LINE__, "\xf0\x9f\x98\x80", "%F0%9F%98%80" },
	{ __LINE__, "\x80\xff", "%80%FF" },
	{ __LINE__, "k3y&api_key=x y/z+1%",
	    "k3y%26api_key%3Dx%20y%2Fz%2B1%25" },
	{ __LINE__, "s3cr3t-KEY_v1.0~", "s3cr3t-KEY_v1.0~" },
	{ __LINE__, "a&", "a%26" },
	{ __LINE__, "&a", "%26a" },
};

/* --stats-products as the parent checks it: ok, or the exact reason. */
struct check_case {
	int		 line;
	const char	*list;
	int		 ok;
	const char	*err;
};

static const struct check_case	check_cases[] = {
	{ __LINE__, "p01,p02,p03,p04,p05,p06,p07,p08,p09,p10,p11,p12,p13,"
	    "p14,p15,p16,p17,p18,p19,p20", 1, NULL },
	{ __LINE__, "p01", 1, NULL },
	{ __LINE__, "p01,err503-x,slow-y", 1, NULL },
	{ __LINE__, S32, 1, NULL },
	{ __LINE__, "", 0, EIDLEN },
	{ __LINE__, ",", 0, EIDLEN },
	{ __LINE__, "p01,", 0, EIDLEN },
	{ __LINE__, "p01,,p02", 0, EIDLEN },
	{ __LINE__, S33, 0, EIDLEN },
	{ __LINE__, "P01", 0, EIDCH },
	{ __LINE__, "p01 ", 0, EIDCH },
	{ __LINE__, "p01;p02", 0, EIDCH },
	{ __LINE__, "p01,p02,p01", 0, ETWICE("p01") },
};

static void	test_id_ok(void);
static void	test_list_check(void);
static void	test_list_table(void);
static void	test_list_limits(void);
static void	test_analytics_table(void);
static void	test_analytics_more(void);
static void	test_analytics_large(void);
static void	test_partner_table(void);
static void	test_partner_more(void);
static void	test_retry_table(void);
static void	test_enc_table(void);
static void	test_enc_more(void);
static int	list_one(const char *, int, const char *, int, size_t,
		    const char *, const char *const *);
static int	analytics_one(const char *, int, const char *, size_t,
		    const product_id *, size_t, int, const char *,
		    const struct arow *);
static int	enc_one(const char *, int, const char *, const char *);

void
test_partner(void)
{
	test_id_ok();
	test_list_table();
	test_list_limits();
	test_list_check();
	test_analytics_table();
	test_analytics_more();
	test_analytics_large();
	test_partner_table();
	test_partner_more();
	test_retry_table();
	test_enc_table();
	test_enc_more();
}

static void
test_id_ok(void)
{
	const struct id_case	*c;
	char			 what[160];
	size_t			 i;

	for (i = 0; i < NELEM(id_cases); i++) {
		c = &id_cases[i];
		(void)snprintf(what, sizeof(what), "product_id_ok(%s)",
		    unit_quote(c->id, strlen(c->id)));
		(void)unit_num(__FILE__, c->line, what, c->ok,
		    product_id_ok(c->id));
	}
}

/*
 * product_list_parse() of list into an exactly-sized heap array of max
 * ids (max -1: out is NULL, max 0), so ASan sees a write past max.
 * Every id on success is compared with its NUL.
 */
static int
list_one(const char *file, int line, const char *list, int max,
    size_t ret, const char *err, const char *const *ids)
{
	product_id	*out;
	char		 e[ERR_LEN], what[200];
	size_t		 r, j, len, glen;
	int		 ok;

	out = NULL;
	if (max > 0) {
		if ((out = malloc((size_t)max * sizeof(*out))) == NULL) {
			CHECK(0, "malloc");
			return (0);
		}
		memset(out, 0xa5, (size_t)max * sizeof(*out));
	} else if (max == 0) {
		/* A non-NULL out with room for none. */
		if ((out = malloc(1)) == NULL) {
			CHECK(0, "malloc");
			return (0);
		}
	}

	(void)snprintf(e, sizeof(e), "untouched");
	r = product_list_parse(list, (product_id *)out, max < 0 ? 0 :
	    (size_t)max, e, sizeof(e));
	(void)snprintf(what, sizeof(what), "product_list_parse(%s, max %d) "
	    "return", unit_quote(list, strlen(list)), max);
	ok = unit_num(file, line, what, (long long)ret, (long long)r);
	if (ok && r == 0 && err != NULL)
		ok &= unit_str(file, line, "product_list_parse err", err, e);
	if (ok && r != 0 && out != NULL && ids != NULL) {
		for (j = 0; j < r && ids[j] != NULL; j++) {
			len = strlen(ids[j]);
			glen = memchr(out[j], '\0', sizeof(out[j])) != NULL ?
			    strlen(out[j]) + 1 : sizeof(out[j]);
			ok &= unit_mem(file, line, "product_list_parse id",
			    ids[j], len + 1, out[j], glen);
		}
	}

	free(out);
	return (ok);
}

static void
test_list_table(void)
{
	const struct list_case	*c;
	size_t			 i;

	for (i = 0; i < NELEM(list_cases); i++) {
		c = &list_cases[i];
		(void)list_one(__FILE__, c->line, c->list, c->max, c->ret,
		    c->err, c->ids[0] != NULL ? c->ids : NULL);
	}
}

/* PRODUCTS_MAX ids, one more, and max below that. */
static void
test_list_limits(void)
{
	static char	 list[(PRODUCT_ID_MAX + 1) * (PRODUCTS_MAX + 2)];
	static char	 ids[PRODUCTS_MAX][PRODUCT_ID_MAX + 1];
	const char	*want[PRODUCTS_MAX + 1];
	product_id	*out;
	char		 e[ERR_LEN];
	size_t		 i, off, r;

	/* 100 ids of 32 characters each. */
	off = 0;
	for (i = 0; i < PRODUCTS_MAX; i++) {
		(void)snprintf(ids[i], sizeof(ids[i]),
		    "%03d-abcdefghijklmnopqrstuvwxyz__", (int)i % 1000);
		want[i] = ids[i];
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i == 0 ? "" : ",", ids[i]);
	}
	want[PRODUCTS_MAX] = NULL;
	CHECK(strlen(ids[0]) == PRODUCT_ID_MAX, "test id of %zu characters",
	    strlen(ids[0]));

	(void)list_one(__FILE__, __LINE__, list, PRODUCTS_MAX, PRODUCTS_MAX,
	    NULL, want);
	(void)list_one(__FILE__, __LINE__, list, -1, PRODUCTS_MAX, NULL,
	    NULL);
	(void)list_one(__FILE__, __LINE__, list, PRODUCTS_MAX + 50,
	    PRODUCTS_MAX, NULL, want);
	(void)list_one(__FILE__, __LINE__, list, PRODUCTS_MAX - 1, 0,
	    "at most 99 products", NULL);
	(void)list_one(__FILE__, __LINE__, list, 20, 0, EMANY(20), NULL);

	/* 101. */
	(void)snprintf(list + off, sizeof(list) - off, ",last");
	(void)list_one(__FILE__, __LINE__, list, PRODUCTS_MAX, 0, EMANY(100),
	    NULL);
	(void)list_one(__FILE__, __LINE__, list, -1, 0, EMANY(100), NULL);
	(void)list_one(__FILE__, __LINE__, list, PRODUCTS_MAX + 50, 0,
	    EMANY(100), NULL);

	/* 101 where the last repeats the first: a duplicate, not "at most". */
	(void)snprintf(list + off, sizeof(list) - off, ",%s", ids[0]);
	(void)list_one(__FILE__, __LINE__, list, -1, 0,
	    ETWICE("000-abcdefghijklmnopqrstuvwxyz__"), NULL);
	(void)list_one(__FILE__, __LINE__, list, PRODUCTS_MAX, 0,
	    ETWICE("000-abcdefghijklmnopqrstuvwxyz__"), NULL);

	/* Many one-character ids, past 100, without out. */
	off = 0;
	for (i = 0; i < 36 * 3; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "%s%c%c", i == 0 ? "" : ",", "abc"[i / 36],
		    "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]);
	(void)list_one(__FILE__, __LINE__, list, -1, 0, EMANY(100), NULL);

	/* Ids are NUL-terminated in full-size slots, whatever was there. */
	if ((out = malloc(2 * sizeof(*out))) == NULL) {
		CHECK(0, "malloc");
		return;
	}
	memset(out, 'z', 2 * sizeof(*out));
	r = product_list_parse("ab," S32, out, 2, e, sizeof(e));
	CHECK(r == 2, "ab,S32: returned %zu", r);
	CHECK(r == 2 && memcmp(out[0], "ab", 3) == 0,
	    "ab,S32: first id %s", unit_quote(out[0], sizeof(out[0])));
	CHECK(r == 2 && memcmp(out[1], S32, sizeof(S32)) == 0,
	    "ab,S32: second id %s", unit_quote(out[1], sizeof(out[1])));

	/* A short err buffer is truncated, not overrun. */
	r = product_list_parse("a,a", out, 2, e, 4);
	CHECK(r == 0 && strcmp(e, "pro") == 0, "err buffer of 4: returned "
	    "%zu, err %s", r, unit_quote(e, strlen(e)));
	free(out);
}

static void
test_list_check(void)
{
	const struct check_case	*c;
	char			 e[ERR_LEN], what[200];
	size_t			 i;
	int			 r;

	for (i = 0; i < NELEM(check_cases); i++) {
		c = &check_cases[i];
		(void)snprintf(e, sizeof(e), "untouched");
		r = product_list_check(c->list, e, sizeof(e));
		(void)snprintf(what, sizeof(what), "product_list_check(%s)",
		    unit_quote(c->list, strlen(c->list)));
		if (unit_num(__FILE__, c->line, what, c->ok, r) && !r)
			(void)unit_str(__FILE__, c->line,
			    "product_list_check err", c->err, e);
	}
}

/*
 * analytics_parse() of len bytes for ids into rows full of garbage with
 * one guard row after them; on failure every row is zero.
 */
static int
analytics_one(const char *file, int line, const char *body, size_t len,
    const product_id *ids, size_t n, int ret, const char *err,
    const struct arow *want)
{
	struct analytics_row	*rows;
	char			 e[ERR_LEN], what[200];
	size_t			 i;
	int			 r, ok;

	if ((rows = malloc((n + 1) * sizeof(*rows))) == NULL) {
		CHECK(0, "malloc");
		return (0);
	}
	memset(rows, 0xa5, (n + 1) * sizeof(*rows));

	(void)snprintf(e, sizeof(e), "untouched");
	r = analytics_parse(body, len, ids, n, rows, e, sizeof(e));
	(void)snprintf(what, sizeof(what), "analytics_parse(%s) return",
	    unit_quote(body, body != NULL ? len : 0));
	ok = unit_num(file, line, what, ret, r);
	if (ok && r == 0 && err != NULL)
		ok &= unit_str(file, line, "analytics_parse err", err, e);

	for (i = 0; ok && i < n; i++) {
		(void)snprintf(what, sizeof(what), "analytics_parse row %zu "
		    "(%s) found", i, ids[i]);
		if (!unit_num(file, line, what, want != NULL ? want[i].found :
		    0, rows[i].found)) {
			ok = 0;
			break;
		}
		if (rows[i].found == 1 && want != NULL) {
			ok &= unit_num(file, line, "analytics_parse views",
			    want[i].views, rows[i].views);
			ok &= unit_num(file, line, "analytics_parse visitors",
			    want[i].visitors, rows[i].visitors);
		}
		if (r == 0 || rows[i].found == 0)
			unit_check(rows[i].views == 0 &&
			    rows[i].visitors == 0, file, line,
			    "analytics_parse row %zu: found %d but views "
			    "%lld, visitors %lld", i, rows[i].found,
			    rows[i].views, rows[i].visitors);
	}
	unit_check(rows[n].found == (int)0xa5a5a5a5, file, line,
	    "analytics_parse wrote past row %zu", n);

	free(rows);
	return (ok);
}

static const product_id	ids3[IDS_N] = { "p01", "p02", "p03" };

static void
test_analytics_table(void)
{
	const struct analytics_case	*c;
	size_t				 i;

	for (i = 0; i < NELEM(analytics_cases); i++) {
		c = &analytics_cases[i];
		(void)analytics_one(__FILE__, c->line, c->body, c->len, ids3,
		    IDS_N, c->ret, c->err, c->rows);
	}
}

static void
test_analytics_more(void)
{
	static const product_id	one[1] = { "p02" };
	static const product_id	odd[2] = { "-", "_" };
	static const struct arow	row2[1] = { ROW(20, 4) };
	static const struct arow	rowodd[2] = { ROW(1, 2), UNREAD };
	const char		*doc = DOC("\"p01\":" VV(10, 3) ","
				    "\"p02\":" VV(20, 4));
	size_t			 n, len;
	char			*b;

	/* NULL body, any length. */
	(void)analytics_one(__FILE__, __LINE__, NULL, 0, ids3, IDS_N, 0,
	    EEMPTY, NULL);
	(void)analytics_one(__FILE__, __LINE__, NULL, 10, ids3, IDS_N, 0,
	    EEMPTY, NULL);

	/* No ids: the document is still checked. */
	(void)analytics_one(__FILE__, __LINE__, doc, strlen(doc), ids3, 0, 1,
	    NULL, NULL);
	(void)analytics_one(__FILE__, __LINE__, B("{}"), ids3, 0, 0,
	    EPRODUCTS, NULL);
	(void)analytics_one(__FILE__, __LINE__, B("{"), ids3, 0, 0, EJSON,
	    NULL);

	/* One id, and ids with only punctuation. */
	(void)analytics_one(__FILE__, __LINE__, doc, strlen(doc), one, 1, 1,
	    NULL, row2);
	(void)analytics_one(__FILE__, __LINE__,
	    B(DOC("\"-\":" VV(1, 2) ",\"_\":" VV(1, -2))), odd, 2, 1, NULL,
	    rowodd);

	/* A prefix of a good document is malformed. */
	(void)analytics_one(__FILE__, __LINE__, doc, strlen(doc) - 1, ids3,
	    IDS_N, 0, EJSON, NULL);

	/* Very deep, unterminated and terminated: refused before yajl. */
	n = 200000;
	if ((b = malloc(2 * n + 64)) == NULL) {
		CHECK(0, "malloc");
		return;
	}
	memset(b, '[', n);
	(void)analytics_one(__FILE__, __LINE__, b, n, ids3, IDS_N, 0, EJSON,
	    NULL);
	memset(b + n, ']', n);
	(void)analytics_one(__FILE__, __LINE__, b, 2 * n, ids3, IDS_N, 0,
	    EJSON, NULL);
	len = (size_t)snprintf(b, 64, "{\"products\":{},\"x\":");
	memset(b + len, '{', n);
	(void)analytics_one(__FILE__, __LINE__, b, len + n, ids3, IDS_N, 0,
	    EJSON, NULL);
	/* Deep brackets inside one string are fine. */
	len = (size_t)snprintf(b, 64, "{\"products\":{},\"x\":\"");
	memset(b + len, '[', n);
	memcpy(b + len + n, "\"}", 2);
	(void)analytics_one(__FILE__, __LINE__, b, len + n + 2, ids3, IDS_N,
	    1, NULL, NULL);
	free(b);
}

/* 60 products in one document, asked for in another order. */
static void
test_analytics_large(void)
{
	static char			 doc[16384];
	static product_id		 ids[PRODUCTS_MAX];
	static struct arow		 want[PRODUCTS_MAX];
	size_t				 i, off, n;

	off = (size_t)snprintf(doc, sizeof(doc), "{\"products\": {");
	for (i = 1; i <= 60; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off,
		    "%s\"p%02zu\": {\"views\": %zu, \"visitors\": %zu}",
		    i == 1 ? "" : ", ", i, i * 1409 + 84609, i * 37);
	off += (size_t)snprintf(doc + off, sizeof(doc) - off, "}}");
	CHECK(off < sizeof(doc), "test document of %zu bytes", off);

	/* All 60 backwards, then 40 more that are not there. */
	n = 0;
	for (i = 60; i >= 1; i--, n++) {
		(void)snprintf(ids[n], sizeof(ids[n]), "p%02zu", i);
		want[n].found = 1;
		want[n].views = (long long)(i * 1409 + 84609);
		want[n].visitors = (long long)(i * 37);
	}
	for (i = 61; n < PRODUCTS_MAX; i++, n++) {
		(void)snprintf(ids[n], sizeof(ids[n]), "p%02zu", i);
		want[n].found = 0;
	}

	(void)analytics_one(__FILE__, __LINE__, doc, off, ids, PRODUCTS_MAX,
	    1, NULL, want);
	(void)analytics_one(__FILE__, __LINE__, doc, off, ids, 60, 1, NULL,
	    want);
	(void)analytics_one(__FILE__, __LINE__, doc, off, ids + 59, 1, 1,
	    NULL, want + 59);
}

static void
test_partner_table(void)
{
	const struct partner_case	*c;
	struct partner_row		 row;
	char				 e[ERR_LEN], what[200];
	int				 r;
	size_t				 i;

	for (i = 0; i < NELEM(partner_cases); i++) {
		c = &partner_cases[i];
		memset(&row, 0xa5, sizeof(row));
		(void)snprintf(e, sizeof(e), "untouched");
		r = partner_parse(c->body, c->len, &row, e, sizeof(e));
		(void)snprintf(what, sizeof(what), "partner_parse(%s) return",
		    unit_quote(c->body, c->len));
		if (!unit_num(__FILE__, c->line, what, c->ret, r))
			continue;
		if (r == 0) {
			(void)unit_str(__FILE__, c->line, "partner_parse err",
			    c->err, e);
			continue;
		}
		(void)unit_num(__FILE__, c->line, "partner_parse sales",
		    c->sales, row.sales);
		(void)unit_num(__FILE__, c->line, "partner_parse clicks",
		    c->clicks, row.clicks);
		unit_check(row.revenue == c->revenue, __FILE__, c->line,
		    "partner_parse revenue: expected %.17g, got %.17g",
		    c->revenue, row.revenue);
		unit_check(row.conversion == c->conversion, __FILE__, c->line,
		    "partner_parse conversion: expected %.17g, got %.17g",
		    c->conversion, row.conversion);
	}
}

static void
test_partner_more(void)
{
	struct partner_row	row;
	char			e[ERR_LEN], *b;
	size_t			n;
	int			r;

	memset(&row, 0xa5, sizeof(row));
	r = partner_parse(NULL, 0, &row, e, sizeof(e));
	CHECK(r == 0 && strcmp(e, EEMPTY) == 0, "partner_parse(NULL, 0): "
	    "returned %d, err %s", r, unit_quote(e, strlen(e)));
	r = partner_parse(NULL, 10, &row, e, sizeof(e));
	CHECK(r == 0 && strcmp(e, EEMPTY) == 0, "partner_parse(NULL, 10): "
	    "returned %d, err %s", r, unit_quote(e, strlen(e)));

	/* A short err buffer is truncated, not overrun. */
	r = partner_parse(B("{}"), &row, e, 8);
	CHECK(r == 0 && strcmp(e, "missing") == 0, "err buffer of 8: "
	    "returned %d, err %s", r, unit_quote(e, strlen(e)));

	/* Very deep: refused before yajl. */
	n = 200000;
	if ((b = malloc(2 * n)) == NULL) {
		CHECK(0, "malloc");
		return;
	}
	memset(b, '{', n);
	r = partner_parse(b, n, &row, e, sizeof(e));
	CHECK(r == 0 && strcmp(e, EJSON) == 0, "%zu '{': returned %d, err %s",
	    n, r, unit_quote(e, strlen(e)));
	memset(b, '[', n);
	memset(b + n, ']', n);
	r = partner_parse(b, 2 * n, &row, e, sizeof(e));
	CHECK(r == 0 && strcmp(e, EJSON) == 0, "%zu '[' and ']': returned %d, "
	    "err %s", n, r, unit_quote(e, strlen(e)));
	free(b);
}

static void
test_retry_table(void)
{
	const struct retry_case	*c;
	struct tm		 tm;
	time_t			 base;
	char			 what[200];
	size_t			 i;

	/* DATE, independent of the local time zone. */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2015 - 1900;
	tm.tm_mon = 10 - 1;
	tm.tm_mday = 21;
	tm.tm_hour = 7;
	tm.tm_min = 28;
	base = timegm(&tm);
	CHECK(base == 1445412480, "timegm(" DATE "): %lld",
	    (long long)base);

	for (i = 0; i < NELEM(retry_cases); i++) {
		c = &retry_cases[i];
		(void)snprintf(what, sizeof(what), "retry_after_parse(%s, "
		    "date %+ld s)", unit_quote(c->value, strlen(c->value)),
		    c->now);
		(void)unit_num(__FILE__, c->line, what, c->want,
		    retry_after_parse(c->value, base + c->now));
	}
}

/*
 * url_encode() of src into exactly-sized heap buffers: every size from
 * 0 to the encoding's length fails (and stays inside the buffer, which
 * ASan checks), length + 1 succeeds with the exact text.
 */
static int
enc_one(const char *file, int line, const char *src, const char *want)
{
	char	*dst, what[200];
	size_t	 len, sz;
	int	 r, ok;

	len = strlen(want);
	ok = 1;
	for (sz = 0; sz <= len + 1; sz++) {
		/* malloc(0) under ASan is a buffer of no bytes. */
		if ((dst = malloc(sz)) == NULL && sz != 0) {
			CHECK(0, "malloc");
			return (0);
		}
		if (sz > 0)
			memset(dst, 0xa5, sz);
		r = url_encode(dst, sz, src);
		(void)snprintf(what, sizeof(what), "url_encode(%s) into %zu "
		    "bytes", unit_quote(src, strlen(src)), sz);
		if (sz <= len)
			ok &= unit_num(file, line, what, 0, r);
		else {
			ok &= unit_num(file, line, what, 1, r);
			if (r == 1)
				ok &= unit_str(file, line, what, want, dst);
		}
		free(dst);
	}

	return (ok);
}

static void
test_enc_table(void)
{
	const struct enc_case	*c;
	size_t			 i;

	for (i = 0; i < NELEM(enc_cases); i++) {
		c = &enc_cases[i];
		(void)enc_one(__FILE__, c->line, c->src, c->want);
	}
}

/* Every byte but NUL, alone and all together. */
static void
test_enc_more(void)
{
	static char	 src[256], want[256 * 3], dst[256 * 3 + 1];
	const char	*unres = "-._~";
	char		 s[2], w[4];
	size_t		 off;
	int		 c, r;

	off = 0;
	for (c = 1; c < 256; c++) {
		s[0] = (char)c;
		s[1] = '\0';
		src[c - 1] = (char)c;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr(unres, c) != NULL)
			(void)snprintf(w, sizeof(w), "%c", c);
		else
			(void)snprintf(w, sizeof(w), "%%%02X", c);
		(void)enc_one(__FILE__, __LINE__, s, w);
		memcpy(want + off, w, strlen(w));
		off += strlen(w);
	}
	src[255] = '\0';
	want[off] = '\0';

	r = url_encode(dst, sizeof(dst), src);
	CHECK(r == 1, "url_encode(bytes 1-255): returned %d", r);
	if (r == 1)
		(void)unit_str(__FILE__, __LINE__, "url_encode(bytes 1-255)",
		    want, dst);
	(void)enc_one(__FILE__, __LINE__, src, want);
}
