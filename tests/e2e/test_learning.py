#!/usr/bin/python3
"""The learning loop end to end (issue 14): reference distributions, drift,
feedback, retrain -> gates -> shadow -> promote -> rollback, all audited.

  test_learning.py   ($SPECTRE_DP, $SPECTRE_ML, $SPECTRE_LEARN; else build/...)

Captures from tests/gen/ml_traffic.py (benign HTTP/DNS/TLS, a SYN scan, a SYN
flood, an HTTP brute force), each its own file, never split by row:
  train    seed 7                      -> model v1 (spectre-ml train-xgb)
  live     seed 9 (attackers 10.9.5.x) -> stored rows + analyst feedback
  holdout  seeds 1 and 3 (10.9.6.x), and seed 2 benign-only
spectre-dp --dump-features gives the rows, spectre-ml label their classes.
Then, through spectre-learn over a registry directory (no data plane):
install v1; drift of the live benign rows, and of the same rows with one
feature scaled (must be flagged); feedback rates; a retrain whose feedback
calls every attack flow a false positive (a poisoned candidate: the TPR gate
must refuse it, and so must promote); a retrain with the analysts' correct
verdicts (must pass, become the shadow, show its agreement); promote; rollback
restores v1's sha256; every step in the audit log.

Exit 0 all passed, 1 a failure, 77 skipped (binaries missing). Last line: "N passed, N failed".
"""
import csv
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
import flowcheck  # noqa: E402
from checks import Checks  # noqa: E402
from ml_traffic import build, write_labels  # noqa: E402

BUILD = os.path.join(ROOT, "build")
DP = os.environ.get("SPECTRE_DP") or os.path.join(BUILD, "dataplane", "spectre-dp")
ML = os.environ.get("SPECTRE_ML") or os.path.join(BUILD, "ml", "spectre-ml")
LEARN = os.environ.get("SPECTRE_LEARN") or os.path.join(BUILD, "ctrlplane", "learn", "spectre-learn")
CLASSES = "benign,bruteforce,dos,scan"
MAP = "scan_*=scan,dos_*=dos,bruteforce_*=bruteforce"
check = Checks()


def run(args, timeout=300):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def rows_of(tmp, name, g):
    """Writes the capture, dumps its feature rows, labels them; returns (rows.csv, labelled.csv)."""
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    g.write(P(name + ".pcap"))
    write_labels(g, P(name + "-labels.csv"))
    r = flowcheck.run_dp(DP, [P(name + ".pcap")], workers=1, eve=P(name + "-eve.json"), timeout=180,
                         extra=["--dump-features", P(name + "-rows.csv")])
    if not check(r.rc == 0, "spectre-dp dumps the rows of " + name, r.describe() if hasattr(r, "describe") else r.err):
        return None, None
    lr = run([ML, "label", "--rows", P(name + "-rows.csv"), "--labels", P(name + "-labels.csv"),
              "-o", P(name + ".csv"), "--map", MAP])
    check(lr.returncode == 0, "spectre-ml label " + name, lr.stderr)
    return P(name + "-rows.csv"), P(name + ".csv")


def flow_labels(labelled):
    """flow_id -> label (its last row's) of a labelled CSV."""
    out = {}
    with open(labelled) as f:
        for row in csv.DictReader(f):
            out[row["flow_id"]] = row["label"]
    return out


def write_feedback(path, labels, poison):
    """Analyst verdicts on the live flows. poison: every attack flow is called
    a false positive (and nothing else is said); else each attack flow is a
    true positive of its class and each benign flow a false positive of the
    class the analyst saw (scan) -- the benign ones teach the model nothing new,
    they are what the model already calls benign."""
    n = 0
    with open(path, "w") as f:
        for i, (fid, lab) in enumerate(sorted(labels.items())):
            if poison and lab == "benign":
                continue
            verdict = "false_positive" if poison or lab == "benign" else "true_positive"
            cls = lab if lab != "benign" else "scan"
            f.write(json.dumps({"id": i + 1, "target": "alert", "target_id": 1000 + i, "flow_id": fid,
                                "gid": 9000, "sid": 9000001 + CLASSES.split(",").index(cls), "class": cls,
                                "verdict": verdict, "reason": "test", "author": "analyst"}) + "\n")
            n += 1
        f.write("this line is not JSON\n")
    return n


