/*
 * Process set-up: Kore hooks, routes and the embedded simulator.
 *
 * One binary, two roles.  The app role serves the pages; the simulator role
 * (--simulator) serves the fake upstreams.  They never share a process: a
 * sync page blocks its whole worker, and a simulator inside that worker
 * could not answer the very call the page is waiting for.  So the app's
 * parent starts the simulator as a child process of its own (unless an
 * upstream is configured or --sim-port is 0), which keeps `make run` and
 * `kodev run` complete offline demos.
 *
 * Everything that varies at run time (addresses, ports, workers, upstream,
 * limits) comes from settings.c and is applied here, in the parent, before
 * Kore parses its compiled-in configuration and forks the workers.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>
#include <kore/seccomp.h>

#include "fanout.h"
#include "health.h"
#include "metrics.h"
#include "pages.h"
#include "partner.h"
#include "reply.h"
#include "settings.h"
#include "share.h"
#include "store.h"
#include "syncgate.h"
#include "trace.h"

struct route {
	int		role;
	int		type;
	const char	*path;
	const char	*handler;
	int		sync;	/* a sync page: --sync-pages off drops it */
};

int	__real_SSL_CTX_use_PrivateKey(SSL_CTX *, EVP_PKEY *);
int	__wrap_SSL_CTX_use_PrivateKey(SSL_CTX *, EVP_PKEY *);

int	kore_parent_configure(int, char **);
void	kore_parent_teardown(void);
void	kore_worker_configure(void);
void	kore_worker_teardown(void);

static void	app_settings(int, char **);
static void	app_listen(void);
static void	app_admin_listen(void);
static BIO	*app_pem_open(const char *, const char *, char *);
static void	app_tls(struct kore_domain *);
static void	app_privsep(void);
static void	app_files(void);
static void	app_sighup(int);
static void	app_reload_check(void *, u_int64_t);
static void	app_fail(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	app_limits(void);
static void	app_tail(struct fanout_tail *);
static void	app_tail_rule(struct fanout_tail_rule *,
		    const struct fanout_tail_rule *,
		    const struct settings_rule *, int);
static void	app_spawn_simulator(void);
static void	app_partner_key(void);
static void	app_random_key(char *, size_t);
static char	*app_env(const char *, const char *);

extern char	**environ;

/*
 * Kore 4.1.0's curl filter lacks what a threaded host-name lookup needs;
 * without these the first upstream addressed by name kills the worker.
 * (gettid: AddressSanitizer's thread start, in the ASan build.)
 */
void	kore_seccomp_hook(void);

KORE_SECCOMP_FILTER("fanout",
	KORE_SYSCALL_ALLOW(socketpair),
	KORE_SYSCALL_ALLOW(clone3),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	KORE_SYSCALL_ALLOW(gettid),
);

static const struct route	routes[] = {
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/app.js", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/style.css", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/get_data",
	    "page_get_data", 1 },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/async_get_data",
	    "page_async_get_data" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/_/stats",
	    "page_engine_stats" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/xkcd", "page_xkcd" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/xkcd/sync",
	    "page_xkcd_sync", 1 },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/xkcd.js", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/stats", "page_stats" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/stats/sync",
	    "page_stats_sync", 1 },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/api/stats", "page_stats" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/stats.js", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/favicon.svg", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_DYNAMIC, "^/vendor/", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/_/whoami", "page_whoami" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/metrics", "page_metrics" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/healthz", "page_healthz" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/readyz", "page_readyz" },
	/* Last: everything else is a 404 with the security headers. */
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_DYNAMIC, "^/", "page_not_found" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_STATIC, "/", "sim_index" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_STATIC, "/_/stats", "sim_stats" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_STATIC, "/_/fault", "sim_fault" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_STATIC, "/_/trace", "sim_trace" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_DYNAMIC, "^/", "sim_serve" },
};

#define routes_len	(sizeof(routes) / sizeof(routes[0]))

