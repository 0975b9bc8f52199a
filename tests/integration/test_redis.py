"""Many instances behave as one (--redis): a real redis-server started by
each test on a free loopback port, two instances of two workers each, the
simulator counting what the partner, analytics and xkcd upstreams see."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from lib import (LOGDIR, NginxDeploy, at_once, check, free_port, https,
                 request, storm, wait_idle, wait_port)

KEY = "t3st-key/redis"


class Redis:
    """redis-server on a free loopback port, nothing saved."""

    def __init__(self, unix=False):
        self.port = free_port()
        self.url = "redis://127.0.0.1:%d/3" % self.port
        self.logpath = os.path.join(LOGDIR, "redis-%d.log" % self.port)
        self.extra = []
        if unix:
            self.url = os.path.join(LOGDIR, "redis-%d.sock" % self.port)
            self.extra = ["--unixsocket", self.url]
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"] + self.extra,
            stdout=open(self.logpath, "ab"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        check(wait_port(self.port, proc=self.proc),
              "redis-server did not start")

    def cmd(self, *args):
        """One command over RESP in the app's db 3: the raw answer."""
        out = b""
        for cmd in (("SELECT", "3"), args):
            out += b"*%d\r\n" % len(cmd)
            for a in cmd:
                a = a.encode() if isinstance(a, str) else a
                out += b"$%d\r\n%s\r\n" % (len(a), a)
        data = b""
        with socket.create_connection(("127.0.0.1", self.port), 2) as s:
            s.sendall(out)
            while not data.startswith(b"+OK\r\n") or len(data) < 6 or \
                    not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.settimeout(0.2)
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                pass
        check(data.startswith(b"+OK\r\n"), "SELECT: %r" % data[:50])
        return data[5:].decode("utf-8", "replace")

    def crashes(self):
        return []

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def sim_stats(sim):
    return json.loads(request(sim.port, "/_/stats")[2])


def instance(ctx, sim, redis, extra=(), lag=300):
    return ctx.app(["--workers", "2", "--redis", redis.url,
                    "--trusted-proxies", "127.0.0.1",
                    "--xkcd-upstream", sim.url("/xkcd"),
                    "--analytics-upstream",
                    sim.url("/lag/%d/analytics" % lag),
                    "--partner-upstream", sim.url("/lag/%d/partner" % lag)] +
                   list(extra), env={"FANOUT_PARTNER_KEY": KEY})


def fleet(ctx, extra=(), lag=300, n=2, unix=False):
    redis = Redis(unix)
    ctx.servers.append(redis)
    sim = ctx.server(["--simulator", "--workers", "1"], name="sim-redis",
                     env={"FANOUT_PARTNER_KEY": KEY})
    apps = [instance(ctx, sim, redis, extra, lag) for _ in range(n)]
    for a in apps:
        wait_store(a, "up")
    return redis, sim, apps


def wait_store(app, state, timeout=10):
    """Until every worker of app reports the store in this state."""
    want = set(app.worker_pids())
    seen = set()
    end = time.monotonic() + timeout
    while time.monotonic() < end and not want <= seen:
        d = json.loads(request(app.port, "/_/stats")[2])
        if d["store"] == state:
            seen.add(str(d["pid"]))
        else:
            seen.discard(str(d["pid"]))
            time.sleep(0.05)
    check(want <= seen, "workers %r not %s (saw %r): %s" %
          (want, state, seen, app.logtail()))


def api(app, query=""):
    st, h, body, t = request(app.port, "/api/stats" +
                             ("?" + query if query else ""))
    return st, json.loads(body) if st == 200 else body, t


def comics(app, ids):
    st, h, body, t = request(app.port, "/xkcd?format=json&ids=" + ids)
    check(st == 200, "xkcd: %d %s" % (st, body[:200]))
    return json.loads(body)


