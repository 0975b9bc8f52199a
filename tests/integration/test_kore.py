"""Regression tests for the changes to Kore 4.1.0 (patches/): each starts
the real binary and fails on an unpatched Kore."""

import json
import socket
import time

from lib import check, request


class Blackhole:
    """A loopback listener whose accept queue is full: further SYNs are
    dropped, so a connect to it hangs until the client's timeout, as with
    a host that is down behind a firewall."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(0)
        self.port = self.lsock.getsockname()[1]
        self.fill = []
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fill.append(s)
        # The queue is full once a plain connect times out.
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", self.port))
            raise AssertionError("blackhole accepted a connection")
        except socket.timeout:
            pass
        finally:
            probe.close()

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        for s in self.fill:
            s.close()
        self.lsock.close()


def test_blackholed_upstream(ctx):
    bh = Blackhole()
    try:
        u = bh.url()
        app = ctx.app(["--upstream", u, "--xkcd-upstream", u,
                       "--analytics-upstream", u, "--partner-upstream", u,
                       "--connect-timeout", "300", "--stats-ttl", "0"])
        pids = app.worker_pids()
        for _ in range(3):
            st, _, body, el = request(app.port,
                                      "/async_get_data?calls=3&delay=10")
            check(st == 200, "async status %d %r" % (st, body))
            v = list(json.loads(body).values())
            check(len(v) == 3 and all(isinstance(x, str) and
                                      x.startswith("timeout: ") for x in v),
                  "async: %r" % v)
            check(el < 3, "async took %.1fs" % el)
        st, _, body, _ = request(app.port, "/xkcd?ids=1,2&format=json")
        check(st == 200, "xkcd status %d %r" % (st, body))
        check(len(json.loads(body)["errors"]) == 2, "xkcd %r" % body)
        st, _, body, _ = request(app.port, "/api/stats")
        check(st == 502, "stats status %d %r" % (st, body))
        st, _, body, _ = request(app.port, "/get_data?calls=1&delay=10")
        check(st == 200 and "timeout: " in body, "sync %d %r" % (st, body))
        check(app.worker_pids() == pids, "workers restarted: %r -> %r" %
              (pids, app.worker_pids()))
    finally:
        bh.close()


test_blackholed_upstream.asan = True
