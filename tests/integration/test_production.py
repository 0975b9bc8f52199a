"""Production: HTTPS with Kore's TLS, the redirect listener, security
headers, bad certificates, https upstreams and the CA bundle, signals,
chroot + runas + seccomp, nginx in front of two instances."""

import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time

from lib import (LOGDIR, NginxDeploy, Server, check, free_port, https,
                 pki, port_open, request, responses, run_to_exit, wait_port)

DEAD = "http://127.0.0.1:1"
ALL_UPSTREAMS = ["--sim-port", "0", "--upstream", DEAD, "--xkcd-upstream",
                 DEAD, "--analytics-upstream", DEAD, "--partner-upstream",
                 DEAD]
SECURITY = ("strict-transport-security", "x-content-type-options",
            "content-security-policy", "referrer-policy")


def tls_app(ctx, args=(), **kw):
    p = pki()
    return ctx.app(["--tls-cert", p["cert"], "--tls-key", p["key"]] +
                   list(args), **kw)


def test_https_serves_and_verifies(ctx):
    p = pki()
    app = tls_app(ctx)
    st, h, body = https(app.port, "/async_get_data?calls=2&delay=10",
                        cafile=p["ca"])
    check(st == 200 and responses(body) == {"response_1": 200,
                                            "response_2": 200},
          "%d %r" % (st, body))
    try:
        https(app.port, "/")
        check(False, "verification passed without the test CA")
    except ssl.SSLCertVerificationError:
        pass
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                          "%{http_code}", "--cacert", p["ca"],
                          "https://localhost:%d/" % app.port],
                         capture_output=True, text=True, timeout=30)
    check(out.stdout == "200", "curl --cacert: %r" % out.stdout)


test_https_serves_and_verifies.asan = True


def test_tls_first_connection_served(ctx):
    # The first clients of a fresh process connect while its workers are
    # still waiting for the certificate from Kore's key manager: they must
    # be served, not dropped mid-handshake (patches/0007).
    p = pki()
    for _ in range(4):
        app = tls_app(ctx, ["--workers", "2"], wait=False)
        check(wait_port(app.port, proc=app.proc), "no listener: %s" %
              app.logtail())
        st, _, body = https(app.port, "/async_get_data?calls=0",
                            cafile=p["ca"])
        check(st == 200 and body == "ok", "first request: %d %r" %
              (st, body))
        check("not yet complete" not in app.logtext(),
              "a connection was dropped before the certificate came: %s" %
              app.logtail())
        app.stop()


test_tls_first_connection_served.asan = True


def test_old_tls_refused(ctx):
    p = pki()
    app = tls_app(ctx)
    for proto in ("-tls1", "-tls1_1"):
        # SECLEVEL=0 so the client offers the old protocol: the refusal
        # must come from the server.
        out = subprocess.run(["openssl", "s_client", proto, "-cipher",
                              "DEFAULT:@SECLEVEL=0", "-CAfile", p["ca"],
                              "-connect", "127.0.0.1:%d" % app.port],
                             input="", capture_output=True, text=True,
                             timeout=30)
        text = out.stdout + out.stderr
        check(out.returncode != 0 and "protocol version" in text,
              "%s was not refused by the server: %s" % (proto, text[-300:]))
    for proto in ("-tls1_2", "-tls1_3"):
        out = subprocess.run(["openssl", "s_client", proto, "-CAfile",
                              p["ca"], "-connect",
                              "127.0.0.1:%d" % app.port],
                             input="", capture_output=True, text=True,
                             timeout=30)
        check("Verify return code: 0 (ok)" in out.stdout,
              "%s failed: %s" % (proto, out.stdout[-300:]))


def s_client(port, args):
    """openssl s_client against the app: (exit code, negotiated cipher or
    None, output)."""
    p = pki()
    out = subprocess.run(["openssl", "s_client"] + list(args) +
                         ["-CAfile", p["ca"], "-connect",
                          "127.0.0.1:%d" % port],
                         input="", capture_output=True, text=True,
                         timeout=30)
    m = re.search(r"Cipher is (\S+)", out.stdout)
    cipher = m.group(1) if m and m.group(1) != "(NONE)" else None
    return out.returncode, cipher, out.stdout + out.stderr


