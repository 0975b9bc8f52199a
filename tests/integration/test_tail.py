"""Tail tolerance: the circuit breaker, retries and hedged requests, each
driven by the simulator's fault knobs (tail/, fail/, /_/fault?down=) and
checked by counting the requests the simulator saw."""

import json
import re
import time

from lib import (abandon_all, check, free_port, parse_server_timing, request,
                 wait_idle)


def own_sim(ctx):
    return ctx.server(["--simulator", "--workers", "1"], name="sim")


def stats(server):
    return json.loads(request(server.port, "/_/stats")[2])


def origin(app):
    o = stats(app)["origins"]
    check(len(o) == 1, "one origin expected: %r" % o)
    return o[0]


def tail_metric(app, event):
    """fanout_upstream_tail_total{upstream="delay",event=...} on
    /metrics (summed over the workers)."""
    text = request(app.port, "/metrics")[2]
    m = re.search(r'^fanout_upstream_tail_total\{upstream="delay",'
                  r'event="%s"\} (\d+)$' % event, text, re.M)
    return int(m.group(1)) if m else 0


def descs(headers):
    return [x[2] for x in parse_server_timing(headers["server-timing"])[1:]]


def circuit_metric(app):
    """fanout_upstream_circuit_open{upstream="delay"}: workers whose
    circuit for the delay upstream is open."""
    text = request(app.port, "/metrics")[2]
    m = re.search(r'^fanout_upstream_circuit_open\{upstream="delay"\} '
                  r'(\d+)$', text, re.M)
    check(m, "no circuit gauge in /metrics")
    return int(m.group(1))


def page(app, calls, delay):
    st, h, body, t = request(app.port, "/async_get_data?calls=%d&delay=%d" %
                             (calls, delay))
    check(st == 200, "status %d: %r" % (st, body))
    return descs(h), t


def test_breaker_opens_fails_fast_half_opens_closes(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--upstream", sim.url(""), "--retries", "0",
                   "--breaker-failures", "3", "--breaker-cooldown", "500"])
    request(sim.port, "/_/fault?down=60000")
    for _ in range(3):
        d, _ = page(app, 1, 0)
        check(d == ["503"], "while down: %r" % d)
    opened = time.monotonic()
    check(origin(app)["breaker"] == "open", "open: %r" % origin(app))
    check(circuit_metric(app) == 1, "gauge while open: %d" %
          circuit_metric(app))

    # Open: every call fails at once, none reaches the simulator.
    seen = stats(sim)["requests"]
    started = stats(app)["calls_started"]
    d, t = page(app, 4, 0)
    check(d == ["circuit_open"] * 4, "open circuit: %r" % d)
    check(t < 0.2, "fail fast took %.3fs" % t)
    check(stats(sim)["requests"] == seen, "calls reached the simulator "
          "while open: %d -> %d" % (seen, stats(sim)["requests"]))
    check(stats(app)["calls_started"] == started, "calls started while open")
    check(tail_metric(app, "circuit_open") == 4, "metrics: %d" %
          tail_metric(app, "circuit_open"))

    # After the cool-down one probe goes through (still down: open again).
    def probe_page():
        end = time.monotonic() + 5
        while time.monotonic() < end:
            before = stats(sim)["requests"]
            d, _ = page(app, 4, 0)
            if stats(sim)["requests"] != before:
                check(stats(sim)["requests"] == before + 1,
                      "half-open let more than one call through")
                return d
            check(d == ["circuit_open"] * 4, "still open: %r" % d)
            time.sleep(0.05)
        check(False, "no probe within 5 s")

    d = probe_page()
    check(time.monotonic() - opened >= 0.45, "probe before the cool-down")
    check(sorted(d) == ["503"] + ["circuit_open"] * 3, "probe page %r" % d)
    check(origin(app)["breaker"] == "open", "failed probe: %r" % origin(app))

    # Back up: the next probe succeeds and closes the circuit.
    request(sim.port, "/_/fault?down=0")
    d = probe_page()
    check(sorted(d) == ["200"] + ["circuit_open"] * 3, "probe page %r" % d)
    check(origin(app)["breaker"] == "closed", "closed: %r" % origin(app))
    d, _ = page(app, 4, 0)
    check(d == ["200"] * 4, "closed again: %r" % d)
    check(origin(app)["opened"] == 2, "opened twice: %r" % origin(app))
    check(circuit_metric(app) == 0, "gauge once closed: %d" %
          circuit_metric(app))


