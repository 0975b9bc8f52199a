"""The blog's endpoints: JSON shape, calls=0, parameters, timing, the
Server-Timing header, the kick (no 100 ms stall), keep-alive."""

import json
import statistics
import threading

from lib import check, parse_server_timing, request, responses

PAGES = ("/get_data", "/async_get_data")


def test_blog_json_shape(ctx):
    app = ctx.app()
    for page in PAGES:
        st, h, body, _ = request(app.port, page + "?delay=50")
        check(st == 200, "%s: status %d" % (page, st))
        check(h.get("content-type") == "application/json",
              "%s: content-type %r" % (page, h.get("content-type")))
        check(responses(body) == {"response_1": 200, "response_2": 200},
              "%s: body %r" % (page, body))
        st, h, body, _ = request(app.port, page + "?calls=4&delay=10")
        check(responses(body) == {"response_%d" % i: 200
                                  for i in range(1, 5)},
              "%s calls=4: body %r" % (page, body))


test_blog_json_shape.asan = True


def test_calls_zero_is_ok(ctx):
    app = ctx.app()
    for page in PAGES:
        st, h, body, _ = request(app.port, page + "?calls=0")
        check(st == 200 and body == "ok", "%s: %d %r" % (page, st, body))
        check(h.get("content-type", "").startswith("text/plain"),
              "content-type %r" % h.get("content-type"))
        timing = parse_server_timing(h["server-timing"])
        check([t[0] for t in timing] == ["total"], "timing %r" % timing)
    st = request(ctx.sim.port, "/_/stats")
    # calls=0 must not reach the upstream at all.
    app2 = ctx.app()
    before = json.loads(request(ctx.sim.port, "/_/stats")[2])["requests"]
    request(app2.port, "/async_get_data?calls=0")
    request(app2.port, "/get_data?calls=0")
    after = json.loads(request(ctx.sim.port, "/_/stats")[2])["requests"]
    check(after == before, "calls=0 reached the upstream (%d -> %d)" %
          (before, after))


def test_async_well_under_sync(ctx):
    app = ctx.app(["--workers", "2"])
    q = "?calls=5&delay=300"
    st, _, sbody, sync_t = request(app.port, "/get_data" + q)
    check(st == 200, "sync status %d" % st)
    st, _, abody, async_t = request(app.port, "/async_get_data" + q)
    check(st == 200, "async status %d" % st)
    check(responses(sbody) == responses(abody),
          "bodies differ: %r vs %r" % (sbody, abody))
    check(sync_t >= 1.5, "sync took %.3fs, less than the 1.5s sum" % sync_t)
    check(async_t < 0.9, "async took %.3fs, not well under 1.5s" % async_t)
    check(async_t < sync_t / 2, "async %.3fs not under half of sync %.3fs" %
          (async_t, sync_t))


test_async_well_under_sync.asan = True


def test_server_timing_header(ctx):
    app = ctx.app()
    for page, mode in (("/get_data", "sync"), ("/async_get_data", "async")):
        st, h, _, elapsed = request(app.port, page + "?calls=3&delay=100")
        check("server-timing" in h, "%s: no Server-Timing" % page)
        t = parse_server_timing(h["server-timing"])
        check([x[0] for x in t] == ["total", "call1", "call2", "call3"],
              "%s: names %r" % (page, t))
        check(t[0][2] == mode, "%s: total desc %r" % (page, t[0][2]))
        for name, dur, desc in t[1:]:
            check(desc == "200", "%s %s: desc %r" % (page, name, desc))
            check(95 <= dur <= 1000, "%s %s: dur %.1f" % (page, name, dur))
        total = t[0][1]
        check(total <= elapsed * 1000 + 1, "total %.1f > wall %.1f" %
              (total, elapsed * 1000))
        if mode == "sync":
            check(total >= 300, "sync total %.1f < 300" % total)
        else:
            check(total < 250, "async total %.1f not near 100" % total)


