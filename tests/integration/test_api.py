"""One API: every page answers JSON (format=json, Accept: application/json,
/api/stats) in the same envelope, with the same types (README "Pages"):
mode, elapsed_ms, upstream_calls (the calls made), from_cache (items from
a cache), partial, and errors (always a list of objects); '/' is never
written as '\\/'."""

import json

from lib import check, free_port, request, responses

FAST = "/lag/0/xkcd"
JS = {"Accept": "application/json"}
KEY = {"FANOUT_PARTNER_KEY": "api-test-key"}


def api_app(ctx, args=(), **kw):
    """An app on the shared simulator, without upstream latency."""
    a = ["--analytics-upstream", ctx.sim.url("/lag/0/analytics"),
         "--partner-upstream", ctx.sim.url("/lag/0/partner")] + list(args)
    if "--stats-products" not in a:
        a += ["--stats-products", "p01,p02,p03"]
    return ctx.app(a, env=KEY, xkcd_path=FAST, **kw)


def sim_requests(ctx):
    return json.loads(request(ctx.sim.port, "/_/stats")[2])["requests"]


def is_int(v):
    return type(v) is int


def envelope(what, st, h, body, mode):
    """Check one JSON answer's envelope and return the document."""
    check(st == 200, "%s: %d %r" % (what, st, body[:200]))
    check(h.get("content-type") == "application/json",
          "%s: content-type %r" % (what, h.get("content-type")))
    check("\\/" not in body, "%s: an escaped '/': %r" % (what, body[:200]))
    d = json.loads(body)
    check(d.get("mode") == mode, "%s: mode %r" % (what, d.get("mode")))
    check(type(d.get("elapsed_ms")) in (int, float) and
          d["elapsed_ms"] >= 0, "%s: elapsed_ms %r" % (what, d))
    check(is_int(d.get("upstream_calls")) and d["upstream_calls"] >= 0,
          "%s: upstream_calls %r" % (what, d.get("upstream_calls")))
    check(is_int(d.get("from_cache")) and d["from_cache"] >= 0,
          "%s: from_cache %r" % (what, d.get("from_cache")))
    check(type(d.get("partial")) is bool,
          "%s: partial %r" % (what, d.get("partial")))
    errs = d.get("errors")
    check(type(errs) is list, "%s: errors %r" % (what, errs))
    for e in errs:
        check(type(e) is dict and type(e.get("error")) is str and
              e["error"] and len(e) >= 2,
              "%s: an error without its text or subject: %r" % (what, e))
    check(d["partial"] == (len(errs) > 0),
          "%s: partial %r with %d errors" % (what, d["partial"], len(errs)))
    return d


def get(ctx, app, path, mode, headers=None):
    st, h, body, _ = request(app.port, path, headers=headers)
    d = envelope(path + (" (Accept)" if headers else ""), st, h, body, mode)
    check(h.get("vary", "").lower() == "accept", "%s: vary %r" %
          (path, h.get("vary")))
    return d


def test_every_page_answers_the_envelope(ctx):
    app = api_app(ctx)
    for mode, page in (("sync", "/get_data"), ("async", "/async_get_data")):
        for q, hd in (("?delay=0", None), ("?delay=0&format=json", None),
                      ("?delay=0", JS)):
            d = get(ctx, app, page + q, mode, hd)
            check(responses(json.dumps(d)) == {"response_1": 200,
                                               "response_2": 200},
                  "%s%s: %r" % (page, q, d))
        # calls=0: text "ok" for a plain client, the envelope for JSON.
        st, h, body, _ = request(app.port, page + "?calls=0")
        check(st == 200 and body == "ok", "%s calls=0: %r" % (page, body))
        for q, hd in (("?calls=0&format=json", None), ("?calls=0", JS)):
            d = get(ctx, app, page + q, mode, hd)
            check(d["upstream_calls"] == 0 and d["errors"] == [] and
                  not any(k.startswith("response_") for k in d),
                  "%s%s: %r" % (page, q, d))
    for mode, page in (("async", "/xkcd"), ("sync", "/xkcd/sync")):
        for q, hd in (("?ids=1,2&format=json", None), ("?ids=1,2", JS),
                      ("?count=2&format=json", None)):
            d = get(ctx, app, page + q, mode, hd)
            check(d["count"] == 2 and
                  len(d["comics"]) + len(d["errors"]) == 2,
                  "%s%s: %r" % (page, q, d))
            for c in d["comics"]:
                check(type(c.get("cached")) is bool and
                      "from_cache" not in c and c["link"].startswith(
                          "http://"), "%s comic %r" % (page, c))
    for mode, page, q, hd in (("async", "/api/stats", "", None),
                              ("async", "/api/stats", "?format=json", None),
                              ("async", "/stats", "?format=json", None),
                              ("async", "/stats", "", JS),
                              ("sync", "/stats/sync", "?format=json", None),
                              ("sync", "/stats/sync", "", JS)):
        d = get(ctx, app, page + q, mode, hd)
        check([r["product"] for r in d["products"]] == ["p01", "p02", "p03"]
              and all("sales" in r and "errors" not in r
                      for r in d["products"]) and
              d["origin"] in ("upstream", "cache") and
              type(d["key_rejected"]) is bool and is_int(d["age_s"]) and
              type(d["fetched_ms"]) in (int, float),
              "%s%s: %r" % (page, q, d))


