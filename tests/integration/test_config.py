"""Start-up configuration: bad values stop start-up with a clear message
and a non-zero exit; the embedded simulator comes and goes with the app."""

import os
import subprocess
import time

from lib import (Server, check, free_port, port_open, request, responses,
                 run_to_exit)


def start_fails(ctx, args, env=None, word=None):
    e = dict(os.environ)
    e.update(env or {})
    p = run_to_exit([ctx.bin, "-fnr"] + args, env=e)
    out = p.stdout + p.stderr
    check(p.returncode not in (0, None),
          "%r %r: exit %r, output %r" % (args, env, p.returncode, out))
    if word:
        check(word in out, "%r %r: message %r lacks %r" %
              (args, env, out, word))
    return out


def test_invalid_settings_stop_startup(ctx):
    start_fails(ctx, ["--port", "abc"], word="--port")
    start_fails(ctx, ["--tail-off", "delay,nope"],
                word="expected delay, xkcd, analytics or partner")
    start_fails(ctx, ["--port", "70000"], word="1 to 65535")
    start_fails(ctx, [], env={"FANOUT_DEADLINE_MS": "0"},
                word="FANOUT_DEADLINE_MS")
    start_fails(ctx, [], env={"FANOUT_LIMIT": "lots"}, word="FANOUT_LIMIT")
    start_fails(ctx, ["--upstream", "ftp://example"], word="--upstream")
    start_fails(ctx, ["--sim-port", "0"], word="--upstream")
    start_fails(ctx, ["--bogus"], word="unknown option")
    start_fails(ctx, ["--workers"], word="needs a value")
    port = free_port()
    start_fails(ctx, ["--port", str(port), "--sim-port", str(port)],
                word="--sim-port")


def test_bad_stats_products_stop_startup(ctx):
    """Checked in the parent (partner.c), not by the settings table: exit 1
    with the list's reason, like any bad setting."""
    for args, env, word in (
            (["--stats-products", "P01"], None, "product ids use only"),
            ([], {"FANOUT_STATS_PRODUCTS": "p01,,p02"},
             "product ids are 1 to 32 characters"),
            (["--stats-products", "p01,p02,p01"], None,
             "product 'p01' is listed twice")):
        e = dict(os.environ)
        e.update(env or {})
        p = run_to_exit([ctx.bin, "-fnr"] + args, env=e)
        check(p.returncode == 1, "%r %r: exit %r" % (args, env, p.returncode))
        check(word in p.stderr and "see --help" in p.stderr,
              "%r %r: stderr %r lacks %r" % (args, env, p.stderr, word))


def test_help_lists_settings(ctx):
    p = subprocess.run([ctx.bin, "--help"], capture_output=True, text=True,
                       timeout=10)
    check(p.returncode == 0, "exit %d" % p.returncode)
    for word in ("--port", "FANOUT_UPSTREAM", "--fanout-limit",
                 "--call-timeout", "--deadline", "--simulator"):
        check(word in p.stdout, "--help lacks %s" % word)


def test_help_grouped_with_real_defaults(ctx):
    """--help groups the settings, lists each once, shows real defaults."""
    out = subprocess.run([ctx.bin, "--help"], capture_output=True,
                         text=True, timeout=10).stdout
    groups, current = {}, None
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(" ") and line.endswith(":"):
            current = line[:-1]
            groups[current] = []
        elif line.startswith("  --") and current is not None:
            name = line.split()[0][2:]
            default = lines[i + 2].strip()
            check(default.startswith("default: "), "%s: %r" % (name, default))
            groups[current].append((name, default[len("default: "):]))
    check(list(groups)[:6] == ["server", "upstreams", "xkcd", "stats",
                               "limits", "TLS and privileges"],
          "groups %r" % list(groups))
    names = [n for g in groups.values() for n, _ in g]
    check(len(names) == len(set(names)), "a setting listed twice")
    for want in ("bind", "upstream", "xkcd-cache", "stats-ttl",
                 "max-inflight", "tls-cert", "pidfile"):
        check(want in names, "--help lacks --%s" % want)
    defaults = dict(n for g in groups.values() for n in g)
    check(defaults["upstream"] == "simulator: http://127.0.0.1:8889/",
          "upstream default %r" % defaults["upstream"])
    check(defaults["xkcd-upstream"].endswith(":8889/xkcd/"),
          "xkcd default %r" % defaults["xkcd-upstream"])
    check(defaults["pidfile"] == "/tmp/kore-fanout-<port>.pid",
          "pidfile default %r" % defaults["pidfile"])
    check(defaults["port"] == "8888" and defaults["stats-ttl"] == "30",
          "defaults %r" % defaults)
    # Every flag it lists is one the binary takes.
    for name in names:
        p = subprocess.run([ctx.bin, "--" + name], capture_output=True,
                           text=True, timeout=10)
        check("unknown" not in p.stderr, "--%s: %r" % (name, p.stderr))


def test_environment_settings_apply(ctx):
    app = ctx.app(env={"FANOUT_MAX_CALLS": "3"})
    st, _, body, _ = request(app.port, "/async_get_data?calls=4&delay=0")
    check(st == 400 and "0 to 3" in body, "%d %r" % (st, body))
    # A flag wins over the environment.
    app2 = ctx.app(["--max-calls", "5"], env={"FANOUT_MAX_CALLS": "3"})
    st, _, body, _ = request(app2.port, "/async_get_data?calls=5&delay=0")
    check(st == 200, "%d %r" % (st, body))


def test_embedded_simulator_default(ctx):
    """What `make run` does: no upstream given, the app starts its own
    simulator as a separate process, and stops it on exit."""
    simport = free_port()
    app = ctx.server(["--sim-port", str(simport), "--workers", "1"])
    end = time.monotonic() + 5
    while not port_open(simport) and time.monotonic() < end:
        time.sleep(0.05)
    check(port_open(simport), "simulator did not start: %s" % app.logtail())
    for page in ("/get_data", "/async_get_data"):
        st, _, body, _ = request(app.port, page + "?delay=100")
        check(st == 200 and responses(body) == {"response_1": 200,
                                                "response_2": 200},
              "%s: %d %r" % (page, st, body))
    # The sync page blocks its worker; the simulator lives in another
    # process, so the page cannot deadlock on its own upstream.
    app.stop()
    end = time.monotonic() + 5
    while port_open(simport) and time.monotonic() < end:
        time.sleep(0.05)
    check(not port_open(simport), "simulator outlived the app")


test_embedded_simulator_default.asan = True


def test_accesslog_to_console(ctx):
    """--accesslog - (make run) writes a line per request to stdout."""
    app = ctx.app(["--accesslog", "-"])
    for path in ("/get_data?calls=0", "/nope?x=%22"):
        request(app.port, path)
    want = ['"GET /get_data?calls=0" 200 ', '"GET /nope?x=%22" 404 ']
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(app.logpath, errors="replace") as f:
            out = f.read()
        if all(w in out for w in want):
            break
        time.sleep(0.05)
    for w in want:
        check(w in out, "stdout lacks %r: %r" % (w, out[-600:]))
