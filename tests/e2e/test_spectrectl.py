#!/usr/bin/python3
"""End-to-end test of spectrectl against spectre-cp with its fake data plane.

Starts `spectre-cp --foreground --fake-dataplane` (a test-only option: an
in-process stand-in for spectre-dp) on a private socket, registry and audit
log, and runs every spectrectl command: human and --json output, exit codes
(0 ok, 1 failed, 2 wrong use, 3 unreachable), socket mode 0600 (0660 with
--group), corrupt and schema-mismatched models refused with the registry
unchanged, rollback, shadow, alerts tail -f until SIGINT, the raw socket
protocol, the audit log, and persistence of the active model across a restart
of spectre-cp.

Usage: test_spectrectl.py  (binaries from $SPECTRE_CP, $SPECTRECTL, $SPECTRE_ML,
else build/ctrlplane/..., build/ml/spectre-ml)
Exit: 0 all passed, 1 a failure, 77 skipped (binaries missing).
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

from cphelp import ROOT, binary, ctl, jctl, stop
from checks import Checks  # noqa: E402  (tests/live, on the path through cphelp)

MODEL = os.path.join(ROOT, "ml", "models", "default.spm")
MODEL_JSON = os.path.join(ROOT, "ml", "models", "default.json")


def model_version(ml):
    """The shipped model's "version" metric (spectre-ml inspect)."""
    out = subprocess.run([ml, "inspect", MODEL], capture_output=True, text=True).stdout
    return next((ln.split(": ", 1)[1].strip() for ln in out.splitlines() if ln.strip().startswith("version: ")), "")


def model_classes(ml):
    """The shipped model's classes (spectre-ml inspect), for models compiled from its JSON."""
    out = subprocess.run([ml, "inspect", MODEL], capture_output=True, text=True).stdout
    return next((ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("classes: ")), "")


check = Checks()


class Daemon:
    def __init__(self, cp, tmp, extra=(), sock=None, registry=None):
        self.sock = sock or os.path.join(tmp, "cp.sock")
        self.registry = registry or os.path.join(tmp, "reg")
        self.audit = os.path.join(tmp, "audit.log")
        self.log = open(os.path.join(tmp, "cp.log"), "a")
        self.proc = subprocess.Popen(
            [cp, "--foreground", "--fake-dataplane", "--instance", "e2e", "--socket", self.sock,
             "--registry", self.registry, "--audit", self.audit] + list(extra),
            stdout=self.log, stderr=self.log)
        for _ in range(100):
            if os.path.exists(self.sock) or self.proc.poll() is not None:
                break
            time.sleep(0.05)

    def stop(self):
        return stop(self.proc, timeout=10)


def snapshot(d):
    out = {}
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as fh:
            out[n] = fh.read()
    return out


def raw_session(sock, lines):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.settimeout(10)
    s.sendall("".join(l + "\n" for l in lines).encode())
    buf = b""
    while buf.count(b"\n") < len(lines):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return [json.loads(l) for l in buf.decode().splitlines()]


def make_models(ml, tmp):
    """A second valid model (version 3) and one trained on another schema."""
    if not ml or not os.path.exists(MODEL_JSON):
        return None, None
    feats = subprocess.run([ml, "schema", "--csv"], capture_output=True, text=True).stdout.strip()
    v3 = os.path.join(tmp, "v3.spm")
    r1 = subprocess.run([ml, "compile", MODEL_JSON, "-o", v3, "--features", feats, "--classes", model_classes(ml),
                         "--threshold", "0.7", "--metric", "version=3"], capture_output=True, text=True)
    other = os.path.join(tmp, "otherschema.spm")
    names = ",".join("x%d" % i for i in range(len(feats.split(","))))
    r2 = subprocess.run([ml, "compile", MODEL_JSON, "-o", other, "--features", names, "--classes", model_classes(ml)],
                        capture_output=True, text=True)
    return (v3 if r1.returncode == 0 else None), (other if r2.returncode == 0 else None)


