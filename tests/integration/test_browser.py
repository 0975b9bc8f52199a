"""Pages as a person sees them: headless Chromium runs their scripts."""

import re

from lib import Browser, check, chromium_dom, request


def test_index_live_comparison_real_time(ctx):
    # The chart's figures, timed by the browser in real time: the sync page
    # takes at least calls x delay, the async one at least one delay and
    # well under half the sync one.  (Under virtual time, as chromium_dom()
    # runs pages, they came out below the ideal.)
    app = ctx.app(["--workers", "2"])
    b = Browser()
    try:
        b.get(app.url("/#run"))
        text = b.wait_for("var s = document.getElementById('status');"
                          "return /^sync \\d+ ms, async \\d+ ms/.test("
                          "s.textContent) ? s.textContent : null;")
        calls = int(b.script("return document.getElementById('calls')"
                             ".value;"))
        delay = int(b.script("return document.getElementById('delay')"
                             ".value;"))
    finally:
        b.close()
    m = re.match(r"sync (\d+) ms, async (\d+) ms", text)
    sync_ms, async_ms = int(m.group(1)), int(m.group(2))
    check(calls > 1 and delay > 0, "form defaults %d x %d" % (calls, delay))
    check(sync_ms >= calls * delay, "sync %d ms < %d x %d ms" %
          (sync_ms, calls, delay))
    check(async_ms >= delay and async_ms < sync_ms / 2,
          "async %d ms (delay %d, sync %d)" % (async_ms, delay, sync_ms))


def test_index_live_comparison(ctx):
    app = ctx.app(["--workers", "2"])
    dom = chromium_dom(app.url("/#run"))
    m = re.search(r'id="status"[^>]*>sync (\d+) ms, async (\d+) ms', dom)
    check(m, "no result in the status line: %r" %
          re.findall(r'id="status"[^>]*>[^<]*', dom))
    bars = re.findall(r'<rect[^>]*class="bar (sync|async)"', dom)
    check(sorted(bars) == ["async", "sync"], "bars: %r" % bars)
    check("class=\"ideal\"" in dom, "no ideal line")


PHONE_PAGES = ("/", "/xkcd", "/xkcd/sync", "/stats", "/stats/sync",
               "/get_data?%3Cscript%3E" + "x" * 60 + "=1")

# What the page is waiting for before it is laid out as it will stay.
READY = ("return document.readyState === 'complete' &&"
         " (!document.getElementById('stats') ||"
         "  !!document.querySelector('.dataTables_wrapper'));")

# Every part of the chart: [tag, class, text, left, right].
CHART_PARTS = ("return Array.prototype.map.call(document.querySelectorAll("
               "'#chart rect, #chart text, #chart line'), function (e) {"
               " var r = e.getBoundingClientRect();"
               " return [e.tagName, e.getAttribute('class') || '',"
               " e.textContent, r.left, r.right]; });")

RESULT = ("var s = document.getElementById('status');"
          "return /^sync \\d+ ms, async \\d+ ms/.test(s.textContent) ?"
          " s.textContent : null;")

BUSY = ("var b = document.getElementById('go');"
        "return [b.disabled, b.getAttribute('aria-busy'), b.textContent];")


def page_width(b):
    return b.script("return [document.documentElement.scrollWidth,"
                    " window.innerWidth,"
                    " document.documentElement.clientWidth];")


def test_pages_fit_a_phone(ctx):
    # At 390 and 360 px no page is wider than the viewport (a table
    # scrolls in its wrapper), and a chart run stays on screen.
    app = ctx.app(["--workers", "2"])
    b = Browser()
    try:
        for w in (390, 360):
            b.viewport(w)
            for path in PHONE_PAGES:
                b.get(app.url(path))
                b.wait_for(READY)
                sw, iw, cw = page_width(b)
                check(iw == w, "%s: innerWidth %d at %d px" % (path, iw, w))
                check(sw <= iw and sw <= cw, "%s at %d px: %d px wide "
                      "(viewport %d, client %d)" % (path, w, sw, iw, cw))
            check(b.script("return document.getElementById('message')"
                           ".textContent;").startswith(
                               "unknown parameter '<script>xxx"),
                  "the error page at %d px" % w)
            b.get(app.url("/#run"))
            b.wait_for(RESULT)
            cw = page_width(b)[2]
            parts = b.script(CHART_PARTS)
            kinds = [p[1] for p in parts]
            check(kinds.count("bar sync") == 1 and
                  kinds.count("bar async") == 1 and
                  kinds.count("value") == 2 and "ideal-label" in kinds,
                  "chart at %d px: %r" % (w, kinds))
            off = [p for p in parts if p[3] < 0 or p[4] > cw]
            check(not off, "off screen at %d px (client %d): %r" %
                  (w, cw, off))
            check(page_width(b)[0] <= cw, "index wider after the run")
    finally:
        b.close()


