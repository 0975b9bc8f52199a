/*
 * The engine's upstream connections: the multi handle's connection cache,
 * the pools calls take their connections from (and the TLS sessions they
 * resume), HTTP/2 for https upstreams, and the CA bundle https upstreams
 * are verified against.
 */

#include <sys/types.h>

#include <limits.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <kore/kore.h>
#include <kore/curl.h>

#include "engine.h"

#define POOL_MAX		128
#define POOL_CALLS		32

CURLM		*__real_curl_multi_init(void);
CURLM		*__wrap_curl_multi_init(void);

static CURLcode	conns_sslctx(CURL *, void *, void *);
static int	conns_h2_known(const char *);
static int	conns_h2_key(const char *, char *, size_t);

#define H2_HOSTS		16
#define H2_KEY_MAX		256

/* https hosts that answered over HTTP/2 (conns_h2_learn()). */
static struct {
	char		key[H2_KEY_MAX];
	u_int64_t	at;
} h2_hosts[H2_HOSTS];

static CURLM			*multi = NULL;
static X509_STORE		*ca_store = NULL;

/*
 * Upstream connection pools.  libcurl 7.88 walks every connection in a
 * cache when it looks for one to reuse, and again when a finished
 * transfer leaves the multi handle: with a thousand calls in flight on
 * a worker that was two thousand-long walks per call, the largest share
 * of the worker's time.  So the engine splits the connections into
 * pools (curl share handles, each owning a connection cache) of at most
 * POOL_CALLS calls in flight, filled first-fit: under light load every
 * call uses pool 0 and its connections; under heavy load a new call
 * goes to the first pool with room, the one where a call just finished
 * and left its connection idle.  Pools are made on demand and kept.
 *
 * A pool's share handle also keeps the TLS sessions of its connections
 * (CURL_LOCK_DATA_SSL_SESSION; libcurl keeps 8 per share, by host and
 * port): a new connection to an https host resumes the session of an
 * earlier one instead of a full handshake.  An easy handle takes one
 * share, so sessions live and die with their pool: each pool makes its
 * own first handshake to a host (and its own HTTP/2 connection), and
 * after conns_drop_all() the next call to a host makes a full one.
 */
struct pool {
	CURLSH		*share;
	u_int32_t	running;
};

static struct pool		pools[POOL_MAX];
static size_t			npools = 0;
static long			pool_conns = 0;

/*
 * Kore keeps its curl multi handle to itself; the link wraps
 * curl_multi_init() (-Wl,--wrap) so the engine can size its connection
 * cache, the one thing that decides whether upstream connections are
 * reused under load.
 */
CURLM *
__wrap_curl_multi_init(void)
{
	multi = __real_curl_multi_init();

	/* libcurl's default since 7.62; conns_tls() depends on it. */
	if (multi != NULL) {
		curl_multi_setopt(multi, CURLMOPT_PIPELINING,
		    (long)CURLPIPE_MULTIPLEX);
	}

	return (multi);
}


/* The idle connections the worker keeps, split between its pools. */
void
conns_configure(long maxconns)
{
	pool_conns = maxconns;
	if (multi != NULL && maxconns > 0)
		curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, maxconns);
}

long
conns_idle_max(void)
{
	return (pool_conns);
}

CURLSH *
conns_share(int pool)
{
	return (pool != POOL_NONE ? pools[pool].share : NULL);
}

void
conns_counts(u_int64_t *npool, u_int64_t *pooled)
{
	size_t		i;

	*npool = npools;
	*pooled = 0;
	for (i = 0; i < npools; i++)
		*pooled += pools[i].running;
}

/*
 * https: HTTP/2 where the upstream offers it in ALPN.  A call to a host
 * known to speak it waits for a connection being made to it
 * (CURLOPT_PIPEWAIT) rather than open one of its own: the calls of a
 * cold gallery become streams on one connection, one handshake.  Only a
 * known host: libcurl 7.88 does not time a waiting call out, and when the
 * connection it waits for fails the next call's becomes the one the rest
 * wait for, so against a host that never answers the calls would fail one
 * connect timeout after another instead of all at once.  Not for http://,
 * where libcurl speaks HTTP/1.1.  The CA bundle: the parsed one.
 */
void
conns_tls(CURL *h, const char *url)
{
	if (strncasecmp(url, "https://", 8) != 0)
		return;

	curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS);
	if (conns_h2_known(url))
		curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);

	if (ca_store == NULL)
		return;

	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, conns_sslctx);
}

/*
 * What a finished https call says of its host: it answered over HTTP/2
 * (h2 1: later calls may wait for its connections), or its connection
 * failed (h2 -1: forget it).  Hosts are "https://host:port" prefixes of
 * the URL; the table keeps the H2_HOSTS most recently learned.
 */
