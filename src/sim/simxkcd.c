/*
 * The simulator's xkcd: /xkcd/info.0.json (the latest comic), comic <n>
 * in xkcd's format (generated, deterministic), its page and its image.
 *
 * Some comics are broken on purpose (broken[] below): 404 does not exist
 * (as on the real site), 405-411 are malformed, incomplete, oversized,
 * hostile or absurdly nested documents.  A broken comic either replaces
 * the whole answer or alters the fields of the generated document.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "jsongen.h"
#include "sim.h"

#define SIM_HUGE_ALT		(2 * 1024 * 1024)
#define SIM_NESTED		200000

/* A generated comic's text fields, before they become JSON. */
struct sim_fields {
	char		title[128];
	char		alt[256];
	char		img[300];
	char		*long_alt;
	int		no_img;
};

/* What is wrong with a broken comic: its whole answer, or its fields. */
struct sim_broken {
	long long	num;
	const char	*what;
	void		(*answer)(struct http_request *, struct sim_wait *);
	void		(*fields)(struct sim_fields *);
};

static const struct sim_broken	*sim_broken_find(long long);
static void	sim_fields_init(struct http_request *, long long,
		    struct sim_fields *);
static void	sim_comic_json(struct http_request *, struct sim_wait *,
		    struct sim_fields *);
static void	sim_send(struct http_request *, struct sim_wait *,
		    struct kore_buf *, const char *);
static void	sim_missing(struct http_request *, struct sim_wait *);
static void	sim_cut_off(struct http_request *, struct sim_wait *);
static void	sim_wrong_types(struct http_request *, struct sim_wait *);
static void	sim_nested(struct http_request *, struct sim_wait *);
static void	sim_no_img(struct sim_fields *);
static void	sim_long_alt(struct sim_fields *);
static void	sim_html_text(struct sim_fields *);
static void	sim_js_img(struct sim_fields *);

static const struct sim_broken	broken[] = {
	{ 404, "does not exist, as on xkcd.com", sim_missing, NULL },
	{ 405, "malformed JSON, cut off", sim_cut_off, NULL },
	{ 406, "no img field", NULL, sim_no_img },
	{ 407, "a 2 MiB document (a 2 MiB alt text)", NULL, sim_long_alt },
	{ 408, "HTML in its title and alt text", NULL, sim_html_text },
	{ 409, "a javascript: image URL", NULL, sim_js_img },
	{ 410, "every field of the wrong type", sim_wrong_types, NULL },
	{ 411, "nested 200000 deep", sim_nested, NULL },
};

#define broken_len	(sizeof(broken) / sizeof(broken[0]))

static const char	*words[] = {
	"Orbital", "Mechanics", "Regex", "Golf", "Compiling", "Standards",
	"Sandwich", "Dependency", "Tar", "Password", "Strength", "Estimation",
	"Exploits", "Mom", "Automation", "Nerd", "Sniping", "Purity",
	"Lisp", "Cycles", "Correlation", "Causation", "Bobby", "Tables",
};

#define words_len	(sizeof(words) / sizeof(words[0]))

/*
 * Comic <num> in xkcd's format, deterministic.  404 and anything past the
 * latest do not exist (the router set their status); malformed/ cuts
 * any comic off.
 */
void
sim_comic(struct http_request *req, struct sim_wait *w)
{
	const struct sim_broken	*br;
	struct sim_fields	f;

	br = sim_broken_find(w->num);
	if (w->status == 404) {
		sim_missing(req, w);
		return;
	}
	if (w->body == SIM_BODY_MALFORMED) {
		sim_cut_off(req, w);
		return;
	}
	if (br != NULL && br->answer != NULL) {
		br->answer(req, w);
		return;
	}

	sim_fields_init(req, w->num, &f);
	if (br != NULL && br->fields != NULL)
		br->fields(&f);
	sim_comic_json(req, w, &f);
}

void
sim_page(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 256);
	kore_buf_appendf(&buf, "<!doctype html><title>xkcd-sim %lld"
	    "</title><h1>Simulated comic %lld</h1>\n", w->num, w->num);
	http_response_header(req, "content-type", "text/html; charset=utf-8");
	http_response(req, (int)w->status, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

void
sim_image(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 512);
	kore_buf_appendf(&buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"240\" height=\"160\" viewBox=\"0 0 240 160\">"
	    "<rect width=\"240\" height=\"160\" fill=\"#fff\" "
	    "stroke=\"#222\" stroke-width=\"4\"/>"
	    "<circle cx=\"60\" cy=\"60\" r=\"14\" fill=\"none\" "
	    "stroke=\"#222\" stroke-width=\"3\"/>"
	    "<path d=\"M60 74v40m0-30l-20 14m20-14l20 14m-20 16l-16 24m16-24"
	    "l16 24\" stroke=\"#222\" stroke-width=\"3\" fill=\"none\"/>"
	    "<text x=\"150\" y=\"90\" font-family=\"sans-serif\" "
	    "font-size=\"28\" text-anchor=\"middle\">#%lld</text></svg>\n",
	    w->num);

	http_response_header(req, "content-type", "image/svg+xml");
	http_response_header(req, "cache-control", "max-age=86400");
	http_response(req, HTTP_STATUS_OK, buf.data, buf.offset);
	kore_buf_cleanup(&buf);
}

