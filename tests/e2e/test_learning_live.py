#!/usr/bin/python3
"""The learning loop through the REST API with a real data plane (issue 14):
retrain -> gates -> shadow -> promote -> rollback, and drift of the shipped model.

  test_learning_live.py   (binaries from $SPECTRE_DP, $SPECTRE_CP, $SPECTRECTL, $SPECTRE_ML, else build/...;
                           needs root, iproute2 netns, tcpreplay and python3-jsonschema; else exit 77)

Data as test_learning.py (tests/gen/ml_traffic.py, whole captures): v1 trained on
seed 7; hold-out seed 1; live traffic seed 9 (attackers 10.9.5.7-9).
spectre-dp runs live (DPDK net_af_packet in a network namespace, the helpers of
tests/live/test_live.py, as test_controlplane.py) with --instance, the shipped
model and --dump-features; spectre-cp attaches with --api, a store and a
learning: section (--learn-config) whose rows are the data plane's dump.
Steps, each checked through the API (every response validated against the
served OpenAPI document), `spectrectl status` (the data plane's model and
shadow) and the audit log:
 0. Nothing loaded through spectre-cp: /ml/drift compares with the model the
    data plane runs (the shipped one, source "data plane") and its reference;
    after a replay its window has the dumped rows, PSI per feature and score.
 1. `model load` of the shipped model: /ml/status shows its reference rows;
    `model load` of v1; tcpreplay sends the live capture; v1's ML alerts reach
    the store and the rows file grows; /ml/drift has a window with rows.
 2. GET /alerts/{id}/explain of ML alerts: every feature's contribution, from
    v1 on the flow's dumped row, the largest three equal to the alert's own.
    Analysts' verdicts through POST /alerts/{id}/feedback (attack flows true
    positives, the others false positives); /ml/feedback counts them,
    /ml/feedback/export names their flow ids.
 3. spectre-cp with stricter gates (phase k4 with a scan limit: a SYN-scan flow
    never has 4 packets, so scan detection cannot be verified; see STRICT):
    POST /ml/retrain, the job is polled; the candidate is refused by that gate,
    is not the shadow; POST /ml/promote of it is refused (409) and audited.
 4. spectre-cp restarted with the ordinary gates (same registry, store, audit):
    the retrain's candidate passes, is the data plane's shadow (spectrectl
    status), scores the next replay beside v1 (the data plane's stats
    ml.shadow.scored grow, in spectre-cp's EVE file and in /ml/status
    agreement.live); POST /ml/promote makes it
    the data plane's model; POST /ml/rollback restores v1, a second one the
    shipped model, whose /ml/drift then compares the dumped rows with its
    reference (window rows > 0, PSI per feature and of the score).
Last line "N passed, N failed".
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
import test_learning as tl  # noqa: E402  (rows_of, flow_labels; its main() unused)
import test_live as live  # noqa: E402  (netns helpers)
from apiclient import Api  # noqa: E402  (exits 77 without python3-jsonschema)
from checks import Checks  # noqa: E402
from cphelp import binary, free_port, stop, wait_for  # noqa: E402
from ml_traffic import build  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")
INSTANCE = "e2e-learn-%d" % os.getpid()
DEFAULT = os.path.join(ROOT, "ml", "models", "default.spm")
TOKENS = {"viewer": "viewer-token-learn", "analyst": "analyst-token-learn", "admin": "admin-token-learn"}
ATTACKERS = ("10.9.5.7", "10.9.5.8", "10.9.5.9")
CONFIG = ("flow:\n  timeouts: {tcp_new: 2, tcp_established: 3, tcp_closing: 1, tcp_closed: 1, udp: 2, "
          "icmp: 2, other: 2}\neve:\n  stats_interval: 1\ncontrol:\n  event_ring_kb: 1024\n")
GATES = "{max_benign_fpr: 0.05, min_tpr: 0.5, min_agreement: 0.8}"
# Stricter: judged on the rows of the 4th packet (phase k4), with scan detection required there. A SYN-scan
# flow never has 4 packets, so that cannot be verified: the gate refuses every candidate (on this data every
# other gate, even max_benign_fpr 0 / min_tpr 1 / min_agreement 1, is met).
STRICT = "{max_benign_fpr: 0.0, min_tpr: 1.0, min_agreement: 1.0, phase: k4, class_tpr: {scan: 0.9}}"
check = Checks()


class Cp:
    """spectre-cp attached to the instance, with the API, a store and a learning: section."""

    def __init__(self, exe, tmp, port, tag, learn_yaml):
        P = lambda n: os.path.join(tmp, n)  # noqa: E731
        self.log = P("cp-%s.log" % tag)
        self.sock = P("cp.sock")
        self.proc = subprocess.Popen(
            [exe, "--foreground", "--instance", INSTANCE, "--socket", self.sock, "--registry", P("reg"),
             "--audit", P("audit.log"), "--eve", P("cp-%s.json" % tag), "--store", P("store.db"),
             "--api", "127.0.0.1:%d" % port, "--api-tokens", P("tokens.yaml"), "--learn-config", learn_yaml],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env=ENV)
        self.eve = P("cp-%s.json" % tag)

    def text(self):
        return open(self.log).read()

    def stop(self):
        return stop(self.proc)


def learn_yaml(path, ml, train, rows, holdouts, gates, rounds):
    with open(path, "w") as f:
        f.write("learning:\n  spectre_ml: %s\n  train: [%s]\n  rows: %s\n  holdout: [%s]\n"
                "  train_args: [--rounds, \"%d\", --depth, \"3\", --seed, \"1\", --split-by, flow_id]\n"
                "  job_timeout_s: 120\n  gates: %s\n  drift: {min_rows: 20}\n"
                % (ml, train, rows, ", ".join(holdouts), rounds, gates))
    return path


def data(tmp, ml):
    """(train.csv, [hold-out csvs], v1.spm, live.pcap) or None."""
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    _, train = tl.rows_of(tmp, "train", build(7, True))
    holdouts = [tl.rows_of(tmp, "hold1", build(1, True))[1]]
    if not train or not all(holdouts):
        return None
    build(9, True, net="10.9.5").write(P("live.pcap"))
    r = tl.run([ml, "train-xgb", "--csv", train, "--label", "label", "--classes", tl.CLASSES, "--objective", "multi",
                "--rounds", "10", "--depth", "3", "--seed", "1", "--split-by", "flow_id",
                "-o", P("v1.spm")])
    if not check(r.returncode == 0, "train v1 (%s)" % tl.CLASSES, r.stderr):
        return None
    return train, holdouts, P("v1.spm"), P("live.pcap")


def sha_of(path):
    with open(path, "rb") as f:
        f.seek(-32, 2)
        return f.read().hex()


def main():
    dp, cpx = binary("SPECTRE_DP", "dataplane/spectre-dp"), binary("SPECTRE_CP", "ctrlplane/spectre-cp")
    ctl, ml = binary("SPECTRECTL", "ctrlplane/spectrectl"), binary("SPECTRE_ML", "ml/spectre-ml")
    if live.unavailable():
        return check.skip(live.unavailable())
    if not (dp and cpx and ctl and ml):
        return check.skip("binaries missing (SPECTRE_DP, SPECTRE_CP, SPECTRECTL, SPECTRE_ML)")
    tl.DP, tl.ML, tl.check = dp, ml, check
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="spectre-learn-live-")
    d = data(tmp, ml)
    if not d:
        return check.summary()
    print("  offline data and v1: %.1f s" % (time.time() - t0))
    why = live.netns_or_why()
    if why:
        shutil.rmtree(tmp, ignore_errors=True)
        return check.skip(why)
    try:
        run(tmp, dp, cpx, ctl, ml, *d)
    except Exception:
        import traceback
        check(False, "no exception", traceback.format_exc())
    finally:
        live.netns_down()
    print("  whole test: %.1f s" % (time.time() - t0))
    check.cleanup(tmp)
    return check.summary()


def run(tmp, dp, cpx, ctl, ml, train, holdouts, v1, live_pcap):
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    rows = P("rows.csv")
    with open(P("cfg.yaml"), "w") as f:
        f.write(CONFIG)
    with open(P("tokens.yaml"), "w") as f:
        # A rate above the default: the analyst posts a verdict per alert in a burst.
        f.write("tokens:\n" + "".join("  - {name: %s-user, role: %s, token: %s, rate: 1000, burst: 1000}\n" %
                                      (r, r, t) for r, t in TOKENS.items()))
    strict = learn_yaml(P("learn-strict.yaml"), ml, train, rows, holdouts, STRICT, 8)
    normal = learn_yaml(P("learn.yaml"), ml, train, rows, holdouts, GATES, 10)
    port = free_port()
    proc, _, err = live.start_live(tmp, "dp", P("cfg.yaml"), ["--instance", INSTANCE, "--model", DEFAULT,
                                                            "--dump-features", rows], binary=dp)
    cp = None
    try:
        cp = Cp(cpx, tmp, port, "strict", strict)
        api = attach(cp, port, ctl)
        if not api:
            return
        shipped = traffic_and_feedback(api, cp, ctl, live_pcap, rows, v1)
        cp = strict_phase(api, cp, ctl)
        cp = Cp(cpx, tmp, port, "normal", normal)
        api = attach(cp, port, ctl)
        if api:
            cycle(api, cp, ctl, live_pcap, v1, shipped)
            audit_checks(P("audit.log"))
    finally:
        if cp:
            check(cp.stop() == 0, "spectre-cp stopped cleanly", cp.text()[-600:])
        rc, text = live.stop_live(proc, err)
        check(rc == 0, "spectre-dp stopped cleanly (SIGINT)", text[-800:])


def attach(cp, port, ctl):
    """Waits for spectre-cp to attach and serve; returns an Api on the served OpenAPI document."""
    ok = wait_for(lambda: subprocess.run([ctl, "--socket", cp.sock, "status"], capture_output=True).returncode == 0,
                  30)
    if not check(ok, "spectre-cp attached to the live data plane", cp.text()[-800:]):
        return None
    base = Api("127.0.0.1", port, {"paths": {}, "components": {}})
    st = wait_for(lambda: _get(base, "/api/v1/openapi.json"), 15)
    return Api("127.0.0.1", port, json.loads(st)) if st else None


def _get(api, path):
    try:
        st, raw, _ = api.raw("GET", path)
        return raw if st == 200 else None
    except OSError:
        return None


def dp_status(ctl, sock):
    r = subprocess.run([ctl, "--socket", sock, "--json", "status"], capture_output=True, text=True, timeout=30)
    try:
        return json.loads(r.stdout.strip().splitlines()[0])["result"]["data_plane"]
    except (ValueError, IndexError, KeyError, TypeError):
        return {}


def model_load(ctl, sock, path, what):
    r = subprocess.run([ctl, "--socket", sock, "model", "load", path], capture_output=True, text=True, timeout=60)
    return check(r.returncode == 0, "spectrectl model load %s" % what, r.stdout + r.stderr)


def ml_alerts(api):
    st, b, _ = api.call(check, "GET", "/alerts", TOKENS["viewer"], query={"limit": 1000})
    return [a for a in b.get("items", []) if a.get("gid") == 9000] if st == 200 else []


def shipped_drift(api, live_pcap):
    """Step 0: nothing loaded through spectre-cp yet; drift follows the model spectre-dp runs."""
    v = TOKENS["viewer"]
    st, b, _ = api.call(check, "GET", "/ml/drift", v)
    check(st == 200 and b.get("model") == {"sha256": sha_of(DEFAULT), "source": "data plane"} and
          (b.get("reference") or 0) > 1000, "ml/drift, empty registry: the data plane's shipped model and its "
          "reference (%s rows)" % (b or {}).get("reference"), b)
    live.replay(live_pcap, "--pps", "4000")
    b = wait_for(lambda: _drift_rows(api, 20), 10) or {}
    feats = b.get("features", [])
    check(b and len(feats) == 58 and b["score"]["name"].startswith("score.") and
          len([f for f in feats if f["psi"] > 0]) > 10,
          "ml/drift of the shipped model on live rows: window %s rows, %d features, worst score %s psi %.3f" %
          (b.get("window", {}).get("rows"), len(feats), b.get("score", {}).get("name"), b.get("score", {}).get("psi", -1)),
          b)


def _drift_rows(api, n):
    st, b, _ = api.call(check, "GET", "/ml/drift", TOKENS["viewer"])
    return b if st == 200 and b["window"]["rows"] >= n else None


def traffic_and_feedback(api, cp, ctl, live_pcap, rows, v1):
    """Step 1 and 2. Returns the shipped model's sha256."""
    v, an = TOKENS["viewer"], TOKENS["analyst"]
    shipped_drift(api, live_pcap)
    model_load(ctl, cp.sock, DEFAULT, "(the shipped model, as spectre-dp runs it)")
    st, b, _ = api.call(check, "GET", "/ml/status", v)
    act = (b or {}).get("active") or {}
    check(st == 200 and act.get("sha256") == sha_of(DEFAULT) and act.get("reference_rows", 0) > 1000,
          "ml/status: the shipped model active, with a reference of %s rows" % act.get("reference_rows"), act)
    model_load(ctl, cp.sock, v1, "v1")
    sent, failed = live.replay(live_pcap, "--pps", "4000")
    check(sent > 1000 and failed == 0, "tcpreplay sent the live capture (%d packets)" % sent)
    seen = []

    def settled():  # at least 20 ML alerts, and no new one for a second
        now = ml_alerts(api)
        done = len(now) >= 20 and len(now) == len(seen)
        seen[:] = now
        return done

    wait_for(settled, 20, 1.0)
    alerts = seen
    check(len(alerts) >= 20, "v1's ML alerts reached the store (%d)" % len(alerts))
    nrows = wait_for(lambda: os.path.exists(rows) and sum(1 for _ in open(rows)) > 100 and sum(1 for _ in open(rows)),
                     10) or 0
    check(nrows > 100, "the data plane dumped feature rows (%d lines)" % nrows)

    def dumped():  # spectre-dp's writer syncs the dump at least once a second when idle
        with open(rows) as f:
            ids = {line.split(",", 1)[0] for line in f}
        return [a["id"] for a in alerts if str((a.get("eve") or {}).get("flow_id")) not in ids]
    wait_for(lambda: not dumped(), 3, 0.5)
    late = dumped()
    check(not late, "every ML alert's flow has its dumped row within 3 s of the replay (missing: %s)" % late[:5])
    st, b, _ = api.call(check, "GET", "/ml/drift", v)
    check(st == 200 and b["window"]["rows"] > 100 and b["reference"], "ml/drift of v1: window of %s rows" %
          (b or {}).get("window", {}).get("rows"), b)
    tp = fp = 0
    for a in alerts:
        attack = a.get("src_ip") in ATTACKERS or a.get("dest_ip") in ATTACKERS
        verdict = "true_positive" if attack else "false_positive"
        st, _, _ = api.call(check, "POST", "/alerts/%d/feedback" % a["id"], an,
                            body={"verdict": verdict, "reason": "e2e", "note": "live flow"})
        tp, fp = tp + (st == 201 and attack), fp + (st == 201 and not attack)
    check(tp > 0 and tp + fp == len(alerts), "analysts' verdicts posted: %d true, %d false positives" % (tp, fp))
    st, b, _ = api.call(check, "GET", "/ml/feedback", v)
    tot = (b or {}).get("total", {})
    check(st == 200 and tot.get("tp") == tp and tot.get("fp") == fp, "ml/feedback counts them", b)
    st, raw, _ = api.call(check, "GET", "/ml/feedback/export", an)
    lines = [json.loads(x) for x in raw.decode().splitlines() if x.strip()] if st == 200 else []
    check(len(lines) == tp + fp and all(x.get("flow_id") and x.get("class") for x in lines),
          "ml/feedback/export: every verdict with its flow_id and model class", lines[:3])
    explain_checks(api, alerts, v1)
    return sha_of(DEFAULT)