/* The --admin-port listener: the operational pages only. */
static const struct route	admin_routes[] = {
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/metrics", "page_metrics" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/healthz", "page_healthz" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/readyz", "page_readyz" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/_/stats",
	    "page_engine_stats" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/_/whoami", "page_whoami" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_DYNAMIC, "^/", "page_not_found" },
};

static pid_t			sim_pid = -1;
static int			accesslog_fd = -1;
static volatile sig_atomic_t	reload_asked = 0;
static EVP_PKEY			*tls_pkey = NULL;
static char			sim_key[SETTINGS_SIZE(partner_key)];

int
kore_parent_configure(int argc, char **argv)
{
	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	app_settings(argc, argv);

	kore_foreground = settings.foreground;
	skip_chroot = settings.skip_chroot;
	skip_runas = settings.skip_runas;
	kore_quiet = settings.quiet;
	kore_pidfile = kore_strdup(settings.pidfile);
	kore_seccomp_tracing = (int)settings.seccomp_trace;

	if (settings.workers > 0)
		worker_count = (u_int8_t)settings.workers;

	/*
	 * Kore pins worker N to CPU N.  A simulator standing in for remote
	 * upstreams would then share a CPU with one of the app's workers on
	 * the same machine while another CPU idles: let its workers float.
	 */
	if (settings.role == SETTINGS_ROLE_SIM)
		worker_set_affinity = 0;

	app_limits();
	app_privsep();
	app_files();

	/* Kore's own HSTS header: on a TLS listener only. */
	http_hsts_enable = 0;

	app_listen();

	if (settings.role == SETTINGS_ROLE_APP) {
		metrics_init(settings.workers > 0 ?
		    (u_int32_t)settings.workers : cpu_count);
		if (settings.sync_pages == SETTINGS_SYNC_LIMIT) {
			syncgate_init(settings.workers > 0 ?
			    (u_int32_t)settings.workers : cpu_count);
		}
		if (settings.sim_embedded) {
			app_partner_key();
			app_spawn_simulator();
		}
		kore_log(LOG_NOTICE, "upstream: %s", settings.upstream);
		kore_log(LOG_NOTICE, "xkcd upstream: %s",
		    settings.xkcd_upstream);
	}

	return (KORE_RESULT_OK);
}

void
kore_parent_teardown(void)
{
	if (sim_pid > 0) {
		(void)kill(sim_pid, SIGTERM);
		(void)waitpid(sim_pid, NULL, 0);
	}
}

/* The engine's tail tolerance, from the settings. */
static void
app_tail(struct fanout_tail *t)
{
	static const char *const	bases[SETTINGS_UPS] = {
		[SETTINGS_UP_DELAY] = settings.upstream,
		[SETTINGS_UP_XKCD] = settings.xkcd_upstream,
		[SETTINGS_UP_ANALYTICS] = settings.analytics_upstream,
		[SETTINGS_UP_PARTNER] = settings.partner_upstream,
	};
	struct settings_rule	rules[SETTINGS_UPS];
	unsigned int		off;
	char			bad[SETTINGS_ERR_MAX];
	size_t			i;

	memset(t, 0, sizeof(*t));
	t->all.retries = (int)settings.retries;
	t->all.retry_budget_pct = (int)settings.retry_budget;
	t->all.hedge_mode = (int)settings.hedge;
	t->all.hedge_delay_ms = (long)settings.hedge_delay_ms;
	t->all.hedge_budget_pct = (int)settings.hedge_budget;
	t->retry_backoff_ms = (long)settings.retry_backoff_ms;
	t->breaker_failures = (int)settings.breaker_failures;
	t->breaker_ratio_pct = (int)settings.breaker_ratio;
	t->breaker_min_calls = (int)settings.breaker_min_calls;
	t->breaker_cooldown_ms = (long)settings.breaker_cooldown_ms;

	/* --tail-off and --tail-rules were checked by settings_load(). */
	(void)settings_upstreams(settings.tail_off, &off, bad, sizeof(bad));
	(void)settings_tail_rules(settings.tail_rules, rules, bad,
	    sizeof(bad));
	for (i = 0; i < SETTINGS_UPS && i < FANOUT_BASES_MAX; i++) {
		t->base[t->nbases++] = bases[i];
		app_tail_rule(&t->rule[i], &t->all, &rules[i],
		    (off & (1U << i)) != 0);
	}
}

