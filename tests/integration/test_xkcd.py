"""The xkcd gallery against the simulator: ids and random galleries, HTML
and JSON, error cards for broken comics, escaping, the comic cache, the
latest-comic lookup, timing, bad input."""

import html
import http.client
import json
import re

from lib import at_once, check, chromium_dom, free_port, request

LATEST = 420          # the simulator's latest comic
FAST = "/lag/0/xkcd"  # simulator xkcd endpoints without latency


def cards(body):
    """[(num, kind)] of the gallery's cards, kind 'ok' or 'error'."""
    out = []
    for m in re.finditer(r'<article class="comic( error)?" data-num="(\d+)"',
                         body):
        out.append((int(m.group(2)), "error" if m.group(1) else "ok"))
    return out


def sim_requests(ctx):
    return json.loads(request(ctx.sim.port, "/_/stats")[2])["requests"]


def gallery_json(port, query, page="/xkcd"):
    st, h, body, _ = request(port, page + "?" + query + "&format=json")
    check(st == 200, "%s?%s: %d %r" % (page, query, st, body[:200]))
    check(h.get("content-type") == "application/json",
          "content-type %r" % h.get("content-type"))
    return json.loads(body)


def test_ids_gallery_html(ctx):
    app = ctx.app(xkcd_path=FAST)
    for page, mode in (("/xkcd", "async"), ("/xkcd/sync", "sync")):
        st, h, body, _ = request(app.port, page + "?ids=3,1,2")
        check(st == 200 and h["content-type"].startswith("text/html"),
              "%s: %d %r" % (page, st, h.get("content-type")))
        check(cards(body) == [(3, "ok"), (1, "ok"), (2, "ok")],
              "%s cards: %r" % (page, cards(body)))
        for n in (1, 2, 3):
            check('src="%s/img/%d.svg"' % (ctx.sim.url("/xkcd"), n) in body,
                  "%s: no image for %d" % (page, n))
            check('href="%s/%d/"' % (ctx.sim.url(FAST), n) in body,
                  "%s: no link for %d" % (page, n))
        check('data-mode="%s"' % mode in body, "%s: mode" % page)
        # The same comics; the async one cold, as the sync page is.
        other = "/xkcd/sync?ids=3,1,2" if mode == "async" else \
            "/xkcd?ids=3,1,2&amp;cache=0"
        check('id="other" href="%s"' % other in body,
              "%s: link to the other variant" % page)
        check(re.search(r"3 comics in <strong>\d+ ms</strong>", body),
              "%s: no elapsed time" % page)


test_ids_gallery_html.asan = True


def test_json_matches_html(ctx):
    app = ctx.app(["--xkcd-cache", "0"], xkcd_path=FAST)
    d = gallery_json(app.port, "ids=5,6,7")
    check([c["num"] for c in d["comics"]] == [5, 6, 7], "nums %r" % d)
    check(d["errors"] == [] and d["mode"] == "async" and d["count"] == 3,
          "json %r" % d)
    check(isinstance(d["elapsed_ms"], (int, float)), "elapsed %r" % d)
    for c in d["comics"]:
        check(set(c) >= {"num", "title", "safe_title", "alt", "img", "link"},
              "fields %r" % c)
    st, _, body, _ = request(app.port, "/xkcd?ids=5,6,7")
    for c in d["comics"]:
        check(html.escape(c["title"], quote=True) in body,
              "title %r not in the HTML" % c["title"])
        check('title="%s"' % html.escape(c["alt"], quote=True) in body,
              "alt %r not the image's tooltip" % c["alt"])
    # Accept: application/json works the same as format=json.
    st, h, body, _ = request(app.port, "/xkcd?ids=5,6,7",
                             headers={"Accept": "application/json"})
    check(st == 200 and json.loads(body)["comics"] == d["comics"],
          "Accept: %d %r" % (st, body[:100]))
    check("accept" in h.get("vary", "").lower(), "no Vary: Accept")
    s = gallery_json(app.port, "ids=5,6,7", page="/xkcd/sync")
    check(s["comics"] == d["comics"] and s["mode"] == "sync", "sync %r" % s)


def test_random_gallery(ctx):
    app = ctx.app(xkcd_path=FAST)
    for count, query in ((5, ""), (7, "count=7"), (1, "count=1")):
        st, _, body, _ = request(app.port, "/xkcd?" + query)
        check(st == 200, "%s: %d" % (query, st))
        got = cards(body)
        nums = [n for n, _ in got]
        check(len(nums) == count and len(set(nums)) == count,
              "%s: %r" % (query, got))
        check(all(1 <= n <= LATEST for n in nums), "%s: %r" % (query, nums))
    d = gallery_json(app.port, "count=20")
    nums = [c["num"] for c in d["comics"]] + [e["num"] for e in d["errors"]]
    check(len(nums) == 20 and len(set(nums)) == 20 and
          all(1 <= n <= LATEST for n in nums), "json nums %r" % nums)