def learn(base, *args, timeout=600):
    r = run([LEARN] + base + list(args), timeout=timeout)
    try:
        body = json.loads(r.stdout.strip().split("\n")[-1]) if r.stdout.strip() else None
    except ValueError:
        body = None
    return r, body


def scaled_rows(src, dst, column, factor):
    with open(src) as f, open(dst, "w", newline="") as o:
        rd = csv.reader(f)
        w = csv.writer(o, lineterminator="\n")
        header = next(rd)
        w.writerow(header)
        j = header.index(column)
        for row in rd:
            if row[j] not in ("", "nan"):
                row[j] = repr(float(row[j]) * factor + 1000)
            w.writerow(row)


def benign_rows(rows_csv, labelled, dst):
    keep = {fid for fid, lab in flow_labels(labelled).items() if lab == "benign"}
    with open(rows_csv) as f, open(dst, "w") as o:
        o.write(f.readline())
        for line in f:
            if line.split(",", 1)[0] in keep:
                o.write(line)


def drift_part(base, tmp, live_rows, live_csv, v1):
    """Drift of live benign rows (a seed training never saw) and of the same rows shifted."""
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    benign_rows(live_rows, live_csv, P("live-benign-rows.csv"))
    r, d = learn(base + ["--rows", P("live-benign-rows.csv"), "--min-rows", "50"], "drift")
    ok = r.returncode == 0 and d and d["window"]["rows"] > 50 and len(d["features"]) > 10
    check(ok, "drift report: window rows and per-feature psi/ks/drifted", r.stdout[-800:] + r.stderr)
    if not ok:
        return
    by = {f["name"]: f for f in d["features"]}
    col = "payload_bytes_fwd"
    if not check(col in by, "feature %s in the drift report" % col, sorted(by)):
        return
    check(not by[col]["drifted"], "live benign rows: %s not drifted (psi %.3f)" % (col, by[col]["psi"]), by[col])
    drifted = sorted(f["name"] for f in d["features"] if f["drifted"])
    print("  unshifted live benign rows: %d rows, %d of %d features drifted %s, score psi %.3f" %
          (d["window"]["rows"], len(drifted), len(d["features"]), drifted, d["score"]["psi"]))
    check(all(k in d["alert_rate"] for k in ("rate", "baseline", "change")), "drift report: alert_rate", d)
    scaled_rows(P("live-benign-rows.csv"), P("shifted-rows.csv"), col, 50)
    r, s = learn(base + ["--rows", P("shifted-rows.csv"), "--min-rows", "50"], "drift")
    sf = {f["name"]: f for f in (s or {}).get("features", [])}
    check(sf.get(col, {}).get("drifted") is True and sf[col]["psi"] > 0.2 and sf[col]["ks"] > by[col]["ks"],
          "shifted %s flagged (psi %.3f, ks %.3f)" % (col, sf.get(col, {}).get("psi", -1), sf.get(col, {}).get("ks", -1)),
          r.stdout[-600:])
    m = run([LEARN] + base + ["--rows", P("shifted-rows.csv"), "--min-rows", "50", "metrics"])
    check(('spectre_ml_feature_drifted{feature="%s"} 1' % col) in m.stdout and "spectre_ml_alert_rate_change" in m.stdout,
          "metrics: drift gauges", m.stdout[-500:])


def write_alerts(path, rates, seed):
    """EVE alert lines: rates[i] alerts (Poisson mean) in minute i, from 2026-12-07T00:00:00Z."""
    rnd = random.Random(seed)
    t0 = 1796601600  # 2026-12-07T00:00:00Z
    with open(path, "w") as f:
        for i, lam in enumerate(rates):
            k, p, L = 0, 1.0, math.exp(-lam)  # Knuth's Poisson draw
            while True:
                p *= rnd.random()
                if p <= L:
                    break
                k += 1
            for _ in range(k):
                t = t0 + 60 * i + rnd.random() * 59
                ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06d+0000" % int((t % 1) * 1e6)
                f.write(json.dumps({"timestamp": ts, "event_type": "alert", "alert": {"sid": 1}}) + "\n")
            f.write(json.dumps({"timestamp": "2026-12-07T00:00:00+0000", "event_type": "flow"}) + "\n")