def explain_checks(api, alerts, v1):
    """GET /alerts/{id}/explain of v1's ML alerts: every feature's contribution, recomputed on the dumped row;
    its largest three are the data plane's top features of the alert (same method, same row)."""
    same = n = 0
    for a in alerts[:10]:
        st, b, _ = api.call(check, "GET", "/alerts/%d/explain" % a["id"], TOKENS["viewer"])
        if st != 200 or b.get("contributions_source") != "model":
            check(False, "explain alert %d: contributions from the model" % a["id"], b)
            return
        top = [t["name"] for t in b["ml"]["top_features"]]
        n += 1
        same += [c["feature"] for c in b["contributions"][:len(top)]] == top and len(b["contributions"]) == 58 and \
            b["model"]["sha256"] == sha_of(v1) and b["kind"] == "ml" and b["rule"]["gid"] == 9000
    check(n and same == n, "GET /alerts/{id}/explain: 58 contributions of v1 on the dumped row, the largest = the "
          "alert's top features (%d of %d alerts)" % (same, n))


def retrain(api, what):
    """POST /ml/retrain, polls the job; returns the finished job or {}."""
    a = TOKENS["admin"]
    st, b, _ = api.call(check, "POST", "/ml/retrain", a)
    if not check(st == 202 and b.get("job"), "%s: POST /ml/retrain -> 202 job" % what, b):
        return {}
    job = {}

    def done():
        nonlocal job
        s, job, _ = api.call(check, "GET", "/ml/jobs/" + b["job"], TOKENS["viewer"])
        return s == 200 and job.get("state") in ("done", "failed")

    t = time.time()
    check(wait_for(done, 90, 0.3), "%s: the job finished (%s, %.1f s)" % (what, job.get("state"), time.time() - t), job)
    for c in (job.get("gate") or {}).get("checks", []):
        print("  gate %-16s %s (limit %s) %s" % (c["name"], c["value"], c["limit"], "ok" if c["passed"] else "FAILED"))
    return job


