"""The stats page against the simulator: merged rows, the concurrency
limit, partial and total failure, the API key, the TTL cache and request
coalescing, Retry-After, timing, bad input, DataTables in a browser."""

import json
import re
import socket
import threading
import time

from lib import (check, chromium_dom, free_port, parse_server_timing,
                 port_open, request)

KEY = "t3st-key/with&odd=chars"


def sim_number(product, salt, mod):
    h = 1469598103934665603 ^ salt
    for b in product.encode():
        h = ((h ^ b) * 1099511628211) % 2 ** 64
    return h % mod


def expected_row(p):
    return {"product": p,
            "views": 1000 + sim_number(p, 1, 90000),
            "visitors": 100 + sim_number(p, 2, 9000),
            "sales": sim_number(p, 3, 500),
            "revenue": round(sim_number(p, 4, 50000) +
                             sim_number(p, 5, 100) / 100, 2),
            "clicks": 500 + sim_number(p, 6, 20000),
            "conversion": round(sim_number(p, 7, 10000) / 10000, 4)}


def products(n, start=1):
    return ",".join("p%02d" % i for i in range(start, start + n))


def keyed_sim(ctx, key=KEY):
    return ctx.server(["--simulator", "--workers", "1"], name="sim-stats",
                      env={"FANOUT_PARTNER_KEY": key})


def stats_app(ctx, sim, args=(), key=KEY, lag=30):
    env = {"FANOUT_PARTNER_KEY": key} if key is not None else {}
    return ctx.app(["--analytics-upstream", sim.url("/lag/%d/analytics" % lag),
                    "--partner-upstream", sim.url("/lag/%d/partner" % lag)] +
                   list(args), env=env)


def sim_stats(sim):
    return json.loads(request(sim.port, "/_/stats")[2])


def partner_stats(sim):
    """The simulator's partner calls with an accepted key (a keyed_sim
    accepts KEY only).  The key itself is never published."""
    return sim_stats(sim)["partner"]


def api(app, query="", page="/api/stats"):
    st, h, body, t = request(app.port, page + ("?" + query if query else ""))
    return st, h, json.loads(body), t


def row_errors(row):
    """A row's errors list as {source: error}."""
    return {e["source"]: e["error"] for e in row.get("errors", [])}


def test_rows_equal_simulator_numbers(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(12)])
    st, h, d, _ = api(app)
    check(st == 200 and d["partial"] is False, "%d %r" % (st, d))
    check(d["products"] == [expected_row("p%02d" % i) for i in range(1, 13)],
          "rows differ: %r" % d["products"][:2])
    check(d["upstream_calls"] == 13 and d["origin"] == "upstream", "%r" % d)
    st, h, body, _ = request(app.port, "/stats")
    check(st == 200 and h["content-type"].startswith("text/html"), "html")
    rows = re.findall(r'<tr data-product="(p\d\d)">((?:<td[^>]*>[^<]*</td>)+)'
                      r'</tr>', body)
    check([r[0] for r in rows] == ["p%02d" % i for i in range(1, 13)],
          "html rows %r" % [r[0] for r in rows])
    cells = re.findall(r">([^<]*)</td>", rows[0][1])
    e = expected_row("p01")
    check(cells == ["p01", str(e["views"]), str(e["visitors"]),
                    str(e["sales"]), "%.2f" % e["revenue"], str(e["clicks"]),
                    "%.2f%%" % (e["conversion"] * 100)], "cells %r" % cells)


test_rows_equal_simulator_numbers.asan = True


def test_concurrency_limit_holds(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(40),
                               "--stats-limit", "5"], lag=60)
    st, _, d, _ = api(app)
    check(st == 200 and len(d["products"]) == 40 and not d["partial"],
          "%d %r" % (st, d.get("partial")))
    k = partner_stats(sim)
    check(k["calls"] == 40, "partner calls %r" % k)
    check(k["peak"] == 5, "peak partner calls in flight %d, limit 5" %
          k["peak"])


