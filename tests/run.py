#!/usr/bin/env python3
"""Run every test: the C unit tests, the black-box integration tests against
the built binary, and a subset of them again against the AddressSanitizer
build.  Prints one line per test and ends with 'N passed, N failed'."""

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import lib  # noqa: E402

# The unit tests' build lives in the Makefile (target unit-tests).
UNIT_CMD = "make -s unit-tests && ./build/unit-tests"


class Context:
    """What a test gets: the binary under test and a shared simulator."""

    def __init__(self, binary):
        self.bin = binary
        self._sim = None
        self.servers = []

    @property
    def sim(self):
        if self._sim is None:
            self._sim = lib.Server(self.bin, ["--simulator", "--workers", "1"],
                                   name="sim")
        return self._sim

    def app(self, args=(), env=None, upstream_path="", xkcd_path="/xkcd",
            **kw):
        """An app whose upstreams are the shared simulator (plus fault
        segments), with no embedded simulator of its own."""
        a = list(args)
        if "--upstream" not in a:
            a += ["--upstream", self.sim.url(upstream_path)]
        if "--xkcd-upstream" not in a:
            a += ["--xkcd-upstream", self.sim.url(xkcd_path)]
        if "--analytics-upstream" not in a:
            a += ["--analytics-upstream", self.sim.url("/analytics")]
        if "--partner-upstream" not in a:
            a += ["--partner-upstream", self.sim.url("/partner")]
        if "--sim-port" not in a:
            a += ["--sim-port", "0"]
        if "--workers" not in a:
            a += ["--workers", "1"]
        s = lib.Server(self.bin, a, env=env, **kw)
        self.servers.append(s)
        return s

    def server(self, args, **kw):
        s = lib.Server(self.bin, list(args), **kw)
        self.servers.append(s)
        return s

    def cleanup(self):
        for s in self.servers:
            s.stop()
        self.servers = []

    def close(self):
        self.cleanup()
        if self._sim is not None:
            self._sim.stop()


def load_tests():
    tests = []
    d = os.path.join(HERE, "integration")
    for fn in sorted(os.listdir(d)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3],
                                                      os.path.join(d, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(vars(mod)):
            fn_ = getattr(mod, name)
            if name.startswith("test_") and callable(fn_):
                tests.append(("%s.%s" % (mod.__name__, name), fn_))
    return tests


def run_unit(results):
    t0 = time.monotonic()
    p = subprocess.run(UNIT_CMD, shell=True, cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    out = (p.stdout + p.stderr).strip()
    ok = p.returncode == 0
    last = out.splitlines()[-1] if out else "(no output)"
    print("%s unit: %s (%.1fs)" % ("ok  " if ok else "FAIL", last,
                                     time.monotonic() - t0), flush=True)
    if not ok:
        print(out[-4000:], flush=True)
    results.append(ok)


def run_integration(binary, label, only_asan, results, pattern):
    ctx = Context(binary)
    try:
        for name, fn in load_tests():
            if only_asan and not getattr(fn, "asan", False):
                continue
            if pattern and pattern not in name:
                continue
            t0 = time.monotonic()
            err = None
            try:
                fn(ctx)
            except lib.TestFailure as e:
                err = str(e)
            except Exception:
                err = traceback.format_exc()
            finally:
                servers = list(ctx.servers)
                ctx.cleanup()
                crashes = []
                for s in servers + ([ctx._sim] if ctx._sim else []):
                    crashes += s.crashes()
            if err is None and crashes:
                err = "log shows a crash or sanitizer report:\n" + \
                    "\n".join(crashes[:10])
            dt = time.monotonic() - t0
            if err is None:
                print("ok   %s%s (%.1fs)" % (label, name, dt), flush=True)
                results.append(True)
            else:
                print("FAIL %s%s (%.1fs)\n     %s" %
                      (label, name, dt, err.replace("\n", "\n     ")),
                      flush=True)
                results.append(False)
    finally:
        ctx.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/fanout")
    ap.add_argument("--asan-bin")
    ap.add_argument("--only", choices=["unit", "integration", "asan"])
    ap.add_argument("-k", dest="pattern", help="run tests whose name has this")
    args = ap.parse_args()
    os.chdir(ROOT)

    results = []
    t0 = time.monotonic()
    if args.only in (None, "unit") and not args.pattern:
        run_unit(results)
    if args.only in (None, "integration"):
        run_integration(os.path.abspath(args.bin), "", False, results,
                        args.pattern)
    if args.only == "asan":
        run_integration(os.path.abspath(args.bin), "asan:", True, results,
                        args.pattern)
    elif args.only is None and args.asan_bin:
        run_integration(os.path.abspath(args.asan_bin), "asan:", True,
                        results, args.pattern)

    passed = sum(1 for r in results if r)
    failed = len(results) - passed
    print("logs in %s; %.0fs" % (lib.LOGDIR, time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not results else 0)


if __name__ == "__main__":
    main()