def strict_phase(api, cp, ctl):
    """Step 3. Returns None (spectre-cp stopped)."""
    job = retrain(api, "strict gates")
    cand = (job.get("candidate") or {}).get("version")
    check(job.get("state") == "done" and job.get("passed") is False and job["gate"]["failed"] and cand,
          "strict gates: the candidate is refused (%s)" % (job.get("gate") or {}).get("failed"), job)
    st, b, _ = api.call(check, "GET", "/ml/status", TOKENS["viewer"])
    ver = [x for x in (b or {}).get("versions", []) if x["version"] == cand]
    check(st == 200 and b["shadow"] is None and ver and ver[0]["evaluation"]["passed"] is False,
          "ml/status: the refused candidate listed with its evaluation, no shadow", b)
    check(not dp_status(ctl, cp.sock).get("shadow_sha256"), "the data plane has no shadow model")
    st, b, _ = api.call(check, "POST", "/ml/promote", TOKENS["admin"], body={"version": cand or "none"})
    check(st == 409 and "refused: gate(s) failed" in (b or {}).get("error", ""),
          "POST /ml/promote of the refused candidate: 409 (%s)" % (b or {}).get("error"), b)
    check(cp.stop() == 0, "spectre-cp (strict gates) stopped", cp.text()[-500:])
    return None


