"""Operating it: /metrics summed over the workers (and valid for Debian's
Prometheus parser and promtool), /healthz and /readyz, who may see them,
W3C Trace Context through to the upstream, the JSON access log."""

import http.client
import json
import os
import re
import subprocess
import time

from lib import LOGDIR, at_once, check, free_port, request

TP_IN = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_IN = "4bf92f3577b34da6a3ce929d0e0e4736"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels)): value} from the text format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        check(m, "not a sample line: %r" % line)
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0.0)


class Conn:
    """A keep-alive connection: every request on it goes to one worker."""

    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path, headers=None):
        self.c.request("GET", path, headers=headers or {})
        r = self.c.getresponse()
        body = r.read().decode("utf-8", "replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def pid(self):
        return json.loads(self.get("/_/stats")[2])["pid"]

    def metrics(self):
        st, h, body = self.get("/metrics")
        check(st == 200, "/metrics: %d %r" % (st, body[:200]))
        check(h["content-type"].startswith("text/plain; version=0.0.4"),
              "/metrics content-type %r" % h["content-type"])
        return parse_metrics(body), body

    def close(self):
        self.c.close()


def two_workers(app):
    """Two keep-alive connections held by different workers."""
    for _ in range(20):
        a, b = Conn(app.port), Conn(app.port)
        if a.pid() != b.pid():
            return a, b
        a.close()
        b.close()
    check(False, "two connections never reached two workers")


def histogram_checks(metrics, family, label):
    """Buckets rise to +Inf, which is _count, for every label value."""
    counts = {}
    for (name, labels), v in metrics.items():
        if name == family + "_count":
            counts[dict(labels)[label]] = v
    for lv, count in counts.items():
        buckets = sorted(
            (float(dict(lb)["le"]), v) for (n, lb), v in metrics.items()
            if n == family + "_bucket" and dict(lb)[label] == lv)
        check(buckets and buckets[-1][0] == float("inf") and
              buckets[-1][1] == count, "%s{%s=%s}: +Inf %r, count %r" %
              (family, label, lv, buckets[-1:], count))
        check(all(x[1] <= y[1] for x, y in zip(buckets, buckets[1:])),
              "%s{%s=%s}: buckets fall: %r" % (family, label, lv, buckets))
    return counts


def test_metrics_summed_over_workers(ctx):
    app = ctx.app(["--workers", "2"], env={"FANOUT_PARTNER_KEY": "k"})
    a, b = two_workers(app)
    try:
        before, _ = b.metrics()
        for _ in range(3):
            check(a.get("/async_get_data?calls=2&delay=5")[0] == 200, "a")
        for _ in range(2):
            check(a.get("/get_data?calls=1&delay=5")[0] == 200, "sync")
        check(a.get("/async_get_data?calls=abc")[0] == 400, "400")
        check(a.get("/no/such/page")[0] == 404, "404")
        check(a.get("/api/stats")[0] == 200, "stats (miss)")
        check(a.get("/api/stats")[0] == 200, "stats (hit)")
        for _ in range(2):
            check(b.get("/async_get_data?calls=1&delay=5")[0] == 200, "b")
        # Each worker's scrape sees every worker's requests.
        after_a, _ = a.metrics()
        after_b, text = b.metrics()
    finally:
        a.close()
        b.close()

    want = [
        ("fanout_http_requests_total",
         dict(page="async_get_data", code="200"), 5),
        ("fanout_http_requests_total",
         dict(page="async_get_data", code="400"), 1),
        ("fanout_http_requests_total", dict(page="get_data", code="200"), 2),
        ("fanout_http_requests_total", dict(page="not_found", code="404"), 1),
        ("fanout_http_requests_total", dict(page="api_stats", code="200"), 2),
        ("fanout_http_request_duration_seconds_count",
         dict(page="async_get_data"), 6),
        ("fanout_upstream_requests_total",
         dict(upstream="delay", outcome="2xx"), 10),
        ("fanout_upstream_request_duration_seconds_count",
         dict(upstream="delay"), 10),
        ("fanout_upstream_requests_total",
         dict(upstream="analytics", outcome="2xx"), 1),
        ("fanout_upstream_requests_total",
         dict(upstream="partner", outcome="2xx"), 20),
        ("fanout_cache_misses_total", dict(cache="stats"), 1),
        ("fanout_cache_hits_total", dict(cache="stats"), 1),
    ]
    for after, who in ((after_a, "worker A"), (after_b, "worker B")):
        for name, labels, n in want:
            got = value(after, name, **labels) - value(before, name,
                                                       **labels)
            check(got == n, "%s: %s%r rose by %r, not %d" %
                  (who, name, labels, got, n))
        check(value(after, "fanout_workers_up") == 2 and
              value(after, "fanout_workers") == 2, "workers: %r" %
              value(after, "fanout_workers_up"))
        check(value(after, "fanout_upstream_requests_in_flight") == 0 and
              value(after, "fanout_fanouts_in_flight") == 0,
              "%s: calls still in flight" % who)
    # Histograms: cumulative, +Inf = _count = the page's requests.
    counts = histogram_checks(after_b, "fanout_http_request_duration_seconds",
                              "page")
    for page, count in counts.items():
        total = sum(v for (n, lb), v in after_b.items()
                    if n == "fanout_http_requests_total" and
                    dict(lb)["page"] == page)
        check(total == count, "page %s: %r requests, histogram count %r" %
              (page, total, count))
    histogram_checks(after_b, "fanout_upstream_request_duration_seconds",
                     "upstream")
    check(value(after_b, "process_start_time_seconds") > 1.5e9 and
          any(n == "fanout_build_info" for n, _ in after_b),
          "no start time or build info")
    check("upstream=\"other\"" not in text, "a call counted as 'other'")


def test_metrics_parse_and_promtool(ctx):
    app = ctx.app(["--workers", "2", "--fanout-limit", "2"],
                  upstream_path="/status/503")
    for path in ("/async_get_data?calls=3&delay=5", "/xkcd?count=2",
                 "/stats", "/get_data?calls=1&delay=5", "/healthz"):
        request(app.port, path)
    text = request(app.port, "/metrics")[2]
    check('outcome="5xx"' in text, "no 5xx outcome: %s" % text[:300])
    p = subprocess.run(
        ["/usr/bin/python3", "-c",
         "import sys\n"
         "from prometheus_client.parser import "
         "text_string_to_metric_families as f\n"
         "fams = list(f(sys.stdin.read()))\n"
         "print(len(fams), sum(len(x.samples) for x in fams))\n"
         "print(' '.join(sorted(x.type for x in fams)))"],
        input=text, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "Debian's prometheus_client parser: %s" %
          p.stderr[-1000:])
    nfam = int(p.stdout.split()[0])
    check(nfam >= 15 and "histogram" in p.stdout, "parsed: %r" % p.stdout)
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and not p.stdout.strip() and
          not p.stderr.strip(), "promtool check metrics: %s %s" %
          (p.stdout[-1500:], p.stderr[-1500:]))


