/*
 * The shared store (store.h): one hiredis async connection per worker,
 * its socket in Kore's event loop the way Kore's pgsql.c puts libpq's
 * there (a struct kore_event whose handle() runs hiredis's read and write
 * handlers; hiredis's addRead/addWrite/delRead/delWrite/cleanup hooks turn
 * into level-triggered epoll watches).  hiredis 0.14 has no timers: the
 * tick timer below keeps every deadline.
 *
 * The connection's states:
 *
 *   OFF         no --redis: store_cmd() always says no.
 *   DOWN        not connected; a connect is due at retry_at (backoff from
 *               100 ms, doubling up to 2 s, reset once up).
 *   CONNECTING  connect, SELECT and PING sent; the PING's answer makes it
 *               UP, a failure or its deadline DOWN.
 *   UP          commands are sent.
 *
 * Every command has a deadline (--redis-timeout).  Answers come in order,
 * so when the oldest pending command is past its deadline the connection
 * is failed: freeing the hiredis context calls every pending callback
 * without a reply, and each caller hears STORE_FAIL once.  Going from UP to
 * not UP and back is logged once each way.
 *
 * A second connection, with the same states and backoff, is subscribed to
 * one channel (store_subscribe()): what other instances publish there
 * (a result stored, a lock released) reaches the handler at once.  It only
 * hurries things along: whoever waits on it also polls, so losing it (or
 * a message) costs time, never an answer.
 */

#include <sys/types.h>
#include <sys/param.h>
#include <sys/socket.h>

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <kore/kore.h>

#include "store.h"

#define STORE_OFF		0
#define STORE_DOWN		1
#define STORE_CONNECTING	2
#define STORE_UP		3

#define STORE_TICK_MS		10
#define STORE_RETRY_MIN_MS	100
#define STORE_RETRY_MAX_MS	2000
#define STORE_PREFIX_MAX	64
#define STORE_ADDR_MAX		256
#define STORE_EVT_TYPE		64
#define STORE_KEY_PLAIN_MAX	200

#define LOGGED_NONE		0
#define LOGGED_UP		1
#define LOGGED_DOWN		2

struct store_op {
	store_cb		cb;
	void			*arg;
	u_int64_t		deadline;
	TAILQ_ENTRY(store_op)	list;
};

struct store_conn {
	struct kore_event	evt;		/* first: epoll's pointer */
	redisAsyncContext	*ac;
	int			fd;
	int			watched;
	int			want_write;
	int			state;
	int			logged;
	u_int64_t		retry_at;
	u_int64_t		retry_ms;
	u_int64_t		hello_deadline;	/* the subscriber's */
	int			sub;
};

static void	store_connect(struct store_conn *);
static void	store_attach(struct store_conn *, redisAsyncContext *);
static void	store_hello(void);
static struct store_op	*store_send(store_cb, void *, int, const char **,
		    const size_t *);
static void	store_hello_done(void *, const struct store_reply *);
static void	store_sub_cb(redisAsyncContext *, void *, void *);
static void	store_fail(struct store_conn *, const char *);
static void	store_lost(struct store_conn *, const char *);
static void	store_retry_later(struct store_conn *);
static void	store_tick(void *, u_int64_t);
static void	store_reply_cb(redisAsyncContext *, void *, void *);
static void	store_convert(const redisReply *, struct store_reply *);
static void	store_on_connect(const redisAsyncContext *, int);
static void	store_on_disconnect(const redisAsyncContext *, int);
static void	store_ev_handle(void *, int);
static void	store_ev_watch(struct store_conn *);
static void	store_ev_add_read(void *);
static void	store_ev_del_read(void *);
static void	store_ev_add_write(void *);
static void	store_ev_del_write(void *);
static void	store_ev_cleanup(void *);
static int	store_parse_url(const char *, char *, size_t);
static int	store_split_port(char *);
static int	store_number(const char *, long long, long long, long long *);

