"""The index page and its assets are compiled in and load nothing from
other hosts."""

import re

from lib import check, request


def test_index_page(ctx):
    app = ctx.app()
    st, h, body, _ = request(app.port, "/")
    check(st == 200 and h.get("content-type", "").startswith("text/html"),
          "%d %r" % (st, h.get("content-type")))
    for needle in ('href="/get_data"', 'href="/async_get_data"',
                   'src="/app.js"', 'href="/style.css"', 'id="compare"'):
        check(needle in body, "index lacks %s" % needle)
    for path, ctype in (("/app.js", "application/javascript"),
                        ("/style.css", "text/css")):
        st, h, asset, _ = request(app.port, path)
        check(st == 200 and h.get("content-type", "").startswith(ctype),
              "%s: %d %r" % (path, st, h.get("content-type")))
        check(len(asset) > 100, "%s is empty" % path)
    # No CDN: every src/href is local (the kore.io link is a plain link).
    for m in re.finditer(r'(src|href)="([^"]+)"', body):
        attr, url = m.groups()
        if attr == "src" or url.endswith((".css", ".js")):
            check(url.startswith("/"), "external resource %s" % url)
    st, _, js, _ = request(app.port, "/app.js")
    check("fetch(" in js and "/async_get_data" in js, "app.js content")
    check(not re.search(r"https?://(?!www\.w3\.org/2000/svg)", js),
          "app.js names an external host")


def test_assets_head_and_etag(ctx):
    app = ctx.app()
    for path in ("/", "/app.js", "/style.css"):
        st, h, body, _ = request(app.port, path, method="HEAD")
        check(st == 200 and body == "", "HEAD %s: %d %r" % (path, st, body))
        etag = h.get("etag")
        check(etag, "HEAD %s: no etag" % path)
        st, h, body, _ = request(app.port, path,
                                 headers={"If-None-Match": etag})
        check(st == 304 and body == "", "If-None-Match %s: %d" % (path, st))
        st, h, _, _ = request(app.port, path, method="POST", body="x")
        check(st == 405 and "GET" in h.get("allow", ""),
              "POST %s: %d" % (path, st))
    st, _, _, _ = request(app.port, "/nope")
    check(st == 404, "/nope: %d" % st)


def test_favicon(ctx):
    # Every page names its icon, which is served (a browser asked for
    # /favicon.ico and got a 404 on every page load).
    app = ctx.app()
    st, h, body, _ = request(app.port, "/favicon.svg")
    check(st == 200 and h.get("content-type") == "image/svg+xml" and
          body.startswith("<svg"), "favicon: %d %r" % (st, h))
    for path in ("/", "/xkcd?ids=1", "/stats"):
        st, _, body, _ = request(app.port, path)
        check(st == 200 and '<link rel="icon" type="image/svg+xml" '
              'href="/favicon.svg">' in body, "%s names no icon" % path)