def test_gauges_and_refusals(ctx):
    app = ctx.app(["--max-fanouts", "1"])
    import threading
    slow = []
    t = threading.Thread(target=lambda: slow.append(request(
        app.port, "/async_get_data?calls=1&delay=1500")))
    t.start()
    end = time.monotonic() + 10
    m = {}
    while time.monotonic() < end:
        m = parse_metrics(request(app.port, "/metrics")[2])
        if value(m, "fanout_fanouts_in_flight") == 1:
            break
        time.sleep(0.02)
    check(value(m, "fanout_fanouts_in_flight") == 1 and
          value(m, "fanout_upstream_requests_in_flight") == 1,
          "gauges while one call is in flight: %r" %
          {k: v for k, v in m.items() if "in_flight" in k[0]})
    st = request(app.port, "/async_get_data?calls=1&delay=5")[0]
    t.join(30)
    check(st == 503 and slow and slow[0][0] == 200,
          "over --max-fanouts: %d (first %r)" % (st, slow and slow[0][0]))
    m = parse_metrics(request(app.port, "/metrics")[2])
    check(value(m, "fanout_overload_refusals_total", cap="fanouts") == 1 and
          value(m, "fanout_http_requests_total", page="async_get_data",
                code="503") == 1, "refusal not counted")
    check(value(m, "fanout_fanouts_in_flight") == 0, "fan-out still counted")