static struct store_conn	conn = { .state = STORE_OFF };
static struct store_conn	subc = { .state = STORE_OFF, .sub = 1 };
static void			(*sub_handler)(const char *, size_t) = NULL;
static char			sub_channel[STORE_KEY_MAX];
static TAILQ_HEAD(, store_op)	pending = TAILQ_HEAD_INITIALIZER(pending);
static char			addr[STORE_ADDR_MAX];	/* numeric or path */
static int			port = 0;		/* 0: unix socket */
static long long		dbnum = 0;
static char			prefix[STORE_PREFIX_MAX + 1];
static u_int64_t		timeout_ms = 200;
static u_int64_t		n_ops, n_fails, n_lost;

/*
 * The parent, before workers fork: check the URL and the prefix, resolve
 * a host name now (the workers may be in a chroot without /etc/hosts).
 */
int
store_configure(const char *url, const char *pfx, long tmo, char *err,
    size_t errlen)
{
	size_t		i;

	if (url == NULL || url[0] == '\0')
		return (1);

	if (!store_parse_url(url, err, errlen))
		return (0);

	for (i = 0; pfx[i] != '\0'; i++) {
		if (!isalnum((unsigned char)pfx[i]) &&
		    strchr("_-.:", pfx[i]) == NULL)
			break;
	}
	if (i == 0 || pfx[i] != '\0' || i > STORE_PREFIX_MAX) {
		(void)snprintf(err, errlen, "invalid value for --redis-prefix "
		    "(FANOUT_REDIS_PREFIX): expected 1 to %d characters of "
		    "a-z, A-Z, 0-9, _-.:", STORE_PREFIX_MAX);
		return (0);
	}

	(void)snprintf(prefix, sizeof(prefix), "%s", pfx);
	timeout_ms = (u_int64_t)tmo;
	conn.state = STORE_DOWN;

	return (1);
}

/* Each worker: connect now, keep the deadlines and reconnects going. */
void
store_worker_start(void)
{
	if (conn.state == STORE_OFF)
		return;

	conn.evt.type = STORE_EVT_TYPE;
	conn.evt.handle = store_ev_handle;
	conn.retry_ms = STORE_RETRY_MIN_MS;
	conn.fd = -1;
	store_connect(&conn);
	(void)kore_timer_add(store_tick, STORE_TICK_MS, NULL, 0);
}

/*
 * The worker's one subscription: handler(message) for each message on
 * <prefix>:<kind> (whoever publishes on it is store_publish_channel()).
 */
void
store_subscribe(const char *kind, void (*handler)(const char *, size_t))
{
	if (conn.state == STORE_OFF || sub_handler != NULL ||
	    !store_channel(sub_channel, sizeof(sub_channel), kind))
		return;

	sub_handler = handler;
	subc.evt.type = STORE_EVT_TYPE;
	subc.evt.handle = store_ev_handle;
	subc.retry_ms = STORE_RETRY_MIN_MS;
	subc.fd = -1;
	subc.state = STORE_DOWN;
	store_connect(&subc);
}

/* A channel's name: the prefix and the db keep instances apart. */
int
store_channel(char *buf, size_t len, const char *kind)
{
	int	n;

	n = snprintf(buf, len, "%s:%lld:%s", prefix, dbnum, kind);
	return (n >= 0 && (size_t)n < len);
}

int
store_enabled(void)
{
	return (conn.state != STORE_OFF);
}

int
store_up(void)
{
	return (conn.state == STORE_UP);
}

const char *
store_state(void)
{
	switch (conn.state) {
	case STORE_OFF:
		return ("off");
	case STORE_UP:
		return ("up");
	case STORE_CONNECTING:
		return ("connecting");
	default:
		return ("down");
	}
}

/* Commands sent, failed (error, timeout, lost) and connections lost. */
void
store_counts(u_int64_t *ops, u_int64_t *fails, u_int64_t *lost)
{
	*ops = n_ops;
	*fails = n_fails;
	*lost = n_lost;
}