test_breaker_opens_fails_fast_half_opens_closes.asan = True


def test_breaker_ratio_over_window(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--upstream", sim.url("/status/500"), "--retries", "0",
                   "--breaker-failures", "0", "--breaker-ratio", "50",
                   "--breaker-min-calls", "8", "--fanout-limit", "50"])
    d, _ = page(app, 6, 0)
    check(d == ["500"] * 6, "below the minimum of calls: %r" % d)
    check(origin(app)["breaker"] == "closed", "%r" % origin(app))
    d, _ = page(app, 2, 0)
    check(origin(app)["breaker"] == "open", "8 of 8 failed: %r" %
          origin(app))
    d, _ = page(app, 3, 0)
    check(d == ["circuit_open"] * 3, "%r" % d)
    check(stats(sim)["requests"] == 8, "simulator saw %d" %
          stats(sim)["requests"])


def test_retries_stop_at_attempts_budget_and_deadline(ctx):
    sim = own_sim(ctx)
    off = ["--breaker-failures", "0", "--breaker-ratio", "0"]
    # One call, --retries 2: three attempts, then the 503 stands.
    app = ctx.app(["--upstream", sim.url("/status/503"), "--retries", "2",
                   "--retry-backoff", "10"] + off)
    st, h, body, _ = request(app.port, "/async_get_data?calls=1&delay=0")
    check(descs(h) == ["503 3 tries"], "%r" % descs(h))
    check(stats(sim)["requests"] == 3, "attempts %d" % stats(sim)["requests"])
    j = json.loads(body)
    check(j["tail"] == [{"call": 1, "tries": 3, "hedged": False, "copy": 1}]
          and j["upstream_calls"] == 3, "JSON: %r" % j)

    # The budget: 10 % of 20 calls is 2, but 3 are always allowed.
    app = ctx.app(["--upstream", sim.url("/status/503"), "--retries", "5",
                   "--retry-backoff", "10", "--retry-budget", "10",
                   "--fanout-limit", "50"] + off)
    before = stats(sim)["requests"]
    d, _ = page(app, 20, 0)
    check(stats(sim)["requests"] - before == 23, "20 calls and 3 retries "
          "expected, the simulator saw %d" % (stats(sim)["requests"] - before))
    check(stats(app)["retries"] == 3, "retries %r" % stats(app)["retries"])
    check(tail_metric(app, "retry") == 3, "metrics: %d" %
          tail_metric(app, "retry"))
    # 40 calls in the window: 4 retries in all.
    d, _ = page(app, 20, 0)
    check(stats(app)["retries"] == 4, "retries %r" % stats(app)["retries"])

    # The deadline: no retry whose back-off would end past it.
    app = ctx.app(["--upstream", sim.url("/status/503"), "--retries", "5",
                   "--retry-backoff", "400", "--deadline", "500"] + off)
    before = stats(sim)["requests"]
    d, t = page(app, 1, 0)
    n = stats(sim)["requests"] - before
    check(1 <= n <= 2 and d[0].startswith("503"), "%d attempts, %r" % (n, d))
    check(t < 0.5, "answered after %.2fs with a 500 ms deadline" % t)


def test_retry_honours_short_retry_after(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--upstream", sim.url("/status/429/retry-after/0"),
                   "--retries", "2"])
    d, _ = page(app, 1, 0)
    check(d == ["429 3 tries"], "Retry-After: 0 is retried: %r" % d)
    # Longer than a second: not waited for (the page handles it).
    app = ctx.app(["--upstream", sim.url("/status/429/retry-after/5"),
                   "--retries", "2"])
    before = stats(sim)["requests"]
    d, t = page(app, 1, 0)
    check(d == ["429"] and stats(sim)["requests"] == before + 1 and t < 1,
          "Retry-After: 5: %r after %.2fs" % (d, t))