def test_shared_fetch_waits_counted(ctx):
    app = ctx.app(["--workers", "1"])
    res = at_once(lambda i: request(app.port, "/api/stats")[0], 10)
    check(res == [200] * 10, "stats: %r" % res)
    m = parse_metrics(request(app.port, "/metrics")[2])
    hits, misses, waits = (value(m, "fanout_cache_%s_total" % k,
                                 cache="stats")
                           for k in ("hits", "misses", "waits"))
    check(hits + misses + waits == 10 and misses >= 1 and waits >= 1,
          "10 at once: %r hits, %r misses, %r waits" % (hits, misses, waits))
    check(value(m, "fanout_upstream_requests_total", upstream="analytics",
                outcome="2xx") == misses, "one fetch per miss")


def test_operational_endpoints_loopback_only(ctx):
    app = ctx.app(["--trusted-proxies", "127.0.0.1"])
    outside = {"X-Forwarded-For": "203.0.113.9"}
    st, _, body, _ = request(app.port, "/metrics", headers=outside)
    check(st == 404 and "fanout_" not in body, "/metrics from outside: %d" %
          st)
    check(request(app.port, "/metrics")[0] == 200, "/metrics on loopback")
    st, _, body, _ = request(app.port, "/healthz", headers=outside)
    check(st == 200 and body == "ok\n", "/healthz: %d %r" % (st, body))
    st, _, body, _ = request(app.port, "/readyz", headers=outside)
    check(st == 200 and body == "ready\n", "/readyz: %d %r" % (st, body))
    opened = ctx.app(["--trusted-proxies", "127.0.0.1", "--status-from",
                      "203.0.113.9"])
    check(request(opened.port, "/metrics", headers=outside)[0] == 200,
          "--status-from does not open /metrics")


def test_readyz_unresolvable_upstream(ctx):
    app = ctx.app(["--xkcd-upstream", "http://nonexistent.invalid:1/xkcd",
                   "--trusted-proxies", "127.0.0.1"])
    end = time.monotonic() + 60
    while time.monotonic() < end:
        st, h, body, _ = request(app.port, "/readyz")
        if "does not resolve" in body:
            break
        check(st == 503, "ready before the lookup: %d %r" % (st, body))
        time.sleep(0.1)
    check(st == 503 and "upstream xkcd: nonexistent.invalid does not "
          "resolve" in body, "/readyz: %d %r" % (st, body))
    check(h.get("cache-control") == "no-store", "readyz cacheable")
    check(request(app.port, "/healthz")[0] == 200, "/healthz not 200")
    st, _, body, _ = request(app.port, "/readyz",
                             headers={"X-Forwarded-For": "203.0.113.9"})
    check(st == 503 and body == "not ready\n", "untrusted: %r" % body)
    # The same app with resolvable upstreams (IP literals) is ready.
    good = ctx.app(["--workers", "2"])
    st, _, body, _ = request(good.port, "/readyz")
    check(st == 200 and body == "ready\n", "good app: %d %r" % (st, body))


def sim_traces(ctx, family):
    return json.loads(request(ctx.sim.port, "/_/trace")[2])[family]