def nginx_front(apps):
    """deploy/nginx.conf on free ports in front of apps: (port, ca, stop)."""
    d = os.path.join(LOGDIR, "nginx-redis-%d" % free_port())
    os.makedirs(d)
    front = NginxDeploy(apps, d)
    return front.port, front.ca, front.stop


def products(n):
    return ",".join("p%02d" % i for i in range(1, n + 1))


def test_redis_waiters_hear_when_it_lands(ctx):
    # Every worker is subscribed to the "share" channel, and a fetch that
    # lands says so there (the waiters on other instances ask at once
    # instead of at their next poll).
    redis, sim, apps = fleet(ctx, ["--stats-products", products(2)], lag=30)
    chan = "fanout:3:share"
    end = time.monotonic() + 5
    while time.monotonic() < end and redis.cmd(
            "PUBSUB", "NUMSUB", chan).split("\r\n")[-2] != ":4":
        time.sleep(0.05)
    check(time.monotonic() < end, "subscribers: %r" %
          redis.cmd("PUBSUB", "NUMSUB", chan))
    with socket.create_connection(("127.0.0.1", redis.port), 5) as s:
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" %
                  (len(chan), chan.encode()))
        data = b""
        while data.count(b"\r\n") < 6:
            data += s.recv(4096)
        st, d, _ = api(apps[0])
        check(st == 200 and d["origin"] == "upstream", "%r" % d)
        data = b""
        while b"fanout:stats:p01,p02" not in data:
            chunk = s.recv(4096)
            check(chunk, "no message on %s" % chan)
            data += chunk


def test_redis_one_fetch_for_the_fleet(ctx):
    # 50 cold loads spread over two instances (nginx in front): one
    # analytics call and one partner call per product in all, never more
    # than --stats-limit partner calls in flight across the fleet.
    redis, sim, apps = fleet(ctx, ["--stats-products", products(8),
                                   "--stats-limit", "3"])
    port, ca, stop = nginx_front(apps)
    try:
        def one(i):
            st, h, body = https(port, "/api/stats", cafile=ca)
            return st, body
        res = at_once(one, 50)
    finally:
        stop()
    check(all(r is not None and r[0] == 200 for r in res),
          "answers %r" % [r and r[0] for r in res][:8])
    docs = [json.loads(r[1]) for r in res]
    check(all(d["products"] == docs[0]["products"] and not d["partial"]
              for d in docs), "the answers differ or are partial")
    s = sim_stats(sim)
    check(s["analytics_calls"] == 1 and s["partner"]["calls"] == 8,
          "50 cold loads on 2 instances x 2 workers made %d analytics and "
          "%d partner calls" % (s["analytics_calls"], s["partner"]["calls"]))
    check(s["partner"]["peak"] <= 3, "peak %d" % s["partner"]["peak"])
    origins = [d["origin"] for d in docs]
    check(origins.count("upstream") == 1, "origins %r" % origins)


def test_redis_partner_limit_across_the_fleet(ctx):
    # Eight different product sets at once over both instances: no
    # sharing, but the partner never sees more than --stats-limit calls in
    # flight from the whole fleet (in-process it could see 8 x 2).
    redis, sim, apps = fleet(ctx, ["--stats-products", products(24),
                                   "--stats-limit", "2"], lag=150)
    sets = [",".join("p%02d" % (i * 3 + j) for j in range(1, 4))
            for i in range(8)]
    res = at_once(lambda i: api(apps[i % 2], "products=" + sets[i]), 8)
    check(all(r is not None and r[0] == 200 and not r[1]["partial"]
              for r in res), "answers %r" % [r and r[1] for r in res][:2])
    p = sim_stats(sim)["partner"]
    check(p["calls"] == 24 and p["peak"] <= 2,
          "partner: %d calls, peak %d in flight (limit 2)" %
          (p["calls"], p["peak"]))
    check(p["peak"] == 2, "the fleet never used its 2 leases: %r" % p)
    check(redis.cmd("ZCARD", "fanout:partner:leases") == ":0\r\n",
          "leases left behind")


