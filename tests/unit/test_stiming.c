/*
 * stiming_format(): the Server-Timing value, escaping, and truncation that
 * drops whole entries and never writes past the buffer.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stiming.h"
#include "unit.h"

#define ENTRIES_MAX	5
#define REF_MAX		4096

/*
 * One call: the entries, the buffer size and the exact value expected
 * (the return is its length).
 */
struct format_case {
	int			 line;
	size_t			 n;
	struct stiming_entry	 e[ENTRIES_MAX];
	size_t			 len;
	const char		*want;
};

static const struct format_case	format_cases[] = {
	{ __LINE__, 0, { { NULL, 0, NULL } }, 64, "" },
	{ __LINE__, 1, { { "total", 12.5, "sync" } }, 64,
	    "total;dur=12.5;desc=\"sync\"" },
	{ __LINE__, 1, { { "total", 12.5, NULL } }, 64, "total;dur=12.5" },
	{ __LINE__, 1, { { "a", 1, "" } }, 64, "a;dur=1.0;desc=\"\"" },
	{ __LINE__, 1, { { "a", 0, NULL } }, 64, "a;dur=0.0" },
	{ __LINE__, 1, { { "a", 0.04, NULL } }, 64, "a;dur=0.0" },
	{ __LINE__, 1, { { "a", 0.06, NULL } }, 64, "a;dur=0.1" },
	{ __LINE__, 1, { { "a", 1234567.5, NULL } }, 64, "a;dur=1234567.5" },
	{ __LINE__, 1, { { "a", -1, NULL } }, 64, "a;dur=0.0" },
	{ __LINE__, 1, { { "a", -1e300, NULL } }, 64, "a;dur=0.0" },

	/* Escaping: '"' and '\\' quoted; control and non-ASCII dropped. */
	{ __LINE__, 1, { { "a", 1, "say \"hi\"" } }, 64,
	    "a;dur=1.0;desc=\"say \\\"hi\\\"\"" },
	{ __LINE__, 1, { { "a", 1, "\"" } }, 64, "a;dur=1.0;desc=\"\\\"\"" },
	{ __LINE__, 1, { { "a", 1, "\\" } }, 64, "a;dur=1.0;desc=\"\\\\\"" },
	{ __LINE__, 1, { { "a", 1, "c:\\dir\\" } }, 64,
	    "a;dur=1.0;desc=\"c:\\\\dir\\\\\"" },
	{ __LINE__, 1, { { "a", 1, "\\\"" } }, 64,
	    "a;dur=1.0;desc=\"\\\\\\\"\"" },
	{ __LINE__, 1, { { "a", 1, "line1\r\nline2\ttab" } }, 64,
	    "a;dur=1.0;desc=\"line1line2tab\"" },
	{ __LINE__, 1, { { "a", 1, "\x01\x02\x1f\x7f" } }, 64,
	    "a;dur=1.0;desc=\"\"" },
	{ __LINE__, 1, { { "a", 1, "caf\xc3\xa9 \xe2\x82\xac" } }, 64,
	    "a;dur=1.0;desc=\"caf \"" },
	{ __LINE__, 1, { { "a", 1, "\x80\xff x \xfe" } }, 64,
	    "a;dur=1.0;desc=\" x \"" },
	{ __LINE__, 1, { { "a", 1, " !#$%&'()*+,-./:;<=>?@[]^_`{|}~" } }, 64,
	    "a;dur=1.0;desc=\" !#$%&'()*+,-./:;<=>?@[]^_`{|}~\"" },
	{ __LINE__, 1, { { "a", 1, "x, b;dur=9" } }, 64,
	    "a;dur=1.0;desc=\"x, b;dur=9\"" },

	/* Several entries. */
	{ __LINE__, 3, { { "total", 30.5, "async" }, { "call1", 10, "200" },
	    { "call2", 20, "timeout" } }, 256,
	    "total;dur=30.5;desc=\"async\", call1;dur=10.0;desc=\"200\", "
	    "call2;dur=20.0;desc=\"timeout\"" },
	{ __LINE__, 2, { { "a", 1, NULL }, { "b", 2, "\"" } }, 64,
	    "a;dur=1.0, b;dur=2.0;desc=\"\\\"\"" },

	/* Tiny buffers: empty or whole entries, with room for the NUL. */
	{ __LINE__, 1, { { "total", 12.5, "sync" } }, 1, "" },
	{ __LINE__, 1, { { "total", 12.5, "sync" } }, 2, "" },
	{ __LINE__, 1, { { "total", 12.5, "sync" } }, 10, "" },
	{ __LINE__, 1, { { "total", 12.5, "sync" } }, 15, "" },
	{ __LINE__, 1, { { "total", 12.5, NULL } }, 15, "total;dur=12.5" },
	{ __LINE__, 1, { { "total", 12.5, NULL } }, 14, "" },
	{ __LINE__, 1, { { "a", 1, NULL } }, 10, "a;dur=1.0" },
	{ __LINE__, 1, { { "a", 1, NULL } }, 9, "" },
	{ __LINE__, 1, { { "a", 1, "" } }, 18, "a;dur=1.0;desc=\"\"" },
	{ __LINE__, 1, { { "a", 1, "" } }, 17, "" },
	{ __LINE__, 1, { { "a", 1, "\"" } }, 20, "a;dur=1.0;desc=\"\\\"\"" },
	{ __LINE__, 1, { { "a", 1, "\"" } }, 19, "" },
	{ __LINE__, 1, { { "a", 1, "\"" } }, 18, "" },
	{ __LINE__, 2, { { "a", 1, NULL }, { "b", 2, NULL } }, 10,
	    "a;dur=1.0" },
	{ __LINE__, 2, { { "a", 1, NULL }, { "b", 2, NULL } }, 11,
	    "a;dur=1.0" },
	{ __LINE__, 2, { { "a", 1, NULL }, { "b", 2, NULL } }, 12,
	    "a;dur=1.0" },
	{ __LINE__, 2, { { "a", 1, NULL }, { "b", 2, NULL } }, 20,
	    "a;dur=1.0" },
	{ __LINE__, 2, { { "a", 1, NULL }, { "b", 2, NULL } }, 21,
	    "a;dur=1.0, b;dur=2.0" },
	{ __LINE__, 2, { { "a", 1, NULL }, { "b", 2, "xy" } }, 28,
	    "a;dur=1.0" },
	{ __LINE__, 1, { { "a", 1e300, NULL } }, 64, "a;dur=0.0" },
	{ __LINE__, 1, { { "a", NAN, NULL } }, 64, "a;dur=0.0" },
	{ __LINE__, 1, { { "a", -INFINITY, NULL } }, 64, "a;dur=0.0" },
};

