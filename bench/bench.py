#!/usr/bin/env python3
"""Benchmark kore-fanout: sync vs async upstream fan-out.

Starts the upstream (Debian's nginx with its echo module when installed, else
the project's simulator; --upstream-server) and the app as separate processes
on free loopback ports (logs in a temp dir; both killed at the end, also on
Ctrl-C), then:

  * Latency: for k in 1, 2, 5, 10, 50, sequential keep-alive requests
    (one curl process per series, its time_total per transfer; 3 warm-ups)
    to /get_data and /async_get_data?calls=k&delay=100.  Prints p50/p99 and
    the async overhead over the ideal (latency - the slowest call's duration
    from Server-Timing), the engine's share of it (total - largest call),
    and the call's own excess over the nominal 100 ms.

  * Load: wrk on /async_get_data?calls=2&delay=100 at 100 and 1000
    connections (3 s warm-up run first).  Prints requests/s against the ideal
    (connections / 0.1 s), p50/p99, errors (socket errors, non-2xx/3xx, and
    200 answers whose body reports a failed call, via a wrk Lua script), the
    app's CPU seconds per 1000 requests (/proc/<pid>/stat of parent and
    workers), and new upstream connections per 1000 calls from the
    machine-wide Tcp: ActiveOpens counter (/proc/net/snmp) minus wrk's own,
    cross-checked with the workers' conns_opened (/_/stats).  A probe client
    alongside wrk splits the latency under load with Server-Timing.

  * Peer: nginx's own fan-out (bench/nginx-fanout.conf: echo_location_async
    firing k subrequests at once, each proxy_pass'ed with keep-alive to the
    same upstream) and a fresh app, two workers each, at k=2 with 50, 200
    and 1000 connections and k=10 with 200; per side a warm-up wrk run at
    the measured concurrency, then the measured one (--peer-warmup,
    --peer-duration).  Prints both sides' requests/s, CPU seconds per 1000
    requests (app: parent + workers; nginx: master + workers), p99, errors
    and the ratios app/nginx, and each app worker's share of the calls it
    started (calls_started, /_/stats, one keep-alive connection per worker).

  * Memory: --memory-clients concurrent requests of --memory-calls calls of
    3 s on a one-worker app (caps raised to fit): the worker's VmRSS before
    and at its peak over the peak calls in flight (peak_in_flight).

  * Cold start: a fresh app hit by 1000 connections at once; its requests/s
    over the first --cold-duration seconds against the next as many.

  * Targets, printed as PASS/MISS (a benchmark does not fail on them): async
    overhead p50 <= 1 ms at k=10; >= 90% of ideal requests/s at 1000
    connections with no errors; <= 10 new upstream connections per 1000
    calls once warm; against nginx, app CPU per request <= 1.5x at k=2/1000
    and k=10/200, requests/s >= 0.9x at k=2/1000 with no errors, p99 <=
    nginx's + 20%; every app worker within 0.75/W .. 1.25/W of the calls;
    <= 16 KB RSS per call in flight (at 10,000); cold start >= 0.9x warm.

Exits 0 unless a server failed to start or crashed (died, or logged "fatal"
or "exited with status"): then 1, with the log tails.

    python3 bench/bench.py --bin build/fanout [--quick] [--requests N]
                           [--duration S] [--peer-warmup S] [--peer-duration S]
                           [--cold-duration S] [--memory-clients N]
                           [--memory-calls N] [--sections latency,load,...]
                           [--keep-logs]                      # make bench
"""

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DELAY_MS = 100
KS = [1, 2, 5, 10, 50]
WARMUP_REQUESTS = 3
LOAD_CALLS = 2
LOAD_CONNECTIONS = [100, 1000]
WRK_WARMUP_S = 3
CRASH_MARKERS = ("fatal", "exited with status")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# What both wrk scripts share: every thread's count of bad bodies ("bad",
# with a "sample"), summed and printed once at the end.
WRK_LUA_THREADS = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
"""
WRK_LUA_DONE = """
function done(summary, latency, requests)
  local total, example = 0, ""
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    if example == "" then example = t:get("sample") end
  end
  io.write(string.format("Bad bodies: %d\\n", total))
  if total > 0 then io.write("Bad body sample: " .. example .. "\\n") end
end
"""

# The app answers 200 even when upstream calls fail (the failure is in the
# body), so wrk's own error counts miss it: this script counts responses
# whose body holds a response_N other than 200 (a status or an error).
WRK_LUA = WRK_LUA_THREADS + """
function init(args) bad = 0; sample = "" end
function response(status, headers, body)
  if status == 200 then
    for v in string.gmatch(body, '"response_%d+":([^,}]+)') do
      if v ~= "200" then
        bad = bad + 1
        if sample == "" then sample = string.sub(body, 1, 200) end
        return
      end
    end
  end
end
""" + WRK_LUA_DONE


class BenchError(Exception):
    """A server failed to start or crashed."""


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """Fields of /proc/<pid>/stat from field 3 (state) on, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()


def children(pid):
    kids = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return kids


def process_cpu(pid, reaped=False):
    """utime+stime of one process in seconds (plus its reaped children's
    cutime+cstime if reaped), or None if it is gone."""
    f = proc_stat(pid)
    if f is None:
        return None
    ticks = int(f[11]) + int(f[12])          # utime, stime
    if reaped:
        ticks += int(f[13]) + int(f[14])     # cutime, cstime
    return ticks / CLK_TCK


def tcp_active_opens():
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Tcp:")]
    header, values = lines[0], lines[1]
    return int(values[header.index("ActiveOpens")])


def machine_cpu():
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]                       # idle + iowait
    total = sum(v[:8])                       # up to steal; guest is in user
    return total - idle, total


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------- processes

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One fanout process (parent + workers) logging to a file."""

    def __init__(self, name, argv, logdir):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, name + ".log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "wb")
        # Own session: Ctrl-C in the terminal does not reach the servers
        # directly; stop() kills the process group we created.
        self.proc = subprocess.Popen(self.argv, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # Leftover workers (or a parent that ignored SIGTERM).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def crash_lines(self):
        return [line for line in self.log_text().splitlines()
                if any(m in line for m in CRASH_MARKERS)]

    def tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def cpu(self):
        """{pid: CPU seconds} for the parent (with workers that died and
        were reaped) and each live worker."""
        out = {}
        parent = process_cpu(self.proc.pid, reaped=True)
        if parent is not None:
            out[self.proc.pid] = parent
        for child in children(self.proc.pid):
            c = process_cpu(child)
            if c is not None:
                out[child] = c
        return out


def cpu_delta(before, after):
    """Per-pid CPU seconds used between two Server.cpu() snapshots."""
    return {pid: after[pid] - before.get(pid, 0.0) for pid in after}


def check_servers(servers):
    """Raise BenchError if a server died or logged a crash."""
    problems = []
    for s in servers:
        if not s.alive():
            problems.append("%s: process exited (status %s)"
                            % (s.name, s.proc.poll()))
        for line in s.crash_lines():
            problems.append("%s log: %s" % (s.name, line))
    if problems:
        raise BenchError("\n".join(problems))


# ---------------------------------------------------------------- HTTP

class Client:
    """Keep-alive HTTP client with TCP_NODELAY; reconnects after errors."""

    def __init__(self, port, timeout):
        self.port = port
        self.timeout = timeout
        self.conn = None
        self.connects = 0

    def _connect(self):
        self.connects += 1
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=self.timeout)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get(self, path):
        """Return (status, response, body, seconds)."""
        if self.conn is None:
            self._connect()
        t0 = time.perf_counter()
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        elapsed = time.perf_counter() - t0
        if resp.will_close:
            self.close()
        return resp.status, resp, body, elapsed

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def get_once(port, path, timeout=2.0):
    """One request on a fresh connection: (status, body) or None."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, body
    except (OSError, http.client.HTTPException):
        return None