def test_retry_connect_failure_not_timeouts(ctx):
    app = ctx.app(["--upstream", "http://127.0.0.1:%d" % free_port(),
                   "--retries", "2", "--retry-backoff", "5"])
    d, _ = page(app, 1, 0)
    check(d == ["connect 3 tries"], "%r" % d)
    # A timeout is not retried (a hedge is for slow answers).
    app = ctx.app(["--call-timeout", "200", "--retries", "2"])
    d, _ = page(app, 1, 2000)
    check(d == ["timeout"], "%r" % d)


def hedges_within_budget(app, sim):
    """An app hedging the delay upstream after 100 ms within a 25%
    budget: no hedge for answers within the delay; with all slow, 7
    hedges (25% of the window's 28 calls), no more.  The slow page's
    time."""
    d, _ = page(app, 8, 30)
    check(d == ["200"] * 8 and stats(sim)["requests"] == 8,
          "%r, simulator saw %d" % (d, stats(sim)["requests"]))
    d, t = page(app, 20, 300)
    hedged = [x for x in d if "hedged" in x]
    check(len(hedged) == 7, "hedged %d: %r" % (len(hedged), d))
    check(stats(sim)["requests"] == 8 + 20 + 7, "simulator saw %d" %
          stats(sim)["requests"])
    return t


def test_hedge_after_delay_within_budget(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--upstream", sim.url(""), "--hedge", "fixed",
                   "--hedge-delay", "100", "--hedge-budget", "25",
                   "--fanout-limit", "50"])
    t = hedges_within_budget(app, sim)
    check(stats(app)["hedges"] == 7, "%r" % stats(app)["hedges"])
    check(tail_metric(app, "hedge") == 7, "metrics: %d" %
          tail_metric(app, "hedge"))
    check(t < 0.39, "copy 1 answers at 300 ms, the page took %.2fs" % t)


def test_hedge_copy_two_wins_loser_detached(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--upstream", sim.url("/every/2/2000"), "--hedge",
                   "fixed", "--hedge-delay", "100", "--hedge-budget", "100"])
    # Of the two calls one is slow (every other every/ answer is); its
    # hedge, the third request, is fast and wins.
    st, h, body, t = request(app.port, "/async_get_data?calls=2&delay=50")
    d = descs(h)
    check(sorted(d) == ["200", "200 hedged copy 2 won"], "%r" % d)
    check(t < 1.0, "the slow copy was waited for: %.2fs" % t)
    tail = json.loads(body)["tail"]
    check(len(tail) == 1 and tail[0]["call"] in (1, 2) and
          {k: tail[0][k] for k in ("tries", "hedged", "copy")} ==
          {"tries": 1, "hedged": True, "copy": 2}, "JSON: %r" % body)
    check(json.loads(body)["upstream_calls"] == 3, "upstream_calls counts "
          "the copy: %r" % body)
    check(stats(sim)["requests"] == 3, "simulator saw %d" %
          stats(sim)["requests"])
    s = stats(app)
    check(s["hedges_won"] == 1 and s["calls_detached"] == 1,
          "the loser runs on detached: %r" % s)
    s = wait_idle(app)
    check(s["calls_live"] == 0 and s["calls_detached"] == 0 and
          s["reserved"] == 0 and s["in_flight"] == 0, "left: %r" % s)


test_hedge_copy_two_wins_loser_detached.asan = True


def test_hedge_p95_adaptive(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--upstream", sim.url(""), "--hedge", "p95",
                   "--hedge-delay", "5000", "--fanout-limit", "50"])
    page(app, 25, 80)
    delay = origin(app)["hedge_delay_ms"]
    check(80 <= delay < 200, "p95 of 80 ms answers: %r" % delay)


def test_disconnect_storm_with_hedges_and_retries(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--upstream", sim.url("/fail/30/every/2/400"),
                   "--hedge", "fixed", "--hedge-delay", "20",
                   "--hedge-budget", "100", "--retry-budget", "100",
                   "--retry-backoff", "20", "--breaker-failures", "0",
                   "--breaker-ratio", "0", "--workers", "2"])
    abandon_all(app.port, [("/async_get_data?calls=%d&delay=50" % (i % 5 + 1),
                            (0, 0.01, 0.03, 0.06, 0.12)[i % 5], i % 3 == 0)
                           for i in range(150)], 20)
    # Both workers: each answers /_/stats for itself.
    seen = {}
    end = time.monotonic() + 8
    while len(seen) < 2 and time.monotonic() < end:
        s = wait_idle(app)
        check(s["fanouts_live"] == 0 and s["calls_live"] == 0 and
              s["calls_detached"] == 0 and s["in_flight"] == 0 and
              s["reserved"] == 0 and s["pooled"] == 0, "left: %r" % s)
        seen[s["pid"]] = s
    check(len(seen) == 2, "saw workers %r" % list(seen))
    check(sum(s["hedges"] for s in seen.values()) > 0 and
          sum(s["retries"] for s in seen.values()) > 0,
          "no hedge or no retry in flight: %r" % list(seen.values()))
    d, _ = page(app, 3, 10)
    check(len(d) == 3, "after the storm: %r" % d)
    check(not app.crashes(), "%r" % app.crashes()[:5])


