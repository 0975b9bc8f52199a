/*
 * sbuf_*(), html_escape() and tmpl_render(): exact output bytes.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl.h"
#include "unit.h"

/* A string literal and its length (it may hold NUL bytes). */
#define B(s)		s, sizeof(s) - 1

/* The template's own length. */
#define TLEN		((size_t)-1)

static int	check_sbuf(const char *, int, const char *,
		    const struct sbuf *, const char *, size_t);
static void	test_sbuf(void);
static void	test_escape_table(void);
static void	test_escape_long(void);
static void	test_render_table(void);
static void	test_render_long(void);
static void	test_render_append(void);

void
test_tmpl(void)
{
	test_sbuf();
	test_escape_table();
	test_escape_long();
	test_render_table();
	test_render_long();
	test_render_append();
}

/*
 * The buffer holds exactly wlen bytes of want, NUL-terminated, within
 * its capacity.  Nothing appended yet may leave data NULL (len 0).
 */
static int
check_sbuf(const char *file, int line, const char *what,
    const struct sbuf *b, const char *want, size_t wlen)
{
	int		ok;

	if (b->data == NULL) {
		ok = unit_num(file, line, what, (long long)wlen,
		    (long long)b->len);
		unit_check(b->len == 0, file, line, "%s: data NULL, len %zu",
		    what, b->len);
		return (ok && b->len == 0);
	}

	ok = unit_mem(file, line, what, want, wlen, b->data, b->len);
	unit_check(b->len < b->cap && b->data[b->len] == '\0', file, line,
	    "%s: len %zu, cap %zu, not NUL-terminated there", what, b->len,
	    b->cap);
	return (ok);
}

