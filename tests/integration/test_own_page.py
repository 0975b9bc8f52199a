"""README "Write your own page": the page and route shown there, added to a
copy of the tree, build and serve."""

import os
import re
import shutil
import subprocess

from lib import LOGDIR, Server, check, parse_server_timing, request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def readme_blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    sec = text.split("### Write your own page", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```c\n(.*?)```", sec, re.S)


def copy_tree(dst):
    """The tracked files, plus what the build already made (Kore's patched
    copy, objects, vendored assets), with their times: only what the test
    changes is compiled again."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    for f in filter(None, files):
        f = f.decode()
        os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))
    for d in ("build/kore", ".objs", "assets/vendor", "cert"):
        if os.path.isdir(os.path.join(ROOT, d)):
            shutil.copytree(os.path.join(ROOT, d), os.path.join(dst, d),
                            symlinks=True)
    for f in ("dh2048.pem",):
        if os.path.exists(os.path.join(ROOT, f)):
            shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))


def test_readme_page_builds_and_serves(ctx):
    blocks = readme_blocks()
    check(len(blocks) == 2, "expected the page and the route: %d blocks"
          % len(blocks))
    page, route = blocks
    check(len(page.splitlines()) <= 60, "the example page is %d lines" %
          len(page.splitlines()))
    dst = os.path.join(LOGDIR, "ownpage")
    copy_tree(dst)
    with open(os.path.join(dst, "src/pages/hello.c"), "w") as f:
        f.write(page)
    app_c = os.path.join(dst, "src/app/app.c")
    with open(app_c) as f:
        text = f.read()
    anchor = "static const struct route\troutes[] = {\n"
    check(anchor in text, "no routes[] table in src/app/app.c")
    with open(app_c, "w") as f:
        f.write(text.replace(anchor, anchor + route, 1))
    p = subprocess.run(["make", "build/fanout"], cwd=dst,
                       capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, "build failed: %s" % (p.stdout + p.stderr)[-3000:])

    app = Server(os.path.join(dst, "build/fanout"),
                 ["--upstream", ctx.sim.url(""), "--sim-port", "0",
                  "--xkcd-upstream", ctx.sim.url("/xkcd"),
                  "--analytics-upstream", ctx.sim.url("/analytics"),
                  "--partner-upstream", ctx.sim.url("/partner"),
                  "--workers", "1"])
    ctx.servers.append(app)
    st, h, body, secs = request(app.port, "/hello")
    check(st == 200 and body == "call 1: ok 200\ncall 2: ok 200\n"
          "call 3: ok 200\n", "/hello: %d %r" % (st, body))
    calls = [e for e in parse_server_timing(h["server-timing"])
             if e[0].startswith("call")]
    check(len(calls) == 3, "server-timing %r" % h["server-timing"])
    # Three 1 s calls at once: well under their sum of 3 s.
    check(secs < 2.0, "/hello took %.2fs" % secs)
    st, _, body, _ = request(app.port, "/hello", method="POST", body="x")
    check(st == 405, "POST /hello: %d %r" % (st, body))
