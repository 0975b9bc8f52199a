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
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>
#include <kore/seccomp.h>

#include "fanout.h"
#include "settings.h"

struct route {
	int		role;
	int		type;
	const char	*path;
	const char	*handler;
};

int	kore_parent_configure(int, char **);
void	kore_parent_teardown(void);
void	kore_worker_configure(void);

static void	app_listen(void);
static void	app_limits(void);
static void	app_spawn_simulator(void);
static void	app_partner_key(void);

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
	    "page_get_data" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/async_get_data",
	    "page_async_get_data" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/_/stats",
	    "page_engine_stats" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/xkcd", "page_xkcd" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/xkcd/sync",
	    "page_xkcd_sync" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/xkcd.js", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/stats", "page_stats" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/stats/sync",
	    "page_stats_sync" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/api/stats",
	    "page_api_stats" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_STATIC, "/stats.js", "page_file" },
	{ SETTINGS_ROLE_APP, HANDLER_TYPE_DYNAMIC, "^/vendor/", "page_file" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_STATIC, "/", "sim_index" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_STATIC, "/_/stats", "sim_stats" },
	{ SETTINGS_ROLE_SIM, HANDLER_TYPE_DYNAMIC, "^/", "sim_serve" },
};

#define routes_len	(sizeof(routes) / sizeof(routes[0]))

static pid_t	sim_pid = -1;

int
kore_parent_configure(int argc, char **argv)
{
	char		err[SETTINGS_STR_MAX + 128];
	int		r;

	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	r = settings_load(&settings, argc, argv, environ, err, sizeof(err));
	if (r == -1) {
		settings_usage(stdout, argv[0]);
		exit(0);
	}
	if (r == -2) {
		printf("kore-fanout (kore %s)\n", kore_version);
		exit(0);
	}
	if (r == 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		fprintf(stderr, "%s: see --help for the settings\n", argv[0]);
		exit(1);
	}

	kore_foreground = settings.foreground;
	skip_chroot = settings.skip_chroot;
	skip_runas = settings.skip_runas;
	kore_quiet = settings.quiet;
	kore_pidfile = kore_strdup(settings.pidfile);
	kore_seccomp_tracing = (int)settings.seccomp_trace;

	if (settings.workers > 0)
		worker_count = (u_int8_t)settings.workers;

	app_limits();

	/* Plain HTTP in this configuration: no HSTS. */
	http_hsts_enable = 0;

	app_listen();

	if (settings.role == SETTINGS_ROLE_APP) {
		kore_curl_timeout = (u_int16_t)
		    ((settings.call_timeout_ms + 999) / 1000);
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

void
kore_worker_configure(void)
{
	struct fanout_limits	limits;

	limits.max_calls = (size_t)settings.max_calls;
	limits.concurrency = (size_t)settings.fanout_limit;
	limits.call_timeout_ms = (long)settings.call_timeout_ms;
	limits.connect_timeout_ms = (long)settings.connect_timeout_ms;
	limits.deadline_ms = (long)settings.deadline_ms;
	limits.max_body = (size_t)settings.max_body;

	fanout_configure(&limits, (long)settings.upstream_conns);
}

/*
 * A page holds its client's connection plus up to fanout-limit upstream
 * connections, and idle upstream connections stay cached: size the file
 * limit to what the system allows, and connections to a third of it.
 */
static void
app_limits(void)
{
	struct rlimit	rl;
	rlim_t		n;

	n = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < n + 64)
		n = rl.rlim_max > 1024 + 64 ? rl.rlim_max - 64 : 1024;

	worker_rlimit_nofiles = (u_int32_t)n;
	worker_max_connections = (u_int32_t)(n / 3);
}

static void
app_listen(void)
{
	struct kore_server	*srv;
	struct kore_domain	*dom;
	size_t			i;
	char			port[16];

	(void)snprintf(port, sizeof(port), "%lld", settings.port);

	srv = kore_server_create(settings.role == SETTINGS_ROLE_SIM ?
	    "simulator" : "app");
	srv->tls = 0;

	if (!kore_server_bind(srv, settings.bind, port, NULL)) {
		fprintf(stderr, "cannot listen on %s port %s\n",
		    settings.bind, port);
		exit(1);
	}
	kore_server_finalize(srv);

	dom = kore_domain_new("*");
	if (!kore_domain_attach(dom, srv))
		fatal("cannot attach domain");

	for (i = 0; i < routes_len; i++) {
		if (routes[i].role != settings.role)
			continue;
		if (!kore_module_handler_new(dom, routes[i].path,
		    routes[i].handler, NULL, routes[i].type))
			fatal("cannot add route %s", routes[i].path);
	}
}

static void
app_spawn_simulator(void)
{
	pid_t		pid;
	char		port[16], pidfile[64], flags[8];
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
		/* It accepts the app's partner key (environment, not argv). */
		if (settings.partner_key[0] != '\0' &&
		    setenv("FANOUT_PARTNER_KEY", settings.partner_key, 1) == -1)
			_exit(1);
		execl("/proc/self/exe", "kore-fanout-simulator", flags,
		    "--simulator", "--bind", "127.0.0.1", "--port", port,
		    "--workers", "1", "--pidfile", pidfile, (char *)NULL);
		fprintf(stderr, "cannot start the simulator: %s\n", errno_s);
		_exit(1);
	}

	sim_pid = pid;
	kore_log(LOG_NOTICE, "embedded simulator (pid %d) on 127.0.0.1:%s",
	    pid, port);
}

/*
 * With the embedded simulator as partner and no key configured, make one
 * up: the simulator gets it too, so the demo works and no key is ever
 * written down.
 */
static void
app_partner_key(void)
{
	u_int8_t	raw[16];
	size_t		i;
	char		own[64];

	(void)snprintf(own, sizeof(own), "http://127.0.0.1:%lld/partner",
	    settings.sim_port);
	if (settings.partner_key[0] != '\0' ||
	    strcmp(settings.partner_upstream, own) != 0)
		return;

	arc4random_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++) {
		(void)snprintf(settings.partner_key + i * 2, 3, "%02x",
		    raw[i]);
	}
	explicit_bzero(raw, sizeof(raw));
}
