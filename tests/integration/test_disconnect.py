"""Clients that go away mid fan-out: the server stays healthy, workers
survive (same pids, nothing fatal in the log) and nothing leaks."""

import json

from lib import abandon, check, request, responses, storm, wait_idle


def test_single_disconnect(ctx):
    app = ctx.app()
    abandon(app.port, "/async_get_data?calls=5&delay=300", 0.05, False)
    st, _, body, _ = request(app.port, "/async_get_data?calls=2&delay=10")
    check(st == 200 and responses(body) == {"response_1": 200,
                                            "response_2": 200},
          "after a disconnect: %d %r" % (st, body))
    s = wait_idle(app)
    check(s["fanouts_live"] == 0 and s["calls_live"] == 0 and
          s["calls_detached"] == 0, "left behind: %r" % s)


test_single_disconnect.asan = True


def test_disconnect_storm_300(ctx):
    app = ctx.app(["--workers", "2"])
    # lib.Server waits until every configured worker has logged its start.
    pids = sorted(app.worker_pids())
    check(len(pids) == 2, "expected 2 workers, log: %s" % app.logtail())
    storm(app, 300, lambda i: "/async_get_data?calls=%d&delay=%d" %
          (1 + i % 8, 50 + (i * 37) % 200))
    for _ in range(4):
        st, _, body, _ = request(app.port, "/async_get_data?calls=3&delay=10")
        check(st == 200 and len(responses(body)) == 3,
              "after the storm: %d %r" % (st, body))
    check(sorted(app.worker_pids()) == pids,
          "workers restarted: %r -> %r" % (pids, app.worker_pids()))
    check(not app.crashes(), "log: %r" % app.crashes()[:5])


test_disconnect_storm_300.asan = True


def test_storm_leaves_nothing_behind(ctx):
    app = ctx.app()
    storm(app, 150, lambda i: "/async_get_data?calls=%d&delay=100" %
          (1 + i % 6))
    s = wait_idle(app)
    check(s["fanouts_live"] == 0 and s["calls_live"] == 0 and
          s["calls_detached"] == 0 and s["pooled"] == 0,
          "left behind: %r" % s)
    check(s["calls_started"] > 0, "no call started: %r" % s)
    check(s["pools"] >= 2, "a storm of 150 filled %r pools" % s["pools"])
    # The queue path too: calls still waiting for a slot when the client
    # leaves must be freed, not started.
    app2 = ctx.app(["--fanout-limit", "2"])
    storm(app2, 60, lambda i: "/async_get_data?calls=10&delay=100")
    s = wait_idle(app2)
    check(s["fanouts_live"] == 0 and s["calls_live"] == 0 and
          s["calls_detached"] == 0 and s["pooled"] == 0,
          "limit 2, left behind: %r" % s)


test_storm_leaves_nothing_behind.asan = True


def test_rss_stable_under_repeat(ctx):
    """Memory does not grow per request once warm, on every page family
    (disconnects are covered by the live counters above: Kore's pools grow
    to the peak concurrency a storm reaches, and stay)."""
    app = ctx.app(["--analytics-upstream", ctx.sim.url("/lag/0/analytics"),
                   "--partner-upstream", ctx.sim.url("/lag/0/partner")],
                  env={"FANOUT_PARTNER_KEY": "k"}, xkcd_path="/lag/0/xkcd")
    pid = json.loads(request(app.port, "/_/stats")[2])["pid"]
    paths = ["/async_get_data?calls=5&delay=0", "/get_data?calls=2&delay=0",
             "/xkcd?ids=1,2,3", "/xkcd?ids=404,405&format=json",
             "/api/stats?products=p01,p02", "/stats?products=p01,p02",
             "/async_get_data?calls=x", "/nope", "/app.js"]

    def rss():
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def batch(n):
        for i in range(n):
            request(app.port, paths[i % len(paths)])

    batch(300)
    r1 = rss()
    batch(900)
    r2 = rss()
    check(r2 - r1 < 256, "RSS grew %d kB over 900 requests" % (r2 - r1))