def rate_part(base, tmp):
    """The alert-rate change detector (ADWIN) on EVE alerts: a step is seen, a steady rate is not."""
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    write_alerts(P("steady.json"), [3] * 180, 5)
    write_alerts(P("step.json"), [3] * 150 + [30] * 30, 6)
    r, s = learn(base, "--alerts", P("steady.json"), "drift")
    r2, t = learn(base, "--alerts", P("step.json"), "drift")
    sr, tr = (s or {}).get("alert_rate", {}), (t or {}).get("alert_rate", {})
    check(r.returncode == 0 and sr.get("change") is False and sr.get("buckets", 0) >= 179,
          "steady alert rate (3/min, 180 min): no change (%s)" % sr, r.stdout[-400:] + r.stderr)
    check(r2.returncode == 0 and tr.get("change") is True and tr.get("rate", 0) > 10 and tr.get("baseline", 0) > 10,
          "alert rate step 3 -> 30/min: change (%s)" % tr, r2.stdout[-400:] + r2.stderr)


def cli_part(tmp, v1, train, holdouts):
    """spectre-ml reference / drift / gate / feedback directly, and their refusals."""
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    r = run([ML, "train-xgb", "--csv", train, "--label", "label", "--classes", CLASSES, "--objective", "multi",
             "--rounds", "4", "--depth", "3", "--reference", "no", "-o", P("noref.spm")])
    ins = run([ML, "inspect", P("noref.spm")]).stdout
    check(r.returncode == 0 and "reference: none" in ins, "train-xgb --reference no: no reference", r.stderr)
    r = run([ML, "drift", "--model", P("noref.spm"), "--csv", holdouts[2]])
    check(r.returncode == 1 and "no reference" in r.stderr, "drift refuses a model without a reference", r.stderr)
    r = run([ML, "reference", "--model", P("noref.spm"), "--csv", train, "--label", "label", "--benign", "benign",
             "-o", P("withref.spm")])
    ins = run([ML, "inspect", P("withref.spm")]).stdout
    check(r.returncode == 0 and "reference: " in ins and "reference: none" not in ins, "spectre-ml reference adds one",
          r.stderr + ins[-300:])
    r = run([ML, "drift", "--model", P("withref.spm"), "--csv", train, "--label", "label", "--benign", "benign",
             "--window", "100", "--shuffle", "1"])
    summ = json.loads(r.stdout.strip().split("\n")[-1]) if r.returncode == 0 else {}
    check(summ.get("windows", 0) >= 1 and summ.get("windows_with_drift", 1) == 0,
          "drift of the reference rows themselves (shuffled windows of 100): none flagged", r.stdout[-400:] + r.stderr)
    r = run([ML, "gate", "--candidate", v1, "--csv", P("missing.csv")])
    check(r.returncode == 1, "gate: a missing hold-out file is bad input (exit 1)", r.stderr)
    r = run([ML, "gate", "--candidate", v1, "--csv", holdouts[2]])
    check(r.returncode == 3 and "tpr" in r.stdout, "gate on benign-only hold-out: detection not verified (exit 3)",
          r.stdout)
    r = run([ML, "gate", "--candidate", v1, "--csv", holdouts[2], "--allow-no-tpr", "--max-fpr", "2"])
    check(r.returncode == 2, "gate: --max-fpr outside [0, 1] is wrong use", r.stderr)
    r = run([ML, "feedback", "--feedback", P("missing.jsonl")])
    check(r.returncode == 1, "feedback: a missing file is bad input", r.stderr)
    # min_payload_bytes of the active model carries over only without payload-less attack rows.
    feats = run([ML, "schema", "--csv"]).stdout.strip()
    r = run([ML, "train-xgb", "--csv", train, "--label", "label", "--classes", CLASSES, "--objective", "multi",
             "--rounds", "4", "--depth", "3", "-o", P("mp0.spm"), "--json", P("mp.json")])
    r2 = run([ML, "compile", P("mp.json"), "-o", P("mp.spm"), "--features", feats, "--classes", CLASSES,
              "--metric", "min_payload_bytes=1"])
    with open(P("empty.jsonl"), "w"):
        pass
    with open(train) as f, open(P("train-http.csv"), "w") as o:  # benign and brute-force rows (all carry payload)
        head = f.readline()
        o.write(head)
        L = head.strip().split(",").index("label")
        for line in f:
            if line.split(",")[L] in ("benign", "bruteforce"):
                o.write(line)
    common = ["--rows", P("live-rows.csv"), "--feedback", P("empty.jsonl"), "--active", P("mp.spm"), "--classes",
              "benign,bruteforce", "--objective", "binary", "--rounds", "3", "--depth", "2"]
    a = run([ML, "retrain", "--csv", train, "-o", P("mp-all.spm")] + common[:6] + ["--rounds", "3", "--depth", "2"])
    b = run([ML, "retrain", "--csv", P("train-http.csv"), "-o", P("mp-http.spm")] + common)
    ia, ib = run([ML, "inspect", P("mp-all.spm")]).stdout, run([ML, "inspect", P("mp-http.spm")]).stdout
    check(r.returncode == 0 and r2.returncode == 0 and a.returncode == 0 and "NOT carried over" in a.stderr and
          "min_payload_bytes" not in ia, "retrain: min_payload_bytes not carried over with payload-less scan rows",
          a.stderr[-600:])
    check(b.returncode == 0 and "min_payload_bytes: 1" in ib, "retrain: min_payload_bytes carried over otherwise",
          b.stderr[-600:] + ib[-400:])