struct store_op *
store_cmd(store_cb cb, void *arg, int argc, const char **argv,
    const size_t *lens)
{
	if (conn.state != STORE_UP)
		return (NULL);

	return (store_send(cb, arg, argc, argv, lens));
}

/* store_cmd() for a command whose arguments are all C strings. */
struct store_op *
store_cmd_text(store_cb cb, void *arg, int argc, const char **argv)
{
	size_t		lens[STORE_TEXT_ARGS];
	int		i;

	if (argc > STORE_TEXT_ARGS)
		return (NULL);

	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);

	return (store_cmd(cb, arg, argc, argv, lens));
}

/*
 * A flag key that expires: set for ms (its time left is read with PTTL,
 * on Redis's clock), or removed with ms 0.  No answer is waited for.
 */
void
store_flag(const char *key, long ms)
{
	const char	*argv[5];
	char		px[24];

	(void)snprintf(px, sizeof(px), "%ld", ms);
	argv[0] = ms > 0 ? "SET" : "DEL";
	argv[1] = key;
	argv[2] = "1";
	argv[3] = "PX";
	argv[4] = px;
	(void)store_cmd_text(NULL, NULL, ms > 0 ? 5 : 2, argv);
}

static struct store_op *
store_send(store_cb cb, void *arg, int argc, const char **argv,
    const size_t *lens)
{
	struct store_op		*op;
	size_t			i, total;
	int			done;

	if (conn.ac == NULL)
		return (NULL);

	total = 0;
	for (i = 0; i < (size_t)argc; i++)
		total += lens[i];
	if (total > STORE_VALUE_MAX + STORE_KEY_MAX * 4)
		return (NULL);

	op = kore_calloc(1, sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	op->deadline = kore_time_ms() + timeout_ms;

	if (redisAsyncCommandArgv(conn.ac, store_reply_cb, op, argc, argv,
	    lens) != REDIS_OK) {
		kore_free(op);
		return (NULL);
	}

	TAILQ_INSERT_TAIL(&pending, op, list);
	n_ops++;

	/*
	 * Write now, not at the next turn of the loop: a value stored while
	 * a page answers is in Redis before the answer leaves.  A write
	 * error is left for the write handler to find (no callback here).
	 */
	if (conn.state == STORE_UP)
		(void)redisBufferWrite(&conn.ac->c, &done);

	return (op);
}

/* The callback will not run; the answer, when it comes, is dropped. */
void
store_cancel(struct store_op *op)
{
	if (op != NULL)
		op->cb = NULL;
}

/* A long key is named by its SHA-256, so every key fits. */
int
store_key(char *buf, size_t len, const char *kind, const char *key)
{
	u_int8_t	md[SHA256_DIGEST_LENGTH];
	char		hex[SHA256_DIGEST_LENGTH * 2 + 2];
	size_t		i;
	int		n;

	if (strlen(key) > STORE_KEY_PLAIN_MAX) {
		(void)SHA256((const u_int8_t *)key, strlen(key), md);
		hex[0] = '#';
		for (i = 0; i < sizeof(md); i++)
			(void)snprintf(hex + 1 + i * 2, 3, "%02x", md[i]);
		key = hex;
	}

	n = snprintf(buf, len, "%s:%s:%s", prefix, kind, key);
	return (n >= 0 && (size_t)n < len);
}

/* Element i of an array answer, as an answer of its own. */
int
store_reply_elem(const struct store_reply *r, size_t i,
    struct store_reply *out)
{
	const redisReply	*rr = r->raw;

	if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || i >= rr->elements)
		return (0);

	store_convert(rr->element[i], out);
	return (1);
}

/* Wall-clock milliseconds: ages that mean the same on every machine. */
u_int64_t
store_wall_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((u_int64_t)ts.tv_sec * 1000 + (u_int64_t)ts.tv_nsec / 1000000);
}