test_every_page_answers_the_envelope.asan = True


def test_format_parameter(ctx):
    app = api_app(ctx)
    # An unsupported value is a 400 naming the accepted ones, everywhere.
    for page in ("/get_data", "/async_get_data", "/xkcd", "/xkcd/sync",
                 "/stats", "/stats/sync", "/api/stats"):
        st, _, body, _ = request(app.port, page + "?format=xml")
        check(st == 400 and body == "invalid parameter 'format': expected "
              "json or html\n", "%s?format=xml: %d %r" % (page, st, body))
        st, h, body, _ = request(app.port, page + "?format=json&format=json")
        check(st == 400 and "'format'" in body, "%s: format twice: %d %r" %
              (page, st, body))
    # format=html wins over Accept.
    for page in ("/stats", "/stats/sync", "/xkcd?ids=1&"):
        sep = "" if page.endswith("&") else "?"
        st, h, body, _ = request(app.port, page + sep + "format=html",
                                 headers=JS)
        check(st == 200 and h["content-type"].startswith("text/html") and
              body.startswith("<!doctype html>"),
              "%s format=html: %d %r" % (page, st, h.get("content-type")))
    # The demo pages have no HTML: format=html is a plain client.
    st, h, body, _ = request(app.port, "/get_data?calls=0&format=html",
                             headers=JS)
    check(st == 200 and body == "ok", "calls=0 format=html: %r" % body)
    st, h, body, _ = request(app.port, "/get_data?delay=0&format=html")
    envelope("/get_data?format=html", st, h, body, "sync")
    # /api/stats is JSON only.
    st, _, body, _ = request(app.port, "/api/stats?format=html")
    check(st == 400 and "'format'" in body and "/stats" in body,
          "/api/stats?format=html: %d %r" % (st, body))


def test_upstream_calls_are_the_calls_made(ctx):
    app = api_app(ctx, ["--xkcd-cache", "0"])
    for mode, path, calls in (
            ("async", "/async_get_data?calls=3&delay=0", 3),
            ("sync", "/get_data?calls=2&delay=0", 2),
            ("async", "/async_get_data?calls=0&format=json", 0),
            ("async", "/xkcd?ids=5,6,7&format=json", 3),
            ("sync", "/xkcd/sync?ids=5,6&format=json", 2),
            ("sync", "/stats/sync?format=json", 4),
            ("async", "/api/stats?products=p01,p02", 3)):
        before = sim_requests(ctx)
        d = get(ctx, app, path, mode)
        made = sim_requests(ctx) - before
        check(d["upstream_calls"] == calls == made,
              "%s: upstream_calls %d, the simulator saw %d, expected %d" %
              (path, d["upstream_calls"], made, calls))
    # A 429 drops the partner calls still queued: they were not made.
    app2 = api_app(ctx, ["--stats-limit", "1", "--stats-products",
                         "p01,err429-x,p02,p03"])
    before = sim_requests(ctx)
    d = get(ctx, app2, "/api/stats", "async")
    made = sim_requests(ctx) - before
    check(d["upstream_calls"] == 3 == made,
          "429: upstream_calls %d, the simulator saw %d (analytics, p01, "
          "the 429)" % (d["upstream_calls"], made))
    skipped = [e for e in d["errors"] if e["product"] in ("p02", "p03")]
    check(len(skipped) == 2 and all(
        e["source"] == "partner" and "not called" in e["error"]
        for e in skipped), "skipped calls: %r" % d["errors"])