def parts(tp):
    m = re.match(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$", tp)
    check(m, "not a version 00 traceparent: %r" % tp)
    return m.groups()


def new_calls(ctx, family, before, n):
    after = sim_traces(ctx, family)
    check(after["seen"] - before == n, "%s: %d calls carried a traceparent,"
          " not %d" % (family, after["seen"] - before, n))
    return (after["traceparent"][-n:], after["tracestate"][-n:])


def test_trace_context_reaches_upstream(ctx):
    app = ctx.app(["--workers", "2"])
    for page in ("/async_get_data", "/get_data"):
        seen = sim_traces(ctx, "delay")["seen"]
        st, h, _, _ = request(app.port, page + "?calls=3&delay=5",
                              headers={"traceparent": TP_IN,
                                       "tracestate": "vendor=abc,x=1"})
        check(st == 200, "%s: %d" % (page, st))
        tid, span, flags = parts(h["traceresponse"])
        check(tid == TRACE_IN and flags == "01" and
              span != "00f067aa0ba902b7", "%s traceresponse %r" %
              (page, h["traceresponse"]))
        tps, states = new_calls(ctx, "delay", seen, 3)
        got = [parts(tp) for tp in tps]
        check(all(g[0] == TRACE_IN and g[2] == "01" for g in got),
              "%s: upstream calls carry %r" % (page, tps))
        spans = {g[1] for g in got}
        check(len(spans) == 3 and span not in spans and
              "00f067aa0ba902b7" not in spans,
              "%s: span ids not fresh per call: %r" % (page, tps))
        check(states == ["vendor=abc,x=1"] * 3, "tracestate %r" % states)

    # No traceparent: a new trace, the same one on the answer and calls.
    seen = sim_traces(ctx, "xkcd")["seen"]
    st, h, _, _ = request(app.port, "/xkcd?ids=1,2&format=json&cache=0")
    tid, _, _ = parts(h["traceresponse"])
    tps, states = new_calls(ctx, "xkcd", seen, 2)
    check(tid != TRACE_IN and all(parts(tp)[0] == tid for tp in tps) and
          states == ["", ""], "new trace %s, calls %r" % (tid, tps))
    # An invalid one (zero trace id) is not continued, nor its tracestate.
    seen = sim_traces(ctx, "delay")["seen"]
    st, h, _, _ = request(app.port, "/async_get_data?calls=1&delay=5",
                          headers={"traceparent": "00-" + "0" * 32 +
                                   "-00f067aa0ba902b7-01",
                                   "tracestate": "vendor=abc"})
    tid, _, _ = parts(h["traceresponse"])
    tps, states = new_calls(ctx, "delay", seen, 1)
    check(tid != "0" * 32 and parts(tps[0])[0] == tid and states == [""],
          "invalid traceparent: %r %r %r" % (tid, tps, states))


test_trace_context_reaches_upstream.asan = True


def test_json_log_carries_trace(ctx):
    key = "sk-ops-%d-secret" % free_port()
    log = os.path.join(LOGDIR, "json-%d.log" % free_port())
    app = ctx.app(["--workers", "2", "--log-format", "json",
                   "--accesslog", log], env={"FANOUT_PARTNER_KEY": key})
    request(app.port, "/async_get_data?calls=2&delay=5",
            headers={"traceparent": TP_IN})
    request(app.port, "/api/stats?products=p01,p02")
    request(app.port, "/api/stats?products=p01,p02")
    request(app.port, "/async_get_data?calls=1&delay=5",
            headers={"traceparent": TP_IN})
    st, h, _, _ = request(app.port, "/nope")
    metrics = request(app.port, "/metrics")[2]
    with open(log) as f:
        text = f.read()
    lines = [json.loads(x) for x in text.splitlines()]
    check(len(lines) == 6, "%d lines: %r" % (len(lines), text[-600:]))
    for x in lines:
        for k in ("time", "client", "method", "path", "status", "bytes",
                  "duration_ms", "trace_id", "span_id"):
            check(k in x, "no %s in %r" % (k, x))
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                       x["time"]), "time %r" % x["time"])
    first = lines[0]
    check(first["trace_id"] == TRACE_IN and
          first["parent_id"] == "00f067aa0ba902b7" and
          first["upstream_calls"] == 2 and first["failed_calls"] == 0 and
          first["slowest_call"]["call"] in (1, 2) and
          first["slowest_call"]["ms"] >= 5 and first["duration_ms"] >= 5,
          "fan-out line %r" % first)
    check(lines[1]["cache"] == "miss" and lines[1]["upstream_calls"] == 3,
          "stats miss %r" % lines[1])
    check(lines[2]["cache"] == "hit" or lines[2]["cache"] == "miss",
          "stats again %r" % lines[2])
    check(lines[4]["status"] == 404 and "upstream_calls" not in lines[4] and
          lines[4]["path"] == "/nope", "404 line %r" % lines[4])
    check(lines[4]["trace_id"] == parts(h["traceresponse"])[0],
          "the answer's trace id is not the log's")
    for where, body in (("log", text), ("metrics", metrics)):
        check(key not in body and "api_key" not in body,
              "the partner key is in the %s" % where)


