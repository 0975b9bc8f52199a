"""Helpers for the black-box tests: start the real binary on free loopback
ports, talk HTTP to it, read its log.  Python standard library only."""

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

LOGDIR = tempfile.mkdtemp(prefix="fanout-tests-")


class TestFailure(AssertionError):
    pass


def run_to_exit(argv, env=None, timeout=10):
    """Run a command expected to exit (a start-up that must fail).  If it is
    still running at the timeout its whole process group is killed (a Kore
    parent killed alone leaves its workers behind) and the returned
    CompletedProcess has returncode None."""
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        code = None
        err += "\n[still running after %d s: killed]" % timeout
    return subprocess.CompletedProcess(argv, code, out, err)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Server:
    """One process of the binary (app or simulator role)."""

    count = 0

    def __init__(self, binary, args, env=None, name="app", wait=True,
                 port=None, flags="-fnr", nofile=None):
        Server.count += 1
        self.port = port or free_port()
        self.name = name
        self.logpath = os.path.join(LOGDIR, "%s-%d.log" % (name, Server.count))
        self.args = [binary, flags, "--port", str(self.port),
                     "--pidfile", os.path.join(LOGDIR, "%s-%d.pid" %
                                               (name, Server.count))] + args
        full_env = dict(os.environ)
        full_env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        if env:
            full_env.update(env)
        self.log = open(self.logpath, "wb")

        def limit():
            # A file limit of its own (soft and hard), e.g. a lowered one.
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(self.args, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True,
                                     preexec_fn=limit if nofile else None)
        if wait and not wait_port(self.port, proc=self.proc):
            self.stop()
            raise TestFailure("%s did not start: %s" % (name, self.logtail()))
        # Workers log "worker N started" once they accept: wait for every
        # one of them (a test that reads pids must see them all).
        if wait:
            want = self.workers_configured(args, env)
            end = time.monotonic() + 10
            while (time.monotonic() < end and
                   len(self.worker_pids()) < want):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)

    @staticmethod
    def workers_configured(args, env):
        """The worker count these arguments start: --workers, else
        FANOUT_WORKERS, else Kore's default of one per CPU."""
        n = (env or {}).get("FANOUT_WORKERS", os.environ.get(
            "FANOUT_WORKERS", "0"))
        for i, a in enumerate(args):
            if a == "--workers" and i + 1 < len(args):
                n = args[i + 1]
            elif a.startswith("--workers="):
                n = a.split("=", 1)[1]
        try:
            n = int(n)
        except ValueError:
            return 1
        return n if n > 0 else (os.cpu_count() or 1)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def logtext(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def logtail(self, n=15):
        return "\n".join(self.logtext().splitlines()[-n:])

    def worker_pids(self):
        return re.findall(r"worker \d+ started \(cpu#\d+, pid#(\d+)\)",
                          self.logtext())

    def crashes(self):
        bad = []
        if getattr(self, "stragglers", False):
            bad.append("processes outlived the parent after SIGTERM")
        for line in self.logtext().splitlines():
            low = line.lower()
            if ("fatal" in low or "exited with status" in low or
                    "sandbox violation" in low or
                    "addresssanitizer" in low or "runtime error:" in low):
                bad.append(line)
        return bad

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Anything left in the group (a worker that outlived its parent,
        # the embedded simulator) goes too; a test reports it as a crash.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.stragglers = True
        except ProcessLookupError:
            pass
        if not self.log.closed:
            self.log.close()


def request(port, path, method="GET", timeout=30, headers=None, body=None):
    """One request on a fresh connection: (status, headers dict, body str,
    seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        elapsed = time.monotonic() - t0
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, data.decode("utf-8", "replace"), elapsed
    finally:
        conn.close()


def responses(body):
    """The blog's part of a /get_data answer: its response_N members in
    call order, without the envelope around them (README "Pages")."""
    d = json.loads(body)
    n = sum(1 for k in d if re.fullmatch(r"response_[1-9][0-9]*", k))
    return {"response_%d" % i: d["response_%d" % i] for i in range(1, n + 1)}


def at_once(fn, n, timeout=30):
    """fn(i) for i in 0..n-1, each in a thread of its own, all at once:
    the results in order (None where one did not return in time)."""
    import threading
    out = [None] * n

    def one(i):
        out[i] = fn(i)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    end = time.monotonic() + timeout
    for t in ts:
        t.join(max(0.1, end - time.monotonic()))
    return out


def parse_server_timing(value):
    """Parse a Server-Timing value into [(name, dur, desc)]."""
    out = []
    for entry in value.split(", "):
        parts = entry.split(";")
        name = parts[0]
        dur = None
        desc = None
        for p in parts[1:]:
            if p.startswith("dur="):
                dur = float(p[4:])
            elif p.startswith("desc="):
                check(p[5] == '"' and p[-1] == '"',
                      "desc not quoted in %r" % entry)
                desc = p[6:-1]
            else:
                raise TestFailure("unexpected param %r in %r" % (p, entry))
        check(re.match(r"^[a-z0-9]+$", name), "bad name %r" % name)
        check(dur is not None, "no dur in %r" % entry)
        out.append((name, dur, desc))
    return out


def chromium_dom(url, budget_ms=10000):
    """Load url in headless Chromium, let its scripts run (virtual time),
    and return the DOM as HTML."""
    import shutil
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    check(exe is not None, "chromium is not installed (make deps-test)")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=LOGDIR)
    p = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-quic", "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--user-data-dir=" + profile,
                        "--enable-logging=stderr", "--v=0",
                        "--virtual-time-budget=%d" % budget_ms,
                        "--dump-dom", url],
                       capture_output=True, text=True, timeout=90,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0, "chromium failed: %s" % p.stderr[-500:])
    # The page must satisfy its own Content-Security-Policy.
    csp = [line for line in p.stderr.splitlines()
           if "Content Security Policy" in line]
    check(not csp, "CSP violations: %s" % csp[:3])
    return p.stdout


class Browser:
    """Headless Chromium driven in real time through chromedriver's W3C
    WebDriver API (plain HTTP + JSON): for what virtual time would fake,
    such as how long a fetch takes."""

    def __init__(self):
        import shutil
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        drv = shutil.which("chromedriver")
        check(exe and drv, "chromium and chromedriver are needed "
              "(make deps-test)")
        self.port = free_port()
        self.proc = subprocess.Popen([drv, "--port=%d" % self.port],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        check(wait_port(self.port, proc=self.proc), "chromedriver did not "
              "start")
        profile = tempfile.mkdtemp(prefix="chromium-", dir=LOGDIR)
        args = ["--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile]
        v = self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": exe, "args": args}}}})
        self.session = v["sessionId"]

    def _call(self, method, path, body=None):
        import json
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body or {}),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = json.loads(resp.read() or b"{}")
        finally:
            conn.close()
        check(resp.status == 200, "webdriver %s %s: %d %r" %
              (method, path, resp.status, data))
        return data.get("value")

    def get(self, url):
        self._call("POST", "/session/%s/url" % self.session, {"url": url})

    def viewport(self, width, height=800):
        """A viewport width x height CSS px (Chrome's device emulation,
        not in mobile mode: a page wider than it overflows instead of
        being zoomed out to fit)."""
        self._call("POST", "/session/%s/goog/cdp/execute" % self.session,
                   {"cmd": "Emulation.setDeviceMetricsOverride",
                    "params": {"width": width, "height": height,
                               "deviceScaleFactor": 1, "mobile": False}})

    def script(self, js):
        return self._call("POST", "/session/%s/execute/sync" % self.session,
                          {"script": js, "args": []})

    def wait_for(self, js, timeout=30.0):
        """Poll js (a function body returning a value) until it is truthy."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = self.script(js)
            if v:
                return v
            time.sleep(0.1)
        check(False, "timed out waiting for %s" % js)

    def close(self):
        try:
            self._call("DELETE", "/session/%s" % self.session)
        except Exception:  # noqa: BLE001 (the driver goes anyway)
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


_PKI = {}


def abandon(port, path, after, rst):
    """Send a request for path, wait after seconds, then leave: a close,
    or a reset with rst."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        if after > 0:
            time.sleep(after)
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
    finally:
        s.close()


def abandon_all(port, jobs, threads):
    """abandon() each (path, after, rst) of jobs, threads at a time."""
    jobs = list(jobs)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not jobs:
                    return
                path, after, rst = jobs.pop()
            try:
                abandon(port, path, after, rst)
            except OSError:
                pass

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)


def storm(app, n, path_fn, threads=30):
    """n clients of app that leave at random moments (a third reset)."""
    rnd = random.Random(7)
    abandon_all(app.port, [(path_fn(i), rnd.choice([0, 0.001, 0.01, 0.03,
                                                    0.08, 0.15]),
                            i % 3 == 0) for i in range(n)], threads)


def wait_idle(app, timeout=5.0):
    """The answering worker's /_/stats once it has no fan-out, call or
    detached call left (or at the timeout)."""
    end = time.monotonic() + timeout
    while True:
        st = json.loads(request(app.port, "/_/stats")[2])
        if (st["fanouts_live"] == 0 and st["calls_live"] == 0 and
                st["calls_detached"] == 0) or time.monotonic() > end:
            return st
        time.sleep(0.05)


class NginxDeploy:
    """deploy/nginx.conf as shipped, on free loopback ports (TLS port and
    the HTTP redirect port), in front of two apps, in directory d (its
    logs and pid go there)."""

    def __init__(self, apps, d):
        self.dir = d
        p = pki()
        self.ca = p["ca"]
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        check(os.path.exists(nginx), "nginx is not installed "
              "(make deps-test)")
        self.port, self.http_port = free_port(), free_port()
        with open(os.path.join(os.path.dirname(__file__), "..", "deploy",
                               "nginx.conf")) as f:
            conf = f.read()
        conf = re.sub(r"^\s*listen\s+\[::\].*$", "", conf, flags=re.M)
        conf, n = re.subn(r"listen(\s+)443 ssl;",
                          r"listen\g<1>%d ssl;" % self.port, conf)
        check(n == 1, "deploy/nginx.conf: no 'listen 443 ssl'")
        conf, n = re.subn(r"listen(\s+)80;",
                          r"listen\g<1>%d;" % self.http_port, conf)
        check(n == 1, "deploy/nginx.conf: no 'listen 80'")
        for old, new in (("127.0.0.1:8001", "127.0.0.1:%d" % apps[0].port),
                         ("127.0.0.1:8002", "127.0.0.1:%d" % apps[1].port),
                         ("/etc/kore-fanout/tls/cert.pem", p["cert"]),
                         ("/etc/kore-fanout/tls/key.pem", p["key"]),
                         ("/run/nginx-kore-fanout.pid", d + "/nginx.pid"),
                         ("/var/log/nginx/", d + "/"),
                         ("worker_processes	auto;",
                          "worker_processes	2;")):
            check(old in conf, "deploy/nginx.conf lacks %r" % old)
            conf = conf.replace(old, new)
        path = os.path.join(d, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.stderr = os.path.join(d, "stderr")
        self.proc = subprocess.Popen([nginx, "-c", path, "-p", d, "-g",
                                      "daemon off;"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.stderr, "w"),
                                     start_new_session=True)
        if not wait_port(self.port, proc=self.proc):
            self.stop()
            check(False, "nginx did not start: %s" %
                  open(self.stderr).read()[-500:])

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)


def pki():
    """A test CA and a server certificate (localhost, upstream.test,
    127.0.0.1) signed by it, made once per run with openssl."""
    if _PKI:
        return _PKI
    d = os.path.join(LOGDIR, "pki")
    os.makedirs(d)

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                       capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=kore-fanout test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
        "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,DNS:upstream.test,"
                "IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "2",
        "-extfile", "ext.cnf")
    # A second, unrelated key: it does not match the certificate.
    run("genpkey", "-algorithm", "RSA", "-out", "other.key")
    os.chmod(d, 0o755)
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    _PKI.update({k: os.path.join(d, v) for k, v in
                 (("dir", "."), ("ca", "ca.pem"), ("cert", "cert.pem"),
                  ("key", "key.pem"), ("other", "other.key"))})
    _PKI["dir"] = d
    return _PKI


def https(port, path, cafile=None, method="GET", headers=None, host=None,
          timeout=30):
    """One HTTPS request: (status, headers, body)."""
    import ssl
    ctx = ssl.create_default_context(cafile=cafile)
    conn = http.client.HTTPSConnection(host or "127.0.0.1", port,
                                       context=ctx, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()
