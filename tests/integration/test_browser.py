"""Pages as a person sees them: headless Chromium runs their scripts."""

import re

from lib import Browser, check, chromium_dom


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