def shadow_scored(eve):
    """The data plane's last stats ml.shadow.scored in spectre-cp's EVE file."""
    n = -1
    if os.path.exists(eve):
        for line in open(eve):
            if '"event_type":"stats"' in line:
                try:
                    n = json.loads(line)["stats"]["ml"]["shadow"]["scored"]
                except (ValueError, KeyError, TypeError):
                    pass
    return n


def cycle(api, cp, ctl, live_pcap, v1, shipped):
    """Step 4."""
    v, a = TOKENS["viewer"], TOKENS["admin"]
    job = retrain(api, "ordinary gates")
    cand = job.get("candidate") or {}
    check(job.get("state") == "done" and job.get("passed") is True and cand.get("sha256"),
          "ordinary gates: the candidate passes", job)
    st, b, _ = api.call(check, "GET", "/ml/status", v)
    check(st == 200 and (b.get("shadow") or {}).get("sha256") == cand.get("sha256") and
          b["active"]["sha256"] == sha_of(v1) and (b.get("agreement") or {}).get("holdout") is not None,
          "ml/status: the candidate is the shadow beside v1, hold-out agreement %s" %
          (b.get("agreement") or {}).get("holdout"), b)
    d = dp_status(ctl, cp.sock)
    check(d.get("shadow_sha256") == cand.get("sha256") and d.get("model", {}).get("sha256") == sha_of(v1),
          "spectrectl status: the data plane scores the candidate in shadow beside v1", d)
    before = max(0, (wait_for(lambda: shadow_scored(cp.eve) + 1, 5) or 0) - 1)  # -1: no stats line yet
    live.replay(live_pcap, "--pps", "4000")
    wait_for(lambda: shadow_scored(cp.eve) - before > 300, 10, 0.5)
    after = shadow_scored(cp.eve)
    check(after - before > 300, "the data plane's stats: the shadow scored %d rows of the next replay" % (after - before))
    got = {}

    def live_agreement():  # spectre-cp takes the counters from the stats after writing them to its EVE file
        got["r"] = api.call(check, "GET", "/ml/status", v)
        lv = (((got["r"][1] or {}).get("agreement") or {}).get("live") or {}).get("cumulative") or {}
        return lv.get("scored", 0) >= after

    wait_for(live_agreement, 10, 0.5)
    st, b, _ = got["r"]
    lv = ((b or {}).get("agreement") or {}).get("live") or {}
    cum, win = lv.get("cumulative") or {}, lv.get("window") or {}
    check(st == 200 and cum.get("scored", 0) >= after and 0 <= (cum.get("rate") or -1) <= 1,
          "ml/status agreement.live.cumulative: the data plane's shadow counters (%s)" % cum, b.get("agreement"))
    check(0 < win.get("scored", 0) <= cum.get("scored", 0) and 0 <= (win.get("rate") or -1) <= 1
          and win.get("seconds") == 3600 and 0 <= win.get("covered_s", -1) <= 3600,
          "ml/status agreement.live.window: the last hour's share of them (%s)" % win, b.get("agreement"))
    st, b, _ = api.call(check, "POST", "/ml/promote", a, body={"version": cand.get("version", "none")})
    check(st == 200 and b["active"]["sha256"] == cand.get("sha256") and b["previous"]["sha256"] == sha_of(v1),
          "POST /ml/promote: the candidate active", b)
    d = dp_status(ctl, cp.sock)
    check(d.get("model", {}).get("sha256") == cand.get("sha256"), "the data plane runs the promoted candidate", d)
    st, b, _ = api.call(check, "POST", "/ml/rollback", a)
    d = dp_status(ctl, cp.sock)
    check(st == 200 and b["active"]["sha256"] == sha_of(v1) and d.get("model", {}).get("sha256") == sha_of(v1),
          "POST /ml/rollback: v1 again, on the data plane too", (b, d))
    st, b, _ = api.call(check, "POST", "/ml/rollback", a)
    d = dp_status(ctl, cp.sock)
    check(st == 200 and b["active"]["sha256"] == shipped and d.get("model", {}).get("sha256") == shipped,
          "POST /ml/rollback again: the shipped model, on the data plane too", (b, d))
    st, s, _ = api.call(check, "GET", "/ml/status", v)
    check(st == 200 and s["active"]["sha256"] == shipped, "ml/status: the shipped model active", s)
    st, b, _ = api.call(check, "GET", "/ml/drift", v)
    feats = (b or {}).get("features", [])
    check(st == 200 and b["reference"] and b["window"]["rows"] > 100 and len(feats) == 58 and
          all(f["psi"] >= 0 for f in feats) and b["score"]["name"].startswith("score."),
          "ml/drift of the shipped model: reference %s rows, window %s rows, %d features, score %s psi %s" %
          (b.get("reference"), b.get("window", {}).get("rows"), len(feats), b.get("score", {}).get("name"),
           b.get("score", {}).get("psi")), b)


def audit_checks(path):
    with open(path) as f:
        audit = [json.loads(ln) for ln in f if ln.strip()]
    steps = [(x.get("command"), x.get("result")) for x in audit if (x.get("command") or "").startswith(("ml ", "model "))]
    want = [("ml retrain", "ok"), ("ml gate", "error"), ("ml promote", "error"), ("ml gate", "ok"),
            ("model shadow", "ok"), ("ml promote", "ok"), ("model rollback", "ok"), ("ml rollback", "ok")]
    it = iter(steps)
    check(all(w in it for w in want), "audit log: retrain, refused gate, refused promote, gate, shadow, promote, "
          "rollback in order", steps)


if __name__ == "__main__":
    sys.exit(main())