def test_partial_failure(ctx):
    sim = keyed_sim(ctx)
    plist = "p01,err503-a,err429-b,badjson-c,slow-d,p02"
    # All calls in flight at once: the 429 cannot skip queued ones here
    # (test_retry_after_honoured covers that).
    app = stats_app(ctx, sim, ["--stats-products", plist,
                               "--call-timeout", "500",
                               "--stats-limit", "10"])
    st, _, d, _ = api(app)
    check(st == 200 and d["partial"] is True, "%d %r" % (st, d))
    rows = {r["product"]: r for r in d["products"]}
    check(rows["p01"] == expected_row("p01"), "p01 %r" % rows["p01"])
    check(rows["p02"]["views"] == expected_row("p02")["views"],
          "p02 %r" % rows["p02"])
    errs = {p: row_errors(rows[p]).get("partner") for p in rows}
    check(errs["err503-a"] == "the partner answered 503", "%r" % errs)
    check(errs["err429-b"] == "rate limited by the partner (429)",
          "%r" % errs)
    check(errs["badjson-c"].startswith("unreadable partner answer"),
          "%r" % errs)
    check(errs["slow-d"].startswith("timeout: "), "%r" % errs)
    check(row_errors(rows["err503-a"])["analytics"] == "no analytics data",
          "%r" % rows["err503-a"])
    # The 429 above blocks the partner for 2 s: the page says so per row.
    st, _, body, _ = request(app.port, "/stats")
    check(st == 200 and 'data-partial="partial"' in body and
          "unavailable: rate limited by the partner, retrying in" in body,
          "html partial")


def test_every_source_failing_is_502(ctx):
    dead = "http://127.0.0.1:%d" % free_port()
    app = ctx.app(["--analytics-upstream", dead, "--partner-upstream", dead,
                   "--stats-products", products(3)])
    st, h, body, _ = request(app.port, "/stats")
    check(st == 502 and "every upstream failed" in body and
          "connect" in body, "%d %r" % (st, body))
    st, h, body, _ = request(app.port, "/api/stats")
    check(st == 502 and "every upstream failed" in
          json.loads(body)["error"], "%d %r" % (st, body))


def test_wrong_or_missing_key(ctx):
    sim = keyed_sim(ctx)
    for key in ("wrong-key", None):
        app = stats_app(ctx, sim, ["--stats-products", products(3)], key=key)
        st, _, d, _ = api(app)
        check(st == 200 and d["key_rejected"] is True, "%r: %r" % (key, d))
        check(all(row_errors(r)["partner"] ==
                  "the partner rejected the API key (401)"
                  for r in d["products"]), "%r: %r" % (key, d["products"]))
        st, _, body, _ = request(app.port, "/stats")
        check("The partner rejected the API key" in body, "html warning")
        if key:
            check(key not in body, "the wrong key is shown")


def embedded_app(ctx, args=(), env=None):
    """An app with its own embedded simulator (a child process); returns
    (app, simulator port) once the simulator answers."""
    simport = free_port()
    app = ctx.server(["--sim-port", str(simport), "--workers", "1"] +
                     list(args), env=env)
    end = time.monotonic() + 5
    while not port_open(simport) and time.monotonic() < end:
        time.sleep(0.05)
    check(port_open(simport), "simulator did not start: %s" % app.logtail())
    return app, simport


def test_key_never_leaks(ctx):
    sim = keyed_sim(ctx)
    seen = []
    app = stats_app(ctx, sim, ["--stats-products", "p01,p02,err503-x,slow-y",
                               "--call-timeout", "300"])
    dead = "http://127.0.0.1:%d" % free_port()
    app2 = ctx.app(["--analytics-upstream", dead, "--partner-upstream", dead,
                    "--stats-products", products(2)],
                   env={"FANOUT_PARTNER_KEY": KEY})
    # The embedded simulator as partner holds the real key: neither its
    # /_/stats nor the app's may show it.
    app3, simport = embedded_app(ctx, ["--stats-products", products(2)],
                                 env={"FANOUT_PARTNER_KEY": KEY})
    for port in (app.port, app2.port, app3.port):
        for path in ("/stats", "/stats/sync", "/api/stats",
                     "/api/stats?products=p01,zz", "/stats?products=BAD",
                     "/_/stats"):
            st, h, body, _ = request(port, path)
            seen.append(body)
            seen.extend("%s: %s" % kv for kv in h.items())
    check(partner_stats(sim)["calls"] > 0, "the partner was never called")
    _, _, d, _ = api(app3)
    check(not d["partial"], "embedded partner with the key: %r" % d)
    for port in (sim.port, simport):
        st, h, body, _ = request(port, "/_/stats")
        check(st == 200 and json.loads(body)["partner_key_set"] is True and
              json.loads(body)["partner"]["calls"] > 0, "sim stats %r" % body)
        seen.append(body)
    enc = KEY.replace("/", "%2F").replace("&", "%26").replace("=", "%3D")
    for text in seen + [s.logtext() for s in (app, app2, app3, sim)]:
        check(KEY not in text and enc not in text and "t3st-key" not in text,
              "the key appears in: %r" % text[:300])


