"""Pages as a person sees them: headless Chromium runs their scripts."""

import re

from lib import check, chromium_dom


def test_index_live_comparison(ctx):
    app = ctx.app(["--workers", "2"])
    dom = chromium_dom(app.url("/#run"))
    m = re.search(r'id="status"[^>]*>sync (\d+) ms, async (\d+) ms', dom)
    check(m, "no result in the status line: %r" %
          re.findall(r'id="status"[^>]*>[^<]*', dom))
    bars = re.findall(r'<rect[^>]*class="bar (sync|async)"', dom)
    check(sorted(bars) == ["async", "sync"], "bars: %r" % bars)
    check("class=\"ideal\"" in dom, "no ideal line")