static void
store_connect(struct store_conn *sc)
{
	redisAsyncContext	*ac;
	const char		*argv[2];
	size_t			lens[2];

	ac = port > 0 ? redisAsyncConnect(addr, port) :
	    redisAsyncConnectUnix(addr);
	if (ac == NULL || ac->err) {
		if (ac != NULL)
			redisAsyncFree(ac);
		store_retry_later(sc);
		return;
	}

	store_attach(sc, ac);
	if (!sc->sub) {
		store_hello();
		return;
	}

	/* Its answers come to store_sub_cb(), as long as it lives. */
	argv[0] = "SUBSCRIBE";
	argv[1] = sub_channel;
	lens[0] = 9;
	lens[1] = strlen(sub_channel);
	sc->hello_deadline = kore_time_ms() + timeout_ms;
	if (redisAsyncCommandArgv(ac, store_sub_cb, sc, 2, argv, lens) !=
	    REDIS_OK)
		store_fail(sc, "cannot send to");
}

static void
store_attach(struct store_conn *sc, redisAsyncContext *ac)
{
	sc->ac = ac;
	sc->fd = ac->c.fd;
	sc->watched = 0;
	sc->want_write = 0;
	sc->state = STORE_CONNECTING;

	ac->ev.data = sc;
	ac->ev.addRead = store_ev_add_read;
	ac->ev.delRead = store_ev_del_read;
	ac->ev.addWrite = store_ev_add_write;
	ac->ev.delWrite = store_ev_del_write;
	ac->ev.cleanup = store_ev_cleanup;
	(void)redisAsyncSetConnectCallback(ac, store_on_connect);
	(void)redisAsyncSetDisconnectCallback(ac, store_on_disconnect);
}

/* The command connection: SELECT, then a PING whose answer makes it UP. */
static void
store_hello(void)
{
	const char	*argv[2];
	size_t		lens[2];
	char		db[24];

	if (dbnum != 0) {
		(void)snprintf(db, sizeof(db), "%lld", dbnum);
		argv[0] = "SELECT";
		argv[1] = db;
		lens[0] = strlen(argv[0]);
		lens[1] = strlen(argv[1]);
		(void)store_send(NULL, NULL, 2, argv, lens);
	}
	argv[0] = "PING";
	lens[0] = 4;
	if (store_send(store_hello_done, NULL, 1, argv, lens) == NULL)
		store_fail(&conn, "cannot send to");
}

/* The subscriber: its confirmation, then each message; NULL: gone. */
static void
store_sub_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_conn	*sc = priv;
	const redisReply	*rr = r;

	if (rr == NULL) {
		if (sc->ac == ac)
			store_lost(sc, "lost the subscription to");
		return;
	}
	if (rr->type != REDIS_REPLY_ARRAY || rr->elements != 3 ||
	    rr->element[0]->type != REDIS_REPLY_STRING)
		return;

	if (strcmp(rr->element[0]->str, "subscribe") == 0) {
		sc->state = STORE_UP;
		sc->retry_ms = STORE_RETRY_MIN_MS;
	} else if (strcmp(rr->element[0]->str, "message") == 0 &&
	    rr->element[2]->type == REDIS_REPLY_STRING &&
	    rr->element[2]->len <= STORE_KEY_MAX && sub_handler != NULL) {
		sub_handler(rr->element[2]->str, rr->element[2]->len);
	}
}

static void
store_hello_done(void *arg, const struct store_reply *r)
{
	if (conn.state != STORE_CONNECTING)
		return;

	if (r->status != STORE_OK) {
		store_fail(&conn, "no answer from");
		return;
	}

	conn.state = STORE_UP;
	conn.retry_ms = STORE_RETRY_MIN_MS;
	if (conn.logged != LOGGED_UP) {
		kore_log(LOG_NOTICE, "redis: connected, sharing with the other "
		    "instances");
		conn.logged = LOGGED_UP;
	}
}

/* Give the connection up ourselves (a timeout, a failed send). */
static void
store_fail(struct store_conn *sc, const char *why)
{
	redisAsyncContext	*ac = sc->ac;

	store_lost(sc, why);
	if (ac != NULL)
		redisAsyncFree(ac);
}