def run(cp, c, ml, tmp):
    d = Daemon(cp, tmp)
    sock = d.sock
    check(d.proc.poll() is None and os.path.exists(sock), "spectre-cp started", open(os.path.join(tmp, "cp.log")).read())
    st = os.stat(sock)
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, "socket mode 0600", oct(st.st_mode))

    # status
    r = ctl(c, sock, "status")
    check(r.returncode == 0, "status exit 0", r.stderr)
    check("data plane   running" in r.stdout and "model        none" in r.stdout, "status human", r.stdout)
    r, j = jctl(c, sock, "status")
    check(j and j["ok"] and j["result"]["data_plane"]["alive"] and j["result"]["instance"] == "e2e"
          and "text" not in j, "status --json", r.stdout)
    schema = j["result"]["data_plane"]["schema_hash"] if j else ""

    # model list (empty), load, list
    r = ctl(c, sock, "model", "list")
    check(r.returncode == 0 and "no models" in r.stdout, "model list empty", r.stdout + r.stderr)
    r = ctl(c, sock, "model", "load", MODEL)
    check(r.returncode == 0 and "is active" in r.stdout, "model load exit 0", r.stdout + r.stderr)
    r, j = jctl(c, sock, "model", "list")
    models = j["result"]["models"] if j else []
    check(len(models) == 1 and models[0]["active"] and models[0]["name"] == "default"
          and models[0]["version"] == model_version(ml) and len(models[0]["sha256"]) == 64 and models[0]["loaded_at"].endswith("Z"), "model list --json one active",
          r.stdout)
    sha_default = models[0]["sha256"] if models else ""
    check(os.path.exists(os.path.join(d.registry, sha_default + ".spm")) and
          open(os.path.join(d.registry, sha_default + ".spm"), "rb").read() == open(MODEL, "rb").read(),
          "registry copy named by sha256")
    r = ctl(c, sock, "model", "list")
    check(r.returncode == 0 and "default" in r.stdout and "*" in r.stdout and sha_default[:12] in r.stdout, "model list human",
          r.stdout)

    # corrupt model: exit 1, nothing changes
    before = snapshot(d.registry)
    data = bytearray(open(MODEL, "rb").read())
    for off in (64, len(data) // 2):
        data[off] ^= 0xff
    bad = os.path.join(tmp, "corrupt.spm")
    open(bad, "wb").write(bytes(data))
    r = ctl(c, sock, "model", "load", bad)
    check(r.returncode == 1 and "checksum" in r.stderr, "corrupt model exit 1", r.stdout + r.stderr)
    check(snapshot(d.registry) == before, "corrupt model: registry unchanged")
    r = ctl(c, sock, "model", "load", os.path.join(tmp, "nonexistent.spm"))
    check(r.returncode == 1 and "cannot read" in r.stderr, "missing model exit 1", r.stderr)
    r, j = jctl(c, sock, "model", "load", bad)
    check(r.returncode == 1 and j and not j["ok"] and j["code"] == 1 and "checksum" in j["error"], "corrupt model --json error",
          r.stdout)

    v3, other = make_models(ml, tmp)
    if other:
        r = ctl(c, sock, "model", "load", other)
        check(r.returncode == 1 and "feature schema mismatch" in r.stderr, "schema mismatch exit 1", r.stderr)
        check(snapshot(d.registry) == before, "schema mismatch: registry unchanged")
    else:
        print("SKIP schema mismatch (spectre-ml missing)")
    if v3:
        # relative path: spectrectl makes it absolute
        r = subprocess.run([c, "--socket", sock, "model", "load", "v3.spm"], cwd=tmp, capture_output=True, text=True)
        check(r.returncode == 0 and "version 3" in r.stdout, "second model load (relative path)", r.stdout + r.stderr)
        r = ctl(c, sock, "status")
        check("model        v3 version 3" in r.stdout, "status shows v3 version 3", r.stdout)
        r, j = jctl(c, sock, "model", "rollback")
        check(r.returncode == 0 and j and j["result"]["active"]["version"] == model_version(ml)
              and j["result"]["was"]["version"] == "3", "rollback --json", r.stdout + r.stderr)
        r, j = jctl(c, sock, "model", "list")
        act = [m for m in j["result"]["models"] if m["active"]] if j else []
        check(j and len(j["result"]["models"]) == 2 and len(act) == 1
              and act[0]["sha256"] == sha_default, "after rollback: 2 versions, the default model active", r.stdout)
        r = ctl(c, sock, "model", "rollback")
        check(r.returncode == 1 and "no previous" in r.stderr, "rollback with no previous: exit 1", r.stderr)
        r = ctl(c, sock, "model", "shadow", v3)
        check(r.returncode == 0 and "shadow model" in r.stdout, "model shadow", r.stdout + r.stderr)
        r = ctl(c, sock, "model", "list")
        check("shadow" in r.stdout, "model list shows shadow", r.stdout)
        r, j = jctl(c, sock, "status")
        check(j and j["result"]["registry_shadow"] and j["result"]["registry_shadow"]["version"] == "3", "status --json shadow",
              r.stdout)
        r = ctl(c, sock, "model", "shadow", "--clear")
        check(r.returncode == 0 and "cleared" in r.stdout, "model shadow --clear", r.stdout + r.stderr)
    else:
        print("SKIP second model (spectre-ml missing)")
        r = ctl(c, sock, "model", "rollback")
        check(r.returncode == 1, "rollback with no previous: exit 1", r.stderr)

    # rules / config
    r = ctl(c, sock, "rules", "reload")
    check(r.returncode == 0 and "ruleset version 1 active" in r.stdout, "rules reload", r.stdout + r.stderr)
    rules = os.path.join(tmp, "local.rules")
    open(rules, "w").write('alert tcp any any -> any 80 (msg:"x"; sid:1;)\n')
    r, j = jctl(c, sock, "rules", "reload", rules)
    check(r.returncode == 0 and j and j["result"]["ruleset_version"] == "2"
          and j["result"]["files"] == [rules], "rules reload FILE --json", r.stdout + r.stderr)
    r = ctl(c, sock, "rules", "reload", os.path.join(tmp, "none.rules"))
    check(r.returncode == 1 and "cannot read" in r.stderr, "rules reload missing file: exit 1", r.stderr)
    r = ctl(c, sock, "config", "reload")
    check(r.returncode == 0 and "configuration reloaded" in r.stdout, "config reload", r.stdout + r.stderr)

    # stats / flows
    r = ctl(c, sock, "stats", "--interval", "200")
    check(r.returncode == 0 and "WORKER" in r.stdout and "total" in r.stdout, "stats human", r.stdout + r.stderr)
    r, j = jctl(c, sock, "stats", "--interval", "200")
    check(j and len(j["result"]["workers"]) == 2 and j["result"]["total"]["pps"] > 0, "stats --json", r.stdout)
    r = ctl(c, sock, "flows", "top", "5")
    lines = r.stdout.strip().splitlines()
    check(r.returncode == 0 and len(lines) == 6 and "PROTO" in lines[0], "flows top 5 human", r.stdout)
    r, j = jctl(c, sock, "flows", "top", "3")
    fl = j["result"]["flows"] if j else []
    check(len(fl) == 3 and fl[0]["bytes"] >= fl[1]["bytes"] >= fl[2]["bytes"], "flows top 3 --json", r.stdout)

    # alerts
    r = ctl(c, sock, "alerts", "tail", "-n", "4")
    check(r.returncode == 0 and len(r.stdout.strip().splitlines()) == 4 and "[sev" in r.stdout, "alerts tail -n 4",
          r.stdout)
    r, j = jctl(c, sock, "alerts", "tail", "--min-severity", "high")
    al = j["result"]["alerts"] if j else []
    check(len(al) >= 2 and all(a["alert"]["severity"] == 1 for a in al), "alerts tail --min-severity high --json", r.stdout)
    for js in (False, True):
        args = [c, "--socket", sock] + (["--json"] if js else []) + ["alerts", "tail", "-n", "0", "-f", "--min-severity", "2"]
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        got = []
        t0 = time.time()
        while len(got) < (4 if js else 3) and time.time() - t0 < 10:
            line = p.stdout.readline()
            if not line:
                break
            got.append(line.strip())
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=10)
        if js:
            first = json.loads(got[0]) if got else {}
            evs = [json.loads(g) for g in got[1:]]
            ok = first.get("stream") is True and len(evs) == 3 and all(e["alert"]["severity"] <= 2 for e in evs)
        else:
            ok = len(got) == 3 and all("[sev 1]" in g or "[sev 2]" in g for g in got)
        check(ok and rc == 0, "alerts tail -f%s streams until SIGINT (exit 0)" % (" --json" if js else ""),
              "rc=%s %s" % (rc, got))

    # wrong use: exit 2
    for args, what in ((["bogus"], "unknown command"), (["model"], "sub-command"), (["model", "load"], "usage"),
                       (["flows", "top", "x"], "usage"), (["alerts", "tail", "--min-severity", "urgent"], "urgent"),
                       (["--timeout", "0", "status"], "timeout"), ([], "usage")):
        r = ctl(c, sock, *args)
        check(r.returncode == 2 and what in r.stderr, "wrong use %s: exit 2" % (args,), "%d %s" % (r.returncode, r.stderr))
    # unreachable: exit 3
    r = ctl(c, os.path.join(tmp, "no-such.sock"), "status")
    check(r.returncode == 3 and "cannot reach spectre-cp" in r.stderr, "wrong socket path: exit 3", r.stderr)
    r = subprocess.run([c, "--instance", "no-such-instance-e2e", "status"], capture_output=True, text=True)
    check(r.returncode == 3 and "/run/spectre/no-such-instance-e2e.sock"
          in r.stderr, "default socket of an absent instance: exit 3", r.stderr)

    # raw protocol: two requests on one connection, a malformed line
    rep = raw_session(sock, ['{"cmd":"model list","json":true}', '{"cmd":"flows top","n":2,"json":true}',
                             '{"cmd":', '{"cmd":"frob"}'])
    check(len(rep) == 4 and rep[0]["ok"] and len(rep[1]["result"]["flows"]) == 2
          and rep[2]["code"] == 2 and "bad request" in rep[2]["error"] and rep[3]["code"] == 2, "raw protocol: replies in order", rep)

    # another daemon on the same socket is refused
    d2 = Daemon(cp, tmp, sock=sock, registry=os.path.join(tmp, "reg2"))
    rc2 = d2.proc.wait(timeout=10)
    check(rc2 == 1 and os.path.exists(sock), "second spectre-cp on a live socket: exit 1")

    # an unreadable webhook CA bundle stops start-up with a clear message
    r = subprocess.run([cp, "--foreground", "--fake-dataplane", "--instance", "e2eca", "--socket",
                        os.path.join(tmp, "ca.sock"), "--registry", os.path.join(tmp, "reg3"), "--audit",
                        os.path.join(tmp, "audit3.log"), "--webhook", "https://127.0.0.1:9/x", "--webhook-ca",
                        os.path.join(tmp, "no-such-ca.pem")], capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and "cannot read CA file" in r.stderr and "no-such-ca.pem" in r.stderr,
          "--webhook-ca unreadable: exit 1 naming the file", r.stderr)

    # audit log
    lines = open(d.audit).read().splitlines()
    recs = [json.loads(l) for l in lines]
    cmds = [x["command"] for x in recs]
    check(len(recs) >= 30 and "model load" in cmds and "model rollback" in cmds
          and "(bad request)" in cmds and "alerts tail" in cmds, "audit: a line per command", cmds)
    check(all(x["uid"] == os.getuid() and x["pid"] > 0 for x in recs
                                         if x["command"] != "model restore (start-up)"), "audit: peer credentials")
    ld = [x for x in recs if x["command"] == "model load"]
    check(any(x["result"] == "ok" and x.get("model_sha256") == sha_default for x in ld)
          and any(x["result"] == "error" and "checksum" in x["message"] and x["args"]["file"] == bad for x in ld), "audit: model loads with result and sha")
    check(stat.S_IMODE(os.stat(d.audit).st_mode) == 0o600, "audit log mode 0600")

    # restart: socket removed on SIGTERM, the active model comes back
    rc = d.stop()
    check(rc == 0 and not os.path.exists(sock), "SIGTERM: exit 0, socket removed", rc)
    d = Daemon(cp, tmp)
    r, j = jctl(c, sock, "status")
    check(j and j["result"]["data_plane"]["model"]["sha256"] == sha_default
          and j["result"]["model_in_sync"], "restart: active model restored to the data plane", r.stdout + r.stderr)
    r, j = jctl(c, sock, "model", "list")
    check(j and len(j["result"]["models"]) == (2 if v3 else 1), "restart: registry kept every version", r.stdout)
    if v3:
        r = ctl(c, sock, "model", "rollback")
        check(r.returncode == 1 and "no previous" in r.stderr, "restart: history persisted (nothing before v2)", r.stderr)
    d.stop()

    # fake data plane down: exit 3, registry unchanged
    reg3 = os.path.join(tmp, "reg3")
    shutil.copytree(d.registry, reg3)
    before = snapshot(reg3)
    d = Daemon(cp, tmp, extra=["--fake-dataplane-down"], sock=os.path.join(tmp, "down.sock"), registry=reg3)
    r = ctl(c, d.sock, "status")
    check(r.returncode == 3 and "NOT REACHABLE" in r.stdout, "data plane down: status exit 3", r.stdout + r.stderr)
    r = ctl(c, d.sock, "model", "load", MODEL)
    check(r.returncode == 3 and "not reachable" in r.stderr, "data plane down: model load exit 3", r.stderr)
    for args in (["stats", "--interval", "0"], ["flows", "top", "1"], ["rules", "reload"], ["config", "reload"]):
        r = ctl(c, d.sock, *args)
        check(r.returncode == 3, "data plane down: %s exit 3" % args[0], r.stderr)
    check(snapshot(reg3) == before, "data plane down: registry unchanged")
    d.stop()

    # --group: mode 0660
    d = Daemon(cp, tmp, extra=["--group", "0"], sock=os.path.join(tmp, "grp.sock"))
    st = os.stat(d.sock)
    check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == 0, "--group: socket mode 0660, group set", oct(st.st_mode))
    d.stop()

    # without --foreground: detaches once ready
    dsock = os.path.join(tmp, "detached.sock")
    r = subprocess.run([cp, "--fake-dataplane", "--socket", dsock, "--registry", os.path.join(tmp, "reg4"), "--audit",
                        os.path.join(tmp, "audit4.log")], capture_output=True, text=True, timeout=20)
    r2, j = jctl(c, dsock, "status")
    check(r.returncode == 0 and j and j["ok"], "detached start: parent exit 0, daemon answers", r.stderr + r2.stderr)
    if j:
        os.kill(j["result"]["control_plane"]["pid"], signal.SIGTERM)
        for _ in range(100):
            if not os.path.exists(dsock):
                break
            time.sleep(0.05)
        check(not os.path.exists(dsock), "detached daemon: SIGTERM removes the socket")
    r = subprocess.run([cp, "--bogus"], capture_output=True, text=True)
    check(r.returncode == 2, "spectre-cp wrong use: exit 2", r.stderr)


def main():
    cp = binary("SPECTRE_CP", "ctrlplane/spectre-cp")
    c = binary("SPECTRECTL", "ctrlplane/spectrectl")
    ml = binary("SPECTRE_ML", "ml/spectre-ml")
    if not cp or not c:
        return check.skip("spectre-cp / spectrectl not built")
    with tempfile.TemporaryDirectory(prefix="spectrectl-") as tmp:
        try:
            run(cp, c, ml, tmp)
        except Exception as e:  # a crash in the harness is a failure, not a skip
            import traceback
            traceback.print_exc()
            check(False, "harness ran to completion", repr(e))
            log = os.path.join(tmp, "cp.log")
            if os.path.exists(log):
                print(open(log).read())
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