def test_tls12_ciphers_ecdhe_aead_only(ctx):
    app = tls_app(ctx)
    good = "ECDHE-RSA-AES128-GCM-SHA256"
    # The worker may need a moment for its TLS context: wait for one good
    # handshake before asserting refusals.
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if s_client(app.port, ["-tls1_2", "-cipher", good])[1] == good:
            break
        time.sleep(0.2)
    # SECLEVEL=0 so the client offers them: the refusal is the server's.
    for cipher in ("AES128-SHA", "AES128-GCM-SHA256",
                   "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384",
                   "DHE-RSA-AES128-GCM-SHA256", "ECDHE-ARIA128-GCM-SHA256",
                   "AES128-CCM8", "DHE-RSA-AES128-CCM8"):
        code, got, text = s_client(app.port, ["-tls1_2", "-cipher",
                                              cipher + ":@SECLEVEL=0"])
        check(got is None and "handshake failure" in text,
              "TLS 1.2 %s accepted: %s" % (cipher, got))
    for cipher in (good, "ECDHE-RSA-AES256-GCM-SHA384",
                   "ECDHE-RSA-CHACHA20-POLY1305"):
        code, got, text = s_client(app.port, ["-tls1_2", "-cipher", cipher])
        check(got == cipher and "Verify return code: 0 (ok)" in text,
              "TLS 1.2 %s refused: %s" % (cipher, text[-300:]))
    code, got, text = s_client(app.port, ["-tls1_3"])
    check(got is not None and got.startswith("TLS_") and
          "TLSv1.3" in text, "TLS 1.3: %s" % text[-300:])


def test_http_listener_redirects(ctx):
    httpport = free_port()
    app = tls_app(ctx, ["--http-port", str(httpport)])
    check(wait_port(httpport), "no redirect listener")
    st, h, body, _ = request(httpport, "/xkcd?ids=1")
    check(st == 301 and h.get("location") ==
          "https://127.0.0.1:%d/xkcd?ids=1" % app.port,
          "%d %r" % (st, h.get("location")))
    # RFC 6797: no HSTS over plain HTTP (Kore sent it on every listener).
    check("strict-transport-security" not in h, "HSTS over http: %r" % h)
    st, h, _, _ = request(httpport, "/api/stats", method="POST", body="x")
    check(st == 308, "POST redirect %d" % st)
    st, h, _, _ = request(httpport, "/", headers={"Host": "evil\"host"})
    check(st == 400, "bad Host: %d" % st)


def test_security_headers_everywhere(ctx):
    p = pki()
    app = tls_app(ctx, env={"FANOUT_PARTNER_KEY": "k"})
    for path in ("/", "/app.js", "/style.css", "/get_data?calls=0",
                 "/async_get_data?calls=x", "/xkcd?ids=1",
                 "/xkcd?ids=1&format=json", "/stats?products=p01",
                 "/api/stats?products=p01", "/vendor/jquery.min.js",
                 "/no/such/page", "/_/whoami"):
        st, h, _ = https(app.port, path, cafile=p["ca"])
        missing = [x for x in SECURITY if x not in h]
        check(not missing, "%s (%d) lacks %s" % (path, st, missing))
        check(h["x-content-type-options"] == "nosniff", path)
        csp = h["content-security-policy"]
        check("default-src 'self'" in csp and "script-src 'self'" in csp and
              "'unsafe-inline'" not in csp, "%s: CSP %r" % (path, csp))
    st, _, _ = https(app.port, "/no/such/page", cafile=p["ca"])
    check(st == 404, "404 page: %d" % st)
    # Plain HTTP (dev): the same headers but HSTS.
    app2 = ctx.app()
    st, h, _, _ = request(app2.port, "/")
    check("content-security-policy" in h and
          "strict-transport-security" not in h, "dev headers %r" % h)


def test_bad_certificates_stop_startup(ctx):
    p = pki()
    cases = [
        (["--tls-cert", "/nonexistent/cert.pem", "--tls-key", p["key"]],
         "/nonexistent/cert.pem"),
        (["--tls-cert", p["cert"], "--tls-key", p["other"]],
         "does not match"),
        (["--tls-cert", p["ca"].replace("ca.pem", "ext.cnf"), "--tls-key",
          p["key"]], "not a PEM certificate"),
        (["--tls-cert", p["cert"]], "--tls-key"),
        (["--http-port", "9"], "needs --tls-cert"),
    ]
    for args, word in cases:
        out = run_to_exit([ctx.bin, "-fnr", "--port", str(free_port())] +
                          ALL_UPSTREAMS + args, timeout=20)
        text = out.stdout + out.stderr
        check(out.returncode not in (0, None) and word in text,
              "%r: exit %d, %r" % (args, out.returncode, text[-300:]))