static void	test_format_table(void);
static void	test_format_sweep(void);
static void	test_format_random(void);
static void	test_format_big(void);
static size_t	ref_entry(char *, size_t, const struct stiming_entry *);
static int	check_prefix(const char *, int, const struct stiming_entry *,
		    size_t, size_t);
static int	valid_value(const char *);

void
test_stiming(void)
{
	test_format_table();
	test_format_sweep();
	test_format_random();
	test_format_big();
}

static void
test_format_table(void)
{
	const struct format_case	*c;
	char				*buf, what[64];
	size_t				 r;
	size_t				 i;

	for (i = 0; i < NELEM(format_cases); i++) {
		c = &format_cases[i];
		/* Exactly len bytes on the heap: ASan sees any overrun. */
		if ((buf = malloc(c->len)) == NULL)
			abort();
		memset(buf, 'Z', c->len);
		r = stiming_format(buf, c->len, c->e, c->n);
		(void)snprintf(what, sizeof(what), "stiming_format len %zu",
		    c->len);
		(void)unit_str(__FILE__, c->line, what, c->want, buf);
		(void)unit_num(__FILE__, c->line, "stiming_format return",
		    (long long)strlen(c->want), (long long)r);
		free(buf);
	}
}

/*
 * The reference: one entry as the header wants it, built without the
 * module.  Returns its length.
 */
static size_t
ref_entry(char *buf, size_t len, const struct stiming_entry *e)
{
	const char	*p;
	size_t		 off;
	int		 r;

	r = snprintf(buf, len, "%s;dur=%.1f", e->name, e->ms < 0 ? 0 : e->ms);
	if (r < 0 || (size_t)r >= len)
		abort();
	off = (size_t)r;
	if (e->desc == NULL)
		return (off);

	buf[off++] = ';';
	buf[off++] = 'd';
	buf[off++] = 'e';
	buf[off++] = 's';
	buf[off++] = 'c';
	buf[off++] = '=';
	buf[off++] = '"';
	for (p = e->desc; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			continue;
		if (*p == '"' || *p == '\\')
			buf[off++] = '\\';
		buf[off++] = *p;
	}
	buf[off++] = '"';
	buf[off] = '\0';

	return (off);
}