static const struct sim_broken *
sim_broken_find(long long num)
{
	size_t		i;

	for (i = 0; i < broken_len; i++) {
		if (broken[i].num == num)
			return (&broken[i]);
	}

	return (NULL);
}

/* The image URL names the host the client asked, if it looks sane. */
static void
sim_fields_init(struct http_request *req, long long n, struct sim_fields *f)
{
	const char	*host;

	memset(f, 0, sizeof(*f));
	if (!http_request_header(req, "host", &host) ||
	    strlen(host) > 200 || strpbrk(host, "\"<> \\") != NULL)
		host = "127.0.0.1";

	(void)snprintf(f->title, sizeof(f->title), "%s %s",
	    words[(n * 7) % words_len], words[(n * 13 + 5) % words_len]);
	(void)snprintf(f->alt, sizeof(f->alt), "Comic %lld: the one about %s "
	    "and %s.", n, words[(n * 3) % words_len],
	    words[(n * 11) % words_len]);
	(void)snprintf(f->img, sizeof(f->img), "http://%s/xkcd/img/%lld.svg",
	    host, n);
}

static void
sim_comic_json(struct http_request *req, struct sim_wait *w,
    struct sim_fields *f)
{
	const unsigned char	*out;
	yajl_gen		g;
	size_t			len;
	long long		n = w->num;

	g = jsongen_alloc();
	yajl_gen_map_open(g);
	jsongen_str(g, "month", "1");
	jsongen_int(g, "num", n);
	jsongen_str(g, "link", "");
	jsongen_int(g, "year", 2006 + n / 150);
	jsongen_str(g, "news", "");
	jsongen_str(g, "safe_title", f->title);
	jsongen_str(g, "transcript", "");
	jsongen_str(g, "alt", f->long_alt != NULL ? f->long_alt : f->alt);
	if (!f->no_img)
		jsongen_str(g, "img", f->img);
	jsongen_str(g, "title", f->title);
	jsongen_int(g, "day", 1 + n % 28);
	yajl_gen_map_close(g);

	(void)jsongen_finish(g, &out, &len);
	http_response_header(req, "content-type", "application/json");
	http_response(req, (int)w->status, out, len);
	jsongen_free(g);
	kore_free(f->long_alt);
}

/* Exactly one Content-Type: Kore's http_response_header() appends. */
static void
sim_send(struct http_request *req, struct sim_wait *w, struct kore_buf *b,
    const char *type)
{
	http_response_header(req, "content-type", type);
	http_response(req, (int)w->status, b->data, b->offset);
	kore_buf_cleanup(b);
}

static void
sim_missing(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 64);
	kore_buf_appendf(&buf, "<h1>404 Not Found</h1>\n");
	w->status = 404;
	sim_send(req, w, &buf, "text/html");
}

static void
sim_cut_off(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 64);
	kore_buf_appendf(&buf, "{\"num\": %lld, \"title\": \"Cut off",
	    w->num);
	sim_send(req, w, &buf, "application/json");
}

static void
sim_wrong_types(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "{\"num\": \"410\", \"title\": 7, "
	    "\"safe_title\": [], \"alt\": null, \"img\": {}}");
	sim_send(req, w, &buf, "application/json");
}

/* Deep enough to crash a recursive parser without a cap. */
static void
sim_nested(struct http_request *req, struct sim_wait *w)
{
	struct kore_buf		buf;
	char			*pad;

	pad = kore_malloc(SIM_NESTED);
	memset(pad, '[', SIM_NESTED);
	kore_buf_init(&buf, SIM_NESTED + 64);
	kore_buf_appendf(&buf, "{\"num\": 411, \"x\": ");
	kore_buf_append(&buf, pad, SIM_NESTED);
	kore_free(pad);
	sim_send(req, w, &buf, "application/json");
}

static void
sim_no_img(struct sim_fields *f)
{
	f->no_img = 1;
}

/* Over the app's default 1 MiB body limit. */
static void
sim_long_alt(struct sim_fields *f)
{
	f->long_alt = kore_malloc(SIM_HUGE_ALT);
	memset(f->long_alt, 'a', SIM_HUGE_ALT - 1);
	f->long_alt[SIM_HUGE_ALT - 1] = '\0';
}

static void
sim_html_text(struct sim_fields *f)
{
	(void)snprintf(f->title, sizeof(f->title),
	    "<script>alert(1)</script>");
	(void)snprintf(f->alt, sizeof(f->alt),
	    "\"><img src=x onerror=alert(1)> & 'quotes'");
}

static void
sim_js_img(struct sim_fields *f)
{
	(void)snprintf(f->img, sizeof(f->img), "javascript:alert(1)");
}
