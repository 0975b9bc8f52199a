"""--sync-pages: the sync pages block a whole worker by design; in
production they can be turned off (404) or limited (503 while they would
take the last free worker)."""

import json
import os
import threading
import time

from lib import at_once, check, request, responses, run_to_exit

SYNC_PATHS = ("/get_data?calls=1&delay=10", "/xkcd/sync?ids=1",
              "/stats/sync")


def sim_waiting(ctx):
    _, _, body, _ = request(ctx.sim.port, "/_/stats")
    return json.loads(body)["waiting"]


def wait_for(cond, what, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    check(False, "timed out waiting for %s" % what)


def test_sync_pages_off(ctx):
    app = ctx.app(["--sync-pages", "off"])
    _, _, unknown, _ = request(app.port, "/no/such/page")
    for path in SYNC_PATHS:
        st, h, body, _ = request(app.port, path)
        check(st == 404 and body == unknown,
              "%s: %d %r (unknown path: %r)" % (path, st, body, unknown))
        check(h.get("x-content-type-options") == "nosniff",
              "%s: 404 without the security headers: %r" % (path, h))
    for path in ("/async_get_data?calls=2&delay=10", "/xkcd?ids=1",
                 "/stats", "/"):
        st, _, body, _ = request(app.port, path)
        check(st == 200, "%s with sync pages off: %d %r" % (path, st, body))


def test_sync_pages_bad_value(ctx):
    for args, env, word in (
            (["--sync-pages", "maybe"], {}, "expected one of on|off|limit"),
            ([], {"FANOUT_SYNC_PAGES": "OFF"}, "FANOUT_SYNC_PAGES")):
        e = dict(os.environ)
        e.update(env)
        p = run_to_exit([ctx.bin, "-fnr"] + args, env=e)
        out = p.stdout + p.stderr
        check(p.returncode not in (0, None) and word in out,
              "%r %r: exit %r, %r" % (args, env, p.returncode, out))


def test_sync_pages_limit(ctx):
    app = ctx.app(["--sync-pages", "limit", "--workers", "2"])
    pids = sorted(app.worker_pids())
    check(len(pids) == 2, "expected 2 workers: %r" % pids)
    check(sim_waiting(ctx) == 0, "simulator busy before the test")

    held = {}

    def slow():
        held["answer"] = request(app.port, "/get_data?calls=1&delay=3000")

    t = threading.Thread(target=slow)
    t.start()
    try:
        # One worker is now blocked inside the sync page's upstream call.
        wait_for(lambda: sim_waiting(ctx) >= 1, "the sync page's call")
        st, _, body, _ = request(app.port, "/_/stats", timeout=10)
        gate = json.loads(body)
        check((gate["sync_busy"], gate["sync_slots"]) == (1, 1),
              "the gate in /_/stats: %r" % gate)

        # A second sync page would take the last free worker: 503 at once.
        for path in SYNC_PATHS:
            st, h, body, secs = request(app.port, path, timeout=10)
            check(st == 503 and h.get("retry-after") == "1",
                  "%s while a sync page runs: %d %r %r" % (path, st, h,
                                                            body))
            check("sync pages busy" in body, "%s: body %r" % (path, body))
            check(secs < 2.0, "%s: 503 took %.2fs" % (path, secs))

        # Everything else keeps answering from the free worker.
        for path in ("/async_get_data?calls=2&delay=10",
                     "/get_data?calls=0", "/"):
            st, _, body, secs = request(app.port, path, timeout=10)
            check(st == 200 and secs < 2.0,
                  "%s during the sync page: %d %.2fs %r" % (path, st, secs,
                                                            body))
    finally:
        t.join(20)

    st, _, body, _ = held["answer"]
    check(st == 200 and responses(body) == {"response_1": 200},
          "the admitted sync page: %d %r" % (st, body))

    # Its slot is free again.
    st, _, body, _ = request(app.port, "/get_data?calls=2&delay=10")
    check(st == 200 and responses(body) == {"response_1": 200,
                                            "response_2": 200},
          "sync page after the first ended: %d %r" % (st, body))
    check(sorted(app.worker_pids()) == pids, "workers restarted: %r -> %r"
          % (pids, app.worker_pids()))
    check(not app.crashes(), "log: %r" % app.crashes()[:5])


def test_sync_pages_on_by_default(ctx):
    # Without the setting both workers may sit in sync pages at once.
    app = ctx.app(["--workers", "2"])
    out = at_once(lambda i: request(app.port, "/get_data?calls=1&delay=1500"),
                  2, timeout=20)
    check([r[0] if r else None for r in out] == [200, 200],
          "two sync pages at once: %r" % out)


def test_systemd_unit_limits_sync_pages(ctx):
    # The unit's own flags (those that need no root or system paths) start
    # the app, and sync pages under them are limited.
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    with open(os.path.join(root, "deploy", "kore-fanout@.service")) as f:
        unit = f.read().replace("\\\n", " ")
    line = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    check(len(line) == 1, "ExecStart: %r" % line)
    words = line[0].split()[1:]
    keep = []
    skip = {"--port", "--runas", "--root", "--accesslog", "--pidfile"}
    i = 0
    while i < len(words):
        if words[i] in skip:
            i += 2
            continue
        if words[i].startswith("--"):
            keep += words[i:i + 2]
            i += 2
        else:
            i += 1
    check(keep[keep.index("--sync-pages") + 1] == "limit",
          "the unit does not limit sync pages: %r" % keep)
    app = ctx.app(keep + ["--workers", "2"])
    st, _, body, _ = request(app.port, "/get_data?calls=1&delay=10")
    check(st == 200, "sync page under the unit's flags: %d %r" % (st, body))
