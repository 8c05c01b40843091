#!/usr/bin/python3
"""The console's browser tests against the REAL spectre-cp (not the mock).

  run_against_cp.py     (binaries from $SPECTRE_CP and $SPECTRE_DP, else build/...; $CONSOLE_OUT as for
                         run-browser-tests.mjs)

The generated campaign (tests/gen/campaign_scn.py) goes through spectre-dp
offline; its EVE lines, shifted so that the campaign ends now (the dashboard's
last-24-hours chart and the 7-day trends then have points), are spectre-cp's
fake data plane events. spectre-cp runs with the contract's --api, --api-tokens
(an analyst and a viewer token), --console (the console built into
$CONSOLE_OUT/dist) and --store (a temporary SQLite file); once its API lists an incident, run-browser-tests.mjs runs
against it (CONSOLE_TEST_URL, CONSOLE_TEST_TOKEN, CONSOLE_TEST_VIEWER_TOKEN). Then
the live-page tests again against a spectre-cp whose fake data plane makes its
synthetic alerts (one every 300 ms), so that events arrive over the WebSocket
while the page is open (CONSOLE_TEST_LIVE=alerts).
Skips (77) while spectre-cp has no --api option. Extra spectre-cp arguments:
$SPECTRE_CP_ARGS (split on spaces).
"""
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CONSOLE = os.path.dirname(HERE)
ROOT = os.path.dirname(CONSOLE)
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from cphelp import binary, campaign_eve, free_port  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")
TS = re.compile(r'"(timestamp|start|end)":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\+0000"')



def shift_to_now(src, dst):
    """Moves every EVE time by one offset so that the last event is a minute ago."""
    lines = open(src).read().splitlines()
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    # stats records carry the wall clock of the offline run: left as they are.
    traffic = [l for l in lines if '"event_type":"stats"' not in l]
    last = max(datetime.datetime.strptime(m.group(2), fmt) for l in traffic for m in TS.finditer(l))
    off = datetime.datetime.utcnow() - datetime.timedelta(minutes=1) - last
    sub = lambda m: '"%s":"%s+0000"' % (m.group(1), (datetime.datetime.strptime(m.group(2), fmt) + off).strftime(fmt))  # noqa: E731
    with open(dst, "w") as f:
        for l in lines:
            f.write((l if '"event_type":"stats"' in l else TS.sub(sub, l)) + "\n")


def report(ok, what, detail=""):
    """A check for cphelp: prints what failed."""
    if not ok:
        print("FAIL %s: %s" % (what, detail))
    return ok


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def main():
    cp, dp = binary("SPECTRE_CP", "ctrlplane/spectre-cp"), binary("SPECTRE_DP", "dataplane/spectre-dp")
    if not (cp and dp):
        print("SKIP: spectre-cp or spectre-dp missing")
        return 77
    helptext = subprocess.run([cp, "--help"], capture_output=True, text=True, timeout=30)
    if "--api" not in helptext.stdout + helptext.stderr:
        print("SKIP: this spectre-cp has no --api option yet")
        return 77
    if not os.path.isdir(os.path.join(CONSOLE, "node_modules", "playwright-core")):
        print("SKIP: console/node_modules is missing (scripts/setup runs npm ci)")
        return 77
    out = os.environ.get("CONSOLE_OUT") or os.path.join(CONSOLE, "test-results")
    tmp = tempfile.mkdtemp(prefix="console-cp-")
    try:
        return run_all(cp, dp, out, lambda n: os.path.join(tmp, n))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(cp, dp, out, P):
    env = dict(os.environ, SPECTRE_CONSOLE_OUT=os.path.join(out, "dist"))
    if subprocess.run(["npm", "run", "--silent", "build"], cwd=CONSOLE, env=env, timeout=300).returncode:
        print("console build failed")
        return 1
    if campaign_eve(report, dp, P("")) is None:  # P(""): the temporary folder
        return 1
    shift_to_now(P("dp.json"), P("events.json"))
    analyst, viewer = secrets.token_hex(16), secrets.token_hex(16)
    with open(P("tokens.yaml"), "w") as f:
        f.write("tokens:\n")
        for name, role, tok in (("console-analyst", "analyst", analyst), ("console-viewer", "viewer", viewer)):
            f.write("  - {name: %s, role: %s, sha256: %s}\n" % (name, role, hashlib.sha256(tok.encode()).hexdigest()))
    dist = os.path.join(out, "dist")
    tests = dict(os.environ, CONSOLE_TEST_TOKEN=analyst, CONSOLE_TEST_VIEWER_TOKEN=viewer)
    # 1. Every test, on the campaign (alerts and incidents, read once at start).
    rc = with_cp(cp, P, "campaign", ["--fake-events", P("events.json")], dist, analyst, "incidents",
                 dict(tests, CONSOLE_OUT=os.path.join(out, "cp")))
    # 2. The live page on spectre-cp's synthetic alerts (one every 300 ms): events that arrive while it is open.
    rc2 = with_cp(cp, P, "synthetic", [], dist, analyst, "alerts",
                  dict(tests, CONSOLE_OUT=os.path.join(out, "cp-live"), CONSOLE_TEST_LIVE="alerts",
                       CONSOLE_TEST_PATTERN="live page"))
    return rc or rc2


def with_cp(cp, P, name, extra, dist, token, ready_list, env):
    """Runs the browser tests (run-browser-tests.mjs) against a spectre-cp started with `extra` arguments,
    once its API lists something in /api/v1/<ready_list>."""
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    args = [cp, "--foreground", "--fake-dataplane"] + extra + [
        "--instance", "console-" + name, "--socket", P(name + ".sock"), "--registry", P(name + "-reg"),
        "--audit", P(name + "-audit.log"), "--eve", P(name + ".json"), "--api", "127.0.0.1:%d" % port,
        "--api-tokens", P("tokens.yaml"), "--console", dist, "--store", P(name + ".db")]
    args += os.environ.get("SPECTRE_CP_ARGS", "").split()
    logpath = P(name + "-cp.log")
    log = open(logpath, "w")
    proc = subprocess.Popen(args, stdout=log, stderr=log, env=ENV, cwd=os.path.dirname(logpath))
    try:
        ready = False
        for _ in range(150):  # up to 15 s for the API and the first row in the store
            if proc.poll() is not None:
                break
            try:
                ready = bool(get(url + "/api/v1/%s?limit=1" % ready_list, token)["items"])
            except (OSError, urllib.error.URLError, ValueError, KeyError):
                pass
            if ready:
                break
            time.sleep(0.1)
        log.flush()
        if not ready:
            print("spectre-cp (%s): nothing in /api/v1/%s within 15 s; log:\n%s" % (name, ready_list, open(logpath).read()[-2000:]))
            return 1
        print("spectre-cp under test (%s):" % name, " ".join(args))
        rc = subprocess.run(["node", os.path.join(HERE, "run-browser-tests.mjs")], env=dict(env, CONSOLE_TEST_URL=url),
                            timeout=600).returncode
        if rc:
            log.flush()
            print("spectre-cp log (tail):\n" + open(logpath).read()[-3000:])
        return rc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