def test_https_upstream_and_ca_bundle(ctx):
    p = pki()
    tsim = ctx.server(["--simulator", "--workers", "1", "--tls-cert",
                       p["cert"], "--tls-key", p["key"]], name="sim-tls")
    base = "https://localhost:%d" % tsim.port
    app = ctx.app(["--upstream", base, "--xkcd-upstream",
                   base + "/lag/0/xkcd", "--ca-file", p["ca"]])
    st, _, body, _ = request(app.port, "/async_get_data?calls=2&delay=10")
    check(st == 200 and responses(body) == {"response_1": 200,
                                            "response_2": 200},
          "with the CA: %d %r" % (st, body))
    st, _, body, _ = request(app.port, "/xkcd?ids=1&format=json")
    check(st == 200 and json.loads(body)["comics"][0]["num"] == 1,
          "xkcd over https: %r" % body[:200])
    # TLS connections are kept and reused like plain ones.
    s0 = json.loads(request(app.port, "/_/stats")[2])
    for _ in range(5):
        st, _, body, _ = request(app.port,
                                 "/async_get_data?calls=2&delay=5")
        check(st == 200, "status %d" % st)
    s1 = json.loads(request(app.port, "/_/stats")[2])
    check(s1["conns_opened"] == s0["conns_opened"],
          "10 https calls opened %d connections" %
          (s1["conns_opened"] - s0["conns_opened"]))
    # The system bundle does not know the test CA: a clean per-call error.
    app2 = ctx.app(["--upstream", base])
    st, _, body, _ = request(app2.port, "/async_get_data?calls=2&delay=10")
    v = list(responses(body).values())
    check(st == 200 and all(isinstance(x, str) and "certificate" in x
                            for x in v), "without the CA: %d %r" % (st, v))
    check(not app2.crashes(), "crash: %r" % app2.crashes())
    out = run_to_exit([ctx.bin, "-fnr", "--port", str(free_port())] +
                      ALL_UPSTREAMS + ["--ca-file", "/nonexistent/ca.pem"],
                      timeout=20)
    check(out.returncode not in (0, None) and
          "/nonexistent/ca.pem" in out.stderr,
          "missing CA file: %r" % out.stderr)
    junk = os.path.join(LOGDIR, "junk-ca-%d.pem" % free_port())
    with open(junk, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64\n"
                "-----END CERTIFICATE-----\n")
    out = run_to_exit([ctx.bin, "-fnr", "--port", str(free_port())] +
                      ALL_UPSTREAMS + ["--ca-file", junk], timeout=20)
    check(out.returncode not in (0, None) and
          "no certificate in the CA bundle " + junk in out.stderr,
          "CA file without a certificate: %r" % out.stderr)


test_https_upstream_and_ca_bundle.asan = True


def test_sighup_clears_caches(ctx):
    app = ctx.app(env={"FANOUT_PARTNER_KEY": "k"})
    pids = app.worker_pids()
    request(app.port, "/api/stats?products=p01")
    d = json.loads(request(app.port, "/api/stats?products=p01")[2])
    check(d["origin"] == "cache", "not cached: %r" % d["origin"])
    app.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 5
    while "caches cleared" not in app.logtext() and time.monotonic() < end:
        time.sleep(0.1)
    check("caches cleared" in app.logtext(), "no reload: %s" % app.logtail())
    d = json.loads(request(app.port, "/api/stats?products=p01")[2])
    check(d["origin"] == "upstream", "cache survived SIGHUP: %r" %
          d["origin"])
    check(app.worker_pids() == pids and app.proc.poll() is None,
          "SIGHUP restarted or stopped the app")


def test_sigterm_answers_requests_in_flight(ctx):
    app = ctx.app(["--workers", "2"])
    results = []

    def slow():
        results.append(request(app.port, "/async_get_data?calls=3&delay=1500"))

    ts = [threading.Thread(target=slow) for _ in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.4)
    app.proc.send_signal(signal.SIGTERM)
    for t in ts:
        t.join(10)
    check(len(results) == 4 and all(r[0] == 200 and responses(r[2]) ==
                                    {"response_%d" % i: 200
                                     for i in (1, 2, 3)} for r in results),
          "in-flight answers: %r" % [(r[0], r[2][:60]) for r in results])
    try:
        code = app.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        code = None
    check(code == 0, "exit code %r" % code)
    check(not port_open(app.port), "still listening after SIGTERM")


test_sigterm_answers_requests_in_flight.asan = True