/*
 * stiming_format() into exactly len bytes must give the longest run of
 * leading entries that fits (with its NUL), joined by ", ", and return
 * its length.  Returns 1 when it does; reports a failure otherwise.
 */
static int
check_prefix(const char *file, int line, const struct stiming_entry *e,
    size_t n, size_t len)
{
	static char	 want[REF_MAX], one[REF_MAX];
	char		*buf, what[96];
	size_t		 i, off, w, r;
	int		 ok;

	off = 0;
	want[0] = '\0';
	for (i = 0; i < n; i++) {
		w = ref_entry(one, sizeof(one), &e[i]);
		if ((off > 0 ? off + 2 : 0) + w + 1 > len)
			break;
		if (off > 0) {
			memcpy(want + off, ", ", 2);
			off += 2;
		}
		memcpy(want + off, one, w + 1);
		off += w;
	}

	if ((buf = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	memset(buf, 'Z', len == 0 ? 1 : len);
	r = stiming_format(buf, len, e, n);

	if (len == 0) {
		ok = r == 0 && buf[0] == 'Z';
		if (!ok)
			unit_check(0, file, line, "stiming_format len 0: "
			    "returned %zu or wrote to the buffer", r);
	} else {
		ok = memchr(buf, '\0', len) != NULL &&
		    strcmp(buf, want) == 0 && r == off && valid_value(buf);
		if (!ok) {
			(void)snprintf(what, sizeof(what), "stiming_format "
			    "%zu entries, len %zu (returned %zu)", n, len, r);
			(void)unit_mem(file, line, what, want, off, buf,
			    memchr(buf, '\0', len) != NULL ? strlen(buf) :
			    len);
		}
	}
	free(buf);

	return (ok);
}

static int
tchar(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

/*
 * A Server-Timing value as this module writes it:
 * token;dur=D.D[;desc="..."] joined by ", ", or empty.
 */
static int
valid_value(const char *s)
{
	const char	*p;
	int		 c;

	p = s;
	if (*p == '\0')
		return (1);
	for (;;) {
		if (!tchar((unsigned char)*p))
			return (0);
		while (tchar((unsigned char)*p))
			p++;
		if (strncmp(p, ";dur=", 5) != 0)
			return (0);
		p += 5;
		if (*p < '0' || *p > '9')
			return (0);
		while (*p >= '0' && *p <= '9')
			p++;
		if (p[0] != '.' || p[1] < '0' || p[1] > '9')
			return (0);
		p += 2;
		if (strncmp(p, ";desc=\"", 7) == 0) {
			for (p += 7; *p != '"'; p++) {
				c = (unsigned char)*p;
				if (c == '\\') {
					c = (unsigned char)*++p;
					if (c != '"' && c != '\\')
						return (0);
				} else if (c < 0x20 || c > 0x7e)
					return (0);
			}
			p++;
		}
		if (*p == '\0')
			return (1);
		if (strncmp(p, ", ", 2) != 0)
			return (0);
		p += 2;
	}
}

/* Every buffer size from 0 to past the whole value. */
static void
test_format_sweep(void)
{
	static const struct stiming_entry	e[] = {
		{ "total", 12.5, "sync" },
		{ "call1", 7, "a\"b\\c" },
		{ "call2", -3, NULL },
		{ "call3", 1e6, "x\n\ty\x01\x7f\xc3\xa9z" },
		{ "call4", 0.25, "\"\\\"\\" },
	};
	static const char	*full = "total;dur=12.5;desc=\"sync\", "
	    "call1;dur=7.0;desc=\"a\\\"b\\\\c\", call2;dur=0.0, "
	    "call3;dur=1000000.0;desc=\"xyz\", "
	    "call4;dur=0.2;desc=\"\\\"\\\\\\\"\\\\\"";
	char			 buf[512];
	size_t			 len, r, bad;

	r = stiming_format(buf, sizeof(buf), e, NELEM(e));
	(void)unit_str(__FILE__, __LINE__, "stiming_format sweep, whole",
	    full, buf);
	(void)unit_num(__FILE__, __LINE__, "stiming_format sweep return",
	    (long long)strlen(full), (long long)r);

	bad = 0;
	for (len = 0; len <= strlen(full) + 3; len++) {
		if (!check_prefix(__FILE__, __LINE__, e, NELEM(e), len) &&
		    ++bad >= 3)
			break;
	}
	CHECK(bad == 0, "stiming_format sweep: %zu buffer sizes wrong", bad);
}

static unsigned long	rnd_state = 20240601;

static unsigned long
rnd(unsigned long n)
{
	rnd_state = rnd_state * 6364136223846793005UL + 1442695040888963407UL;
	return ((rnd_state >> 33) % n);
}

/* Random entries with hostile descriptions, every buffer size. */
static void
test_format_random(void)
{
	static const char	 palette[] = "\"\\\"\\ab ,;=\n\t\x01\x1f\x7f"
	    "\x80\xc3\xa9\xff";
	struct stiming_entry	 e[ENTRIES_MAX];
	char			 names[ENTRIES_MAX][32];
	char			 descs[ENTRIES_MAX][48];
	size_t			 i, j, n, dl, len, full;
	int			 iter, bad;
	char			 buf[REF_MAX];

	bad = 0;
	for (iter = 0; iter < 300 && bad == 0; iter++) {
		n = rnd(ENTRIES_MAX + 1);
		for (i = 0; i < n; i++) {
			(void)snprintf(names[i], sizeof(names[i]), "call%zu",
			    i);
			dl = rnd(sizeof(descs[i]));
			for (j = 0; j < dl; j++) {
				descs[i][j] = palette[rnd(sizeof(palette) -
				    1)];
			}
			descs[i][dl] = '\0';
			e[i].name = names[i];
			e[i].ms = (double)((long)rnd(2000000) - 1000) / 10.0;
			e[i].desc = rnd(5) == 0 ? NULL : descs[i];
		}
		full = stiming_format(buf, sizeof(buf), e, n);
		for (len = 0; len <= full + 3 && bad == 0; len++) {
			if (!check_prefix(__FILE__, __LINE__, e, n, len))
				bad++;
		}
	}
	CHECK(bad == 0, "stiming_format random: failed at iteration %d",
	    iter);
}

/* A large value, and one that fills STIMING_MAX. */
static void
test_format_big(void)
{
	static struct stiming_entry	 e[2000];
	static char			 buf[STIMING_MAX];
	static char			 names[2000][32];
	static char			 desc[STIMING_MAX * 2];
	char				 want[STIMING_MAX];
	size_t				 i, r;

	for (i = 0; i < NELEM(e); i++) {
		(void)snprintf(names[i], sizeof(names[i]), "call%zu", i + 1);
		e[i].name = names[i];
		e[i].ms = 10000;
		e[i].desc = "timeout";
	}
	r = stiming_format(buf, sizeof(buf), e, NELEM(e));
	CHECK(r < sizeof(buf) && r == strlen(buf) && valid_value(buf),
	    "stiming_format 2000 entries: returned %zu, not a valid value",
	    r);
	CHECK(r > sizeof(buf) - 48, "stiming_format 2000 entries: only %zu "
	    "of %zu bytes used", r, sizeof(buf));
	CHECK(r >= 2 && buf[r - 1] == '"' && buf[r - 2] == 't',
	    "stiming_format 2000 entries: ends in %s",
	    unit_quote(buf + (r > 8 ? r - 8 : 0), r > 8 ? 8 : r));

	/* One description longer than the whole buffer: dropped. */
	memset(desc, '"', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	e[0].desc = "ok";
	e[1].desc = desc;
	r = stiming_format(buf, sizeof(buf), e, 2);
	(void)snprintf(want, sizeof(want), "call1;dur=10000.0;desc=\"ok\"");
	(void)unit_str(__FILE__, __LINE__, "stiming_format huge desc", want,
	    buf);
	CHECK(r == strlen(want), "stiming_format huge desc: returned %zu", r);

	/* An absurd duration is written as 0, not 300 digits. */
	e[0].ms = 1e300;
	e[0].desc = NULL;
	r = stiming_format(buf, sizeof(buf), e, 1);
	CHECK(r == strlen("call1;dur=0.0") && valid_value(buf),
	    "stiming_format 1e300: returned %zu, %s", r,
	    unit_quote(buf, strlen(buf)));
}
