"""The app's errors as a browser sees them: a browser (Accept: text/html,
not a JSON client) gets an HTML page styled like the others, with the
status, its reason and the message escaped, and a link home.  curl (no
Accept) keeps its line of text and a JSON client its JSON."""

import json
import threading
import time

from lib import check, free_port, request

# What Chromium sends when it navigates.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;"
           "q=0.9,image/avif,image/webp,*/*;q=0.8"}


def html_error(port, path, status, reason, message, method="GET",
               headers=None, body=None):
    """Request path as a browser; check the page and return (headers,
    page)."""
    h = dict(BROWSER)
    h.update(headers or {})
    st, rh, page, _ = request(port, path, method=method, headers=h,
                              body=body)
    check(st == status, "%s %s: %d, not %d: %r" % (method, path, st, status,
                                                   page[:200]))
    check(rh.get("content-type") == "text/html; charset=utf-8",
          "%s: content-type %r" % (path, rh.get("content-type")))
    check("default-src 'self'" in rh.get("content-security-policy", "") and
          rh.get("x-content-type-options") == "nosniff",
          "%s: security headers %r" % (path, rh))
    for needle in ('<title>%d %s</title>' % (status, reason),
                   '<h1 id="error" data-status="%d">%d %s</h1>' %
                   (status, status, reason),
                   '<p class="message" id="message">%s' % message,
                   '<a id="home" href="/">',
                   '<nav class="top"><a href="/">kore-fanout</a></nav>',
                   '<link rel="stylesheet" href="/style.css">',
                   '<meta name="viewport"'):
        check(needle in page, "%s: the page lacks %r: %r" % (path, needle,
                                                            page))
    return rh, page


def test_browsers_get_html_error_pages(ctx):
    app = ctx.app()
    html_error(app.port, "/get_data?cout=3", 400, "Bad Request",
               "unknown parameter &#39;cout&#39;: accepted are calls, delay")
    html_error(app.port, "/async_get_data?calls=101", 400, "Bad Request",
               "invalid parameter &#39;calls&#39;: expected an integer "
               "from 0 to 100")
    html_error(app.port, "/xkcd?count=0", 400, "Bad Request",
               "invalid parameter &#39;count&#39;")
    html_error(app.port, "/no/such/page", 404, "Not Found", "not found")
    for path in ("/async_get_data", "/get_data", "/style.css"):
        for body, hdrs in (("x", {}), ("", {"Content-Length": "0"})):
            rh, _ = html_error(app.port, path, 405, "Method Not Allowed",
                               "only GET and HEAD are allowed here",
                               method="POST", headers=hdrs, body=body)
            check(rh.get("allow") == "GET, HEAD", "%s: allow %r" %
                  (path, rh))
    # HEAD: the same status and type, no body.
    h = dict(BROWSER)
    st, rh, page, _ = request(app.port, "/nope", method="HEAD", headers=h)
    check(st == 404 and rh["content-type"].startswith("text/html") and
          page == "", "HEAD: %d %r %r" % (st, rh, page))


def test_error_page_escapes_the_message(ctx):
    # A parameter's name is the client's: it reaches the page escaped.
    app = ctx.app()
    _, page = html_error(
        app.port, "/get_data?%3Cscript%3Ealert(%22x%22)%3C/script%3E=1",
        400, "Bad Request", "unknown parameter &#39;&lt;script&gt;alert("
        "&quot;x&quot;)&lt;/script&gt;&#39;: accepted are calls, delay")
    check("<script" not in page, "unescaped: %r" % page)


def test_upstream_errors_as_pages(ctx):
    dead = "http://127.0.0.1:%d" % free_port()
    app = ctx.app(["--xkcd-upstream", dead, "--analytics-upstream", dead,
                   "--partner-upstream", dead, "--stats-products",
                   "p01,p02"])
    _, page = html_error(app.port, "/xkcd?count=3", 502, "Bad Gateway", "")
    check("latest comic" in page and "connect" in page, "xkcd: %r" % page)
    _, page = html_error(app.port, "/stats", 502, "Bad Gateway", "")
    check("every upstream failed" in page, "stats: %r" % page)


def test_busy_503_as_a_page(ctx):
    # One fan-out per worker: while one runs, the next is refused.
    app = ctx.app(["--max-fanouts", "1"])
    held = {}

    def slow():
        held["answer"] = request(app.port, "/async_get_data?calls=1&"
                                 "delay=2000")

    t = threading.Thread(target=slow)
    t.start()
    try:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            s = json.loads(request(app.port, "/_/stats")[2])
            if s["fanouts_active"] == 1:
                break
            time.sleep(0.02)
        check(s["fanouts_active"] == 1, "the slow page never ran: %r" % s)
        rh, _ = html_error(app.port, "/async_get_data?calls=1&delay=10",
                           503, "Service Unavailable",
                           "too busy: too many upstream calls in flight, "
                           "retry in a second")
        check(rh.get("retry-after") == "1", "retry-after: %r" % rh)
    finally:
        t.join(20)
    check(held["answer"][0] == 200, "the slow page: %r" % (held["answer"],))


def test_other_clients_unchanged(ctx):
    # curl without Accept: the line of text; a JSON client: the JSON, also
    # when it names text/html too (the JSON client wins).
    app = ctx.app()
    st, h, body, _ = request(app.port, "/get_data?cout=3")
    check(st == 400 and h["content-type"] == "text/plain; charset=utf-8" and
          body == "unknown parameter 'cout': accepted are calls, delay, "
          "format\n",
          "no Accept: %d %r %r" % (st, h, body))
    st, h, body, _ = request(app.port, "/nope", headers={"Accept": "*/*"})
    check(st == 404 and h["content-type"].startswith("text/plain") and
          body == "not found\n", "Accept */*: %d %r %r" % (st, h, body))
    for path, hdrs in (
            ("/get_data?cout=3", {"Accept": "application/json"}),
            ("/get_data?cout=3", {"Accept": "text/html, application/json"}),
            ("/get_data?cout=3&format=json", BROWSER)):
        st, h, body, _ = request(app.port, path, headers=hdrs)
        check(st == 400 and h["content-type"] == "application/json" and
              json.loads(body) == {
                  "error": "unknown parameter 'cout': accepted are calls, "
                  "delay, format", "param": "cout"},
              "%s %r: %d %r %r" % (path, hdrs, st, h, body))
    st, h, body, _ = request(app.port, "/api/stats?products=",
                             headers=BROWSER)
    check(st == 400 and h["content-type"] == "application/json" and
          json.loads(body)["param"] == "products", "/api/: %d %r" %
          (st, body))


test_browsers_get_html_error_pages.asan = True
test_error_page_escapes_the_message.asan = True