def test_chroot_runas_seccomp(ctx):
    """As root without -n/-r: chroot, drop to nobody, seccomp on.  An
    upstream by host name resolves through the chroot's own hosts file,
    an https one verifies against a CA read before the chroot."""
    check(os.getuid() == 0, "this test needs root (make test runs as root)")
    p = pki()
    root = os.path.join(LOGDIR, "chroot-%d" % free_port())
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc/hosts"), "w") as f:
        f.write("127.0.0.1 upstream.test localhost\n")
    with open(os.path.join(root, "etc/nsswitch.conf"), "w") as f:
        f.write("hosts: files\n")
    with open(os.path.join(root, "etc/resolv.conf"), "w") as f:
        f.write("")
    for d in (root, os.path.join(root, "etc")):
        os.chmod(d, 0o755)
    tsim = ctx.server(["--simulator", "--workers", "1", "--tls-cert",
                       p["cert"], "--tls-key", p["key"]], name="sim-tls")
    app = ctx.server(["--runas", "nobody", "--root", root, "--workers", "1",
                      "--sim-port", "0",
                      "--upstream", "http://upstream.test:%d" % ctx.sim.port,
                      "--xkcd-upstream",
                      "https://upstream.test:%d/lag/0/xkcd" % tsim.port,
                      "--analytics-upstream", ctx.sim.url("/analytics"),
                      "--partner-upstream", ctx.sim.url("/partner"),
                      "--ca-file", p["ca"]], flags="-f")
    pids = app.worker_pids()
    check(pids, "no worker: %s" % app.logtail())
    with open("/proc/%s/status" % pids[0]) as f:
        uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
    check(uid == "65534", "worker runs as uid %s, not nobody" % uid)
    check(os.readlink("/proc/%s/root" % pids[0]) == root,
          "worker is not chrooted: %s" % os.readlink("/proc/%s/root" %
                                                     pids[0]))
    check("seccomp sandbox enabled" in app.logtext(), "seccomp is off")
    st, _, body, _ = request(app.port, "/async_get_data?calls=2&delay=10")
    check(st == 200 and responses(body) == {"response_1": 200,
                                            "response_2": 200},
          "host-name upstream in the chroot: %d %r" % (st, body))
    st, _, body, _ = request(app.port, "/xkcd?ids=1&format=json")
    d = json.loads(body)
    check(st == 200 and [c["num"] for c in d["comics"]] == [1],
          "https upstream in the chroot: %d %r" % (st, body[:300]))
    check(app.worker_pids() == pids and not app.crashes(),
          "worker died: %r" % app.crashes())


def test_nginx_in_front_of_two_instances(ctx):
    d = os.path.join(LOGDIR, "nginx-%d" % free_port())
    os.makedirs(d)
    logs = [os.path.join(d, "access-%d.log" % i) for i in range(2)]
    apps = [ctx.app(["--trusted-proxies", "127.0.0.1", "--accesslog", log])
            for log in logs]
    front = NginxDeploy(apps, d)
    port, http_port, ca = front.port, front.http_port, front.ca
    try:
        for _ in range(20):
            st, h, body = https(port, "/get_data?calls=0", cafile=ca,
                                host="localhost",
                                headers={"X-Forwarded-For": "203.0.113.9"})
            check(st == 200, "through nginx: %d" % st)
        lines = [open(log).read().splitlines() for log in logs]
        check(all(lines), "requests per instance: %r" %
              [len(x) for x in lines])
        # The app believes nginx: the client nginx saw (not what the client
        # claimed before it), over https.
        check(all(x.startswith("127.0.0.1 [") and
                  re.search(r" https [0-9a-f]{32}$", x)
                  for x in lines[0] + lines[1]),
              "behind nginx the app logs %r" % lines[0][:2])
        st, h, body = https(port, "/async_get_data?calls=2&delay=10",
                            cafile=ca)
        check(st == 200 and "strict-transport-security" in h and
              "content-security-policy" in h, "%d %r" % (st, h))
        # The status pages are not reachable through nginx.
        for path in ("/_/stats", "/_/whoami", "/_/", "/metrics"):
            st, h, body = https(port, path, cafile=ca)
            check(st == 404 and "pid" not in body and "client" not in body,
                  "%s through nginx: %d %r" % (path, st, body[:200]))
        passed = (open(logs[0]).read().splitlines() +
                  open(logs[1]).read().splitlines())
        check(not any("/_/" in x or "/metrics" in x for x in passed),
              "nginx passed /_/ on")
        st, h, _, _ = request(http_port, "/stats")
        check(st == 301 and h["location"].startswith("https://"),
              "nginx's HTTP redirect: %d %r" % (st, h.get("location")))
    finally:
        front.stop()