/* An upstream's rule: what --tail-rules sets, else the global's. */
static void
app_tail_rule(struct fanout_tail_rule *r, const struct fanout_tail_rule *all,
    const struct settings_rule *set, int off)
{
	const long long	*v = set->v;

	*r = *all;
	if (v[SETTINGS_RULE_RETRIES] >= 0)
		r->retries = (int)v[SETTINGS_RULE_RETRIES];
	if (v[SETTINGS_RULE_RETRY_BUDGET] >= 0)
		r->retry_budget_pct = (int)v[SETTINGS_RULE_RETRY_BUDGET];
	if (v[SETTINGS_RULE_HEDGE] >= 0)
		r->hedge_mode = (int)v[SETTINGS_RULE_HEDGE];
	if (v[SETTINGS_RULE_HEDGE_DELAY] >= 0)
		r->hedge_delay_ms = (long)v[SETTINGS_RULE_HEDGE_DELAY];
	if (v[SETTINGS_RULE_HEDGE_BUDGET] >= 0)
		r->hedge_budget_pct = (int)v[SETTINGS_RULE_HEDGE_BUDGET];

	/* --tail-off: made once, whatever a rule says. */
	if (off) {
		r->retries = 0;
		r->hedge_mode = FANOUT_HEDGE_OFF;
	}
}

void
kore_worker_configure(void)
{
	struct fanout_limits	limits;
	struct fanout_tail	tail;

	limits.max_calls = (size_t)settings.max_calls;
	limits.concurrency = (size_t)settings.fanout_limit;
	limits.call_timeout_ms = (long)settings.call_timeout_ms;
	limits.connect_timeout_ms = (long)settings.connect_timeout_ms;
	limits.deadline_ms = (long)settings.deadline_ms;
	limits.max_body = (size_t)settings.max_body;

	fanout_configure(&limits, (long)settings.upstream_conns);
	fanout_set_error_detail((int)settings.error_detail);
	fanout_set_caps(settings.max_fanouts, settings.max_inflight);
	app_tail(&tail);
	fanout_set_tail(&tail);
	reply_configure(accesslog_fd);
	syncgate_worker_start();
	trace_worker_init();
	if (settings.role == SETTINGS_ROLE_APP) {
		metrics_worker_start();
		health_worker_start();
		store_worker_start();
		share_fleet_start();
		stats_fleet_start();
		fanout_fleet_start();
	}

	/* SIGHUP clears the caches (Kore's own handler still runs too). */
	(void)signal(SIGHUP, app_sighup);
	(void)kore_timer_add(app_reload_check, 500, NULL, 0);
}

/*
 * SIGTERM: Kore leaves its loop at once, which would drop every request in
 * flight.  Run the loop's essentials a little longer instead, with accept
 * already off, until they are answered (bounded by the deadline).
 */
void
kore_worker_teardown(void)
{
	u_int64_t	now, end, wait;

	if (settings.role != SETTINGS_ROLE_APP)
		return;

	end = kore_time_ms() + (u_int64_t)settings.deadline_ms + 1000;
	if (http_request_count > 0) {
		kore_log(LOG_NOTICE, "draining %u request(s)",
		    http_request_count);
	}

	while (http_request_count > 0 && (now = kore_time_ms()) < end) {
		wait = kore_timer_next_run(now);
		kore_platform_event_wait(wait < 10 ? wait : 10);
		now = kore_time_ms();
		kore_timer_run(now);
		kore_curl_run_scheduled();
		kore_curl_do_timeout();
		http_process();
		kore_connection_prune(KORE_CONNECTION_PRUNE_DISCONNECT);
	}

	/* Let the last answers leave the send queues. */
	for (wait = 0; wait < 5; wait++) {
		kore_platform_event_wait(10);
		kore_connection_prune(KORE_CONNECTION_PRUNE_DISCONNECT);
	}
}