def test_redis_partner_lease_of_a_dead_holder_expires(ctx):
    # --stats-limit 1: the instance holding the fleet's only lease is
    # killed mid-call; its lease expires and the other instance's calls go.
    redis, sim, (a, b) = fleet(ctx, ["--stats-products", products(4),
                                     "--stats-limit", "1"], lag=1500)

    def killed():
        try:
            api(a, "products=p01,p02")
        except OSError:  # its instance is killed under it
            pass
    t = threading.Thread(target=killed)
    t.start()
    end = time.monotonic() + 5
    while time.monotonic() < end and sim_stats(sim)["partner"][
            "in_flight"] == 0:
        time.sleep(0.02)
    check(time.monotonic() < end, "a made no partner call")
    out = {}
    t2 = threading.Thread(target=lambda: out.update(b=api(b,
                                                          "products=p03")))
    t2.start()
    time.sleep(0.3)
    os.killpg(a.proc.pid, signal.SIGKILL)
    a.proc.wait()
    t2.join(15)
    t.join(1)
    check("b" in out and out["b"][0] == 200 and not out["b"][1]["partial"],
          "b: %r" % (out.get("b"),))
    check(out["b"][2] < 2.5 + 1.5 + 1.5, "b took %.1fs" % out["b"][2])
    # b waited for the lease: never two partner calls in flight.
    check(sim_stats(sim)["partner"]["peak"] == 1,
          "partner peak %r" % sim_stats(sim)["partner"])


def test_redis_unix_socket(ctx):
    redis, sim, (a, b) = fleet(ctx, ["--workers", "1"], unix=True)
    d = comics(a, "41,42")
    check(d["from_cache"] == 0, "%r" % d)
    d = comics(b, "41,42")
    check(d["from_cache"] == 2, "over the unix socket: %r" % d)


def test_redis_comic_cache_and_latest_shared(ctx):
    redis, sim, (a, b) = fleet(ctx)
    before = sim_stats(sim)["requests"]
    d = comics(a, "11,12,13")
    check(d["from_cache"] == 0 and d["upstream_calls"] == 3, "%r" % d)
    mid = sim_stats(sim)["requests"]
    check(mid - before == 3, "a made %d calls" % (mid - before))
    # Both workers of the other instance: every comic from the store.
    for _ in range(4):
        d = comics(b, "11,12,13")
        check(d["from_cache"] == 3 and d["upstream_calls"] == 0,
              "b: %r" % {k: d[k] for k in ("from_cache", "upstream_calls")})
    check(sim_stats(sim)["requests"] == mid, "b called the upstream")
    # The latest number: looked up once for the fleet.
    st, _, body, _ = request(a.port, "/xkcd?count=2&format=json")
    check(st == 200, body[:200])
    n = sim_stats(sim)["requests"]
    for _ in range(4):
        st, _, body, _ = request(b.port, "/xkcd?count=1&format=json&cache=0")
        check(st == 200, body[:200])
    check(sim_stats(sim)["requests"] == n + 4,
          "b asked for the latest number again")
    check("latest" in redis.cmd("KEYS", "fanout:*"), "no latest key")
    # Nothing secret in the store.
    for k in re.findall(r"fanout:[^\r\n]+", redis.cmd("KEYS", "*")):
        check(KEY not in redis.cmd("GET", k), "the key is in %s" % k)


def test_redis_retry_after_blocks_the_fleet(ctx):
    redis, sim, (a, b) = fleet(ctx, ["--stats-products",
                                     "err429-x,p01,p02,p03",
                                     "--stats-limit", "1"], lag=30)
    st, d, _ = api(a, "products=err429-x,p01")
    check(st == 200 and d["partial"], "%r" % d)
    calls = sim_stats(sim)["partner"]["calls"]
    time.sleep(0.3)  # the block reaches the other instance within 100 ms
    for _ in range(2):
        st, d, _ = api(b, "products=p02,p03")
        check(st == 200, "%r" % d)
        check(all(any(e["source"] == "partner" and
                      "rate limited" in e["error"] for e in r["errors"])
                  for r in d["products"]), "b: %r" % d["products"])
    check(sim_stats(sim)["partner"]["calls"] == calls,
          "b called the partner during a's Retry-After")
    time.sleep(2.2)
    st, d, _ = api(b, "products=p02,p03")
    check(st == 200 and not d["partial"], "after Retry-After: %r" % d)