def test_bad_parameters_400(ctx):
    app = ctx.app(["--max-calls", "20"])
    cases = [
        ("calls=abc", "calls"), ("calls=-1", "calls"), ("calls=21", "calls"),
        ("calls=1.5", "calls"), ("calls=", "calls"), ("calls=%2B1", "calls"),
        ("delay=60001", "delay"), ("delay=1e3", "delay"),
        ("delay=99999999999999999999", "delay"),
        ("calls=1&calls=2", "calls"), ("delay=%zz", "percent"),
    ]
    for page in PAGES:
        for q, word in cases:
            st, h, body, _ = request(app.port, page + "?" + q)
            check(st == 400, "%s?%s: status %d" % (page, q, st))
            check(word in body and body.endswith("\n") and
                  body.count("\n") == 1,
                  "%s?%s: message %r" % (page, q, body))
            check(h.get("content-type", "").startswith("text/plain"),
                  "%s?%s: content-type %r" % (page, q, h.get("content-type")))
            t = parse_server_timing(h.get("server-timing", "x;dur=0"))
            check([x[0] for x in t] == ["total"],
                  "%s?%s: server-timing %r" % (page, q, t))
        st, _, body, _ = request(app.port, page + "?calls=20&delay=0")
        check(st == 200 and len(responses(body)) == 20,
              "%s: calls at the max: %d %r" % (page, st, body[:80]))
        st, h, body, _ = request(app.port, page, method="POST", body="x")
        check(st == 405 and "GET" in h.get("allow", ""),
              "%s POST: %d %r" % (page, st, h))


test_bad_parameters_400.asan = True


def test_no_loop_stall(ctx):
    """With delay=0 an async page costs a few ms; without the kick Kore's
    worker sleeps up to 100 ms before libcurl starts the transfer."""
    app = ctx.app()
    times = []
    for _ in range(7):
        st, h, _, elapsed = request(app.port,
                                    "/async_get_data?calls=3&delay=0")
        check(st == 200, "status %d" % st)
        times.append(elapsed)
    med = statistics.median(times)
    check(med < 0.05, "median %.1f ms: transfers wait for the loop" %
          (med * 1000))


def test_upstream_connections_reused(ctx):
    app = ctx.app()
    s0 = json.loads(request(app.port, "/_/stats")[2])
    for _ in range(20):
        st, _, _, _ = request(app.port, "/async_get_data?calls=2&delay=5")
        check(st == 200, "status %d" % st)
    s1 = json.loads(request(app.port, "/_/stats")[2])
    check(s1["pid"] == s0["pid"], "one worker expected")
    check(s1["calls_started"] - s0["calls_started"] == 40,
          "calls started %r" % (s1["calls_started"] - s0["calls_started"]))
    opened = s1["conns_opened"] - s0["conns_opened"]
    check(opened <= 4, "%d connections opened for 40 calls" % opened)