/*
 * A page holds its client's connection plus up to fanout-limit upstream
 * connections, and idle upstream connections stay cached: size the file
 * limit to what the system allows, and connections to a third of it.
 * Kore adds the descriptors a worker already has open to the limit it
 * sets: keep 64 under the hard limit for them.  The engine derives its
 * caps from the result (fanout_set_caps()).
 */
static void
app_limits(void)
{
	struct rlimit	rl;
	rlim_t		n;

	n = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n + 64)
		n = rl.rlim_max > 128 ? rl.rlim_max - 64 : rl.rlim_max / 2;

	worker_rlimit_nofiles = (u_int32_t)n;
	worker_max_connections = (u_int32_t)(n / 3);
	if (settings.max_connections > 0 &&
	    (rlim_t)settings.max_connections < n / 3)
		worker_max_connections = (u_int32_t)settings.max_connections;
}

static void
app_listen(void)
{
	struct kore_server	*srv, *redirect;
	struct kore_domain	*dom, *rdom;
	size_t			i;
	char			port[16];

	(void)snprintf(port, sizeof(port), "%lld", settings.port);

	srv = kore_server_create(settings.role == SETTINGS_ROLE_SIM ?
	    "simulator" : "app");
	srv->tls = settings.tls_cert[0] != '\0';

	if (!kore_server_bind(srv, settings.bind, port, NULL))
		app_fail("cannot listen on %s port %s", settings.bind, port);
	kore_server_finalize(srv);

	dom = kore_domain_new("*");
	if (!kore_domain_attach(dom, srv))
		fatal("cannot attach domain");
	if (srv->tls)
		app_tls(dom);

	if (settings.http_port != 0) {
		(void)snprintf(port, sizeof(port), "%lld", settings.http_port);
		redirect = kore_server_create("redirect");
		redirect->tls = 0;
		if (!kore_server_bind(redirect, settings.bind, port, NULL)) {
			app_fail("cannot listen on %s port %s", settings.bind,
			    port);
		}
		kore_server_finalize(redirect);
		rdom = kore_domain_new("*");
		if (!kore_domain_attach(rdom, redirect) ||
		    !kore_module_handler_new(rdom, "^/", "page_redirect", NULL,
		    HANDLER_TYPE_DYNAMIC))
			fatal("cannot set up the redirect listener");
	}

	if (settings.admin_port != 0 && settings.role == SETTINGS_ROLE_APP)
		app_admin_listen();

	for (i = 0; i < routes_len; i++) {
		if (routes[i].role != settings.role)
			continue;
		if (routes[i].sync &&
		    settings.sync_pages == SETTINGS_SYNC_OFF)
			continue;
		if (!kore_module_handler_new(dom, routes[i].path,
		    routes[i].handler, NULL, routes[i].type))
			fatal("cannot add route %s", routes[i].path);
	}
}

/* Plain HTTP on --admin-bind; reply.c lets its clients see everything. */
static void
app_admin_listen(void)
{
	struct kore_server	*srv;
	struct kore_domain	*dom;
	size_t			i;
	char			port[16];

	(void)snprintf(port, sizeof(port), "%lld", settings.admin_port);
	srv = kore_server_create(REPLY_ADMIN_SERVER);
	srv->tls = 0;
	if (!kore_server_bind(srv, settings.admin_bind, port, NULL))
		app_fail("cannot listen on %s port %s", settings.admin_bind,
		    port);
	kore_server_finalize(srv);

	dom = kore_domain_new("*");
	if (!kore_domain_attach(dom, srv))
		fatal("cannot attach the admin domain");
	for (i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]); i++) {
		if (!kore_module_handler_new(dom, admin_routes[i].path,
		    admin_routes[i].handler, NULL, admin_routes[i].type))
			fatal("cannot add admin route %s",
			    admin_routes[i].path);
	}
}

