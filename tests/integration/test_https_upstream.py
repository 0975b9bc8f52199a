"""https upstreams against Debian's nginx with the test CA: HTTP/2 calls to
one host multiplexed on one connection, TLS sessions resumed on new
connections.  nginx's access log records, per request, the connection
serial number, the protocol and whether the TLS session was reused."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

from lib import LOGDIR, check, free_port, pki, request, wait_port

COMIC = ('{"num": $1, "title": "t$1", "safe_title": "t$1", "alt": "a", '
         '"img": "https://127.0.0.1/img/$1.png", "month": "1", '
         '"year": "2020", "day": "1", "link": "", "news": "", '
         '"transcript": ""}')

CONF = """
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log info;
events { worker_connections 256; }
http {
    log_format up '$connection $server_protocol $ssl_session_reused '
                  '$ssl_protocol $request_uri';
    access_log %(dir)s/access.log up;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    server {
        listen 127.0.0.1:%(port)d ssl%(h2)s;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols %(protocols)s;
        ssl_session_cache shared:SSL:1m;
        ssl_session_tickets %(tickets)s;
        keepalive_timeout %(keepalive)s;
        location ~ ^/(\\d+)/info\\.0\\.json$ {
            default_type application/json;
            return 200 '%(comic)s';
        }
    }
}
"""


class Nginx:
    """Debian's nginx as an https xkcd upstream on a free loopback port."""

    def __init__(self, h2=True, keepalive="60s", tickets="on",
                 protocols="TLSv1.2 TLSv1.3"):
        p = pki()
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        check(os.path.exists(nginx), "nginx is not installed")
        self.port = free_port()
        self.dir = os.path.join(LOGDIR, "nginx-up-%d" % self.port)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "access.log")
        conf = CONF % {"dir": self.dir, "port": self.port,
                       "h2": " http2" if h2 else "", "cert": p["cert"],
                       "key": p["key"], "protocols": protocols,
                       "tickets": tickets, "keepalive": keepalive,
                       "comic": COMIC}
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(
            [nginx, "-c", path, "-p", self.dir, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "stderr"), "w"),
            start_new_session=True)
        if not wait_port(self.port, proc=self.proc):
            self.stop()
            check(False, "nginx did not start: %s" % self.stderr())
        # wait_port's probe connection is no TLS request: it logs nothing.

    def stderr(self):
        with open(os.path.join(self.dir, "stderr")) as f:
            return f.read()[-500:]

    def url(self):
        return "https://localhost:%d" % self.port

    def lines(self, want, timeout=5.0):
        """The access log's lines, [(conn, protocol, reused, tls, uri)],
        once it has at least `want` (nginx writes a line per request as
        the request ends, which may be just after the app has its answer).
        """
        end = time.monotonic() + timeout
        while True:
            with open(self.log) as f:
                out = [tuple(x.split()) for x in f.read().splitlines()]
            if len(out) >= want or time.monotonic() > end:
                return out
            time.sleep(0.05)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


def xkcd_app(ctx, up, args=()):
    return ctx.app(["--xkcd-upstream", up.url(), "--ca-file", pki()["ca"],
                    "--xkcd-cache", "0", "--workers", "1"] + list(args))


def gallery(app, ids):
    st, _, body, _ = request(app.port, "/xkcd?ids=%s&format=json" % ids)
    check(st == 200, "gallery %s: %d %r" % (ids, st, body[:300]))
    d = json.loads(body)
    nums = [c.get("num") for c in d["comics"]]
    check(nums == [int(x) for x in ids.split(",")] and
          all("error" not in c for c in d["comics"]),
          "gallery %s: %r" % (ids, body[:500]))
    return d


def test_h2_gallery_one_connection(ctx):
    # Once the worker knows the host speaks HTTP/2, a cold gallery of 5
    # comics (no connection in its pool) makes one connection: its calls
    # start at once, wait for the first connection (CURLOPT_PIPEWAIT) and
    # share it as HTTP/2 streams.  One connection, one full handshake.
    up = Nginx(h2=True)
    try:
        app = xkcd_app(ctx, up)
        gallery(app, "1,2,3,4,5")
        lines = up.lines(5)
        check(len(lines) == 5 and all(x[1] == "HTTP/2.0" for x in lines),
              "not HTTP/2: %r" % lines)
        # Idle for UPSTREAM_IDLE_MAX: the pools and their connections go.
        end = time.monotonic() + 15
        while time.monotonic() < end:
            st = json.loads(request(app.port, "/_/stats")[2])
            if st["pools"] == 0:
                break
            time.sleep(0.2)
        check(st["pools"] == 0, "pools not dropped: %r" % st)
        gallery(app, "6,7,8,9,10")
        lines = up.lines(10)[5:]
        check(all(x[1] == "HTTP/2.0" for x in lines), "%r" % lines)
        check(len({x[0] for x in lines}) == 1,
              "a cold gallery's 5 calls on %d connections: %r" %
              (len({x[0] for x in lines}), lines))
        # Warm: the same connection again.
        gallery(app, "11,12,13,14,15")
        more = up.lines(15)[10:]
        check({x[0] for x in more} == {lines[0][0]},
              "a warm gallery left the connection: %r" % more)
        check(not app.crashes(), "crash: %r" % app.crashes())
    finally:
        up.stop()


def test_dead_https_upstream_fails_at_once(ctx):
    # An https upstream that takes the connection and never speaks: every
    # call of a gallery fails at its connect timeout, all at once, not one
    # timeout after another (libcurl's PIPEWAIT would chain them: it is
    # only used for hosts known to speak HTTP/2).
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    try:
        app = ctx.app(["--xkcd-upstream", "https://127.0.0.1:%d" % port,
                       "--ca-file", pki()["ca"], "--xkcd-cache", "0",
                       "--connect-timeout", "500", "--workers", "1"])
        for _ in range(2):
            st, _, body, secs = request(app.port,
                                        "/xkcd?ids=1,2,3,4,5&format=json")
            d = json.loads(body)
            check(st == 200 and len(d["errors"]) == 5, "%d %r" % (st, body))
            check(secs < 1.8, "5 calls to a dead host took %.2fs (the "
                  "connect timeout is 0.5 s)" % secs)
    finally:
        lsock.close()


test_h2_gallery_one_connection.asan = True


def resumed_on_new_connections(ctx, tls):
    # nginx closes every connection after its request (keepalive_timeout
    # 0): each call is a new connection, and all but the first resume the
    # TLS session the first one got.
    up = Nginx(h2=False, keepalive="0", protocols=tls)
    try:
        app = xkcd_app(ctx, up)
        for n in range(1, 5):
            gallery(app, str(n))
        lines = up.lines(4)
        check(len(lines) == 4, "nginx saw %d requests: %r" %
              (len(lines), lines))
        check(len({x[0] for x in lines}) == 4,
              "keepalive 0 but connections reused: %r" % lines)
        check(all(x[3] == tls for x in lines), "not %s: %r" % (tls, lines))
        check(lines[0][2] == "." and all(x[2] == "r" for x in lines[1:]),
              "sessions not resumed (r = reused): %r" % lines)
        check(not app.crashes(), "crash: %r" % app.crashes())
    finally:
        up.stop()


def test_tls13_session_resumed(ctx):
    resumed_on_new_connections(ctx, "TLSv1.3")


test_tls13_session_resumed.asan = True


def test_tls12_session_resumed(ctx):
    resumed_on_new_connections(ctx, "TLSv1.2")