test_disconnect_storm_with_hedges_and_retries.asan = True


def stats_app(ctx, sim, extra):
    return ctx.app(["--analytics-upstream", sim.url("/analytics"),
                    "--partner-upstream", sim.url("/partner"),
                    "--stats-products", "p01,p02", "--stats-ttl", "1",
                    "--retries", "0", "--breaker-failures", "0",
                    "--breaker-ratio", "0"] + extra,
                   env={"FANOUT_PARTNER_KEY": "k"})


def api_stats(app):
    st, h, body, t = request(app.port, "/api/stats")
    return st, h, (json.loads(body) if st in (200, 502) else body), t


def test_stale_if_error_served_with_age_within_limit(ctx):
    sim = own_sim(ctx)
    app = stats_app(ctx, sim, ["--stale-if-error", "2",
                               "--stale-while-revalidate", "0"])
    st, _, j, _ = api_stats(app)
    check(st == 200 and j["origin"] == "upstream" and not j["partial"],
          "first fetch: %d %r" % (st, j))
    fetched = time.monotonic()
    request(sim.port, "/_/fault?down=60000")
    # Fresh for a second, then each refresh fails: the stale result.
    stale = []
    end = time.monotonic() + 10
    while time.monotonic() < end:
        st, h, j, _ = api_stats(app)
        if st == 200 and j["origin"] == "cache":
            continue
        if st != 200 or j["origin"] != "stale":
            break
        check(not j["partial"] and h["age"] == str(j["age_s"]) and
              h["cache-control"] == "no-store", "stale: %r %r" % (h, j))
        stale.append((time.monotonic() - fetched, j["age_s"]))
        time.sleep(0.1)
    check(stale, "no stale answer")
    check(st == 502, "after the limit: %d %r" % (st, j))
    gone = time.monotonic() - fetched
    # ttl 1 s + stale-if-error 2 s: stale until 3 s, never after.
    check(all(age <= 3 for _, age in stale), "too old: %r" % stale)
    check(2.5 <= gone < 4.5, "stale answers ended after %.2fs" % gone)
    check(stats(sim)["down_answers"] >= len(stale), "refreshes were not "
          "tried: %r" % stats(sim))


def test_stale_while_revalidate_refreshes_in_background(ctx):
    """An expired result within --stale-while-revalidate is served at
    once to every request, the one that found it expired too; a single
    refresh runs in the background (no request waits for it), and once
    it is in, the fresh result is served."""
    from lib import at_once
    lag = 1.5
    sim = own_sim(ctx)
    app = ctx.app(["--analytics-upstream", sim.url("/lag/1500/analytics"),
                   "--partner-upstream", sim.url("/lag/1500/partner"),
                   "--stats-products", "p01,p02", "--stats-ttl", "1",
                   "--retries", "0", "--stale-while-revalidate", "30"],
                  env={"FANOUT_PARTNER_KEY": "k"})
    st, _, j, t = api_stats(app)
    check(st == 200 and j["origin"] == "upstream" and t >= lag,
          "first fetch: %d %r %.2fs" % (st, j, t))
    calls = stats(sim)["partner"]["calls"]
    fetched = time.monotonic()
    time.sleep(max(0, fetched + 1.1 - time.monotonic()))

    out = at_once(lambda i: api_stats(app), 6)
    check(all(r[0] == 200 and r[2]["origin"] == "stale" for r in out),
          "every request served the stale result: %r" %
          [(r[0], r[2].get("origin")) for r in out])
    slowest = max(r[3] for r in out)
    check(slowest < lag / 2, "a request waited for the refresh: %.2fs" %
          slowest)
    check(stats(app)["spawned_live"] == 1, "one background refresh: %r" %
          stats(app))

    end = time.monotonic() + 10
    while stats(sim)["partner"]["calls"] < calls + 2 and \
            time.monotonic() < end:
        time.sleep(0.05)
    idle = wait_idle(app)
    check(idle["spawned"] == 1 and idle["spawned_live"] == 0 and
          idle["fanouts_live"] == 0, "the refresh ended: %r" % idle)
    st, _, j, t = api_stats(app)
    check(st == 200 and j["origin"] == "cache" and t < lag / 2,
          "the refreshed result: %d %r" % (st, j))
    check(stats(sim)["partner"]["calls"] == calls + 2,
          "one refresh of 2 products: %r" % stats(sim)["partner"])