def test_latest_number_is_cached(ctx):
    app = ctx.app(["--xkcd-cache", "0"], xkcd_path=FAST)
    d1 = gallery_json(app.port, "count=4")
    check(d1["upstream_calls"] == 5, "first: latest + 4: %r" % d1)
    d2 = gallery_json(app.port, "count=4")
    check(d2["upstream_calls"] == 4, "second reuses the latest: %r" % d2)
    app2 = ctx.app(["--xkcd-cache", "0", "--xkcd-latest-ttl", "0"],
                   xkcd_path=FAST)
    gallery_json(app2.port, "count=2")
    d3 = gallery_json(app2.port, "count=2")
    check(d3["upstream_calls"] == 3, "ttl 0 asks again: %r" % d3)


def test_latest_lookup_shared_by_concurrent_galleries(ctx):
    # Five random galleries at once on one worker: one looks the latest
    # number up, the other four wait for it (engine request sharing).
    app = ctx.app(["--xkcd-cache", "0"], xkcd_path="/lag/600/xkcd")
    before = sim_requests(ctx)
    out = at_once(lambda i: gallery_json(app.port, "count=2"), 5)
    check(all(out), "galleries still running: %r" % out)
    calls = sorted(out[i]["upstream_calls"] for i in range(5))
    check(calls == [2, 2, 2, 2, 3], "upstream calls per gallery %r" % calls)
    check(sim_requests(ctx) - before == 11, "the simulator saw %d requests"
          % (sim_requests(ctx) - before))
    for i in range(5):
        # Random picks may land on the simulator's broken comics (cards).
        nums = [c["num"] for c in out[i]["comics"]] + \
            [e["num"] for e in out[i]["errors"]]
        check(len(nums) == 2 and all(1 <= n <= LATEST for n in nums),
              "gallery %d: %r" % (i, out[i]))


def test_broken_comics_are_error_cards(ctx):
    app = ctx.app(xkcd_path=FAST)
    st, _, body, _ = request(app.port,
                             "/xkcd?ids=1,404,405,406,407,410,411,2")
    check(st == 200, "status %d" % st)
    check(cards(body) == [(1, "ok"), (404, "error"), (405, "error"),
                          (406, "error"), (407, "error"), (410, "error"),
                          (411, "error"), (2, "ok")],
          "cards %r" % cards(body))
    d = gallery_json(app.port, "ids=1,404,405,406,407,410,411,2")
    errs = {e["num"]: e["error"] for e in d["errors"]}
    check(errs[404] == "no such comic (404)", "404: %r" % errs[404])
    check(errs[405] == "malformed JSON", "405: %r" % errs[405])
    check(errs[406] == "missing or invalid field 'img'", "406: %r" % errs)
    check(errs[407].startswith("body_too_large"), "407: %r" % errs[407])
    check(errs[410].startswith("missing or invalid field"), "410: %r" % errs)
    check("nested deeper" in errs[411], "411: %r" % errs[411])
    check([c["num"] for c in d["comics"]] == [1, 2], "ok %r" % d["comics"])


test_broken_comics_are_error_cards.asan = True