static void
app_spawn_simulator(void)
{
	pid_t		pid;
	char		port[16], pidfile[64], flags[8], *env[6];
	size_t		n;

	(void)snprintf(port, sizeof(port), "%lld", settings.sim_port);
	(void)snprintf(pidfile, sizeof(pidfile), "/tmp/kore-fanout-%lld.pid",
	    settings.sim_port);

	n = 0;
	flags[n++] = '-';
	flags[n++] = 'f';
	if (settings.skip_chroot)
		flags[n++] = 'n';
	if (settings.skip_runas)
		flags[n++] = 'r';
	if (settings.quiet)
		flags[n++] = 'q';
	flags[n] = '\0';

	if ((pid = fork()) == -1)
		fatal("fork: %s", errno_s);

	if (pid == 0) {
		/* The simulator must not outlive the app that started it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		/*
		 * A clean environment: the app's FANOUT_* settings are not the
		 * simulator's.  It gets its partner key (environment, not argv;
		 * see app_partner_key()) and the privilege settings.
		 */
		n = 0;
		env[n++] = app_env("PATH", getenv("PATH"));
		env[n++] = app_env("ASAN_OPTIONS", getenv("ASAN_OPTIONS"));
		env[n++] = app_env("FANOUT_PARTNER_KEY", sim_key);
		env[n++] = app_env("FANOUT_RUNAS", settings.runas);
		env[n++] = app_env("FANOUT_ROOT", settings.root);
		env[n] = NULL;
		execle("/proc/self/exe", "kore-fanout-simulator", flags,
		    "--simulator", "--bind", "127.0.0.1", "--port", port,
		    "--workers", "1", "--pidfile", pidfile, (char *)NULL, env);
		fprintf(stderr, "cannot start the simulator: %s\n", errno_s);
		_exit(1);
	}

	sim_pid = pid;
	kore_log(LOG_NOTICE, "embedded simulator (pid %d) on 127.0.0.1:%s",
	    pid, port);
}

/*
 * The embedded simulator's partner key.  When it is the partner, it gets
 * the app's key, or, with none configured, one made up for both, so the
 * demo works and no key is ever written down.  When the partner is a real
 * one (only other upstreams are embedded), the simulator must not hold the
 * real key: it gets a random one of its own.
 */
static void
app_partner_key(void)
{
	char		own[64];

	(void)snprintf(own, sizeof(own), "http://127.0.0.1:%lld/partner",
	    settings.sim_port);

	if (strcmp(settings.partner_upstream, own) != 0) {
		app_random_key(sim_key, sizeof(sim_key));
		return;
	}

	if (settings.partner_key[0] == '\0') {
		app_random_key(settings.partner_key,
		    sizeof(settings.partner_key));
	}
	(void)snprintf(sim_key, sizeof(sim_key), "%s", settings.partner_key);
}

