/*
 * The comic cache shared by the fleet (comicstore.h).
 *
 * A gallery's comics missing from the worker's cache are asked of the
 * store in one MGET; the answer fills what it can and the gallery fetches
 * the rest, storing each fetched comic (SET EX COMICSTORE_TTL_S).  Stored
 * comics are small JSON documents ({"num", "title", "safe_title", "alt",
 * "img"}) read back with comic_parse(), so a comic from the store passes
 * the same checks as one from the upstream.  With the store down a
 * gallery just fetches what the worker lacks.
 */

#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>

#include "comicstore.h"
#include "jsongen.h"
#include "store.h"

#define COMICSTORE_TTL_S	"86400"

static void	comicstore_answer(void *, const struct store_reply *);
static int	comicstore_key(char *, size_t, long long);

/* Ask for ask->nums; 1: asked (done(arg) runs later), 0: not shared. */
int
comicstore_ask(struct comicstore_ask *ask, void (*done)(void *), void *arg)
{
	const char	*argv[COMICSTORE_MAX + 1];
	size_t		i;
	char		keys[COMICSTORE_MAX][STORE_KEY_MAX];

	if (ask->n == 0 || ask->n > COMICSTORE_MAX || !store_up())
		return (0);

	argv[0] = "MGET";
	for (i = 0; i < ask->n; i++) {
		if (!comicstore_key(keys[i], sizeof(keys[i]), ask->nums[i]))
			return (0);
		argv[i + 1] = keys[i];
	}

	ask->done = done;
	ask->arg = arg;
	ask->op = store_cmd_text(comicstore_answer, ask, (int)ask->n + 1,
	    argv);

	return (ask->op != NULL);
}

int
comicstore_pending(const struct comicstore_ask *ask)
{
	return (ask->op != NULL);
}

/* Whatever happened: no callback any more, the comics found freed. */
void
comicstore_cleanup(struct comicstore_ask *ask)
{
	size_t		i;

	store_cancel(ask->op);
	ask->op = NULL;
	for (i = 0; i < ask->n; i++) {
		if (ask->found[i])
			comic_cleanup(&ask->comics[i]);
		ask->found[i] = 0;
	}
}

void
comicstore_put(const struct comic *c)
{
	yajl_gen		g;
	const unsigned char	*doc;
	const char		*argv[5];
	size_t			lens[5], len;
	char			key[STORE_KEY_MAX];

	if (!store_up() || !comicstore_key(key, sizeof(key), c->num))
		return;

	if ((g = jsongen_alloc()) == NULL)
		return;
	if (yajl_gen_map_open(g) == yajl_gen_status_ok &&
	    jsongen_int(g, "num", c->num) &&
	    jsongen_str(g, "title", c->title) &&
	    jsongen_str(g, "safe_title", c->safe_title) &&
	    jsongen_str(g, "alt", c->alt) && jsongen_str(g, "img", c->img) &&
	    yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    jsongen_finish(g, &doc, &len)) {
		argv[0] = "SET";
		argv[1] = key;
		argv[2] = (const char *)doc;
		argv[3] = "EX";
		argv[4] = COMICSTORE_TTL_S;
		lens[0] = 3;
		lens[1] = strlen(key);
		lens[2] = len;
		lens[3] = 2;
		lens[4] = strlen(argv[4]);
		(void)store_cmd(NULL, NULL, 5, argv, lens);
	}
	jsongen_free(g);
}

static void
comicstore_answer(void *arg, const struct store_reply *r)
{
	struct comicstore_ask	*ask = arg;
	struct store_reply	v;
	size_t			i;
	char			err[128];

	ask->op = NULL;
	for (i = 0; r->status == STORE_OK && i < ask->n; i++) {
		if (!store_reply_elem(r, i, &v) || v.status != STORE_OK ||
		    v.str == NULL)
			continue;
		if (!comic_parse(v.str, v.len, &ask->comics[i], err,
		    sizeof(err)))
			continue;
		if (ask->comics[i].num != ask->nums[i]) {
			comic_cleanup(&ask->comics[i]);
			continue;
		}
		ask->found[i] = 1;
	}

	ask->done(ask->arg);
}

static int
comicstore_key(char *buf, size_t len, long long num)
{
	char		n[24];

	(void)snprintf(n, sizeof(n), "%lld", num);
	return (store_key(buf, len, "comic", n));
}