def test_stale_latest_comic_number_within_limit(ctx):
    sim = own_sim(ctx)
    app = ctx.app(["--xkcd-upstream", sim.url("/lag/0/xkcd"),
                   "--xkcd-latest-ttl", "1", "--stale-if-error", "2",
                   "--stale-while-revalidate", "0", "--retries", "0",
                   "--breaker-failures", "0", "--breaker-ratio", "0"])
    path = "/xkcd?count=2&format=json"
    st, _, body, _ = request(app.port, path)
    j = json.loads(body)
    check(st == 200 and j["latest_stale"] is False, "%d %r" % (st, body))
    fetched = time.monotonic()
    request(sim.port, "/_/fault?down=60000")
    ages = []
    end = time.monotonic() + 10
    while time.monotonic() < end:
        st, _, body, _ = request(app.port, path)
        if st != 200:
            break
        j = json.loads(body)
        if j["latest_stale"]:
            ages.append(j["latest_age_s"])
        time.sleep(0.1)
    gone = time.monotonic() - fetched
    check(ages and st == 502 and "latest comic" in body,
          "stale %r, then %d %r" % (ages, st, body[:200]))
    check(max(ages) <= 3 and 2.5 <= gone < 4.5,
          "ages %r, the stale number ended after %.2fs" % (ages, gone))


def test_stale_latest_comic_number_refreshed_in_background(ctx):
    """stale-while-revalidate for the latest comic number: the gallery
    that finds it expired uses it (marked stale) instead of looking it up
    itself; one background lookup refreshes it for the next gallery."""
    sim = own_sim(ctx)
    app = ctx.app(["--xkcd-upstream", sim.url("/lag/0/xkcd"),
                   "--xkcd-latest-ttl", "1", "--stale-while-revalidate",
                   "30", "--retries", "0"])
    path = "/xkcd?count=2&format=json"
    st, _, body, _ = request(app.port, path)
    j = json.loads(body)
    check(st == 200 and j["latest_stale"] is False, "%d %r" % (st, body))
    time.sleep(1.2)
    st, _, body, _ = request(app.port, path)
    j = json.loads(body)
    check(st == 200 and j["latest_stale"] is True and
          j["latest_age_s"] >= 1, "the expired number, at once: %d %r" %
          (st, body[:300]))
    idle = wait_idle(app)
    check(idle["spawned"] == 1 and idle["spawned_live"] == 0,
          "one background lookup, ended: %r" % idle)
    st, _, body, _ = request(app.port, path)
    j = json.loads(body)
    check(st == 200 and j["latest_stale"] is False, "refreshed: %d %r" %
          (st, body[:300]))
    check(stats(app)["spawned"] == 1, "no second lookup: %r" % stats(app))