/* 32 hex digits from arc4random into buf (at least 33 bytes). */
static void
app_random_key(char *buf, size_t len)
{
	u_int8_t	raw[16];
	size_t		i;

	if (len < sizeof(raw) * 2 + 1)
		fatal("app_random_key: buffer too small");

	arc4random_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		(void)snprintf(buf + i * 2, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
}

static void
app_fail(const char *fmt, ...)
{
	va_list		ap;

	fprintf(stderr, "kore-fanout: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/*
 * The settings, then what the pages check of them: -h and -v answer and
 * exit 0, a bad value exits 1 with the reason, before any worker starts.
 */
static void
app_settings(int argc, char **argv)
{
	char		err[SETTINGS_ERR_MAX];
	int		r;

	r = settings_load(&settings, argc, argv, environ, err, sizeof(err));
	if (r == SETTINGS_HELP) {
		settings_usage(stdout, argv[0]);
		exit(0);
	}
	if (r == SETTINGS_VERSION) {
		printf("kore-fanout (kore %s)\n", kore_version);
		exit(0);
	}
	if (r == SETTINGS_OK && settings.role == SETTINGS_ROLE_APP &&
	    (!product_list_check(settings.stats_products, err, sizeof(err)) ||
	    !store_configure(settings.redis, settings.redis_prefix,
	    (long)settings.redis_timeout_ms, err, sizeof(err))))
		r = SETTINGS_ERROR;
	if (r != SETTINGS_OK) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		fprintf(stderr, "%s: see --help for the settings\n", argv[0]);
		exit(1);
	}
}

/*
 * TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only.  Kore's default
 * list also offers CBC suites, RSA key exchange leftovers, CCM8 and ARIA.
 * TLS 1.3 suites are OpenSSL's own (all AEAD).
 */
#define APP_TLS12_CIPHERS						\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/*
 * HTTPS: check the certificate and key here, with a clear message, rather
 * than let Kore's key manager die on them later.  TLS 1.2 and 1.3, TLS 1.2
 * with APP_TLS12_CIPHERS only; DH parameters are the RFC 7919 ffdhe3072
 * group.  The key manager opens the files itself, after chrooting into
 * their directory (unless -n).
 */
/* A PEM file, by its real path (kept in real, PATH_MAX bytes). */
static BIO *
app_pem_open(const char *path, const char *what, char *real)
{
	BIO		*bio;

	if (realpath(path, real) == NULL)
		app_fail("cannot read the %s %s: %s", what, path, errno_s);
	if ((bio = BIO_new_file(real, "r")) == NULL)
		app_fail("cannot read the %s %s: %s", what, real, errno_s);

	return (bio);
}

static void
app_tls(struct kore_domain *dom)
{
	BIO		*bio;
	X509		*x509;
	EVP_PKEY	*pkey;
	char		cert[PATH_MAX], key[PATH_MAX], cdir[PATH_MAX];
	char		kdir[PATH_MAX];

	bio = app_pem_open(settings.tls_cert, "certificate", cert);
	x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x509 == NULL)
		app_fail("%s is not a PEM certificate", cert);

	bio = app_pem_open(settings.tls_key, "key", key);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		app_fail("%s is not a PEM private key", key);

	if (X509_check_private_key(x509, pkey) != 1)
		app_fail("the key %s does not match the certificate %s", key,
		    cert);
	X509_free(x509);
	ERR_clear_error();

	/* Kept for the workers' TLS contexts (see the wrapper below). */
	tls_pkey = pkey;

	if (tls_dhparam == NULL &&
	    (tls_dhparam = DH_new_by_nid(NID_ffdhe3072)) == NULL)
		fatal("cannot set up the DH parameters");
	tls_version = KORE_TLS_VERSION_BOTH;
	kore_tls_cipher_list = kore_strdup(APP_TLS12_CIPHERS);
	http_hsts_enable = 31536000;

	if (settings.skip_chroot) {
		dom->certfile = kore_strdup(cert);
		dom->certkey = kore_strdup(key);
		return;
	}

	(void)snprintf(cdir, sizeof(cdir), "%s", cert);
	(void)snprintf(kdir, sizeof(kdir), "%s", key);
	if (strcmp(dirname(cdir), dirname(kdir)) != 0)
		app_fail("with chroot, the certificate and key must be in one "
		    "directory (the key manager chroots into it)");
	keymgr_root_path = kore_strdup(cdir);
	(void)snprintf(kdir, sizeof(kdir), "/%s", basename(cert));
	dom->certfile = kore_strdup(kdir);
	(void)snprintf(kdir, sizeof(kdir), "/%s", basename(key));
	dom->certkey = kore_strdup(kdir);
}

/*
 * Kore 4.1.0 gives each worker's TLS context the certificate's public key
 * with a method that asks the key manager process to sign.  Under OpenSSL
 * 3 the method is set on a legacy copy of the key and is lost, so every
 * handshake fails with an internal error.  The link wraps
 * SSL_CTX_use_PrivateKey() (-Wl,--wrap in conf/build.conf) and hands the
 * context the real key, which the parent read before dropping privileges:
 * the workers hold the key, as in most servers, instead of only the key
 * manager.
 */
int
__wrap_SSL_CTX_use_PrivateKey(SSL_CTX *ctx, EVP_PKEY *pkey)
{
	return (__real_SSL_CTX_use_PrivateKey(ctx,
	    tls_pkey != NULL ? tls_pkey : pkey));
}

/* Privilege separation: who to become, where to chroot (Kore does it). */
static void
app_privsep(void)
{
	char		root[PATH_MAX];

	if (settings.runas[0] != '\0')
		kore_runas_user = kore_strdup(settings.runas);

	if (settings.root[0] != '\0') {
		if (realpath(settings.root, root) == NULL)
			app_fail("cannot use --root %s: %s", settings.root,
			    errno_s);
		kore_root_path = kore_strdup(root);
	}

	if (!settings.skip_runas && getuid() == 0 && kore_runas_user == NULL)
		app_fail("started as root: set --runas (FANOUT_RUNAS) to the "
		    "user to run as, or pass -r to stay root");
}

/*
 * Files the workers need after chroot, opened now: the access log and the
 * CA bundle that https upstreams are verified against.
 */
static void
app_files(void)
{
	struct stat	st;
	u_int8_t	*pem;
	size_t		len;
	int		fd;
	ssize_t		n;

	if (strcmp(settings.accesslog, "-") == 0) {
		/* The console: make run's per-request log in development. */
		if ((accesslog_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC,
		    0)) == -1)
			app_fail("cannot log to standard output: %s", errno_s);
	} else if (settings.accesslog[0] != '\0') {
		accesslog_fd = open(settings.accesslog,
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (accesslog_fd == -1)
			app_fail("cannot open the access log %s: %s",
			    settings.accesslog, errno_s);
	}

	if (settings.role != SETTINGS_ROLE_APP)
		return;

	if ((fd = open(settings.ca_file, O_RDONLY | O_CLOEXEC)) == -1) {
		if (strcmp(settings.ca_file,
		    "/etc/ssl/certs/ca-certificates.crt") != 0)
			app_fail("cannot read the CA bundle %s: %s",
			    settings.ca_file, errno_s);
		kore_log(LOG_WARNING, "no CA bundle at %s: https upstreams "
		    "will fail verification", settings.ca_file);
		return;
	}
	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size > 64 * 1024 * 1024)
		app_fail("cannot use the CA bundle %s", settings.ca_file);

	len = (size_t)st.st_size;
	pem = kore_malloc(len);
	if ((n = read(fd, pem, len)) != (ssize_t)len)
		app_fail("cannot read the CA bundle %s", settings.ca_file);
	close(fd);

	if (fanout_set_ca(pem, len) == 0)
		app_fail("no certificate in the CA bundle %s",
		    settings.ca_file);
	kore_free(pem);
}

static void
app_sighup(int sig)
{
	reload_asked = 1;
	kore_signal(sig);
}

static void
app_reload_check(void *arg, u_int64_t now)
{
	if (!reload_asked)
		return;

	reload_asked = 0;
	xkcd_reset();
	stats_reset();
	kore_log(LOG_NOTICE, "SIGHUP: caches cleared");
}

/* "NAME=value" for the simulator's environment; an unset value is empty. */
static char *
app_env(const char *name, const char *value)
{
	struct kore_buf		buf;
	char			*out;

	kore_buf_init(&buf, 64);
	kore_buf_appendf(&buf, "%s=%s", name, value != NULL ? value : "");
	out = kore_strdup(kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);

	return (out);
}