static void
test_sbuf(void)
{
	struct sbuf	b;
	static char	big[100000], want[100000];
	size_t		i, cap;
	int		r;

	sbuf_init(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0,
	    "sbuf_init: data %p len %zu cap %zu", (void *)b.data, b.len,
	    b.cap);

	/* Cleanup of a fresh buffer, twice. */
	sbuf_cleanup(&b);
	sbuf_cleanup(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0,
	    "sbuf_cleanup of a fresh buffer");

	/* An empty append still leaves a terminated, empty string. */
	r = sbuf_append(&b, "", 0);
	CHECK(r == 1, "sbuf_append of 0 bytes returned %d", r);
	CHECK(b.data != NULL, "sbuf_append of 0 bytes: data NULL");
	(void)check_sbuf(__FILE__, __LINE__, "empty append", &b, "", 0);

	r = sbuf_append(&b, "abc", 3);
	CHECK(r == 1, "sbuf_append returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "append abc", &b, "abc", 3);

	/* len, not the string, decides: part of a string, NUL bytes. */
	r = sbuf_append(&b, "hello", 2);
	CHECK(r == 1, "sbuf_append returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "append he", &b, "abche", 5);
	r = sbuf_append(&b, "x\0y", 3);
	CHECK(r == 1, "sbuf_append returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "append x NUL y", &b,
	    B("abchex\0y"));
	r = sbuf_append(&b, "zzz", 0);
	CHECK(r == 1, "sbuf_append of 0 bytes returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "append 0 bytes", &b,
	    B("abchex\0y"));

	/* Growth over many small appends: content and terminator kept. */
	sbuf_cleanup(&b);
	for (i = 0; i < 10000; i++) {
		want[i] = (char)('a' + i % 26);
		if (!sbuf_append(&b, &want[i], 1)) {
			CHECK(0, "sbuf_append %zu failed", i);
			break;
		}
		if (b.data[b.len] != '\0' || b.len != i + 1) {
			CHECK(0, "after append %zu: len %zu, no NUL", i,
			    b.len);
			break;
		}
	}
	(void)check_sbuf(__FILE__, __LINE__, "10000 appends", &b, want,
	    10000);

	/* Appends that end exactly at a power of two and just past it. */
	sbuf_cleanup(&b);
	memset(big, 'q', sizeof(big));
	(void)sbuf_append(&b, big, 255);
	(void)check_sbuf(__FILE__, __LINE__, "255 bytes", &b, big, 255);
	(void)sbuf_append(&b, big, 1);
	(void)check_sbuf(__FILE__, __LINE__, "256 bytes", &b, big, 256);
	(void)sbuf_append(&b, big, 1);
	(void)check_sbuf(__FILE__, __LINE__, "257 bytes", &b, big, 257);
	(void)sbuf_append(&b, big, 1024 - 257);
	(void)check_sbuf(__FILE__, __LINE__, "1024 bytes", &b, big, 1024);

	/* One large append into a used buffer. */
	(void)sbuf_append(&b, big, sizeof(big) - 1024);
	(void)check_sbuf(__FILE__, __LINE__, "100000 bytes", &b, big,
	    sizeof(big));

	/* A length that cannot fit is refused, the buffer untouched. */
	cap = b.cap;
	r = sbuf_append(&b, "x", SIZE_MAX);
	CHECK(r == 0, "sbuf_append of SIZE_MAX bytes returned %d", r);
	r = sbuf_append(&b, "x", SIZE_MAX / 2);
	CHECK(r == 0, "sbuf_append of SIZE_MAX / 2 bytes returned %d", r);
	CHECK(b.cap == cap, "refused append changed cap %zu to %zu", cap,
	    b.cap);
	(void)check_sbuf(__FILE__, __LINE__, "after refused append", &b, big,
	    sizeof(big));

	/* Cleanup twice, then the buffer is reusable. */
	sbuf_cleanup(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0,
	    "sbuf_cleanup: data %p len %zu cap %zu", (void *)b.data, b.len,
	    b.cap);
	sbuf_cleanup(&b);
	r = sbuf_append(&b, "again", 5);
	CHECK(r == 1, "sbuf_append after cleanup returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "after cleanup", &b, "again", 5);
	sbuf_cleanup(&b);
}

struct escape_case {
	int		 line;
	const char	*in;
	const char	*want;
};

static const struct escape_case	escape_cases[] = {
	{ __LINE__, "", "" },
	{ __LINE__, "a", "a" },
	{ __LINE__, "plain text, 123.", "plain text, 123." },
	{ __LINE__, "&", "&amp;" },
	{ __LINE__, "<", "&lt;" },
	{ __LINE__, ">", "&gt;" },
	{ __LINE__, "\"", "&quot;" },
	{ __LINE__, "'", "&#39;" },
	{ __LINE__, "&<>\"'", "&amp;&lt;&gt;&quot;&#39;" },
	{ __LINE__, "'\"><&", "&#39;&quot;&gt;&lt;&amp;" },
	{ __LINE__, "&&&&", "&amp;&amp;&amp;&amp;" },
	{ __LINE__, "<<>>", "&lt;&lt;&gt;&gt;" },
	{ __LINE__, "a&b", "a&amp;b" },
	{ __LINE__, "&a", "&amp;a" },
	{ __LINE__, "a&", "a&amp;" },
	/* Entities are escaped again: input is text, not HTML. */
	{ __LINE__, "&amp;", "&amp;amp;" },
	{ __LINE__, "&lt;b&gt;", "&amp;lt;b&amp;gt;" },
	{ __LINE__, "<script>alert('x')</script>",
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" },
	{ __LINE__, "\" onerror=\"alert(1)", "&quot; onerror=&quot;alert(1)" },
	{ __LINE__, "Tom & Jerry's \"show\" <3",
	    "Tom &amp; Jerry&#39;s &quot;show&quot; &lt;3" },
	/* Only those five. */
	{ __LINE__, "`=/\\;:!?#%{}()[]*+-_~|@$^",
	    "`=/\\;:!?#%{}()[]*+-_~|@$^" },
	{ __LINE__, "\t\r\n\x01\x1f\x7f", "\t\r\n\x01\x1f\x7f" },
	{ __LINE__, "{{name}}", "{{name}}" },
	{ __LINE__, "&#39; &#x27;", "&amp;#39; &amp;#x27;" },
	/* UTF-8 (and any byte from 0x80 up) is left alone. */
	{ __LINE__, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ __LINE__, "\xc3\xa9<\xe2\x82\xac>\xf0\x9f\x98\x80&",
	    "\xc3\xa9&lt;\xe2\x82\xac&gt;\xf0\x9f\x98\x80&amp;" },
	{ __LINE__, "\xff\xfe<\x80", "\xff\xfe&lt;\x80" },
	/* A string stops at its NUL. */
	{ __LINE__, "a<\0<b", "a&lt;" },
};

static void
test_escape_table(void)
{
	const struct escape_case	*c;
	struct sbuf			 b;
	char				 what[128];
	size_t				 i;
	int				 r;

	for (i = 0; i < NELEM(escape_cases); i++) {
		c = &escape_cases[i];
		sbuf_init(&b);
		r = html_escape(&b, c->in);
		(void)snprintf(what, sizeof(what), "html_escape(%s)",
		    unit_quote(c->in, strlen(c->in)));
		unit_check(r == 1, __FILE__, c->line, "%s returned %d", what,
		    r);
		(void)check_sbuf(__FILE__, c->line, what, &b, c->want,
		    strlen(c->want));
		sbuf_cleanup(&b);
	}
}

/*
 * Long strings across the buffer's growth: runs of plain bytes, runs of
 * specials, and a mix, expected built byte by byte.  html_escape()
 * appends to what the buffer already holds.
 */
static void
test_escape_long(void)
{
	static const char	 specials[] = "&<>\"'";
	static const char	*reps[] = { "&amp;", "&lt;", "&gt;", "&quot;",
				    "&#39;" };
	static char		 in[5000], want[5000 * 6 + 16];
	const char		*sp;
	struct sbuf		 b;
	size_t			 i, n, off, k;
	int			 r;

	for (k = 0; k < 4; k++) {
		off = 0;
		n = k == 0 ? 255 : k == 1 ? 256 : k == 2 ? 1000 : 4999;
		for (i = 0; i < n; i++) {
			switch (k) {
			case 0:
				in[i] = 'p';
				break;
			case 1:
				in[i] = '<';
				break;
			default:
				in[i] = i % 7 == 0 || i % 11 == 0 ?
				    specials[i % 5] : (char)('a' + i % 26);
				break;
			}
			sp = strchr(specials, in[i]);
			if (sp != NULL) {
				memcpy(want + off, reps[sp - specials],
				    strlen(reps[sp - specials]));
				off += strlen(reps[sp - specials]);
			} else {
				want[off++] = in[i];
			}
		}
		in[n] = '\0';

		sbuf_init(&b);
		r = html_escape(&b, in);
		CHECK(r == 1, "html_escape of %zu bytes returned %d", n, r);
		(void)check_sbuf(__FILE__, __LINE__, "html_escape long", &b,
		    want, off);
		sbuf_cleanup(&b);
	}

	/* 255 plain bytes then a special: the 5-byte entity crosses 256. */
	memset(in, 'a', 255);
	in[255] = '&';
	in[256] = '\0';
	memset(want, 'a', 255);
	memcpy(want + 255, "&amp;", 6);
	sbuf_init(&b);
	(void)html_escape(&b, in);
	(void)check_sbuf(__FILE__, __LINE__, "entity across growth", &b, want,
	    260);
	sbuf_cleanup(&b);

	/* Appends after what is there. */
	sbuf_init(&b);
	(void)sbuf_append(&b, "<p>", 3);
	(void)html_escape(&b, "a<b");
	(void)html_escape(&b, "");
	(void)html_escape(&b, "'");
	(void)sbuf_append(&b, "</p>", 4);
	(void)check_sbuf(__FILE__, __LINE__, "escape appends", &b,
	    B("<p>a&lt;b&#39;</p>"));
	sbuf_cleanup(&b);
}

static const struct tmpl_var	vars[] = {
	{ "a", "A", TMPL_TEXT },
	{ "b", "B", TMPL_TEXT },
	{ "ab", "AB2", TMPL_TEXT },
	{ "name", "<b>Bob & 'Al'</b>", TMPL_TEXT },
	{ "html", "<i>it's</i> &amp;", TMPL_HTML },
	{ "other", "{{name}}", TMPL_TEXT },
	{ "otherhtml", "{{name}}", TMPL_HTML },
	{ "open", "{{", TMPL_TEXT },
	{ "empty", "", TMPL_TEXT },
	{ "utf8", "caf\xc3\xa9 \"\xe2\x82\xac\"", TMPL_TEXT },
	{ "with space", "S", TMPL_TEXT },
	/* Any type but TMPL_HTML is escaped. */
	{ "type2", "<2>", 2 },
	{ "typeneg", "<-1>", -1 },
};

/* The same, plus a variable named "". */
static const struct tmpl_var	vars_empty[] = {
	{ "a", "A", TMPL_TEXT },
	{ "", "<E>", TMPL_TEXT },
};

struct render_case {
	int			 line;
	const char		*tmpl;
	size_t			 len;	/* TLEN: strlen(tmpl) */
	const struct tmpl_var	*vars;
	size_t			 nvars;
	int			 ret;
	const char		*want;		/* ret 1 only */
	size_t			 wlen;
};

#define V		vars, NELEM(vars)
#define VE		vars_empty, NELEM(vars_empty)
#define NOVARS		NULL, 0
#define OK(s)		1, B(s)
#define FAIL		0, NULL, 0

static const struct render_case	render_cases[] = {
	/* Text alone is copied exactly. */
	{ __LINE__, "", TLEN, V, OK("") },
	{ __LINE__, "plain", TLEN, V, OK("plain") },
	{ __LINE__, "plain", TLEN, NOVARS, OK("plain") },
	{ __LINE__, "<p class=\"x\">&amp; it's</p>\n", TLEN, V,
	    OK("<p class=\"x\">&amp; it's</p>\n") },
	{ __LINE__, "{ {a} } }} {a}} {", TLEN, V, OK("{ {a} } }} {a}} {") },
	{ __LINE__, "caf\xc3\xa9\t\r\n", TLEN, V, OK("caf\xc3\xa9\t\r\n") },

	/* Placeholders: alone, at the start, at the end, adjacent. */
	{ __LINE__, "{{a}}", TLEN, V, OK("A") },
	{ __LINE__, "{{a}}.", TLEN, V, OK("A.") },
	{ __LINE__, ".{{a}}", TLEN, V, OK(".A") },
	{ __LINE__, "{{a}}{{b}}", TLEN, V, OK("AB") },
	{ __LINE__, "{{a}}{{a}}{{a}}", TLEN, V, OK("AAA") },
	{ __LINE__, "x{{a}}y{{b}}z", TLEN, V, OK("xAyBz") },
	{ __LINE__, "<td>{{a}}</td><td>{{b}}</td>", TLEN, V,
	    OK("<td>A</td><td>B</td>") },
	{ __LINE__, "\xc3\xa9{{a}}\xe2\x82\xac", TLEN, V,
	    OK("\xc3\xa9" "A\xe2\x82\xac") },
	/* Names match whole: "a" is not a prefix match for "ab". */
	{ __LINE__, "{{ab}}{{a}}{{b}}", TLEN, V, OK("AB2AB") },
	{ __LINE__, "{{with space}}", TLEN, V, OK("S") },
	/* Braces around a placeholder are text. */
	{ __LINE__, "{{a}}}", TLEN, V, OK("A}") },
	{ __LINE__, "{ {{a}} }", TLEN, V, OK("{ A }") },

	/* Values are escaped unless TMPL_HTML. */
	{ __LINE__, "{{name}}", TLEN, V,
	    OK("&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;") },
	{ __LINE__, "<a title=\"{{name}}\">{{a}}</a>", TLEN, V,
	    OK("<a title=\"&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;\">"
	    "A</a>") },
	{ __LINE__, "{{html}}", TLEN, V, OK("<i>it's</i> &amp;") },
	{ __LINE__, "{{html}}{{name}}", TLEN, V,
	    OK("<i>it's</i> &amp;&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;") },
	{ __LINE__, "{{utf8}}", TLEN, V, OK("caf\xc3\xa9 &quot;\xe2\x82\xac"
	    "&quot;") },
	{ __LINE__, "[{{empty}}]", TLEN, V, OK("[]") },
	{ __LINE__, "{{empty}}", TLEN, V, OK("") },
	{ __LINE__, "{{type2}}{{typeneg}}", TLEN, V,
	    OK("&lt;2&gt;&lt;-1&gt;") },

	/* One pass: values are not expanded again. */
	{ __LINE__, "{{other}}", TLEN, V, OK("{{name}}") },
	{ __LINE__, "{{otherhtml}}", TLEN, V, OK("{{name}}") },
	{ __LINE__, "{{open}}a}}", TLEN, V, OK("{{a}}") },
	{ __LINE__, "{{open}}{{a}}", TLEN, V, OK("{{A") },

	/* Unknown names. */
	{ __LINE__, "{{nope}}", TLEN, V, FAIL },
	{ __LINE__, "ok {{a}} then {{nope}}", TLEN, V, FAIL },
	{ __LINE__, "{{A}}", TLEN, V, FAIL },
	{ __LINE__, "{{ a }}", TLEN, V, FAIL },
	{ __LINE__, "{{a }}", TLEN, V, FAIL },
	{ __LINE__, "{{abc}}", TLEN, V, FAIL },
	{ __LINE__, "{{{a}}}", TLEN, V, FAIL },
	{ __LINE__, "{{a}}", TLEN, NOVARS, FAIL },
	{ __LINE__, "{{a\nb}}", TLEN, V, FAIL },
	{ __LINE__, "{{a}b}}", TLEN, V, FAIL },

	/* {{}}: an error unless a variable is named "". */
	{ __LINE__, "{{}}", TLEN, V, FAIL },
	{ __LINE__, "x{{}}y", TLEN, V, FAIL },
	{ __LINE__, "{{}}", TLEN, VE, OK("&lt;E&gt;") },
	{ __LINE__, "{{a}}{{}}{{a}}", TLEN, VE, OK("A&lt;E&gt;A") },

	/* Unclosed {{. */
	{ __LINE__, "{{", TLEN, V, FAIL },
	{ __LINE__, "{{a", TLEN, V, FAIL },
	{ __LINE__, "{{a}", TLEN, V, FAIL },
	{ __LINE__, "{{a} }", TLEN, V, FAIL },
	{ __LINE__, "text {{", TLEN, V, FAIL },
	{ __LINE__, "{{a}} {{b", TLEN, V, FAIL },
	{ __LINE__, "{{a}} {{", TLEN, NOVARS, FAIL },

	/* len is respected: nothing past it is read or copied. */
	{ __LINE__, "abcdef", 3, V, OK("abc") },
	{ __LINE__, "abcdef", 0, V, OK("") },
	{ __LINE__, "{{nope}}", 0, V, OK("") },
	{ __LINE__, "{{a}}{{nope}}", 5, V, OK("A") },
	{ __LINE__, "abc{{a}}", 3, V, OK("abc") },
	{ __LINE__, "ab{{a}}", 3, V, OK("ab{") },
	{ __LINE__, "ab{{a}}", 4, V, FAIL },
	{ __LINE__, "{{a}}", 4, V, FAIL },
	{ __LINE__, "{{a}}", 3, V, FAIL },
	{ __LINE__, "{{ab}}", 5, V, FAIL },
	{ __LINE__, "{{ab}}x", 6, V, OK("AB2") },
	/* NUL bytes in the template are text like any other. */
	{ __LINE__, B("a\0b{{a}}\0"), V, OK("a\0bA\0") },
	{ __LINE__, B("{{a\0}}"), V, FAIL },
};

static void
test_render_table(void)
{
	const struct render_case	*c;
	struct sbuf			 b;
	char				 what[160];
	size_t				 i, len;
	int				 r;

	for (i = 0; i < NELEM(render_cases); i++) {
		c = &render_cases[i];
		len = c->len == TLEN ? strlen(c->tmpl) : c->len;
		sbuf_init(&b);
		r = tmpl_render(&b, c->tmpl, len, c->vars, c->nvars);
		(void)snprintf(what, sizeof(what), "tmpl_render(%s, %zu)",
		    unit_quote(c->tmpl, len), len);
		if (unit_num(__FILE__, c->line, what, c->ret, r) && r == 1)
			(void)check_sbuf(__FILE__, c->line, what, &b, c->want,
			    c->wlen);
		sbuf_cleanup(&b);
	}
}

/*
 * Templates and values past the buffer's first 256 bytes: 1000
 * placeholders, a long value escaped, and a long HTML value.
 */
static void
test_render_long(void)
{
	static char	tmpl[8000], want[40000], val[3000];
	struct tmpl_var	v[2];
	struct sbuf	b;
	size_t		i, off, woff;
	int		r;

	off = woff = 0;
	for (i = 0; i < 1000; i++) {
		memcpy(tmpl + off, i % 2 ? "{{a}}" : "-{{b}}", i % 2 ? 5 : 6);
		off += i % 2 ? 5 : 6;
		memcpy(want + woff, i % 2 ? "A" : "-B", i % 2 ? 1 : 2);
		woff += i % 2 ? 1 : 2;
	}
	sbuf_init(&b);
	r = tmpl_render(&b, tmpl, off, vars, NELEM(vars));
	CHECK(r == 1, "1000 placeholders: returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "1000 placeholders", &b, want,
	    woff);
	sbuf_cleanup(&b);

	/* 3000 bytes, every third one escaped, in text before and after. */
	woff = 0;
	for (i = 0; i < sizeof(val) - 1; i++) {
		val[i] = i % 3 == 0 ? '<' : 'v';
	}
	val[sizeof(val) - 1] = '\0';
	memcpy(want, "<div>", 5);
	woff = 5;
	for (i = 0; i < sizeof(val) - 1; i++) {
		if (val[i] == '<') {
			memcpy(want + woff, "&lt;", 4);
			woff += 4;
		} else {
			want[woff++] = 'v';
		}
	}
	memcpy(want + woff, "</div>", 6);
	woff += 6;
	v[0].name = "long";
	v[0].value = val;
	v[0].type = TMPL_TEXT;
	v[1].name = "raw";
	v[1].value = val;
	v[1].type = TMPL_HTML;
	sbuf_init(&b);
	r = tmpl_render(&b, B("<div>{{long}}</div>"), v, 2);
	CHECK(r == 1, "long value: returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "long escaped value", &b, want,
	    woff);
	sbuf_cleanup(&b);

	sbuf_init(&b);
	r = tmpl_render(&b, B("{{raw}}"), v, 2);
	CHECK(r == 1, "long HTML value: returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "long HTML value", &b, val,
	    sizeof(val) - 1);
	sbuf_cleanup(&b);
}

/*
 * tmpl_render() appends to the buffer, so a rendered card can become an
 * HTML value of the page.
 */
static void
test_render_append(void)
{
	struct tmpl_var	page[2];
	struct sbuf	cards, out;
	size_t		i;
	int		r, ok;

	sbuf_init(&cards);
	ok = 1;
	for (i = 0; i < 3; i++) {
		ok &= tmpl_render(&cards, B("<li>{{name}}</li>"), vars,
		    NELEM(vars));
	}
	CHECK(ok == 1, "cards: tmpl_render failed");
	(void)check_sbuf(__FILE__, __LINE__, "three cards", &cards,
	    B("<li>&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;</li>"
	    "<li>&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;</li>"
	    "<li>&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;</li>"));

	page[0].name = "cards";
	page[0].value = cards.data;
	page[0].type = TMPL_HTML;
	page[1].name = "title";
	page[1].value = "x<y";
	page[1].type = TMPL_TEXT;
	sbuf_init(&out);
	(void)sbuf_append(&out, "<!doctype html>", 15);
	r = tmpl_render(&out, B("<h1>{{title}}</h1><ul>{{cards}}</ul>"), page,
	    2);
	CHECK(r == 1, "page: returned %d", r);
	(void)check_sbuf(__FILE__, __LINE__, "page", &out,
	    B("<!doctype html><h1>x&lt;y</h1><ul>"
	    "<li>&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;</li>"
	    "<li>&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;</li>"
	    "<li>&lt;b&gt;Bob &amp; &#39;Al&#39;&lt;/b&gt;</li></ul>"));
	sbuf_cleanup(&out);
	sbuf_cleanup(&cards);
}