def test_chart_axis_legend_and_busy_button(ctx):
    app = ctx.app(["--workers", "2"])
    b = Browser()
    try:
        b.get(app.url("/"))
        legend = b.script("return Array.prototype.map.call(document"
                          ".querySelectorAll('#legend li'), function (e) {"
                          " return e.textContent; });")
        idle = b.script(BUSY)
        # No run without #run: nothing drawn yet.
        check(b.script("return document.querySelectorAll('#chart rect')"
                       ".length;") == 0, "a run without #run")
        busy = b.script("document.getElementById('go').click();" + BUSY)
        b.wait_for(RESULT)
        after = b.script(BUSY)
        ticks = b.script("return Array.prototype.map.call(document"
                         ".querySelectorAll('#chart .axis text'),"
                         " function (e) { return [e.textContent,"
                         " e.getBoundingClientRect().left]; });")
        ideal = b.script("var l = document.querySelector('#chart"
                         " text.ideal-label'); return l && l.textContent;")
        bars = b.script("var o = {}; document.querySelectorAll('#chart"
                        " rect, #chart line.ideal').forEach(function (e)"
                        " { var r = e.getBoundingClientRect();"
                        " o[e.getAttribute('class')] = [r.left, r.right];"
                        " }); return o;")
        delay = int(b.script("return document.getElementById('delay')"
                             ".value;"))
    finally:
        b.close()
    check([x.split()[0] for x in legend] == ["sync", "async", "ideal"],
          "legend %r" % legend)
    check(idle == [False, "false", "Time sync vs async"], "idle %r" % idle)
    check(busy[0] is True and busy[1] == "true" and "Running" in busy[2],
          "during the run %r" % busy)
    check(after == [False, "false", "Time sync vs async"], "after %r" % after)
    # The axis: ms ticks from 0, rising, left to right.
    vals = [re.match(r"^(\d+) ms$", t[0]) for t in ticks]
    check(len(ticks) >= 3 and all(vals) and vals[0].group(1) == "0",
          "ticks %r" % ticks)
    nums = [int(v.group(1)) for v in vals]
    lefts = [t[1] for t in ticks]
    check(nums == sorted(nums) and lefts == sorted(lefts) and
          len(set(nums)) == len(nums), "ticks %r" % ticks)
    check(ideal == "ideal %d ms" % delay, "ideal label %r" % ideal)
    # Real time: the async bar reaches the ideal line, the sync bar is
    # longer than both.
    check(bars["bar async"][1] >= bars["ideal"][0] - 1 and
          bars["bar sync"][1] > bars["bar async"][1], "bars %r" % bars)


def test_run_link_starts_a_run(ctx):
    # The page's own /#run link: from / (hashchange), and again from /#run
    # (the same hash: the click itself).
    app = ctx.app(["--workers", "2"])
    b = Browser()
    try:
        b.get(app.url("/"))
        check(b.script("return document.getElementById('status')"
                       ".textContent;") == "", "a run without #run")
        b.script("document.getElementById('run-link').click();")
        first = b.wait_for(RESULT)
        check(b.script("return window.location.hash;") == "#run",
              "the link did not go to #run")
        bars = b.script("return Array.prototype.map.call(document"
                        ".querySelectorAll('#chart rect'), function (e) {"
                        " return e.getAttribute('class'); });")
        check(sorted(bars) == ["bar async", "bar sync"], "bars %r" % bars)
        b.script("document.getElementById('status').textContent = '';")
        busy = b.script("document.getElementById('run-link').click();" +
                        BUSY)
        second = b.wait_for(RESULT)
        after = b.script(BUSY)
    finally:
        b.close()
    check(busy[1] == "true", "the second click started no run: %r" % busy)
    check(after[1] == "false", "still busy: %r" % after)
    check(first and second, "results %r %r" % (first, second))


def test_form_limits_match_the_server(ctx):
    # The index form's min/max are the server's ranges: the largest value
    # is accepted, one more is a 400 naming the parameter.
    app = ctx.app()
    _, _, page, _ = request(app.port, "/")
    lim = dict(re.findall(r'<input id="(calls|delay)" type="number" '
                          r'min="0" max="(\d+)"', page))
    check(lim == {"calls": "100", "delay": "60000"}, "form limits %r" % lim)
    for q, st_want in (("calls=%s&delay=0" % lim["calls"], 200),
                       ("calls=0&delay=%s" % lim["delay"], 200),
                       ("calls=%d" % (int(lim["calls"]) + 1), 400),
                       ("calls=0&delay=%d" % (int(lim["delay"]) + 1), 400)):
        st, _, body, _ = request(app.port, "/async_get_data?" + q)
        check(st == st_want, "%s: %d %r" % (q, st, body[:100]))
        if st == 400:
            check(q.split("&")[-1].split("=")[0] in body, "%s: %r" %
                  (q, body))