/*
 * The connection is gone (or going: hiredis frees it after this): DOWN,
 * a reconnect later, and the log says so once (the command connection's).
 */
static void
store_lost(struct store_conn *sc, const char *why)
{
	int	was = sc->state;

	sc->ac = NULL;
	sc->state = STORE_DOWN;
	if (was == STORE_DOWN)
		return;

	store_retry_later(sc);
	if (sc->sub)
		return;
	if (was == STORE_UP)
		n_lost++;
	if (sc->logged != LOGGED_DOWN) {
		kore_log(LOG_NOTICE, "redis: %s the server; in-process caches "
		    "and limits until it is back", why);
		sc->logged = LOGGED_DOWN;
	}
}

static void
store_retry_later(struct store_conn *sc)
{
	sc->retry_at = kore_time_ms() + sc->retry_ms;
	sc->retry_ms = MIN(sc->retry_ms * 2, STORE_RETRY_MAX_MS);
}

static void
store_tick(void *arg, u_int64_t now)
{
	struct store_op		*op;

	if (subc.state == STORE_DOWN && subc.ac == NULL &&
	    now >= subc.retry_at)
		store_connect(&subc);
	else if (subc.state == STORE_CONNECTING && now >= subc.hello_deadline)
		store_fail(&subc, "no answer in time from");

	if (conn.state == STORE_DOWN && conn.ac == NULL &&
	    now >= conn.retry_at) {
		store_connect(&conn);
		return;
	}

	op = TAILQ_FIRST(&pending);
	if (op != NULL && now >= op->deadline && conn.ac != NULL)
		store_fail(&conn, "no answer in time from");
}

static void
store_reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_op		*op = priv;
	struct store_reply	out;

	TAILQ_REMOVE(&pending, op, list);

	/* No reply: hiredis is dropping the connection. */
	if (r == NULL && conn.ac == ac)
		store_lost(&conn, "lost the connection to");

	if (op->cb != NULL) {
		if (r == NULL) {
			memset(&out, 0, sizeof(out));
			out.status = STORE_FAIL;
		} else {
			store_convert(r, &out);
		}
		if (out.status == STORE_FAIL)
			n_fails++;
		op->cb(op->arg, &out);
	}

	kore_free(op);
}

static void
store_convert(const redisReply *rr, struct store_reply *out)
{
	memset(out, 0, sizeof(*out));
	out->raw = rr;

	switch (rr->type) {
	case REDIS_REPLY_NIL:
		out->status = STORE_NIL;
		break;
	case REDIS_REPLY_INTEGER:
		out->status = STORE_OK;
		out->integer = rr->integer;
		break;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		out->status = rr->len <= STORE_VALUE_MAX ? STORE_OK :
		    STORE_FAIL;
		out->str = rr->str;
		out->len = rr->len;
		break;
	case REDIS_REPLY_ARRAY:
		out->status = STORE_OK;
		out->n = rr->elements;
		break;
	default:
		out->status = STORE_FAIL;
		break;
	}
}

static void
store_on_connect(const redisAsyncContext *ac, int status)
{
	struct store_conn	*sc = ac->ev.data;

	if (status != REDIS_OK && sc->ac == ac)
		store_lost(sc, "cannot connect to");
}

static void
store_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store_conn	*sc = ac->ev.data;

	if (sc->ac == ac)
		store_lost(sc, "lost the connection to");
}

/* hiredis may free the context in either handler: check before each. */
static void
store_ev_handle(void *arg, int err)
{
	struct store_conn	*sc = arg;
	redisAsyncContext	*ac = sc->ac;
	int			flags = sc->evt.flags;

	sc->evt.flags &= ~(KORE_EVENT_READ | KORE_EVENT_WRITE);
	if (ac == NULL)
		return;

	if ((flags & KORE_EVENT_WRITE) && sc->want_write) {
		redisAsyncHandleWrite(ac);
		if (sc->ac != ac)
			return;
	}

	if ((flags & KORE_EVENT_READ) || err)
		redisAsyncHandleRead(ac);
}