def test_redis_lock_holder_dies(ctx):
    # The instance fetching for the fleet is killed mid-fetch: the lock
    # expires, the other instance's waiter takes over and answers.
    redis, sim, (a, b) = fleet(ctx, ["--stats-products", products(3)],
                               lag=1500)
    out = {}

    def killed():
        try:
            api(a)
        except OSError:  # its instance is killed under it
            pass
    t = threading.Thread(target=killed)
    t.start()
    end = time.monotonic() + 5
    while time.monotonic() < end and ":1\r\n" != redis.cmd(
            "EXISTS", "fanout:stats-lock:" + products(3)):
        time.sleep(0.02)
    check(time.monotonic() < end, "no lock taken")
    t2 = threading.Thread(target=lambda: out.update(b=api(b)))
    t2.start()
    time.sleep(0.3)
    os.killpg(a.proc.pid, signal.SIGKILL)
    a.proc.wait()
    t2.join(15)
    t.join(1)
    check("b" in out and out["b"][0] == 200, "b: %r" % (out.get("b"),))
    d = out["b"][1]
    check(d["origin"] == "upstream" and not d["partial"], "b: %r" % d)
    check(out["b"][2] < 1.5 + 2.5 + 1.5, "b took %.1fs" % out["b"][2])
    check(not b.crashes(), "b: %r" % b.crashes())