def test_embedded_simulator_gets_the_key_only_as_partner(ctx):
    # Only the other upstreams are embedded; the partner is a real one.
    sim = keyed_sim(ctx)
    app, simport = embedded_app(ctx, ["--partner-upstream",
                                      sim.url("/partner"),
                                      "--stats-products", products(2)],
                                env={"FANOUT_PARTNER_KEY": KEY})
    _, _, d, _ = api(app)
    check(not d["partial"] and partner_stats(sim)["calls"] == 2,
          "the real partner: %r" % d)
    q = "/partner/stats?product=p01&api_key=" + \
        KEY.replace("/", "%2F").replace("&", "%26").replace("=", "%3D")
    st, _, body, _ = request(simport, q)
    check(st == 401, "the embedded simulator took the real key: %d %r" %
          (st, body))
    # The embedded simulator as partner gets the key, and takes it.
    app2, simport2 = embedded_app(ctx, ["--stats-products", products(2)],
                                  env={"FANOUT_PARTNER_KEY": KEY})
    _, _, d, _ = api(app2)
    check(not d["partial"], "embedded partner: %r" % d)
    st, _, body, _ = request(simport2, q)
    check(st == 200, "embedded partner refused the key: %d %r" % (st, body))


def test_cache_and_coalescing(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(8),
                               "--stats-ttl", "30"], lag=300)
    results = []

    def one():
        try:
            results.append(api(app))
        except Exception as e:  # noqa: BLE001
            results.append(e)

    ts = [threading.Thread(target=one) for _ in range(50)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    check(len(results) == 50 and all(isinstance(r, tuple) and r[0] == 200
                                     for r in results),
          "answers: %r" % [r if not isinstance(r, tuple) else r[0]
                           for r in results][:5])
    first = results[0][2]["products"]
    check(all(r[2]["products"] == first for r in results), "data differs")
    origins = sorted(r[2]["origin"] for r in results)
    check(origins.count("upstream") == 1, "origins %r" % set(origins))
    s = sim_stats(sim)
    check(s["analytics_calls"] == 1 and partner_stats(sim)["calls"] == 8,
          "50 cold loads made %d analytics and %d partner calls" %
          (s["analytics_calls"], partner_stats(sim)["calls"]))
    st, _, d, t = api(app)
    check(d["origin"] == "cache" and d["upstream_calls"] == 0 and t < 0.1,
          "within the TTL: %r %.3fs" % (d["origin"], t))
    check(sim_stats(sim)["analytics_calls"] == 1, "cache hit went upstream")
    st, _, body, _ = request(app.port, "/stats")
    check('data-origin="cache"' in body, "the page does not say cache")


def test_cached_answer_says_so(ctx):
    # A stored result is served with this request's own time, and says
    # when and how fast it was fetched (JSON, HTML, Age, Cache-Control).
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(3),
                               "--stats-ttl", "30"])
    st, h, d, _ = api(app)
    check(st == 200 and d["origin"] == "upstream" and d["age_s"] == 0,
          "%r" % d)
    check(abs(d["elapsed_ms"] - d["fetched_ms"]) < 1 and
          "age" not in h and h.get("cache-control") ==
          "private, max-age=30", "fetched: %r %r" % (d, h))
    st, h, c, _ = api(app)
    total = [e for e in parse_server_timing(h["server-timing"])
             if e[0] == "total"][0][1]
    check(c["origin"] == "cache" and c["fetched_ms"] == d["fetched_ms"] and
          c["elapsed_ms"] < d["fetched_ms"] and
          abs(c["elapsed_ms"] - total) < 5, "cached: %r, server-timing "
          "total %r" % (c, total))
    check(h.get("age") == str(c["age_s"]) and
          h.get("cache-control", "").startswith("private, max-age="),
          "cached headers %r" % h)
    st, h, body, _ = request(app.port, "/stats")
    m = re.search(r"\(fetched in (\d+) ms, (\d+) s ago\)", body)
    check(m and abs(int(m.group(1)) - d["fetched_ms"]) <= 1,
          "the cached page does not say when it was fetched: %r" %
          (m and m.group(0)))
    st, h, body, _ = request(app.port, "/stats/sync")
    check(h.get("cache-control") == "no-store" and "age" not in h and
          "(fetched in" not in body, "sync page: %r" % h)