void
conns_h2_learn(const char *url, int h2)
{
	char		key[H2_KEY_MAX];
	size_t		i, slot;

	if (h2 == 0 || !conns_h2_key(url, key, sizeof(key)))
		return;

	for (i = 0; i < H2_HOSTS; i++) {
		if (strcmp(h2_hosts[i].key, key) == 0)
			break;
	}
	if (h2 < 0) {
		if (i < H2_HOSTS)
			h2_hosts[i].key[0] = '\0';
		return;
	}

	if (i == H2_HOSTS) {
		for (slot = 0, i = 1; i < H2_HOSTS; i++) {
			if (h2_hosts[i].at < h2_hosts[slot].at)
				slot = i;
		}
		i = slot;
		(void)snprintf(h2_hosts[i].key, sizeof(h2_hosts[i].key), "%s",
		    key);
	}
	h2_hosts[i].at = kore_time_ms();
}

static int
conns_h2_known(const char *url)
{
	char		key[H2_KEY_MAX];
	size_t		i;

	if (!conns_h2_key(url, key, sizeof(key)))
		return (0);

	for (i = 0; i < H2_HOSTS; i++) {
		if (h2_hosts[i].key[0] != '\0' &&
		    strcmp(h2_hosts[i].key, key) == 0)
			return (1);
	}

	return (0);
}

/* "https://host:port/path" -> "https://host:port"; 0 if it does not fit. */
static int
conns_h2_key(const char *url, char *key, size_t len)
{
	size_t		n;

	if (strncasecmp(url, "https://", 8) != 0)
		return (0);

	n = 8 + strcspn(url + 8, "/?#");
	if (n >= len)
		return (0);

	memcpy(key, url, n);
	key[n] = '\0';
	return (1);
}

/* A new TLS connection: verify against the CA bundle's store. */
static CURLcode
conns_sslctx(CURL *h, void *sslctx, void *arg)
{
	SSL_CTX_set1_cert_store(sslctx, ca_store);

	return (CURLE_OK);
}

/*
 * The CA bundle https upstreams are verified against, parsed once in the
 * parent: before the workers chroot (the bundle's file may not exist
 * inside), and before they fork (they share the store).  Handed to libcurl
 * as a blob instead, it was copied into every call and parsed again for
 * every new TLS connection.  Returns the number of certificates.
 */
int
fanout_set_ca(const u_int8_t *pem, size_t len)
{
	BIO			*bio;
	X509_STORE		*store;
	STACK_OF(X509_INFO)	*infos;
	X509_INFO		*info;
	int			i, n;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return (0);

	n = 0;
	store = NULL;
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	if (infos != NULL && (store = X509_STORE_new()) != NULL) {
		for (i = 0; i < sk_X509_INFO_num(infos); i++) {
			info = sk_X509_INFO_value(infos, i);
			if (info->x509 != NULL &&
			    X509_STORE_add_cert(store, info->x509))
				n++;
		}
	}

	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	ERR_clear_error();

	if (n == 0) {
		X509_STORE_free(store);
		return (0);
	}

	X509_STORE_free(ca_store);
	ca_store = store;

	return (n);
}

/*
 * The pool for a new call: the first with fewer than POOL_CALLS calls in
 * flight, a new one if all are full, the least busy one when POOL_MAX
 * are.  POOL_NONE (the multi handle's own cache) if libcurl has no
 * memory for another share handle.
 */
int
conns_take(void)
{
	size_t		i, least;
	CURLSH		*sh;

	for (i = 0; i < npools; i++) {
		if (pools[i].running < POOL_CALLS)
			break;
	}

	if (i == npools && npools < POOL_MAX) {
		if ((sh = curl_share_init()) == NULL)
			return (POOL_NONE);
		if (curl_share_setopt(sh, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
		    curl_share_setopt(sh, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
			curl_share_cleanup(sh);
			return (POOL_NONE);
		}
		pools[npools++].share = sh;

		/* libcurl applies the limit to each cache: split it. */
		if (multi != NULL && pool_conns > 0) {
			curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
			    pool_conns / (long)npools > 0 ?
			    pool_conns / (long)npools : 1L);
		}
	} else if (i == npools) {
		least = 0;
		for (i = 1; i < npools; i++) {
			if (pools[i].running < pools[least].running)
				least = i;
		}
		i = least;
	}

	pools[i].running++;

	return ((int)i);
}

void
conns_release(int pool)
{
	if (pool != POOL_NONE)
		pools[pool].running--;
}

/*
 * Close every pooled connection: only when no call is in flight, so no
 * easy handle uses a pool.  A pool libcurl still calls in use is kept,
 * with the ones before it.
 */
void
conns_drop_all(void)
{
	while (npools > 0) {
		if (pools[npools - 1].running > 0 ||
		    curl_share_cleanup(pools[npools - 1].share) != CURLSHE_OK)
			break;
		pools[--npools].share = NULL;
	}
}