def main():
    for b in (DP, ML, LEARN):
        if not os.path.exists(b):
            print("SKIP: %s missing (build first)" % b)
            return 77
    tmpd = tempfile.mkdtemp(prefix="learn-")
    P = lambda n: os.path.join(tmpd, n)  # noqa: E731
    _, train = rows_of(tmpd, "train", build(7, True))
    live_rows, live = rows_of(tmpd, "live", build(9, True, net="10.9.5"))
    holdouts = [rows_of(tmpd, "hold1", build(1, True))[1], rows_of(tmpd, "hold3", build(3, True, net="10.9.6"))[1],
                rows_of(tmpd, "hold2", build(2, False, regular=120))[1]]
    if not train or not live or not all(holdouts):
        return check.summary()

    # ---- v1 and its reference distributions
    v1 = P("v1.spm")
    r = run([ML, "train-xgb", "--csv", train, "--label", "label", "--classes", CLASSES, "--objective", "multi",
             "--rounds", "10", "--depth", "3", "--seed", "1", "--split-by", "flow_id", "-o", v1])
    check(r.returncode == 0, "train v1", r.stderr)
    ins = run([ML, "inspect", v1]).stdout
    check("reference: " in ins and "reference: none" not in ins, "v1 carries reference distributions",
          [ln for ln in ins.split("\n") if ln.startswith("reference")])
    cli_part(tmpd, v1, train, holdouts)
    with open(P("learn.yaml"), "w") as f:  # the gates from a learning: section, the rest as options
        f.write("learning:\n  gates: {max_benign_fpr: 0.05, min_tpr: 0.5, min_agreement: 0.8}\n")
    base = ["--config", P("learn.yaml"), "--registry", P("registry"), "--audit", P("audit.log"), "--spectre-ml", ML,
            "--train", train, "--rows", live_rows, "--feedback", P("feedback.jsonl"), "--actor", "alice",
            "--train-arg", "--rounds", "--train-arg", "10", "--train-arg", "--depth", "--train-arg", "3",
            "--train-arg", "--seed", "--train-arg", "1", "--train-arg", "--split-by", "--train-arg", "flow_id"]
    for h in holdouts:
        base += ["--holdout", h]
    r, b = learn(base, "install", v1)
    v1_sha = (b or {}).get("active", {}).get("sha256")
    check(r.returncode == 0 and v1_sha, "install v1", r.stdout + r.stderr)
    ev = run([ML, "gate", "--candidate", v1] + sum([["--csv", h] for h in holdouts], []) + ["--max-fpr", "0.05"])
    print("  v1 on the hold-outs:\n    " + ev.stdout.strip().replace("\n", "\n    "))

    drift_part(base, tmpd, live_rows, live, v1)
    rate_part(base, tmpd)

    # ---- feedback rates
    labels = flow_labels(live)
    nfb = write_feedback(P("feedback.jsonl"), labels, poison=True)
    r, fb = learn(base, "feedback")
    check(r.returncode == 0 and fb and fb["total"]["fp"] == nfb and fb["bad_lines"] == 1 and
          all(c["fp_rate"] == 1.0 for c in fb["classes"]), "feedback rates: %d false positives, 1 bad line" % nfb,
          r.stdout[-500:])

    # ---- a poisoned candidate is refused, and cannot be promoted
    r, job = learn(base, "retrain", timeout=900)
    failed = (job or {}).get("gate", {}).get("failed", []) if job else []
    check(r.returncode == 3 and job and job["state"] == "done" and not job["passed"] and
          any(f.startswith("tpr.") for f in failed), "poisoned candidate refused by the TPR gate %s" % failed,
          r.stdout[-1500:] + r.stderr)
    bad_version = (job or {}).get("candidate", {}).get("version", "none")
    r, b = learn(base, "promote", bad_version)
    check(r.returncode == 3 and b and "refused: gate(s) failed" in b.get("error", ""),
          "promote of the refused candidate refused: %s" % (b or {}).get("error"), r.stdout + r.stderr)

    # ---- the analysts' correct verdicts give a candidate that passes
    write_feedback(P("feedback.jsonl"), labels, poison=False)
    r, job = learn(base, "retrain", timeout=900)
    check(r.returncode == 0 and job and job["passed"], "candidate from correct feedback passes the gates",
          r.stdout[-1500:] + r.stderr)
    good = (job or {}).get("candidate") or {}
    if job:
        for c in job["gate"]["checks"]:
            print("  gate %-16s %.4f (limit %.4f) %s" % (c["name"], c["value"] if c["value"] is not None else -1,
                                                         c["limit"], c["detail"]))
    r, st = learn(base, "status")
    ok = st and st["shadow"] and st["shadow"]["sha256"] == good.get("sha256") and st["agreement"] and \
        0.8 <= st["agreement"]["holdout"] <= 1 and st["active"]["sha256"] == v1_sha
    check(ok, "status: candidate in shadow beside v1, agreement %s" % ((st or {}).get("agreement")), r.stdout[-1500:])
    r, b = learn(base, "promote", good.get("version", "none"))
    check(r.returncode == 0 and b and b["active"]["sha256"] == good.get("sha256") and b["previous"]["sha256"] == v1_sha,
          "promote the candidate", r.stdout + r.stderr)
    r, st = learn(base, "status")
    check(st and st["active"]["sha256"] == good.get("sha256") and "classes" in st["active"], "status: candidate active")
    r, b = learn(base, "rollback")
    r2, st = learn(base, "status")
    check(r.returncode == 0 and st and st["active"]["sha256"] == v1_sha, "rollback restores v1's sha256",
          r.stdout + r.stderr)
    with open(P("audit.log")) as f:
        audit = [json.loads(ln) for ln in f if ln.strip()]
    cmds = [a.get("command") for a in audit]
    check(all(c in cmds for c in ("ml install", "ml retrain", "ml gate", "ml shadow", "ml promote", "ml rollback")),
          "every step audited", cmds)
    check(any(a.get("command") == "ml promote" and a.get("result") == "error" for a in audit), "the refused promote audited")
    check.cleanup(tmpd)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