def test_ttl_expires(ctx):
    sim = keyed_sim(ctx)
    # Without stale-while-revalidate: an expired result is fetched again
    # by the request that finds it (test_tail has the background refresh).
    app = stats_app(ctx, sim, ["--stats-products", products(2),
                               "--stats-ttl", "1",
                               "--stale-while-revalidate", "0"])
    api(app)
    _, _, d, _ = api(app)
    check(d["origin"] == "cache", "%r" % d["origin"])
    time.sleep(1.2)
    _, _, d, _ = api(app)
    check(d["origin"] == "upstream" and sim_stats(sim)["analytics_calls"] == 2,
          "after the TTL: %r" % d["origin"])
    app0 = stats_app(ctx, sim, ["--stats-products", products(2),
                                "--stats-ttl", "0"])
    api(app0)
    _, _, d, _ = api(app0)
    check(d["origin"] == "upstream", "ttl 0 cached: %r" % d["origin"])


def test_leader_disconnect_hands_over(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(4)], lag=300)
    s = socket.create_connection(("127.0.0.1", app.port))
    s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.05)
    results = []
    ts = [threading.Thread(target=lambda: results.append(api(app)))
          for _ in range(5)]
    for t in ts:
        t.start()
    time.sleep(0.05)
    s.close()
    for t in ts:
        t.join(20)
    check(len(results) == 5 and all(r[0] == 200 and not r[2]["partial"]
                                    for r in results),
          "followers: %r" % [(r[0], r[2].get("origin")) for r in results])


def test_retry_after_honoured(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", "p01,err429-x,p02,p03",
                               "--stats-limit", "1"])
    _, _, d, _ = api(app)
    rows = {r["product"]: r for r in d["products"]}
    check("sales" in rows["p01"], "p01 %r" % rows["p01"])
    check(row_errors(rows["err429-x"])["partner"] ==
          "rate limited by the partner (429)", "%r" % rows["err429-x"])
    for p in ("p02", "p03"):
        check(row_errors(rows[p])["partner"] ==
              "rate limited by the partner (429), not called",
              "%s %r" % (p, rows[p]))
    calls = partner_stats(sim)["calls"]
    check(calls == 2, "partner called %d times, expected p01 and the 429" %
          calls)
    _, _, d, _ = api(app)
    check(partner_stats(sim)["calls"] == calls,
          "the partner was called before Retry-After passed")
    check(all(row_errors(r)["partner"].startswith(
        "rate limited by the partner, retrying in") for r in d["products"]),
        "%r" % d["products"])
    time.sleep(2.1)
    api(app)
    check(partner_stats(sim)["calls"] > calls, "not called after Retry-After")


def test_async_well_under_sync(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(20),
                               "--stats-ttl", "0", "--workers", "2"],
                    lag=150)
    _, _, _, sync_t = request(app.port, "/stats/sync")
    _, _, _, async_t = request(app.port, "/stats")
    check(sync_t >= 21 * 0.15, "sync %.2fs" % sync_t)
    check(async_t < sync_t / 2, "async %.2fs vs sync %.2fs" %
          (async_t, sync_t))


def test_bad_products_400(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(3)])
    many = products(101)
    for q in ("products=", "products=p01,,p02", "products=P01",
              "products=p01%20x", "products=" + many, "products=p01,p01",
              "products=" + "a" * 33, "products=p01&products=p02"):
        for page in ("/stats", "/stats/sync", "/api/stats"):
            st, h, body, _ = request(app.port, page + "?" + q)
            check(st == 400 and "products" in body, "%s?%s: %d %r" %
                  (page, q[:40], st, body))
            check("server-timing" in h, "no Server-Timing on 400")
    st, _, d, _ = api(app, "products=p02,p99")
    rows = {r["product"]: r for r in d["products"]}
    check("sales" in rows["p02"] and row_errors(rows["p99"]) ==
          {"analytics": "unknown product", "partner": "unknown product"},
          "%r" % d)
    check(partner_stats(sim)["calls"] == 1, "an unknown product was called")


def test_browser_datatables(ctx):
    sim = keyed_sim(ctx)
    app = stats_app(ctx, sim, ["--stats-products", products(14)])
    dom = chromium_dom(app.url("/stats"))
    check('id="stats_wrapper"' in dom, "DataTables did not initialise")
    check(re.search(r'<th[^>]*class="sorting', dom), "no sorting control")
    check('id="stats_filter"' in dom, "no search box")
    rows = re.findall(r'<tr[^>]*data-product="(p\d\d)"', dom)
    check(len(rows) == 10, "first page shows %d rows" % len(rows))
    check("Showing 1 to 10 of 14 entries" in dom, "no paging info")


for _t in (test_cache_and_coalescing, test_leader_disconnect_hands_over,
           test_retry_after_honoured, test_partial_failure,
           test_key_never_leaks):
    _t.asan = True