def test_connection_pools_under_load(ctx):
    """Calls in flight are split into pools of 32 (libcurl walks a whole
    connection cache per call); connections stay reused across pools."""
    sim = ctx.server(["--simulator", "--workers", "1"], name="sim-pools")
    app = ctx.app(["--upstream", sim.url(""), "--fanout-limit", "50"])
    path = "/async_get_data?calls=50&delay=400"

    def burst():
        out = []
        threads = [threading.Thread(
            target=lambda: out.append(request(app.port, path)))
            for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for st, _, body, _ in out:
            check(st == 200, "status %d" % st)
            check(set(responses(body).values()) == {200},
                  "body %r" % body)
        check(len(out) == 4, "%d answers" % len(out))

    s0 = json.loads(request(app.port, "/_/stats")[2])
    burst()
    s1 = json.loads(request(app.port, "/_/stats")[2])
    peak = json.loads(request(sim.port, "/_/stats")[2])["peak_waiting"]
    check(peak == 200, "simulator saw %d calls at once, not 200" % peak)
    check(s1["peak_in_flight"] == 200, "peak in flight %r" %
          s1["peak_in_flight"])
    check(s1["pools"] == 7, "200 calls in flight made %r pools, not 7" %
          s1["pools"])
    opened = s1["conns_opened"] - s0["conns_opened"]
    check(200 <= opened <= 210, "%d connections for 200 calls" % opened)

    # The same load again finds every connection idle in its pool.
    burst()
    s2 = json.loads(request(app.port, "/_/stats")[2])
    opened = s2["conns_opened"] - s1["conns_opened"]
    check(opened <= 10, "second burst opened %d connections" % opened)
    check(s2["pools"] == 7, "pools %r" % s2["pools"])
    check(s2["calls_live"] == 0 and s2["fanouts_live"] == 0 and
          s2["pooled"] == 0, "left behind: %r" % s2)

    # Light load stays in the first pool and its connections.
    for _ in range(10):
        request(app.port, "/async_get_data?calls=2&delay=5")
    s3 = json.loads(request(app.port, "/_/stats")[2])
    opened = s3["conns_opened"] - s2["conns_opened"]
    check(opened == 0, "light load opened %d connections" % opened)


test_connection_pools_under_load.asan = True


def test_concurrency_limit(ctx):
    sim = ctx.server(["--simulator", "--workers", "1"], name="sim-limit")
    app = ctx.app(["--upstream", sim.url(""), "--fanout-limit", "2"])
    st, _, body, elapsed = request(app.port,
                                   "/async_get_data?calls=6&delay=200")
    check(st == 200 and len(responses(body)) == 6, "%d %r" % (st, body))
    check(elapsed >= 0.58, "6 calls, 2 at a time, 200 ms each: %.3fs" %
          elapsed)
    check(elapsed < 1.2, "took %.3fs" % elapsed)
    peak = json.loads(request(sim.port, "/_/stats")[2])["peak_waiting"]
    check(peak == 2, "simulator saw %d calls at once, limit 2" % peak)


def test_unknown_parameter_400(ctx):
    # A typo does not quietly give the default: 400 naming the parameter
    # and the accepted ones, on every page.
    app = ctx.app()
    for path, accepted in (
            ("/get_data?cout=3", "calls, delay"),
            ("/async_get_data?calls=1&dealy=10", "calls, delay"),
            ("/xkcd?ids=1&fromat=json", "count, ids, format, cache"),
            ("/xkcd/sync?cuont=2", "count, ids, format, cache"),
            ("/stats?product=p01", "products"),
            ("/api/stats?x=1", "products")):
        st, _, body, _ = request(app.port, path)
        name = path.split("?")[1].split("&")[-1].split("=")[0]
        check(st == 400 and "unknown parameter '%s'" % name in body and
              "accepted are " + accepted in body,
              "%s: %d %r" % (path, st, body))


def test_json_clients_get_json_errors(ctx):
    # A JSON client (Accept: application/json, format=json, /api/) gets
    # {"error": ..., "param": ...}; others keep the line of text.
    app = ctx.app()
    js = {"Accept": "application/json"}
    for path, headers, param in (
            ("/async_get_data?calls=abc", js, "calls"),
            ("/get_data?cout=1", js, "cout"),
            ("/xkcd?ids=1&format=json&count=2", {}, None),
            ("/xkcd?count=999&format=json", {}, "count"),
            ("/api/stats?products=", {}, "products"),
            ("/no/such/page", js, None)):
        st, h, body, _ = request(app.port, path, headers=headers)
        check(st in (400, 404) and
              h.get("content-type", "").startswith("application/json"),
              "%s: %d %r" % (path, st, h.get("content-type")))
        d = json.loads(body)
        check(isinstance(d.get("error"), str) and d["error"] and
              d.get("param") == param, "%s: %r" % (path, d))
    st, h, body, _ = request(app.port, "/get_data?calls=abc")
    check(st == 400 and h["content-type"].startswith("text/plain"),
          "a plain client: %r" % h)
    st, h, body, _ = request(app.port, "/async_get_data", method="POST",
                             headers=js, body="x")
    check(st == 405 and json.loads(body)["error"], "405: %r" % body)