def test_stale_if_error_releases_the_fleet_lock(ctx):
    """With --redis, the instance that served a stale result after a
    failed refresh lets go of the fleet's lock on that refresh: another
    instance fetches at once instead of waiting for it."""
    import importlib.util
    import os
    import shutil
    check(shutil.which("redis-server"), "redis-server is not installed")
    spec = importlib.util.spec_from_file_location(
        "test_redis", os.path.join(os.path.dirname(__file__),
                                   "test_redis.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    redis = mod.Redis()
    try:
        sim = own_sim(ctx)
        extra = ["--redis", redis.url, "--stale-if-error", "30",
                 "--stale-while-revalidate", "0"]
        a = stats_app(ctx, sim, extra)
        b = stats_app(ctx, sim, extra)
        st, _, j, _ = api_stats(a)
        check(st == 200 and j["origin"] == "upstream", "%d %r" % (st, j))
        fetched = time.monotonic()
        request(sim.port, "/_/fault?down=60000")
        time.sleep(max(0, fetched + 1.2 - time.monotonic()))
        st, _, j, _ = api_stats(a)
        check(st == 200 and j["origin"] == "stale", "a: %d %r" % (st, j))
        st, _, j, t = api_stats(b)
        check(t < 1.0, "b waited %.2fs for the lock a kept" % t)
    finally:
        redis.stop()


def retries_per_upstream(ctx, cases):
    """Each case's flags on an app whose delay upstream answers 503: the
    Server-Timing it gives its one call, and the attempts the simulator
    saw."""
    sim = own_sim(ctx)
    off = ["--breaker-failures", "0", "--breaker-ratio", "0",
           "--retries", "2", "--retry-backoff", "10"]
    seen = 0
    for flags, desc, attempts in cases:
        app = ctx.app(["--upstream", sim.url("/status/503")] + flags + off)
        st, h, body, _ = request(app.port,
                                 "/async_get_data?calls=1&delay=0")
        check(descs(h) == [desc], "%r: %r" % (flags, descs(h)))
        check(stats(sim)["requests"] - seen == attempts, "%r: attempts %d"
              % (flags, stats(sim)["requests"] - seen))
        seen = stats(sim)["requests"]


def test_tail_off_per_upstream(ctx):
    # --tail-off delay: the delay upstream's calls are made once (no
    # retry), while another upstream on the same simulator still retries.
    retries_per_upstream(ctx, [
        (["--tail-off", "delay"], "503", 1),
        (["--tail-off", "xkcd,partner"], "503 3 tries", 3)])


def test_tail_rules_per_upstream(ctx):
    # --tail-rules: the delay upstream's rule gives one retry, not the
    # global two; another upstream's rule leaves it the global two.
    retries_per_upstream(ctx, [
        (["--tail-rules", "delay:retries=1;xkcd:retries=0"], "503 2 tries",
         2),
        (["--tail-rules", "partner:retries=0"], "503 3 tries", 3),
        (["--tail-rules", "delay:retries=2", "--tail-off", "delay"], "503",
         1)])


def test_tail_rules_hedge_per_upstream(ctx):
    sim = own_sim(ctx)
    rule = "delay:hedge=fixed,hedge-delay=100,hedge-budget=25"
    # Hedging off globally, on for the delay upstream with its own
    # delay and budget.
    app = ctx.app(["--upstream", sim.url(""), "--hedge", "off",
                   "--tail-rules", rule, "--fanout-limit", "50"])
    hedges_within_budget(app, sim)
    check(origin(app)["hedge_delay_ms"] == -1, "the global setting (off) "
          "in /_/stats: %r" % origin(app))
    # --tail-off delay: made once whatever its rule says.
    app2 = ctx.app(["--upstream", sim.url(""), "--tail-rules", rule,
                    "--tail-off", "delay", "--fanout-limit", "50"])
    before = stats(sim)["requests"]
    d, _ = page(app2, 4, 300)
    check(d == ["200"] * 4 and stats(sim)["requests"] == before + 4,
          "no hedge with --tail-off: %r, %d" %
          (d, stats(sim)["requests"] - before))


def test_tail_rules_bad_value_stops_start_up(ctx):
    import subprocess
    for spec, want in (("bogus:retries=1", "invalid upstream 'bogus'"),
                       ("delay:hedge=maybe", "invalid value 'maybe' for "
                        "--hedge"),
                       ("delay:retries", "'retries' is not key=value")):
        ups = []
        for flag in ("upstream", "xkcd-upstream", "analytics-upstream",
                     "partner-upstream"):
            ups += ["--" + flag, "http://127.0.0.1:9"]
        p = subprocess.run([ctx.bin, "--tail-rules", spec, "--sim-port",
                            "0"] + ups, capture_output=True, text=True,
                           timeout=10)
        check(p.returncode != 0 and want in p.stderr and
              "--tail-rules (FANOUT_TAIL_RULES)" in p.stderr,
              "%s: %d %r" % (spec, p.returncode, p.stderr))