def test_from_cache_counts_cached_items(ctx):
    app = api_app(ctx)
    d = get(ctx, app, "/xkcd?ids=31,32,33&format=json", "async")
    check(d["from_cache"] == 0 and d["upstream_calls"] == 3 and
          [c["cached"] for c in d["comics"]] == [False] * 3, "first: %r" % d)
    d = get(ctx, app, "/xkcd?ids=31,32,33&format=json", "async")
    check(d["from_cache"] == 3 and d["upstream_calls"] == 0 and
          [c["cached"] for c in d["comics"]] == [True] * 3, "again: %r" % d)
    d = get(ctx, app, "/xkcd?ids=34,31&format=json", "async")
    check(d["from_cache"] == 1 and d["upstream_calls"] == 1 and
          [(c["num"], c["cached"]) for c in d["comics"]] ==
          [(34, False), (31, True)], "mixed: %r" % d)
    # cache=0 and the sync page do not read the cache.
    for path, mode in (("/xkcd?ids=31,32&cache=0&format=json", "async"),
                       ("/xkcd/sync?ids=31,32&format=json", "sync")):
        d = get(ctx, app, path, mode)
        check(d["from_cache"] == 0 and d["upstream_calls"] == 2, "%s: %r" %
              (path, d))
    # A stored stats result: every row is from the cache.
    d = get(ctx, app, "/api/stats?products=p01,p02", "async")
    check(d["from_cache"] == 0 and d["origin"] == "upstream", "%r" % d)
    for path, hd in (("/api/stats?products=p01,p02", None),
                     ("/stats?products=p01,p02", JS)):
        d = get(ctx, app, path, "async", hd)
        check(d["from_cache"] == 2 and d["upstream_calls"] == 0 and
              d["origin"] == "cache", "%s: %r" % (path, d))
    d = get(ctx, app, "/stats/sync?products=p01,p02&format=json", "sync")
    check(d["from_cache"] == 0 and d["upstream_calls"] == 3, "sync %r" % d)


def test_partial_answers_list_their_errors(ctx):
    # Every call answered 503: the blog's statuses, and one error each.
    app = api_app(ctx, upstream_path="/status/503")
    for mode, page in (("sync", "/get_data"), ("async", "/async_get_data")):
        d = get(ctx, app, page + "?calls=2&delay=0", mode)
        check(responses(json.dumps(d)) == {"response_1": 503,
                                           "response_2": 503} and
              d["partial"] is True and d["errors"] == [
                  {"error": "upstream answered 503", "call": 1},
                  {"error": "upstream answered 503", "call": 2}],
              "%s 503: %r" % (page, d))
    # No answer at all: the same "kind: message" as in response_N.
    dead = "http://127.0.0.1:%d" % free_port()
    app2 = api_app(ctx, ["--upstream", dead])
    d = get(ctx, app2, "/async_get_data?calls=2", "async")
    check(d["partial"] is True and
          [e["call"] for e in d["errors"]] == [1, 2] and
          all(e["error"] == d["response_%d" % e["call"]] and
              e["error"].startswith("connect: ") for e in d["errors"]),
          "refused: %r" % d)
    # Broken comics (simulator: 404 missing, 407 too large).
    for mode, page in (("async", "/xkcd"), ("sync", "/xkcd/sync")):
        d = get(ctx, app, page + "?ids=1,404,407&format=json", mode)
        check(d["partial"] is True and [c["num"] for c in d["comics"]] == [1]
              and [e["num"] for e in d["errors"]] == [404, 407] and
              d["errors"][0]["error"] == "no such comic (404)" and
              d["errors"][1]["error"].startswith("body_too_large: "),
              "%s: %r" % (page, d))
        d = get(ctx, app, page + "?ids=1,2&format=json", mode)
        check(d["partial"] is False and d["errors"] == [], "%r" % d)
    # Stats: an unknown product and a partner 503, with their product.
    app3 = api_app(ctx, ["--stats-products", "p01,err503-a"])
    for mode, page in (("async", "/api/stats"), ("sync", "/stats/sync")):
        d = get(ctx, app3, page + "?products=p01,err503-a,p99&format=json",
                mode)
        errs = sorted((e["product"], e["source"], e["error"])
                      for e in d["errors"])
        check(d["partial"] is True and errs == [
            ("err503-a", "analytics", "no analytics data"),
            ("err503-a", "partner", "the partner answered 503"),
            ("p99", "analytics", "unknown product"),
            ("p99", "partner", "unknown product")], "%s: %r" % (page, errs))
        rows = {r["product"]: r for r in d["products"]}
        check("errors" not in rows["p01"] and rows["p99"]["errors"] == [
            {"error": "unknown product", "source": "analytics"},
            {"error": "unknown product", "source": "partner"}],
            "%s rows: %r" % (page, rows))