def content_types(port, path):
    """(status, every Content-Type header of the answer, in order)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, [v for k, v in resp.getheaders()
                             if k.lower() == "content-type"]
    finally:
        conn.close()


def test_simulator_comics_have_one_content_type(ctx):
    """Kore's http_response_header() appends: the simulator's missing comic
    once went out as application/json and text/html."""
    st, types = content_types(ctx.sim.port, "/xkcd/404/info.0.json")
    check(st == 404 and types == ["text/html"], "404: %d %r" % (st, types))
    st, types = content_types(ctx.sim.port, FAST + "/%d/info.0.json" %
                              (LATEST + 1))
    check(st == 404 and types == ["text/html"], "past latest: %d %r" %
          (st, types))
    for n in (1, 405, 406, 407, 408, 409, 410, 411):
        st, types = content_types(ctx.sim.port, FAST + "/%d/info.0.json" % n)
        check(st == 200 and types == ["application/json"],
              "%d: %d %r" % (n, st, types))
    st, types = content_types(ctx.sim.port,
                              "/lag/0/malformed/xkcd/info.0.json")
    check(st == 200 and types == ["application/json"],
          "malformed: %d %r" % (st, types))


def test_html_injection_is_escaped(ctx):
    app = ctx.app(xkcd_path=FAST)
    st, _, body, _ = request(app.port, "/xkcd?ids=408")
    check(cards(body) == [(408, "ok")], "cards %r" % cards(body))
    check("<script>alert(1)" not in body, "raw <script> in the page")
    check("onerror=alert(1)>" not in body.replace("&gt;", ""),
          "raw onerror attribute")
    check("#408: &lt;script&gt;alert(1)&lt;/script&gt;" in body,
          "escaped title missing")
    check('title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; '
          '&#39;quotes&#39;"' in body, "escaped alt missing")
    # A parameter the page does not take is refused in plain text (with
    # nosniff): its name is never echoed into HTML.
    st, h, body, _ = request(app.port, '/xkcd?ids=1&x="><script>')
    check(st == 400 and h.get("content-type", "").startswith("text/plain")
          and h.get("x-content-type-options") == "nosniff",
          "unknown parameter: %d %r" % (st, h))
    st, h, body, _ = request(app.port, '/xkcd?ids=1&"><script>=1')
    check(st == 400 and h.get("content-type", "").startswith("text/plain"),
          "unknown parameter name: %d %r" % (st, body))


test_html_injection_is_escaped.asan = True


def test_javascript_image_url_refused(ctx):
    app = ctx.app(xkcd_path=FAST)
    st, _, body, _ = request(app.port, "/xkcd?ids=409")
    check(cards(body) == [(409, "error")], "cards %r" % cards(body))
    check("javascript:" not in body, "javascript: URL in the page")
    check("image URL is not http or https" in body, "no reason shown")


def test_cache_serves_repeat_without_upstream(ctx):
    app = ctx.app(xkcd_path=FAST)
    before = sim_requests(ctx)
    d1 = gallery_json(app.port, "ids=11,12,13")
    mid = sim_requests(ctx)
    d2 = gallery_json(app.port, "ids=11,12,13")
    after = sim_requests(ctx)
    check(mid - before == 3 and d1["from_cache"] == 0, "first: %d calls, %r"
          % (mid - before, d1["from_cache"]))
    check(after == mid, "repeat made %d upstream calls" % (after - mid))
    check(d2["from_cache"] == 3 and d2["upstream_calls"] == 0, "%r" % d2)
    check([c["num"] for c in d2["comics"]] == [11, 12, 13], "%r" % d2)
    st, _, body, _ = request(app.port, "/xkcd?ids=11,12,13")
    check("3 from\ncache" in body or "3 from cache" in body,
          "the page does not say 3 came from cache")
    # Errors are not cached: a missing comic is asked for again.
    gallery_json(app.port, "ids=404")
    b = sim_requests(ctx)
    gallery_json(app.port, "ids=404")
    check(sim_requests(ctx) - b == 1, "error was cached")
    # Cache off: every request goes upstream.
    app2 = ctx.app(["--xkcd-cache", "0"], xkcd_path=FAST)
    gallery_json(app2.port, "ids=11,12,13")
    b = sim_requests(ctx)
    d = gallery_json(app2.port, "ids=11,12,13")
    check(sim_requests(ctx) - b == 3 and d["from_cache"] == 0,
          "cache off: %r" % d)


def test_cache_is_bounded(ctx):
    app = ctx.app(["--xkcd-cache", "3"], xkcd_path=FAST)
    gallery_json(app.port, "ids=21,22,23,24")
    d = gallery_json(app.port, "ids=21,22,23,24")
    # Four comics through a three-entry cache: the oldest was dropped.
    check(d["from_cache"] == 3 and d["upstream_calls"] == 1, "%r" % d)


def test_async_well_under_sync(ctx):
    app = ctx.app(["--xkcd-cache", "0", "--workers", "2"],
                  xkcd_path="/lag/300/xkcd")
    _, _, _, sync_t = request(app.port, "/xkcd/sync?ids=31,32,33,34,35")
    _, _, _, async_t = request(app.port, "/xkcd?ids=31,32,33,34,35")
    check(sync_t >= 1.5, "sync %.2fs for 5 x 300 ms" % sync_t)
    check(async_t < 0.75 and async_t < sync_t / 2,
          "async %.2fs vs sync %.2fs" % (async_t, sync_t))


def test_sync_and_async_compare_the_same_work(ctx):
    # After an async gallery, its "Fetch them sync" link shows the same
    # comics fetched again, not read from the cache the async page filled;
    # the sync page's link back fetches them cold too.
    app = ctx.app(xkcd_path=FAST)
    st, _, body, _ = request(app.port, "/xkcd?count=4")
    nums = [n for n, _ in cards(body)]
    m = re.search(r'id="other" href="([^"]+)"', body)
    check(st == 200 and m, "no link to the other variant: %r" % body[:300])
    link = html.unescape(m.group(1))
    check(link == "/xkcd/sync?ids=" + ",".join(map(str, nums)),
          "sync link %r for comics %r" % (link, nums))
    d = gallery_json(app.port, link.split("?", 1)[1], page="/xkcd/sync")
    check(sorted([c["num"] for c in d["comics"]] +
                 [e["num"] for e in d["errors"]]) == sorted(nums),
          "sync gallery %r, async %r" % (d, nums))
    check(d["from_cache"] == 0 and d["upstream_calls"] == 4,
          "sync read the cache: %r" % d)
    d = gallery_json(app.port, "ids=%s&cache=0" % ",".join(map(str, nums)))
    check(d["from_cache"] == 0 and d["upstream_calls"] == 4,
          "async with cache=0 read the cache: %r" % d)
    d = gallery_json(app.port, "ids=%s" % ",".join(map(str, nums)))
    ok = len(d["comics"])
    check(d["from_cache"] == ok, "async without cache=0: %r" % d)
    st, _, body, _ = request(app.port, "/xkcd?ids=1&cache=2")
    check(st == 400 and "'cache'" in body, "cache=2: %d %r" % (st, body))


def test_calls_beyond_max_calls_are_error_cards(ctx):
    # The engine fails a call past --max-calls like any failed call: the
    # gallery shows it as an error card, sync and async alike.
    app = ctx.app(["--max-calls", "2", "--xkcd-cache", "0"], xkcd_path=FAST)
    for page in ("/xkcd", "/xkcd/sync"):
        d = gallery_json(app.port, "ids=21,22,23", page=page)
        check([c["num"] for c in d["comics"]] == [21, 22],
              "%s comics %r" % (page, d["comics"]))
        errs = [(e["num"], e.get("error")) for e in d["errors"]]
        check(len(errs) == 1 and errs[0][0] == 23 and
              "more calls than --max-calls allows" in errs[0][1],
              "%s errors %r" % (page, d["errors"]))
        # upstream_calls counts the calls made: the third never went out.
        check(d["upstream_calls"] == 2 and d["partial"] is True,
              "%s: %r" % (page, d))


def test_bad_parameters_400(ctx):
    app = ctx.app(xkcd_path=FAST)
    many = ",".join(str(i) for i in range(1, 52))
    for q, word in (("count=0", "count"), ("count=51", "count"),
                    ("count=x", "count"), ("count=-3", "count"),
                    ("ids=", "ids"), ("ids=1,,2", "ids"), ("ids=0", "ids"),
                    ("ids=-1", "ids"), ("ids=abc", "ids"),
                    ("ids=1.5", "ids"), ("ids=" + many, "at most 50"),
                    ("ids=1&count=2", "either"), ("format=xml", "format"),
                    ("ids=1&ids=2", "twice")):
        for page in ("/xkcd", "/xkcd/sync"):
            st, h, body, _ = request(app.port, page + "?" + q)
            check(st == 400 and word in body, "%s?%s: %d %r" %
                  (page, q, st, body))
            check("server-timing" in h, "%s?%s: no Server-Timing" %
                  (page, q))
    st, _, _, _ = request(app.port, "/xkcd", method="POST", body="x")
    check(st == 405, "POST: %d" % st)
    d = gallery_json(app.port, "ids=7,7,8")
    check([c["num"] for c in d["comics"]] == [7, 8], "duplicates: %r" % d)


def test_upstream_down(ctx):
    dead = "http://127.0.0.1:%d" % free_port()
    app = ctx.app(["--xkcd-upstream", dead])
    st, _, body, _ = request(app.port, "/xkcd?count=3")
    check(st == 502 and "latest comic" in body and "connect" in body,
          "random with no upstream: %d %r" % (st, body))
    st, _, body, _ = request(app.port, "/xkcd?ids=1,2")
    check(st == 200 and cards(body) == [(1, "error"), (2, "error")],
          "ids with no upstream: %d %r" % (st, cards(body)))
    check("connect: " in body, "no connect error on the cards")


def test_browser_renders_cards_and_images(ctx):
    app = ctx.app(xkcd_path=FAST)
    dom = chromium_dom(app.url("/xkcd?ids=1,2,3,404"))
    check([n for n, _ in cards(dom)] == [1, 2, 3, 404], "cards %r" %
          cards(dom))
    states = re.findall(r'<img [^>]*data-state="(\w+)"', dom)
    check(states == ["loaded"] * 3, "image states %r" % states)