def test_redis_down_and_back(ctx):
    redis, sim, apps = fleet(ctx, ["--stats-products", products(4),
                                   "--stats-ttl", "1"], lag=50)
    stop = threading.Event()
    bad = []
    # Given comics only: a random gallery could fetch 31 or 32 into one
    # worker's own cache while Redis is down, and the check at the end
    # needs both to go through the store.
    pages = ["/api/stats", "/xkcd?format=json&ids=23,24,25",
             "/xkcd?format=json&ids=21,22", "/async_get_data?calls=2&delay=10"]

    def load(i):
        n = 0
        while not stop.is_set():
            app = apps[(i + n) % 2]
            path = pages[n % len(pages)]
            n += 1
            try:
                st, _, body, t = request(app.port, path, timeout=20)
            except Exception as e:  # noqa: BLE001
                bad.append((path, repr(e)))
                continue
            if st != 200 or t > 15 + 1:
                bad.append((path, st, round(t, 2), body[:120]))
        return n

    ts = [threading.Thread(target=load, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    try:
        time.sleep(1)
        # Slow first (no answers at all), then gone.
        redis.proc.send_signal(signal.SIGSTOP)
        time.sleep(1.5)
        redis.stop()
        for a in apps:
            wait_store(a, "down")
        time.sleep(1)
        redis.start()
        for a in apps:
            wait_store(a, "up")
        time.sleep(1)
    finally:
        stop.set()
        for t in ts:
            t.join(30)
    check(not bad, "%d failed pages: %r" % (len(bad), bad[:5]))
    for a in apps:
        check(not a.crashes(), "crashes: %r" % a.crashes())
        check(len(a.worker_pids()) == 2, "a worker was restarted")
        check(a.logtext().count("redis: connected") >= 4 and
              "in-process caches and limits" in a.logtext(),
              "the log: %s" % a.logtail())
    # Sharing resumed, the subscriptions too.
    end = time.monotonic() + 5
    while time.monotonic() < end and redis.cmd(
            "PUBSUB", "NUMSUB", "fanout:3:share").split("\r\n")[-2] != ":4":
        time.sleep(0.05)
    check(time.monotonic() < end, "not every worker subscribed again")
    d = comics(apps[0], "31,32")
    d = comics(apps[1], "31,32")
    check(d["from_cache"] == 2, "after Redis came back: %r" % d)


def test_redis_setting_checked(ctx):
    from lib import run_to_exit
    ups = ["--sim-port", "0"]
    for u in ("upstream", "xkcd-upstream", "analytics-upstream",
              "partner-upstream"):
        ups += ["--" + u, "http://127.0.0.1:1"]
    for bad in ("http://127.0.0.1:6379", "redis://:secret@127.0.0.1:1",
                "redis://127.0.0.1:99999", "redis://127.0.0.1:1/x",
                "redis://[::1", "redis://[::1]x:1", "redis://"):
        r = run_to_exit([ctx.bin, "-fnr", "--redis", bad] + ups)
        check(r.returncode not in (0, None) and "--redis" in r.stderr and
              "secret" not in r.stderr, "%r: %r" % (bad, r.stderr[-200:]))
    r = run_to_exit([ctx.bin, "-fnr", "--redis", "redis://127.0.0.1:1",
                     "--redis-prefix", "bad prefix!"] + ups)
    check(r.returncode not in (0, None) and "--redis-prefix" in r.stderr,
          r.stderr[-200:])


test_redis_down_and_back.asan = True
test_redis_one_fetch_for_the_fleet.asan = True


def test_redis_clients_that_leave(ctx):
    # Clients that leave while their request waits on Redis (a comic MGET,
    # the fetch's lock, a partner lease): nothing touches the freed
    # request, nothing is left behind, the leases go back.
    redis, sim, apps = fleet(ctx, ["--stats-products", products(12),
                                   "--stats-limit", "2"], lag=100)
    paths = ["/api/stats?products=p%02d,p%02d" % (1 + i % 12, 1 + i % 5)
             for i in range(12)] + ["/xkcd?count=4", "/xkcd?ids=51,52,53"]
    for a in apps:
        storm(a, 80, lambda i: paths[i % len(paths)], threads=20)
    for a in apps:
        s = wait_idle(a)
        check(s["fanouts_live"] == 0 and s["calls_live"] == 0,
              "left behind: %r" % s)
        check(not a.crashes(), "crashes: %r" % a.crashes()[:5])
        check(len(a.worker_pids()) == 2, "a worker was restarted")
        st, d, _ = api(a, "products=p07")
        check(st == 200 and not d["partial"], "after the storm: %r" % d)
    end = time.monotonic() + 3
    while time.monotonic() < end and redis.cmd(
            "ZCARD", "fanout:partner:leases") != ":0\r\n":
        time.sleep(0.05)
    check(time.monotonic() < end, "leases left: %r" %
          redis.cmd("ZRANGE", "fanout:partner:leases", "0", "-1"))


test_redis_clients_that_leave.asan = True


def test_redis_readyz_follows_the_store(ctx):
    # /readyz: ready with the store up; not ready, naming it, while a
    # worker has lost it; ready again once it is back.
    redis, sim, apps = fleet(ctx, n=1)
    app = apps[0]

    def readyz():
        st, _, body, _ = request(app.port, "/readyz")
        return st, body

    st, body = readyz()
    check(st == 200 and "ready" in body, "store up: %d %r" % (st, body))
    redis.stop()
    wait_store(app, "down")
    for _ in range(len(app.worker_pids()) * 4):
        st, body = readyz()
        check(st == 503 and "shared store" in body,
              "store down: %d %r" % (st, body))
    redis.start()
    wait_store(app, "up")
    for _ in range(len(app.worker_pids()) * 4):
        st, body = readyz()
        check(st == 200, "store back: %d %r" % (st, body))


def test_redis_circuit_shared(ctx):
    # A circuit one instance opens is open on every worker of the other
    # too: its calls fail at once, and none reaches the upstream.
    redis = Redis()
    ctx.servers.append(redis)
    sim = ctx.server(["--simulator", "--workers", "1"], name="sim-circuit")
    apps = [ctx.app(["--workers", "2", "--redis", redis.url, "--upstream",
                     sim.url(""), "--retries", "0", "--breaker-failures",
                     "3", "--breaker-cooldown", "4000"]) for _ in range(2)]
    for a in apps:
        wait_store(a, "up")
    path = "/async_get_data?calls=3&delay=0"

    def breaker(app, want, timeout=5):
        """Until every worker of app reports its one origin as want."""
        pids, seen = set(app.worker_pids()), set()
        end = time.monotonic() + timeout
        while time.monotonic() < end and not pids <= seen:
            d = json.loads(request(app.port, "/_/stats")[2])
            if [o["breaker"] for o in d["origins"]] == [want]:
                seen.add(str(d["pid"]))
            else:
                seen.discard(str(d["pid"]))
                time.sleep(0.05)
        check(pids <= seen, "workers %r not %s (saw %r)" % (pids, want,
                                                            seen))

    for a in apps:                      # every worker knows the origin
        for _ in range(8):
            check(request(a.port, path)[0] == 200, "warm-up")
    request(sim.port, "/_/fault?down=60000")
    st, _, body, _ = request(apps[0].port, path)
    check(st == 200 and json.loads(body)["response_1"] == 503, body)
    breaker(apps[1], "open")
    seen = json.loads(request(sim.port, "/_/stats")[2])["requests"]
    for _ in range(4):
        st, _, body, t = request(apps[1].port, path)
        d = json.loads(body)
        check(all(str(d["response_%d" % i]).startswith("circuit_open")
                  for i in (1, 2, 3)), "open on the other: %r" % d)
        check(t < 0.5, "fail fast took %.2fs" % t)
    check(json.loads(request(sim.port, "/_/stats")[2])["requests"] == seen,
          "calls reached the upstream while the fleet's circuit was open")
    check(redis.cmd("KEYS", "*circuit*").count("circuit") == 1,
          "no circuit key in Redis")
    for a in apps:
        check(not a.crashes(), "%r" % a.crashes())


def test_redis_partner_limit_holds_when_clients_leave(ctx):
    # A page whose client leaves mid-fetch: its partner calls run on,
    # detached, and keep their leases until they end, so the clients that
    # come next cannot put more than --stats-limit calls in flight.
    redis, sim, apps = fleet(ctx, ["--stats-products", products(24),
                                   "--stats-limit", "2"], lag=400)
    socks = []
    for i in range(4):
        s = socket.create_connection(("127.0.0.1", apps[i % 2].port), 5)
        s.sendall(b"GET /api/stats?products=p%02d,p%02d HTTP/1.1\r\n"
                  b"Host: t\r\n\r\n" % (i * 2 + 1, i * 2 + 2))
        socks.append(s)
    # Until the first partner calls are in flight, then the clients go.
    end = time.monotonic() + 5
    while time.monotonic() < end and sim_stats(sim)["partner"]["calls"] < 2:
        time.sleep(0.01)
    for s in socks:
        s.close()
    sets = ["p%02d,p%02d" % (11 + i * 2, 12 + i * 2) for i in range(6)]
    res = at_once(lambda i: api(apps[i % 2], "products=" + sets[i]), 6)
    check(all(r is not None and r[0] == 200 and not r[1]["partial"]
              for r in res), "answers %r" % [r and r[1] for r in res][:2])
    p = sim_stats(sim)["partner"]
    check(p["peak"] <= 2, "partner: peak %d in flight (limit 2)" % p["peak"])
    end = time.monotonic() + 5
    while time.monotonic() < end and redis.cmd(
            "ZCARD", "fanout:partner:leases") != ":0\r\n":
        time.sleep(0.05)
    check(time.monotonic() < end, "leases left: %r" %
          redis.cmd("ZRANGE", "fanout:partner:leases", "0", "-1"))
    for a in apps:
        check(not a.crashes(), "%r" % a.crashes()[:3])


test_redis_partner_limit_holds_when_clients_leave.asan = True