def all_200(data, k):
    """Whether a /get_data answer has k calls, every one answered 200 (its
    response_N members; the envelope around them is not a call)."""
    if not isinstance(data, dict) or "response_%d" % (k + 1) in data:
        return False
    return all(data.get("response_%d" % i) == 200 for i in range(1, k + 1))


def get_json(port, path):
    r = get_once(port, path)
    if r is None or r[0] != 200:
        return None
    try:
        return json.loads(r[1])
    except ValueError:
        return None


def wait_ready(server, port, path, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise BenchError("%s exited during start-up (status %s)"
                             % (server.name, server.proc.poll()))
        r = get_once(port, path, timeout=1.0)
        if r is not None and r[0] == 200:
            return
        time.sleep(0.1)
    raise BenchError("%s did not answer %s on port %d within %.0f s"
                     % (server.name, path, port, timeout))


class WorkerStats:
    """/_/stats of every app worker it has a connection to.

    /_/stats answers for the worker that serves it, and Kore's accept lock
    leaves one worker accepting new connections until it is busy, so a
    fresh connection per query keeps reaching the same worker.  Instead
    this keeps one keep-alive connection per worker, found while load
    makes the lock move (discover() during a wrk run)."""

    def __init__(self, port):
        self.port = port
        self.clients = {}           # pid -> Client
        self.wanted = 0

    def discover(self, want, until):
        self.wanted = want
        while len(self.clients) < want and time.monotonic() < until:
            client = Client(self.port, timeout=5.0)
            st = self._query(client)
            if st is not None and st["pid"] not in self.clients:
                self.clients[st["pid"]] = client
            else:
                client.close()
                time.sleep(0.05)

    def snapshot(self, attempts=10):
        out = {}
        for pid, client in list(self.clients.items()):
            st = self._query(client)
            if st is not None and st["pid"] == pid:
                out[pid] = st
            else:                   # closed: it would reconnect elsewhere
                client.close()
                del self.clients[pid]
        # Replace lost connections if fresh ones reach those workers.
        for _ in range(attempts):
            if len(out) >= self.wanted:
                break
            client = Client(self.port, timeout=5.0)
            st = self._query(client)
            if st is not None and st["pid"] not in out:
                self.clients[st["pid"]] = client
                out[st["pid"]] = st
            else:
                client.close()
        return out

    def keep_alive(self, until, every=3.0):
        """Query every connection now and then: Kore answers 408 and closes
        a keep-alive connection idle for its 10 s header timeout."""
        while time.monotonic() < until:
            time.sleep(min(every, max(0.0, until - time.monotonic())))
            for client in self.clients.values():
                self._query(client)

    def close(self):
        for client in self.clients.values():
            client.close()
        self.clients = {}

    @staticmethod
    def _query(client):
        try:
            status, resp, body, elapsed = client.get("/_/stats")
            st = json.loads(body) if status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            client.close()
            return None
        return st if isinstance(st, dict) and "pid" in st else None


# ---------------------------------------------------------------- figures

def percentile(values, p):
    """Nearest-rank percentile; None for an empty list."""
    if not values:
        return None
    s = sorted(values)
    rank = max(1, -(-len(s) * p // 100))   # ceil(n * p / 100)
    return s[int(rank) - 1]


TIMING_RE = re.compile(r'([A-Za-z0-9_]+);dur=([0-9.]+)')


def parse_server_timing(header):
    """(total ms, largest call ms) from a Server-Timing header, or None."""
    if not header:
        return None
    total, calls = None, []
    for name, dur in TIMING_RE.findall(header):
        if name == "total":
            total = float(dur)
        elif name.startswith("call"):
            calls.append(float(dur))
    if total is None or not calls:
        return None
    return total, max(calls)


def fmt(v, digits=1):
    return "-" if v is None else "%.*f" % (digits, v)


# ---------------------------------------------------------------- latency

CURL_FORMAT = "%{http_code} %{time_total} %header{server-timing}\n"


def latency_series(port, endpoint, k, n, curl):
    """n sequential keep-alive requests after WARMUP_REQUESTS warm-ups, by
    one curl process (libcurl measures each transfer; a Python client adds
    its own wake-up and parsing time, about a millisecond on a cold CPU)."""
    path = "/%s?calls=%d&delay=%d" % (endpoint, k, DELAY_MS)
    url = "http://127.0.0.1:%d%s" % (port, path)
    sync = endpoint == "get_data"
    ideal_s = (k if sync else 1) * DELAY_MS / 1000.0
    timeout = ideal_s * 2 + 5.0
    total = WARMUP_REQUESTS + n
    res = {"lat": [], "engine": [], "call": [], "over": [], "errors": []}
    with tempfile.TemporaryDirectory(prefix="fanout-bench-lat-") as tmp:
        argv = [curl, "-s", "--max-time", "%.1f" % timeout,
                "-w", CURL_FORMAT]
        for i in range(total):
            argv += [url, "-o", os.path.join(tmp, str(i))]
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True,
                                 timeout=total * timeout + 10).stdout
        except subprocess.TimeoutExpired:
            res["errors"].append("curl did not finish")
            return res
        lines = out.splitlines()
        for i in range(total):
            phase = "warm-up" if i < WARMUP_REQUESTS else "measured"
            parts = lines[i].split(" ", 2) if i < len(lines) else []
            if len(parts) < 2:
                res["errors"].append("%s request %d: no answer" % (phase, i))
                continue
            status, elapsed = int(parts[0]), float(parts[1])
            timing = parts[2] if len(parts) > 2 else ""
            try:
                with open(os.path.join(tmp, str(i)), "rb") as f:
                    body = f.read()
            except OSError:
                body = b""
            ok = status == 200
            if ok:
                try:
                    ok = all_200(json.loads(body), k)
                except ValueError:
                    ok = False
            if not ok:
                res["errors"].append(
                    "%s request %d: status %d, Server-Timing %s, body %s"
                    % (phase, i, status, timing,
                       body[:300].decode("utf-8", "replace")))
                continue
            if i < WARMUP_REQUESTS:
                continue
            res["lat"].append(elapsed * 1000.0)
            st = parse_server_timing(timing)
            if st is not None:
                res["engine"].append(st[0] - st[1])
                res["call"].append(st[1] - DELAY_MS)
                # What the page cost beyond its slowest upstream call.
                res["over"].append(elapsed * 1000.0 - st[1])
    return res


def run_latency(port, servers, sync_requests, async_requests, quick, curl):
    rows = []
    for k in KS:
        row = {"k": k}
        for endpoint in ("async_get_data", "get_data"):
            if endpoint == "get_data" and quick and k == 50:
                row[endpoint] = None
                continue
            n = sync_requests if endpoint == "get_data" else async_requests
            t0 = time.monotonic()
            res = latency_series(port, endpoint, k, n, curl)
            print("  k=%-3d %-15s %3d ok  %6.1f s  errors %d"
                  % (k, endpoint, len(res["lat"]), time.monotonic() - t0,
                     len(res["errors"])), flush=True)
            for e in res["errors"][:5]:
                print("      error: " + (e if len(e) <= 400
                                         else e[:400] + " ..."))
            row[endpoint] = res
            check_servers(servers)
        rows.append(row)
    return rows


def print_latency(rows):
    print()
    print("Latency, delay=%d ms, sequential keep-alive requests (ms)"
          % DELAY_MS)
    print("%4s | %8s %8s | %8s %8s | %7s %7s | %7s %7s %7s | %6s"
          % ("k", "sync p50", "sync p99", "asyn p50", "asyn p99",
             "ovh p50", "ovh p99", "eng p50", "call p50", "nom p50",
             "errors"))
    print("-" * 100)
    for row in rows:
        s, a = row["get_data"], row["async_get_data"]
        nominal = [x - DELAY_MS for x in a["lat"]]
        errs = len(a["errors"]) + (len(s["errors"]) if s else 0)
        print("%4d | %8s %8s | %8s %8s | %7s %7s | %7s %7s %7s | %6d"
              % (row["k"],
                 fmt(percentile(s["lat"], 50)) if s else "skipped",
                 fmt(percentile(s["lat"], 99)) if s else "skipped",
                 fmt(percentile(a["lat"], 50)), fmt(percentile(a["lat"], 99)),
                 fmt(percentile(a["over"], 50), 2),
                 fmt(percentile(a["over"], 99), 2),
                 fmt(percentile(a["engine"], 50), 2),
                 fmt(percentile(a["call"], 50), 2),
                 fmt(percentile(nominal, 50), 2), errs))
    print("  ovh  = async latency - the slowest upstream call's duration"
          " (Server-Timing): the ideal is the slowest call")
    print("  nom  = async latency - %d ms (the nominal delay)" % DELAY_MS)
    print("  eng  = Server-Timing total - largest call dur (engine's share)")
    print("  call = largest call dur - %d ms (upstream call's own excess:"
          " simulator timer + connection)" % DELAY_MS)
    print("  errors include warm-up requests")


# ---------------------------------------------------------------- load

def to_ms(text):
    m = re.match(r"([0-9.]+)(us|ms|s|m)$", text)
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out):
    r = {"requests": 0, "rps": None, "p50": None, "p99": None,
         "connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0,
         "bad": 0}
    m = re.search(r"(\d+) requests in", out)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        if m:
            r[key] = to_ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        r["connect"], r["read"], r["write"], r["timeout"] = \
            (int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Bad bodies: (\d+)", out)
    if m:
        r["bad"] = int(m.group(1))
    m = re.search(r"Bad body sample: (.*)", out)
    r["bad_sample"] = m.group(1) if m else None
    return r


class Probe(threading.Thread):
    """Sequential keep-alive requests alongside wrk, to split the latency
    under load with Server-Timing: client-side, engine, upstream call."""

    def __init__(self, port, path, delay_s=1.0):
        super().__init__(daemon=True)
        self.client = Client(port, timeout=5.0)
        self.path = path
        self.delay_s = delay_s
        self.stop_event = threading.Event()
        self.lat, self.total, self.call, self.errors = [], [], [], 0

    def run(self):
        if self.stop_event.wait(self.delay_s):   # let wrk connect first
            return
        while not self.stop_event.is_set():
            try:
                status, resp, body, elapsed = self.client.get(self.path)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                self.stop_event.wait(0.1)
                continue
            st = parse_server_timing(resp.getheader("Server-Timing"))
            if status != 200 or st is None:
                self.errors += 1
                continue
            self.lat.append(elapsed * 1000.0)
            self.total.append(st[0])
            self.call.append(st[1])
            self.stop_event.wait(0.05)

    def stop(self):
        self.stop_event.set()
        self.join(timeout=10)
        self.client.close()


def run_wrk(wrk, script, url, conns, duration, meanwhile=None,
            script_args=()):
    """Run wrk; call meanwhile(deadline) while it runs, if given."""
    argv = [wrk, "-t%d" % min(2, conns), "-c%d" % conns, "-d%gs" % duration,
            "--timeout", "5s", "--latency", "-s", script, url]
    if script_args:
        argv += ["--"] + [str(a) for a in script_args]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        if meanwhile is not None:
            meanwhile(time.monotonic() + duration)
        out = p.communicate(timeout=duration + 60)[0]
    except BaseException:
        p.kill()
        p.wait()
        raise
    out = out.decode("utf-8", "replace")
    if p.returncode != 0:
        raise RuntimeError("wrk exited with %d:\n%s" % (p.returncode, out))
    return argv, out


def children_cpu():
    """CPU seconds of this script's reaped children (that is, wrk)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_load(wrk, script, app, sim, app_port, sim_port, servers, duration):
    path = "/async_get_data?calls=%d&delay=%d" % (LOAD_CALLS, DELAY_MS)
    url = "http://127.0.0.1:%d%s" % (app_port, path)
    results = []
    stats = WorkerStats(app_port)
    nworkers = len(children(app.proc.pid))
    for conns in LOAD_CONNECTIONS:
        print("  wrk -c%d: %d s warm-up, then %d s measured"
              % (conns, WRK_WARMUP_S, duration), flush=True)
        warm_out = run_wrk(wrk, script, url, conns, WRK_WARMUP_S,
                           meanwhile=lambda u: stats.discover(nworkers, u))[1]
        check_servers(servers)
        time.sleep(0.5)     # let the warm-up's in-flight requests finish

        ws_before = stats.snapshot()
        sim_before = get_json(sim_port, "/_/stats")
        app_cpu0, sim_cpu0, wrk_cpu0 = app.cpu(), sim.cpu(), children_cpu()
        mach0, wall0 = machine_cpu(), time.monotonic()
        opens_before = tcp_active_opens()

        probe = Probe(app_port, path)
        probe.start()
        try:
            argv, out = run_wrk(wrk, script, url, conns, duration,
                                meanwhile=stats.keep_alive)
        finally:
            probe.stop()

        opens_after = tcp_active_opens()
        mach1, wall1 = machine_cpu(), time.monotonic()
        app_cpu1, sim_cpu1, wrk_cpu1 = app.cpu(), sim.cpu(), children_cpu()
        time.sleep(0.5)     # let in-flight calls finish before the stats
        sim_after = get_json(sim_port, "/_/stats")
        ws_after = stats.snapshot()
        check_servers(servers)

        r = parse_wrk(out)
        r["warmup"] = parse_wrk(warm_out)
        r["conns"] = conns
        r["argv"] = " ".join(argv)
        r["ideal"] = conns / (DELAY_MS / 1000.0)
        r["pct"] = 100.0 * r["rps"] / r["ideal"] if r["rps"] else None
        r["errors"] = (r["connect"] + r["read"] + r["write"] + r["timeout"]
                       + r["non2xx"] + r["bad"])
        r["calls"] = LOAD_CALLS * r["requests"]

        # CPU: the app's per process, the simulator, wrk, the whole machine.
        r["app_cpu"] = cpu_delta(app_cpu0, app_cpu1)
        r["app_parent"] = app.proc.pid
        app_total = sum(r["app_cpu"].values())
        r["cpu_per_1k"] = (app_total * 1000.0 / r["requests"]
                           if r["requests"] else None)
        busy = mach1[0] - mach0[0]
        total = mach1[1] - mach0[1]
        r["cpu_split"] = {
            "machine": 100.0 * busy / total if total else 0.0,
            "app": app_total,
            "sim": sum(cpu_delta(sim_cpu0, sim_cpu1).values()),
            "wrk": wrk_cpu1 - wrk_cpu0,
            "wall": wall1 - wall0,
        }

        r["probe"] = probe
        # Upstream connections: wrk opens one per -c, plus one per reconnect
        # after a socket error, and the probe its own; the counter is
        # machine-wide.
        wrk_opens = (conns + r["connect"] + r["read"] + r["write"]
                     + probe.client.connects)
        r["opens_total"] = opens_after - opens_before
        r["opens_upstream"] = max(0, r["opens_total"] - wrk_opens)
        r["opens_per_1k"] = (r["opens_upstream"] * 1000.0 / r["calls"]
                             if r["calls"] else None)
        # Cross-check with the app's own counter, for the workers that
        # answered /_/stats both before and after (a worker that used no
        # CPU in the run opened nothing either).
        common = set(ws_before) & set(ws_after)
        r["app_opens"] = {pid: ws_after[pid].get("conns_opened", 0)
                          - ws_before[pid].get("conns_opened", 0)
                          for pid in common}
        r["app_calls"] = {pid: ws_after[pid].get("calls_started", 0)
                          - ws_before[pid].get("calls_started", 0)
                          for pid in common}
        r["app_after"] = ws_after
        r["app_workers"] = len([p for p in r["app_cpu"]
                                if p != app.proc.pid])
        if sim_before and sim_after:
            r["sim_requests"] = (sim_after.get("requests", 0)
                                 - sim_before.get("requests", 0))
            r["sim_peak"] = sim_after.get("peak_waiting")
        else:
            r["sim_requests"] = r["sim_peak"] = None
        r["idle_workers"] = [pid for pid, secs in r["app_cpu"].items()
                             if pid != app.proc.pid and secs == 0.0
                             and pid not in common]
        complete = (len(common) + len(r["idle_workers"]) >= r["app_workers"])
        r["own_per_1k"] = (sum(r["app_opens"].values()) * 1000.0 / r["calls"]
                           if complete and r["calls"] else None)
        results.append(r)
    stats.close()
    return path, results


def print_load(path, results, duration):
    print()
    print("Load: wrk %s, %d s per run (after a %d s warm-up)"
          % (path, duration, WRK_WARMUP_S))
    print("%6s | %8s %7s %7s | %8s %8s | %6s | %8s | %8s %8s"
          % ("conns", "req/s", "ideal", "% ideal", "p50 ms", "p99 ms",
             "errors", "CPU s/1k", "conns/1k", "own/1k"))
    print("-" * 95)
    for r in results:
        print("%6d | %8s %7.0f %7s | %8s %8s | %6d | %8s | %8s %8s"
              % (r["conns"], fmt(r["rps"], 0), r["ideal"], fmt(r["pct"]),
                 fmt(r["p50"]), fmt(r["p99"]), r["errors"],
                 fmt(r["cpu_per_1k"], 3), fmt(r["opens_per_1k"], 2),
                 fmt(r["own_per_1k"], 2)))
    print("  CPU s/1k = app CPU seconds (parent + workers, user + system)"
          " per 1000 requests")
    print("  conns/1k = new TCP connections to the upstream per 1000 upstream"
          " calls, from the MACHINE-WIDE")
    print("             Tcp: ActiveOpens counter minus wrk's own connections"
          " (anything else on the machine counts too)")
    print("  own/1k   = the same from the app workers' own conns_opened"
          " (/_/stats), when every worker is accounted for")
    for r in results:
        print()
        print("  -c%d: %s" % (r["conns"], r["argv"]))
        print("    %d requests, %d upstream calls (simulator counted %s,"
              " peak waiting %s)"
              % (r["requests"], r["calls"], r["sim_requests"], r["sim_peak"]))
        print("    errors: connect %d, read %d, write %d, timeout %d,"
              " non-2xx/3xx %d, 200 with a failed call in the body %d"
              % (r["connect"], r["read"], r["write"], r["timeout"],
                 r["non2xx"], r["bad"]))
        if r["bad_sample"]:
            print("      e.g. " + r["bad_sample"])
        w = r["warmup"]
        print("    warm-up: %d requests, errors: connect %d, read %d,"
              " write %d, timeout %d, non-2xx/3xx %d,"
              " failed call in the body %d"
              % (w["requests"], w["connect"], w["read"], w["write"],
                 w["timeout"], w["non2xx"], w["bad"]))
        if w["bad_sample"]:
            print("      e.g. " + w["bad_sample"])
        p = r["probe"]
        print("    probe alongside wrk, %d requests (%d errors), p50 ms:"
              " latency %s, Server-Timing total %s, largest call %s"
              % (len(p.lat), p.errors, fmt(percentile(p.lat, 50)),
                 fmt(percentile(p.total, 50)), fmt(percentile(p.call, 50))))
        print("    ActiveOpens +%d, wrk's and probe's share %d, upstream %d"
              " (machine-wide)"
              % (r["opens_total"], r["opens_total"] - r["opens_upstream"],
                 r["opens_upstream"]))
        seen = ["pid %d: +%d conns for +%d calls"
                % (pid, r["app_opens"][pid], r["app_calls"][pid])
                for pid in sorted(r["app_opens"])]
        seen += ["pid %d: idle (no CPU used)" % pid
                 for pid in r["idle_workers"]]
        seen = ", ".join(seen)
        print("    app's own conns_opened (/_/stats), %d of %d workers"
              " accounted for: %s"
              % (len(r["app_opens"]) + len(r["idle_workers"]),
                 r["app_workers"], seen or "n/a"))
        for pid in sorted(r["app_after"]):
            st = r["app_after"][pid]
            print("      pid %d after: fanouts_live %d, calls_live %d,"
                  " calls_detached %d, peak_in_flight %d"
                  % (pid, st.get("fanouts_live", -1),
                     st.get("calls_live", -1), st.get("calls_detached", -1),
                     st.get("peak_in_flight", -1)))
        split = r["cpu_split"]
        per = ", ".join("%s %d %.2f s" % ("parent" if pid == r["app_parent"]
                                          else "worker", pid, secs)
                        for pid, secs in sorted(r["app_cpu"].items()))
        print("    CPU over %.1f s: machine %.0f%% busy of %d CPUs; app %.2f s"
              " (%s); simulator %.2f s; wrk %.2f s"
              % (split["wall"], split["machine"], os.cpu_count() or 1,
                 split["app"], per, split["sim"], split["wrk"]))


# ---------------------------------------------------------------- nginx peer

# nginx's own fan-out beside the app, against the same upstream: (calls,
# connections) per case.  The 50-connection case is there for the app's
# per-worker split, which a light load shows best.
PEER_CASES = [(2, 50), (2, 200), (2, 1000), (10, 200)]
PEER_WORKERS = 2
PEER_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "nginx-fanout.conf")
# The app's per-worker counter the split is taken from: every fan-out
# starts its k calls on the worker that serves it, and /_/stats starts none.
SPLIT_COUNTER = "calls_started"
SPLIT_LOW, SPLIT_HIGH = 0.75, 1.25

# nginx answers 200 whatever its subrequests got (their bodies are
# concatenated): a body without one upstream answer per call is an error.
PEER_LUA = WRK_LUA_THREADS + """
function init(args) want = tonumber(args[1]) or 1; bad = 0; sample = "" end
function response(status, headers, body)
  if status == 200 then
    local n = 0
    for _ in string.gmatch(body, "delay_ms") do n = n + 1 end
    if n ~= want then
      bad = bad + 1
      if sample == "" then sample = string.sub(body, 1, 200) end
    end
  end
end
""" + WRK_LUA_DONE


def peer_conf(tmp, port, upstream_port):
    with open(PEER_CONF) as f:
        text = f.read()
    for name, value in (("ECHO_MODULE", NGINX_ECHO), ("TMP", tmp),
                        ("PORT", port), ("UPSTREAM_PORT", upstream_port),
                        ("DELAY_MS", DELAY_MS)):
        text = text.replace("@%s@" % name, str(value))
    path = os.path.join(tmp, "nginx-fanout.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def wrk_errors(r):
    return (r["connect"] + r["read"] + r["write"] + r["timeout"]
            + r["non2xx"] + r["bad"])


def measure(wrk, script, url, conns, warmup, duration, server, servers,
            script_args=(), stats=None, keep=None):
    """A warm-up wrk run at the measured concurrency, then the measured
    one: wrk's figures, the server's CPU (all its processes) and, with
    stats, each app worker's share of SPLIT_COUNTER.  keep is a
    WorkerStats whose connections are kept from Kore's idle timeout
    meanwhile (the app's, while nginx runs)."""
    nworkers = len(children(server.proc.pid))

    def warming(until):
        if stats is not None:
            stats.discover(nworkers, until)
        (stats or keep).keep_alive(until)

    warm = run_wrk(wrk, script, url, conns, warmup, meanwhile=warming,
                   script_args=script_args)[1]
    check_servers(servers)
    time.sleep(0.5)     # let the warm-up's in-flight requests finish
    ws0 = stats.snapshot() if stats else {}
    cpu0 = server.cpu()
    argv, out = run_wrk(wrk, script, url, conns, duration,
                        meanwhile=(stats or keep).keep_alive,
                        script_args=script_args)
    cpu1 = server.cpu()
    time.sleep(0.5)
    ws1 = stats.snapshot() if stats else {}
    check_servers(servers)

    r = parse_wrk(out)
    r["warmup"] = parse_wrk(warm)
    r["argv"] = " ".join(argv)
    r["errors"] = wrk_errors(r)
    r["cpu_s"] = cpu_delta(cpu0, cpu1)
    r["cpu_per_1k"] = (sum(r["cpu_s"].values()) * 1000.0 / r["requests"]
                       if r["requests"] else None)
    if stats is None:
        return r
    # A worker /_/stats never reached counts as having served nothing if
    # it used (next to) no CPU; otherwise the split is incomplete.
    r["split"] = {}
    complete = True
    for pid in children(server.proc.pid):
        if pid in ws0 and pid in ws1:
            r["split"][pid] = (ws1[pid].get(SPLIT_COUNTER, 0)
                               - ws0[pid].get(SPLIT_COUNTER, 0))
        elif r["cpu_s"].get(pid, 0.0) < 0.05:
            r["split"][pid] = 0
        else:
            r["split"][pid] = None
            complete = False
    total = sum(v for v in r["split"].values() if v)
    r["shares"] = ({pid: v / total for pid, v in r["split"].items()}
                   if complete and total else None)
    return r


def split_ok(r):
    """Every worker within SPLIT_LOW/W .. SPLIT_HIGH/W, or None."""
    shares = r.get("shares")
    if not shares:
        return None
    w = len(shares)
    return all(SPLIT_LOW / w <= s <= SPLIT_HIGH / w for s in shares.values())


def run_peer(wrk, app_script, peer_script, app, peer, app_port, peer_port,
             servers, warmup, duration):
    stats = WorkerStats(app_port)
    cases = []
    try:
        for k, conns in PEER_CASES:
            app_url = ("http://127.0.0.1:%d/async_get_data?calls=%d&delay=%d"
                       % (app_port, k, DELAY_MS))
            peer_url = ("http://127.0.0.1:%d/fanout?calls=%s"
                        % (peer_port, ",".join(str(i + 1)
                                               for i in range(k))))
            print("  k=%d -c%d: app, then nginx (%d s warm-up, %d s"
                  " measured, each)" % (k, conns, warmup, duration),
                  flush=True)
            a = measure(wrk, app_script, app_url, conns, warmup, duration,
                        app, servers, stats=stats)
            n = measure(wrk, peer_script, peer_url, conns, warmup, duration,
                        peer, servers, script_args=(k,), keep=stats)
            cases.append({"k": k, "conns": conns, "app": a, "nginx": n})
    finally:
        stats.close()
    return cases


def ratio(a, b):
    return a / b if a is not None and b else None


def print_peer(cases, warmup, duration):
    print()
    print("App vs nginx's fan-out (echo_location_async + keep-alive"
          " proxy_pass, %d workers each),"
          % PEER_WORKERS)
    print("same upstream, calls of %d ms; wrk %d s per run after a %d s"
          " warm-up at the same concurrency" % (DELAY_MS, duration, warmup))
    print("%3s %5s | %8s %8s | %7s %7s | %7s %7s | %5s %5s | %5s %5s %5s"
          % ("k", "conns", "app r/s", "ngx r/s", "app CPU", "ngx CPU",
             "app p99", "ngx p99", "app", "ngx", "CPU", "r/s", "p99"))
    print("%3s %5s | %8s %8s | %7s %7s | %7s %7s | %5s %5s | %5s %5s %5s"
          % ("", "", "", "", "s/1k", "s/1k", "ms", "ms", "errs", "errs",
             "x", "x", "x"))
    print("-" * 98)
    for c in cases:
        a, n = c["app"], c["nginx"]
        print("%3d %5d | %8s %8s | %7s %7s | %7s %7s | %5d %5d | %5s %5s %5s"
              % (c["k"], c["conns"], fmt(a["rps"], 0), fmt(n["rps"], 0),
                 fmt(a["cpu_per_1k"], 3), fmt(n["cpu_per_1k"], 3),
                 fmt(a["p99"]), fmt(n["p99"]), a["errors"], n["errors"],
                 fmt(ratio(a["cpu_per_1k"], n["cpu_per_1k"]), 2),
                 fmt(ratio(a["rps"], n["rps"]), 2),
                 fmt(ratio(a["p99"], n["p99"]), 2)))
    print("  CPU s/1k = CPU seconds (app: parent + workers; nginx: master +"
          " workers) per 1000 requests")
    print("  x        = app / nginx (CPU per request, requests/s, p99)")
    print()
    print("App's per-worker split (%s per worker, /_/stats; target each"
          " within %.2f/W .. %.2f/W)" % (SPLIT_COUNTER, SPLIT_LOW, SPLIT_HIGH))
    for c in cases:
        a = c["app"]
        parts = []
        for pid in sorted(a["split"]):
            v = a["split"][pid]
            share = a["shares"][pid] if a["shares"] else None
            parts.append("pid %d %s (%s%%)"
                         % (pid, "?" if v is None else v,
                            fmt(None if share is None else 100 * share)))
        ok = split_ok(a)
        print("  %-4s k=%d -c%-5d %s" % ("n/a" if ok is None else
                                         "PASS" if ok else "MISS",
                                         c["k"], c["conns"], ", ".join(parts)))
    for c in cases:
        for side in ("app", "nginx"):
            r = c[side]
            if r["errors"] or wrk_errors(r["warmup"]):
                print("  k=%d -c%d %s errors: connect %d, read %d, write %d,"
                      " timeout %d, non-2xx/3xx %d, bad body %d (warm-up %d)"
                      % (c["k"], c["conns"], side, r["connect"], r["read"],
                         r["write"], r["timeout"], r["non2xx"], r["bad"],
                         wrk_errors(r["warmup"])))
                if r["bad_sample"]:
                    print("      e.g. " + r["bad_sample"])


def peer_checks(cases):
    checks = []
    by = {(c["k"], c["conns"]): c for c in cases}
    for key in ((2, 1000), (10, 200)):
        c = by.get(key)
        if c is None:
            continue
        x = ratio(c["app"]["cpu_per_1k"], c["nginx"]["cpu_per_1k"])
        checks.append(("app CPU/request <= 1.5x nginx, k=%d -c%d" % key,
                       x is not None and x <= 1.5, "%sx" % fmt(x, 2)))
    c = by.get((2, 1000))
    if c is not None:
        x = ratio(c["app"]["rps"], c["nginx"]["rps"])
        checks.append(("app req/s >= 0.9x nginx, k=2 -c1000, no errors",
                       x is not None and x >= 0.9
                       and c["app"]["errors"] == 0,
                       "%sx, %d errors (nginx %d)"
                       % (fmt(x, 2), c["app"]["errors"],
                          c["nginx"]["errors"])))
    for key in ((2, 200), (2, 1000), (10, 200)):
        c = by.get(key)
        if c is None:
            continue
        a, n = c["app"]["p99"], c["nginx"]["p99"]
        checks.append(("app p99 <= nginx p99 + 20%%, k=%d -c%d" % key,
                       a is not None and n is not None and a <= n * 1.2,
                       "%s vs %s ms" % (fmt(a), fmt(n))))
    for c in cases:
        ok = split_ok(c["app"])
        checks.append(("every worker within %.2f-%.2f/W, k=%d -c%d"
                       % (SPLIT_LOW, SPLIT_HIGH, c["k"], c["conns"]),
                       bool(ok), "n/a (split incomplete)" if ok is None
                       else "shares " + ", ".join(
                           "%.0f%%" % (100 * s) for s in
                           sorted(c["app"]["shares"].values()))))
    return checks


# ---------------------------------------------------------------- memory

def proc_status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_memory(server, port, servers, clients, calls, delay_ms):
    """clients concurrent /async_get_data?calls=calls&delay=delay_ms on a
    one-worker app: the worker's VmRSS before and at the peak, and the
    calls in flight then."""
    server.start()
    servers.append(server)
    wait_ready(server, port, "/_/stats")
    workers = children(server.proc.pid)
    if len(workers) != 1:
        raise BenchError("memory app: %d workers, expected 1" % len(workers))
    wpid = workers[0]
    small = "/async_get_data?calls=10&delay=%d" % DELAY_MS
    for _ in range(3):
        get_once(port, small, timeout=5.0)
    time.sleep(0.5)
    caps = get_json(port, "/_/stats") or {}
    rss0 = proc_status_kb(wpid, "VmRSS")

    path = "/async_get_data?calls=%d&delay=%d" % (calls, delay_ms)
    answers = []

    def client():
        r = get_once(port, path, timeout=delay_ms / 1000.0 * 3 + 20)
        ok = False
        if r is not None and r[0] == 200:
            try:
                ok = all_200(json.loads(r[1]), calls)
            except ValueError:
                pass
        answers.append(ok)

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(clients)]
    # Spread the clients over a second: the calls all overlap anyway
    # (delay_ms >> 1 s) and the upstream's accept queue keeps up.
    for t in threads:
        t.start()
        time.sleep(1.0 / clients)
    peak = {"rss": rss0, "in_flight": 0}
    while any(t.is_alive() for t in threads):
        rss = proc_status_kb(wpid, "VmRSS")
        st = get_json(port, "/_/stats")
        if rss is not None and rss > peak["rss"]:
            peak["rss"] = rss
            peak["in_flight"] = st.get("in_flight", 0) if st else None
        time.sleep(0.1)
    for t in threads:
        t.join()
    st = get_json(port, "/_/stats") or {}
    check_servers(servers)
    m = {"clients": clients, "calls": calls, "delay": delay_ms,
         "argv": " ".join(server.argv), "rss0": rss0, "rss": peak["rss"],
         "rss_in_flight": peak["in_flight"],
         "hwm": proc_status_kb(wpid, "VmHWM"),
         "peak_in_flight": st.get("peak_in_flight", 0),
         "max_inflight": caps.get("max_inflight"),
         "file_limit": caps.get("file_limit"),
         "ok": sum(answers), "refused": st.get("refused", 0)}
    m["kb_per_call"] = ((m["rss"] - rss0) / m["peak_in_flight"]
                        if rss0 is not None and m["peak_in_flight"] else None)
    server.stop()
    servers.remove(server)
    return m


def print_memory(m):
    print()
    print("Memory: %d concurrent /async_get_data?calls=%d&delay=%d on one"
          " worker" % (m["clients"], m["calls"], m["delay"]))
    print("  %s" % m["argv"])
    print("  caps: max_inflight %s, file_limit %s; %d of %d answers with"
          " every call 200, refused %s"
          % (m["max_inflight"], m["file_limit"], m["ok"], m["clients"],
             m["refused"]))
    print("  worker VmRSS %d KB before, %d KB at the peak (%s calls in"
          " flight at that sample; VmHWM %s KB); peak_in_flight %d"
          % (m["rss0"] or 0, m["rss"] or 0, m["rss_in_flight"], m["hwm"],
             m["peak_in_flight"]))
    print("  %s KB per call in flight ((peak RSS - before) /"
          " peak_in_flight)" % fmt(m["kb_per_call"], 1))


def memory_checks(m):
    detail = "%s KB at %d calls in flight" % (fmt(m["kb_per_call"], 1),
                                              m["peak_in_flight"])
    if m["peak_in_flight"] < 10000:
        detail += " (short of 10000)"
    return [("<= 16 KB RSS per call in flight",
             m["kb_per_call"] is not None and m["kb_per_call"] <= 16.0
             and m["ok"] == m["clients"], detail)]


# ---------------------------------------------------------------- cold start

COLD_CALLS, COLD_CONNECTIONS = 2, 1000
MEMORY_DELAY_MS = 3000
SECTIONS = ("latency", "load", "peer", "memory", "cold")


def run_cold(wrk, script, server, port, servers, duration):
    """A fresh app hit by COLD_CONNECTIONS at once: its first duration
    seconds, then as long again warm."""
    server.start()
    servers.append(server)
    wait_ready(server, port, "/_/stats")
    url = ("http://127.0.0.1:%d/async_get_data?calls=%d&delay=%d"
           % (port, COLD_CALLS, DELAY_MS))
    c = {"argv": " ".join(server.argv), "duration": duration}
    c["cold"] = parse_wrk(run_wrk(wrk, script, url, COLD_CONNECTIONS,
                                  duration)[1])
    check_servers(servers)
    c["warm"] = parse_wrk(run_wrk(wrk, script, url, COLD_CONNECTIONS,
                                  duration)[1])
    check_servers(servers)
    for key in ("cold", "warm"):
        c[key]["errors"] = wrk_errors(c[key])
    c["ratio"] = ratio(c["cold"]["rps"], c["warm"]["rps"])
    server.stop()
    servers.remove(server)
    return c


def print_cold(c, duration):
    print()
    print("Cold start: a fresh app, wrk -c%d on /async_get_data?calls=%d"
          "&delay=%d at once" % (COLD_CONNECTIONS, COLD_CALLS, DELAY_MS))
    print("  %s" % c["argv"])
    for key, what in (("cold", "first %d s" % duration),
                      ("warm", "next %d s" % duration)):
        r = c[key]
        print("  %-11s %8s req/s, p99 %s ms, %d errors"
              % (what, fmt(r["rps"], 0), fmt(r["p99"]), r["errors"]))
    print("  cold / warm: %s" % fmt(c["ratio"], 2))


def cold_checks(c):
    return [("cold start: first %d s >= 0.9x warm req/s" % c["duration"],
             c["ratio"] is not None and c["ratio"] >= 0.9,
             "%sx, %d errors cold" % (fmt(c["ratio"], 2),
                                      c["cold"]["errors"]))]


# ---------------------------------------------------------------- targets

def print_targets(rows, load, more=()):
    print()
    print("Targets")
    checks = []

    k10 = next((r for r in rows if r["k"] == 10), None)
    if k10 is not None:
        a = k10["async_get_data"]
        ovh = percentile(a["over"], 50)
        checks.append(("async overhead p50 <= 1 ms at k=10",
                       ovh is not None and ovh <= 1.0,
                       "%s ms over the slowest call (engine %s ms; the "
                       "call itself ran %s ms over %d)"
                       % (fmt(ovh, 2), fmt(percentile(a["engine"], 50), 2),
                          fmt(percentile(a["call"], 50), 2), DELAY_MS)))

    r1000 = next((r for r in load if r["conns"] == 1000), None)
    if r1000 is not None:
        checks.append((">= 90% of ideal req/s at 1000 conns, no errors",
                       r1000["pct"] is not None and r1000["pct"] >= 90.0
                       and r1000["errors"] == 0,
                       "%s%%, %d errors" % (fmt(r1000["pct"]),
                                            r1000["errors"])))

    if load:
        worst = max(load, key=lambda r: r["opens_per_1k"] or 0.0)
        own = [r["own_per_1k"] for r in load if r["own_per_1k"] is not None]
        checks.append(("<= 10 new upstream conns per 1000 calls (warm)",
                       (worst["opens_per_1k"] or 0.0) <= 10.0,
                       "worst %s at -c%d (machine-wide; app's own count:"
                       " worst %s)"
                       % (fmt(worst["opens_per_1k"], 2), worst["conns"],
                          fmt(max(own), 2) if own else "n/a")))

    checks.extend(more)
    for name, ok, detail in checks:
        print("  %-4s %-48s %s" % ("PASS" if ok else "MISS", name, detail))


# ---------------------------------------------------------------- main

def raise_nofile():
    """wrk at 1000 connections needs more than the usual 1024 files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def binary_help(binary):
    try:
        p = subprocess.run([binary, "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return p.stdout.decode("utf-8", "replace")


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


# The upstream as Debian's nginx with its echo module: one worker, like the
# simulator, answering /delay/<DELAY_MS>/ after DELAY_MS without blocking
# (and /delay/<MEMORY_DELAY_MS>/ for the memory run, whose thousands of
# connections arrive at once: hence the longer accept queue).
NGINX_ECHO = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
NGINX_CONF = """load_module %(module)s;
worker_processes 1;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/nginx-error.log;
events { worker_connections 16384; }
http {
	access_log off;
	client_body_temp_path %(tmp)s/body;
	proxy_temp_path %(tmp)s/proxy;
	fastcgi_temp_path %(tmp)s/fastcgi;
	uwsgi_temp_path %(tmp)s/uwsgi;
	scgi_temp_path %(tmp)s/scgi;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:%(port)d backlog=4096;
		default_type application/json;
		location = /delay/%(delay)d/ {
			echo_sleep %(secs).3f;
			echo '{"delay_ms": %(delay)d}';
		}
		location = /delay/%(mem_delay)d/ {
			echo_sleep %(mem_secs).3f;
			echo '{"delay_ms": %(mem_delay)d}';
		}
		location = /_/stats {
			return 200 '{}';
		}
	}
}
"""


def main():
    ap = argparse.ArgumentParser(
        description="Benchmark kore-fanout (sync vs async fan-out).")
    ap.add_argument("--bin", default="build/fanout",
                    help="fanout binary (default: build/fanout)")
    ap.add_argument("--requests", type=int, default=50,
                    help="measured requests per latency series (default 50)")
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds per measured wrk run (default 10)")
    ap.add_argument("--quick", action="store_true",
                    help="10 sync requests per series, skip sync at k=50")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    ap.add_argument("--curl", default=shutil.which("curl") or "/usr/bin/curl",
                    help="curl, the latency runs' client")
    ap.add_argument("--peer-warmup", type=int, default=3,
                    help="seconds of warm-up before each app/nginx run"
                    " (default 3; --quick 1)")
    ap.add_argument("--peer-duration", type=int, default=8,
                    help="seconds per measured app/nginx run (default 8;"
                    " --quick 3)")
    ap.add_argument("--cold-duration", type=int, default=10,
                    help="seconds of the cold-start run and of the warm run"
                    " after it (default 10; --quick 3)")
    ap.add_argument("--memory-clients", type=int, default=100,
                    help="concurrent requests of the memory run (default"
                    " 100; --quick 20)")
    ap.add_argument("--memory-calls", type=int, default=100,
                    help="upstream calls per request of the memory run"
                    " (default 100)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help="comma-separated, of %s (default: all)"
                    % ",".join(SECTIONS))
    ap.add_argument("--keep-logs", action="store_true",
                    help="keep the temp dir with the server logs")
    ap.add_argument("--upstream-server", default="auto",
                    choices=("auto", "nginx", "simulator"),
                    help="what serves /delay/100/: Debian's nginx with its "
                    "echo module, or the project's simulator (default: "
                    "nginx when the echo module is installed)")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    if not sections <= set(SECTIONS):
        ap.error("--sections: unknown %s"
                 % ",".join(sorted(sections - set(SECTIONS))))
    if args.quick:
        args.peer_warmup = min(args.peer_warmup, 1)
        args.peer_duration = min(args.peer_duration, 3)
        args.cold_duration = min(args.cold_duration, 3)
        args.memory_clients = min(args.memory_clients, 20)

    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print("bench: %s is not executable (run `make build`)" % binary,
              file=sys.stderr)
        return 2
    if not os.access(args.curl, os.X_OK):
        print("bench: curl not found (install the curl package)",
              file=sys.stderr)
        return 2
    if not os.access(args.wrk, os.X_OK):
        print("bench: wrk not found (install the wrk package)",
              file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, on_sigterm)
    nofile = raise_nofile()
    tmp = tempfile.mkdtemp(prefix="fanout-bench-")
    script = os.path.join(tmp, "check.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA)
    peer_script = os.path.join(tmp, "check-peer.lua")
    with open(peer_script, "w") as f:
        f.write(PEER_LUA)
    sim_port = free_port()
    app_port = free_port()
    while app_port == sim_port:
        app_port = free_port()

    use_nginx = (args.upstream_server == "nginx" or
                 (args.upstream_server == "auto" and
                  os.path.exists(NGINX_ECHO) and shutil.which("nginx")))
    if use_nginx:
        if not os.path.exists(NGINX_ECHO):
            print("bench: %s is missing (install libnginx-mod-http-echo)"
                  % NGINX_ECHO, file=sys.stderr)
            return 2
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"module": NGINX_ECHO, "tmp": tmp,
                                  "port": sim_port, "delay": DELAY_MS,
                                  "secs": DELAY_MS / 1000.0,
                                  "mem_delay": MEMORY_DELAY_MS,
                                  "mem_secs": MEMORY_DELAY_MS / 1000.0})
        sim = Server("nginx", [shutil.which("nginx") or "/usr/sbin/nginx",
                               "-c", conf, "-p", tmp, "-g", "daemon off;"],
                     tmp)
    else:
        sim = Server("simulator", [
            binary, "--simulator", "-fnr", "--port", str(sim_port),
            "--workers", "1", "--pidfile", os.path.join(tmp, "sim.pid")],
            tmp)
    upstream = "http://127.0.0.1:%d" % sim_port
    # Builds with more pages (xkcd, ...) need each page's upstream too when
    # no embedded simulator runs; ours serves them all (the bench does not
    # call those pages), so pass it for every --*-upstream the build lists.
    page_upstreams = sorted(set(re.findall(
        r"^\s*(--[a-z0-9-]+-upstream)\s", binary_help(binary), re.M)))

    def app_server(name, port, extra):
        argv = [binary, "-fnr", "--port", str(port),
                "--upstream", upstream, "--sim-port", "0"] + extra
        for flag in page_upstreams:
            argv += [flag, upstream]
        argv += ["--pidfile", os.path.join(tmp, name + ".pid")]
        return Server(name, argv, tmp)

    app = app_server("app", app_port, ["--fanout-limit", "50",
                                       "--max-calls", "100"])
    servers = [sim, app]

    sync_requests = 10 if args.quick else args.requests
    status = 0
    started = time.monotonic()
    try:
        print("kore-fanout bench (%s mode), logs in %s"
              % ("quick" if args.quick else "full", tmp))
        print("  binary:    %s (modified %s)" % (binary, time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(os.stat(binary).st_mtime))))
        print("  upstream:  " + " ".join(sim.argv))
        print("  app:       " + " ".join(app.argv))
        print("  %d CPUs, RLIMIT_NOFILE %d/%d, load average %s"
              % (os.cpu_count() or 0, nofile[0], nofile[1], loadavg()))
        sim.start()
        wait_ready(sim, sim_port, "/_/stats")
        app.start()
        wait_ready(app, app_port, "/_/stats")
        check_servers(servers)
        print("  app workers: %s" % (children(app.proc.pid) or "none seen"))

        rows, load, more = [], [], []
        if "latency" in sections:
            print()
            print("Latency runs (%d async / %d sync requests per k, after %d"
                  " warm-ups)"
                  % (args.requests, sync_requests, WARMUP_REQUESTS))
            rows = run_latency(app_port, servers, sync_requests,
                               args.requests, args.quick, args.curl)

        if "load" in sections:
            print()
            print("Load runs")
            path, load = run_load(args.wrk, script, app, sim, app_port,
                                  sim_port, servers, args.duration)

        cases = None
        if "peer" in sections:
            print()
            print("App vs nginx runs (fresh processes, %d workers each)"
                  % PEER_WORKERS)
            peer_port, cmp_port = free_port(), free_port()
            peer = Server("nginx-fanout", [
                shutil.which("nginx") or "/usr/sbin/nginx",
                "-c", peer_conf(tmp, peer_port, sim_port), "-p", tmp,
                "-g", "daemon off;"], tmp)
            cmp_app = app_server("app-peer", cmp_port, [
                "--workers", str(PEER_WORKERS), "--fanout-limit", "50",
                "--max-calls", "100"])
            for s in (peer, cmp_app):
                s.start()
                servers.append(s)
            wait_ready(peer, peer_port, "/_/stats")
            wait_ready(cmp_app, cmp_port, "/_/stats")
            cases = run_peer(args.wrk, script, peer_script, cmp_app, peer,
                             cmp_port, peer_port, servers, args.peer_warmup,
                             args.peer_duration)
            for s in (cmp_app, peer):
                s.stop()
                servers.remove(s)
            more += peer_checks(cases)

        mem = None
        if "memory" in sections:
            print()
            print("Memory run: %d x %d calls in flight on one worker"
                  % (args.memory_clients, args.memory_calls), flush=True)
            mem_port = free_port()
            calls = args.memory_clients * args.memory_calls
            mem = run_memory(app_server("app-memory", mem_port, [
                "--workers", "1",
                "--fanout-limit", str(args.memory_calls),
                "--max-calls", str(args.memory_calls),
                "--max-connections", str(args.memory_clients + 100),
                "--max-inflight", str(calls + 100),
                "--max-fanouts", str(args.memory_clients + 100)]),
                mem_port, servers, args.memory_clients, args.memory_calls,
                MEMORY_DELAY_MS)
            more += memory_checks(mem)

        cold = None
        if "cold" in sections:
            print()
            print("Cold start run: %d s cold, %d s warm"
                  % (args.cold_duration, args.cold_duration), flush=True)
            cold_port = free_port()
            cold = run_cold(args.wrk, script, app_server(
                "app-cold", cold_port, ["--workers", str(PEER_WORKERS),
                                        "--fanout-limit", "50",
                                        "--max-calls", "100"]),
                cold_port, servers, args.cold_duration)
            more += cold_checks(cold)

        if rows:
            print_latency(rows)
        if load:
            print_load(path, load, args.duration)
        if cases:
            print_peer(cases, args.peer_warmup, args.peer_duration)
        if mem:
            print_memory(mem)
        if cold:
            print_cold(cold, args.cold_duration)
        print_targets(rows, load, more)
        check_servers(servers)
        print()
        print("Done in %.0f s (load average %s)."
              % (time.monotonic() - started, loadavg()))
    except BenchError as e:
        status = 1
        print()
        print("bench: server failure:\n" + str(e), file=sys.stderr)
        for s in servers:
            print("---- %s log tail (%s) ----" % (s.name, s.log_path),
                  file=sys.stderr)
            print(s.tail(), file=sys.stderr)
    except KeyboardInterrupt:
        status = 130
        print("\nbench: interrupted", file=sys.stderr)
    finally:
        for s in reversed(servers):
            s.stop()
        if status == 0 and not args.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("bench: logs kept in " + tmp, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