/* Read is always watched (level-triggered), write while hiredis asks. */
static void
store_ev_watch(struct store_conn *sc)
{
	if (sc->fd < 0)
		return;

	kore_platform_event_level_change(sc->fd, sc->want_write, sc);
	sc->watched = 1;
}

static void
store_ev_add_read(void *arg)
{
	store_ev_watch(arg);
}

static void
store_ev_del_read(void *arg)
{
	/* Only at the end (cleanup), where the watch goes. */
}

static void
store_ev_add_write(void *arg)
{
	struct store_conn	*sc = arg;

	sc->want_write = 1;
	store_ev_watch(sc);
}

static void
store_ev_del_write(void *arg)
{
	struct store_conn	*sc = arg;

	sc->want_write = 0;
	if (sc->watched)
		store_ev_watch(sc);
}

/* Before hiredis closes the socket: stop watching it. */
static void
store_ev_cleanup(void *arg)
{
	struct store_conn	*sc = arg;

	if (sc->watched && sc->fd >= 0)
		kore_platform_disable_read(sc->fd);
	sc->watched = 0;
	sc->want_write = 0;
	sc->fd = -1;
}

/*
 * redis://host[:port][/db] (host a name, an IPv4 address or [IPv6]), or
 * an absolute path to a unix socket.  No user or password: nothing
 * secret is configured or logged here.
 */
static int
store_parse_url(const char *url, char *err, size_t errlen)
{
	struct addrinfo		hints, *res;
	char			host[STORE_ADDR_MAX], *p;

	if (url[0] == '/') {
		if (strlen(url) >= sizeof(addr))
			goto bad;
		(void)snprintf(addr, sizeof(addr), "%s", url);
		return (1);
	}

	if (strncmp(url, "redis://", 8) != 0 || strchr(url, '@') != NULL ||
	    strlen(url + 8) >= sizeof(host))
		goto bad;
	(void)snprintf(host, sizeof(host), "%s", url + 8);

	/* An IPv6 address has no '/': the first one starts the db. */
	if ((p = strchr(host, '/')) != NULL) {
		*p++ = '\0';
		if (!store_number(p, 0, 1000, &dbnum))
			goto bad;
	}

	if (!store_split_port(host))
		goto bad;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		(void)snprintf(err, errlen, "--redis (FANOUT_REDIS): cannot "
		    "resolve '%s'", host);
		return (0);
	}
	if (getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr),
	    NULL, 0, NI_NUMERICHOST) != 0) {
		freeaddrinfo(res);
		goto bad;
	}
	freeaddrinfo(res);

	return (1);

bad:
	(void)snprintf(err, errlen, "invalid value for --redis (FANOUT_REDIS): "
	    "expected redis://host:port/db or a unix socket path");
	return (0);
}

/* host[:port] or [IPv6][:port], in place: host is left bare. */
static int
store_split_port(char *host)
{
	char		*p, *colon;
	long long	n;

	port = 6379;
	if (host[0] == '[') {
		if ((p = strchr(host, ']')) == NULL)
			return (0);
		*p++ = '\0';
		colon = *p == ':' ? p : NULL;
		if (*p != '\0' && colon == NULL)
			return (0);
	} else {
		colon = strchr(host, ':');
	}

	if (colon != NULL) {
		*colon++ = '\0';
		if (!store_number(colon, 1, 65535, &n))
			return (0);
		port = (int)n;
	}

	if (host[0] == '[')
		memmove(host, host + 1, strlen(host + 1) + 1);

	return (host[0] != '\0');
}

static int
store_number(const char *s, long long min, long long max, long long *out)
{
	char		*end;

	if (*s < '0' || *s > '9')
		return (0);
	*out = strtoll(s, &end, 10);
	return (*end == '\0' && *out >= min && *out <= max);
}