def test_forwarded_headers_only_from_trusted_proxies(ctx):
    untrusted = ctx.app(["--trusted-proxies", "192.0.2.1"])
    # --status-from any: /_/whoami answers relayed clients too (see
    # test_status_pages_loopback_only).
    trusted = ctx.app(["--trusted-proxies", "127.0.0.1,::1",
                       "--status-from", "any"])
    fwd = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    st, h, body, _ = request(untrusted.port, "/_/whoami", headers=fwd)
    check(json.loads(body) == {"client": "127.0.0.1", "scheme": "http"} and
          "strict-transport-security" not in h,
          "untrusted peer believed: %r" % body)
    st, h, body, _ = request(trusted.port, "/_/whoami", headers=fwd)
    check(json.loads(body) == {"client": "198.51.100.7", "scheme": "https"}
          and "strict-transport-security" in h, "trusted proxy: %r" % body)
    st, h, body, _ = request(trusted.port, "/_/whoami",
                             headers={"X-Forwarded-For": "not-an-address"})
    check(json.loads(body)["client"] == "127.0.0.1", "bogus XFF: %r" % body)


def test_status_pages_loopback_only(ctx):
    """/_/stats and /_/whoami answer loopback clients (and --status-from);
    behind a trusted proxy the client is its X-Forwarded-For, so a request
    relayed from outside gets the same 404 as an unknown path."""
    app = ctx.app(["--trusted-proxies", "127.0.0.1"])
    _, _, notfound, _ = request(app.port, "/no/such/path")
    paths = ("/_/stats", "/_/whoami")
    outside = {"X-Forwarded-For": "203.0.113.5"}
    for path in paths:
        st, _, body, _ = request(app.port, path)
        check(st == 200 and body.startswith("{"), "%s from loopback: %d" %
              (path, st))
        for hdrs in (outside, {"X-Forwarded-For": "127.0.0.1, 203.0.113.5"},
                     {"X-Forwarded-For": "not-an-address"},
                     {"X-Forwarded-For": "2001:db8::5"}):
            st, h, body, _ = request(app.port, path, headers=hdrs)
            check(st == 404 and body == notfound and
                  "content-security-policy" in h,
                  "%s relayed for %r: %d %r" % (path, hdrs, st, body))
        for hdrs in ({"X-Forwarded-For": "127.0.0.1"},
                     {"X-Forwarded-For": "203.0.113.5, 127.0.0.1"},
                     {"X-Forwarded-For": "::1"}):
            st, _, body, _ = request(app.port, path, headers=hdrs)
            check(st == 200, "%s relayed for %r: %d" % (path, hdrs, st))
    # An untrusted peer's X-Forwarded-For changes nothing: loopback.
    plain = ctx.app()
    st, _, _, _ = request(plain.port, "/_/stats", headers=outside)
    check(st == 200, "untrusted XFF refused loopback: %d" % st)
    # --status-from opens them: to listed addresses, or to anyone.
    listed = ctx.app(["--trusted-proxies", "127.0.0.1",
                      "--status-from", "198.51.100.1,203.0.113.5"])
    anyone = ctx.app(["--trusted-proxies", "127.0.0.1",
                      "--status-from", "any"])
    for path in paths:
        st, _, _, _ = request(listed.port, path, headers=outside)
        check(st == 200, "listed %s: %d" % (path, st))
        st, _, _, _ = request(listed.port, path,
                              headers={"X-Forwarded-For": "203.0.113.6"})
        check(st == 404, "unlisted %s: %d" % (path, st))
        st, _, _, _ = request(anyone.port, path, headers=outside)
        check(st == 200, "any %s: %d" % (path, st))
    # Bad values stop start-up.
    for bad in ("203.0.113.5,", "localhost", "10.0.0.0/8", " any"):
        out = run_to_exit([ctx.bin, "-fnr", "--status-from", bad,
                           "--sim-port", "0"] + ALL_UPSTREAMS[2:])
        check(out.returncode == 1 and "--status-from" in out.stderr,
              "%r: %r %r" % (bad, out.returncode, out.stderr[-200:]))


def test_simulator_stats_loopback_only(ctx):
    sim = ctx.server(["--simulator", "--workers", "1",
                      "--trusted-proxies", "127.0.0.1"], name="sim-tp")
    st, _, body, _ = request(sim.port, "/_/stats")
    check(st == 200 and "requests" in json.loads(body), "loopback: %d" % st)
    st, _, body, _ = request(sim.port, "/_/stats",
                             headers={"X-Forwarded-For": "203.0.113.5"})
    check(st == 404 and "requests" not in body,
          "relayed from outside: %d %r" % (st, body))