def test_plain_log_carries_trace(ctx):
    log = os.path.join(LOGDIR, "plain-%d.log" % free_port())
    app = ctx.app(["--accesslog", log])
    request(app.port, "/async_get_data?calls=1&delay=5",
            headers={"traceparent": TP_IN})
    with open(log) as f:
        line = f.read().splitlines()[-1]
    check(re.match(r'^127\.0\.0\.1 \[\S+\] "GET /async_get_data\?calls=1&'
                   r'delay=5" 200 \d+ http %s$' % TRACE_IN, line),
          "plain line %r" % line)


def test_admin_port(ctx):
    admin = free_port()
    app = ctx.app(["--trusted-proxies", "127.0.0.1", "--admin-port",
                   str(admin)])
    outside = {"X-Forwarded-For": "203.0.113.9"}
    request(app.port, "/async_get_data?calls=1&delay=5")
    st, _, body, _ = request(admin, "/metrics", headers=outside)
    check(st == 200 and 'page="async_get_data"' in body,
          "/metrics on the admin port: %d %r" % (st, body[:200]))
    check(request(app.port, "/metrics", headers=outside)[0] == 404,
          "the admin port opened /metrics on the main one")
    for path in ("/_/stats", "/healthz", "/readyz"):
        st = request(admin, path, headers=outside)[0]
        check(st == 200, "admin %s: %d" % (path, st))
    for path in ("/async_get_data?calls=0", "/", "/stats"):
        st = request(admin, path)[0]
        check(st == 404, "the admin port serves %s: %d" % (path, st))
    bad = ctx.server(["--admin-port", str(app.port), "--sim-port", "0",
                      "--upstream", ctx.sim.url(""), "--xkcd-upstream",
                      ctx.sim.url("/xkcd"), "--analytics-upstream",
                      ctx.sim.url("/analytics"), "--partner-upstream",
                      ctx.sim.url("/partner")], wait=False, port=app.port)
    check(bad.proc.wait(10) != 0 and "admin-port must differ" in
          bad.logtext(), "same port accepted: %s" % bad.logtail())


def test_alert_rules_check(ctx):
    rules = os.path.join(os.path.dirname(__file__), "..", "..", "deploy",
                         "alerts.yml")
    p = subprocess.run(["promtool", "check", "rules", rules],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "SUCCESS: 4 rules found" in p.stdout,
          "promtool check rules: %s %s" % (p.stdout, p.stderr))
    # Every metric the rules read is one /metrics has.
    app = ctx.app()
    request(app.port, "/async_get_data?calls=1&delay=5")
    text = request(app.port, "/metrics")[2]
    with open(rules) as f:
        used = set(re.findall(r"\b(fanout_[a-z_]+?)(?:_bucket)?[{\[]",
                              f.read()))
    check(len(used) == 4, "rules read %r" % used)
    for name in used:
        check("# TYPE %s " % name in text, "the rules use %s, which "
              "/metrics lacks" % name)


test_metrics_summed_over_workers.asan = True
test_readyz_unresolvable_upstream.asan = True
