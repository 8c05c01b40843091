#!/usr/bin/python3
"""ML scoring in spectre-dp, end to end and against independent oracles.

  test_ml_scoring.py [SPECTRE_DP] [--keep DIR]   ($SPECTRE_DP, $SPECTRE_ML;
                                                  else build/dataplane, build/ml)

A scapy pcap (generator classes of test_features.py) mixes benign HTTP, DNS
and TLS (varied, and regular: one flow per client, fixed sizes) with a SYN
scan, a SYN flood and an HTTP brute force. The test makes a guarded model of
its own: a classifier (`spectre-ml train-xgb`, classes benign, bruteforce,
dos, scan) on the rows of another seed's mixed pcap, an open-set guard
(`spectre-ml train-iforest`) on the rows of a benign-only pcap, thresholds by
`spectre-ml calibrate --percentile 75 --guard-percentile 75` on those benign
rows (low on purpose, so that both guard vetoes and alerts occur). The
shipped model (ml/models/default.spm, guarded) is checked to load and to be
refused when damaged.
spectre-dp runs with `--model guarded.spm --dump-features rows.csv` (1 worker)
and its ML alerts are checked against the dumped rows scored by two oracles:
`spectre-ml predict` and python3-xgboost on the classifier's JSON (float32
rows; approx contributions for the explanations), the guard's scores by
`spectre-ml predict --guard`. For every flow: an alert iff some row's best
non-benign probability >= its class threshold AND its guard score < the guard
threshold, at the first such row (phase, score within 1e-6, class = argmax
non-benign over its threshold, ml.guard score and threshold),
the alert's fields (gid 9000, sid 1000 + class index, signature, category,
model, version, endpoints) and its top 3 features (|approx contribution| of
the class, values = the row's, contributions within 1e-5).
Then: an isolation forest trained (spectre-ml train-iforest) on the rows of a
benign-only pcap scores the mixed pcap (alerts at the first row per flow with
score_samples < threshold, oracle spectre-ml predict); refusals of damaged,
foreign-schema and missing artifacts; --no-ml over a config's ml.model;
--score-points none; bad `ml:` config blocks; live SIGHUP reload with a
corrupt model (only when root + netns + tcpreplay are available).

Exit 0 all passed, 1 something failed, 77 binaries or python3-xgboost
missing. Last line: "N passed, N failed".
"""
import argparse
import csv
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import flowcheck  # noqa: E402
import test_features as tf  # noqa: E402  (pcap generator and feature names)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
from ml_traffic import build, write_labels  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402

MODEL = os.path.join(ROOT, "ml", "models", "default.spm")
MODEL_JSON = os.path.join(ROOT, "ml", "models", "default.json")
CLASSES = []          # the default model's classes, from `spectre-ml inspect` (main)
MODEL_VERSION = None  # its "version" metric
THR = []              # per-class thresholds of the guarded test model
GUARD = {}            # its guard: threshold and per-row scores
META = tf.META
EPS_DECIDE = 1e-6      # probabilities this close to a threshold: either decision accepted


# ------------------------------------------------------------- helpers



def find_ml(explicit=None):
    for p in (explicit, os.environ.get("SPECTRE_ML"), os.path.join(ROOT, "build", "ml", "spectre-ml")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def run(cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def phase_order(ph):
    return 1 << 20 if ph == "end" else int(ph[1:])


def read_rows(path, names):
    """Rows in file order: dicts with 'meta' (the metadata cells) and 'x'
    (58 floats, NaN for empty cells)."""
    rows = []
    with open(path, newline="") as fh:
        rd = csv.reader(fh)
        head = next(rd)
        if head[:len(META)] != list(META) or head[len(META):] != names:
            raise ValueError("unexpected header: %s" % head[:12])
        for cells in rd:
            meta = dict(zip(META, cells))
            x = [float(v) if v != "" else math.nan for v in cells[len(META):]]
            rows.append({"meta": meta, "x": x, "flow": int(meta["flow_id"]), "phase": meta["phase"]})
    return rows


def write_exact_csv(path, names, rows, np):
    """The rows with every value written as the exact double of its float32
    (the dump's shortest float strings parse to a nearby double instead)."""
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for r in rows:
            fh.write(",".join("" if math.isnan(v) else repr(float(np.float32(v))) for v in r["x"]) + "\n")


def row_map(rows):
    """{(flow, phase): metadata and values}, NaN as None so that equal rows compare equal."""
    return {(rw["flow"], rw["phase"]): (tuple(rw["meta"].values()),
                                        tuple(None if math.isnan(v) else v for v in rw["x"])) for rw in rows}


def by_flow(rows):
    flows = {}
    for i, r in enumerate(rows):
        flows.setdefault(r["flow"], []).append(i)
    for f in flows:
        flows[f].sort(key=lambda i: phase_order(rows[i]["phase"]))
    return flows


def ml_alerts(events):
    return [e for e in events if e.get("event_type") == "alert" and flowcheck.get(e, "alert.gid") == 9000]


def feq(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def same_value(got, want):
    """EVE top_features value (null for NaN) against the row's value."""
    if math.isnan(want):
        return got is None
    return isinstance(got, (int, float)) and f32(got) == f32(want)


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def expected_alerts(rows, flows, decide):
    """decide(i) -> (alert?, out index, score, ambiguous?). Returns
    {flow: (row index, out, score)} and the set of flows whose decision
    depends on a probability within EPS_DECIDE of its threshold."""
    exp, amb = {}, set()
    for f, idx in flows.items():
        for i in idx:
            hit, out, score, near = decide(i)
            if near:
                amb.add(f)
            if hit:
                exp[f] = (i, out, score)
                break
    return exp, amb


def inspect_thresholds(mlb, model):
    """(per-output thresholds, guard threshold or None) from spectre-ml inspect."""
    out = run([mlb, "inspect", model]).stdout
    m = re.search(r"^thresholds:(.*)$", out, re.M)
    g = re.search(r"^guard: isolation forest.* threshold (\S+) ", out, re.M)
    return ([float(v) for v in m.group(1).replace(",", " ").split()] if m else [],
            float(g.group(1)) if g else None)


def check_alerts(rows, flows, events, exp, amb, model_name, version, anomaly, thr, top_check, guard=None):
    """Compares EVE ML alerts with the expected {flow: (row, out, score)}."""
    probs = []
    alerts = ml_alerts(events)
    got = {}
    for a in alerts:
        f = a.get("flow_id")
        if f in got:
            probs.append("flow %s: more than one ML alert" % f)
        got[f] = a
    unknown = set(got) - set(flows)
    if unknown:
        probs.append("%d alerts for flows without rows, e.g. %s" % (len(unknown), sorted(unknown)[:3]))
    for f in sorted(set(exp) | set(got)):
        if f in amb:
            continue
        row = rows[exp[f][0]]["meta"] if f in exp else rows[flows[f][0]]["meta"] if f in flows else {}
        tag = "flow %s %s:%s->%s:%s" % (f, row.get("src_ip"), row.get("src_port"), row.get("dst_ip"),
                                         row.get("dst_port"))
        if f not in got:
            probs.append("%s: no alert, oracle alerts at %s (p %.7f)" % (tag, rows[exp[f][0]]["phase"], exp[f][2]))
            continue
        if f not in exp:
            if f in flows:
                probs.append("%s: alert %s at %s, oracle: no row alerts" % (
                    tag, flowcheck.get(got[f], "ml.class"), flowcheck.get(got[f], "ml.phase")))
            continue
        a, (i, out, score) = got[f], exp[f]
        r = rows[i]
        ml = a.get("ml", {})
        cls = "anomaly" if anomaly else CLASSES[out]
        want = {"alert.gid": 9000, "alert.signature_id": (2000 if anomaly else 1000) + out,
                "alert.rev": 1, "alert.signature": "ML: " + cls,
                "alert.category": "anomaly" if anomaly else "ML detection",
                "alert.severity": 3 if anomaly else 2,
                "ml.class": cls, "ml.phase": r["phase"], "ml.model": model_name,
                "src_ip": r["meta"]["src_ip"], "dest_ip": r["meta"]["dst_ip"]}
        if version is not None:
            want["ml.version"] = version
        if r["meta"]["proto"] in ("6", "17"):
            want["src_port"] = int(r["meta"]["src_port"])
            want["dest_port"] = int(r["meta"]["dst_port"])
        for k, v in want.items():
            if flowcheck.get(a, k) != v:
                probs.append("%s: %s = %r, want %r" % (tag, k, flowcheck.get(a, k), v))
        t = thr[out] if isinstance(thr, list) else thr
        if not feq(ml.get("threshold"), f32(t), 1e-7):
            probs.append("%s: threshold %r, want %r" % (tag, ml.get("threshold"), t))
        if guard:
            gs = ml.get("guard") or {}
            if not feq(gs.get("score"), f32(guard["scores"][i]), 1e-6) or \
                    not feq(gs.get("threshold"), f32(guard["threshold"]), 1e-7):
                probs.append("%s: ml.guard %r, oracle score %.9g threshold %.9g" % (
                    tag, gs, guard["scores"][i], guard["threshold"]))
        if not feq(ml.get("score"), score, 1e-6):
            probs.append("%s: score %r, oracle %.9g" % (tag, ml.get("score"), score))
        probs += ["%s: %s" % (tag, p) for p in top_check(i, out, ml)]
    return probs, alerts


# ------------------------------------------------------------- the test

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--ml", help="spectre-ml binary")
    ap.add_argument("--keep", help="write pcaps and outputs here")
    ap.add_argument("--no-live", action="store_true", help="skip the live reload part")
    a = ap.parse_args()
    s = Checks()
    dp, mlb = flowcheck.find_binary(a.binary), find_ml(a.ml)
    try:
        import numpy as np
        import xgboost as xgb
    except ImportError as e:
        sys.exit(s.skip("python3-xgboost / numpy missing: %s" % e))
    if not dp or not mlb:
        sys.exit(s.skip("spectre-dp or spectre-ml not found (set SPECTRE_DP and SPECTRE_ML)"))
    global MODEL_VERSION
    info = run([mlb, "inspect", MODEL]).stdout
    cls_line = [ln for ln in info.split("\n") if ln.startswith("classes: ")]
    ver_line = [ln for ln in info.split("\n") if ln.strip().startswith("version: ")]
    CLASSES[:] = cls_line[0][len("classes: "):].split(",") if cls_line else []
    MODEL_VERSION = ver_line[0].split(":")[1].strip() if ver_line else None
    if len(CLASSES) < 2 or CLASSES[0] != "benign":
        s(False, "default model: classes %r (spectre-ml inspect %s)" % (CLASSES, MODEL))
        finish(s)
    tmpd = tempfile.TemporaryDirectory(prefix="mlscore-")
    tmp = a.keep or tmpd.name
    os.makedirs(tmp, exist_ok=True)
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    names = tf.feature_names()
    mixed, clean = P("mixed.pcap"), P("benign.pcap")
    build(1, True).write(mixed)
    build(2, False, regular=120).write(clean)

    # ---- 0. a guarded model of the test's own: guard on benign rows, low percentile
    rb = flowcheck.run_dp(dp, [clean], workers=1, eve=P("eve-benign.json"), timeout=120,
                          extra=["--dump-features", P("benign.csv")])
    gt = build(7, True)
    gt.write(P("train.pcap"))
    write_labels(gt, P("train-labels.csv"))
    rt = flowcheck.run_dp(dp, [P("train.pcap")], workers=1, eve=P("eve-train.json"), timeout=120,
                          extra=["--dump-features", P("train-rows.csv")])
    gm, cls = P("guarded.spm"), "benign,bruteforce,dos,scan"
    steps = [[mlb, "label", "--rows", P("train-rows.csv"), "--labels", P("train-labels.csv"), "-o", P("train.csv"),
              "--map", "scan_*=scan,dos_*=dos,bruteforce_*=bruteforce"],
             [mlb, "train-xgb", "--csv", P("train.csv"), "--label", "label", "--classes", cls, "--objective", "multi",
              "--rounds", "6", "--depth", "3", "--seed", "1", "-o", P("cls0.spm"), "--json", P("cls.json")],
             [mlb, "compile", P("cls.json"), "-o", P("cls.spm"), "--features", ",".join(names), "--classes", cls,
              "--metric", "version=7"],
             [mlb, "train-iforest", "--csv", P("benign.csv"), "-o", P("guard.spm"), "--seed", "5", "--trees", "50"],
             [mlb, "calibrate", "--model", P("cls.spm"), "--guard", P("guard.spm"), "--csv", P("benign.csv"),
              "--percentile", "75", "--guard-percentile", "75", "--min-threshold", "0.3", "-o", gm]]
    probs = [] if rb.rc == 0 and rt.rc == 0 else ["spectre-dp (benign/train) failed: " + rb.describe() + rt.describe()]
    for st in steps:
        cp = run(st) if not probs else None
        if cp is not None and cp.returncode != 0:
            probs.append("%s: rc %d %s" % (st[1], cp.returncode, cp.stderr[-300:]))
    THR[:], gthr = inspect_thresholds(mlb, gm)
    info = run([mlb, "inspect", gm]).stdout
    cls_line = [ln for ln in info.split("\n") if ln.startswith("classes: ")]
    CLASSES[:] = cls_line[0][len("classes: "):].split(",") if cls_line else []
    MODEL_VERSION = "7"
    if len(THR) != len(CLASSES) or gthr is None:
        probs.append("inspect %s: thresholds %r, guard threshold %r" % (gm, THR, gthr))
    s.report("guarded test model: guard trained on benign rows, calibrated at the 75th percentile "
             "(thresholds %s, guard %s)" % (THR, gthr), probs)
    if probs:
        return finish(s)

    # ---- 1. guarded model vs spectre-ml predict and python3-xgboost
    r = flowcheck.run_dp(dp, [mixed], workers=1, eve=P("eve.json"), timeout=120,
                         extra=["--model", gm, "--dump-features", P("rows.csv")])
    probs = [] if r.rc == 0 else ["spectre-dp failed: " + r.describe()]
    rows = read_rows(P("rows.csv"), names) if os.path.exists(P("rows.csv")) else []
    s.report("default model run (%d rows)" % len(rows), probs + ([] if rows else ["no rows"]))
    if not rows:
        return finish(s)
    flows = by_flow(rows)
    X = np.array([rw["x"] for rw in rows], dtype=np.float32)
    write_exact_csv(P("exact.csv"), names, rows, np)

    cp = run([mlb, "predict", "--model", gm, "--csv", P("rows.csv")])
    prob_a = [[float(c) for c in ln.split(",")] for ln in cp.stdout.split()]
    cg = run([mlb, "predict", "--model", gm, "--guard", "--csv", P("exact.csv")])
    GUARD.update(threshold=gthr, scores=[float(v) for v in cg.stdout.split()])
    probs = [] if cp.returncode == 0 else ["spectre-ml predict: rc %d %s" % (cp.returncode, cp.stderr[-300:])]
    if len(prob_a) != len(rows) or any(len(p) != len(CLASSES) for p in prob_a):
        probs.append("predict: %d lines for %d rows" % (len(prob_a), len(rows)))
    if cg.returncode != 0 or len(GUARD["scores"]) != len(rows):
        probs.append("predict --guard: rc %d, %d scores for %d rows" % (cg.returncode, len(GUARD["scores"]), len(rows)))
    bst = xgb.Booster(model_file=P("cls.json"))
    dm = xgb.DMatrix(X, missing=np.nan, feature_names=None)
    prob_b = bst.predict(dm)
    contrib = bst.predict(dm, pred_contribs=True, approx_contribs=True)  # (n, G, F + 1)
    if not probs:
        worst = float(np.max(np.abs(np.array(prob_a) - prob_b)))
        if worst > 1e-6:
            probs.append("spectre-ml predict vs python xgboost: max |diff| %.3g" % worst)
    s.report("oracles agree: spectre-ml predict vs python3-xgboost (%d rows x %d classes)"
             % (len(rows), len(CLASSES)), probs)
    if probs:
        return finish(s)
    prob = np.array(prob_a)

    vetoed = set()

    def decide_xgb(i):
        p = prob[i]
        best, near = -1, False
        for k in range(1, len(CLASSES)):
            near |= abs(p[k] - THR[k]) <= EPS_DECIDE
            if p[k] >= THR[k] and (best < 0 or p[k] > p[best]):
                best = k
        if best >= 0:
            over = [k for k in range(1, len(CLASSES)) if p[k] >= THR[k] and k != best]
            near |= any(abs(p[k] - p[best]) <= EPS_DECIDE for k in over)
            g = GUARD["scores"][i]
            near |= abs(g - float(np.float32(gthr))) <= 1e-9 or abs(g - gthr) <= 1e-12
            if not g < gthr:  # the guard calls the row like benign: no alert
                vetoed.add(rows[i]["flow"])
                best = -1
        return best >= 0, best, float(p[best]) if best >= 0 else 0.0, near

    def top_xgb(i, out, ml):
        c = contrib[i][out][:-1]  # without the bias
        order = sorted((k for k in range(len(names)) if c[k] != 0 and not math.isnan(c[k])),
                       key=lambda k: (-abs(c[k]), k))
        want = order[:3]
        got = ml.get("top_features") or []
        pr = []
        if [t.get("name") for t in got] != [names[k] for k in want]:
            # Accept a different pick only among near-equal |contributions|.
            cut = abs(c[want[-1]]) - 1e-5 if want else 0
            ok = len(got) == len(want) and all(
                t.get("name") in names and abs(c[names.index(t.get("name"))]) >= cut for t in got)
            if not ok:
                pr.append("top_features %s, want %s (%s)" % ([t.get("name") for t in got],
                                                            [names[k] for k in want],
                                                            ["%.6g" % c[k] for k in want]))
        for t in got:
            if t.get("name") not in names:
                continue
            k = names.index(t["name"])
            if not same_value(t.get("value"), float(X[i][k])):
                pr.append("top %s value %r, row %r" % (t["name"], t.get("value"), float(X[i][k])))
            if not feq(t.get("contribution"), float(c[k]), 1e-5):
                pr.append("top %s contribution %r, xgboost %.8g" % (t["name"], t.get("contribution"), c[k]))
        return pr

    exp, amb = expected_alerts(rows, flows, decide_xgb)
    probs, alerts = check_alerts(rows, flows, r.events, exp, amb, "guarded", MODEL_VERSION, False, THR, top_xgb,
                                 GUARD)
    quiet = len(flows) - len(exp)
    vetoed_only = vetoed - set(exp)
    if len(exp) < 5 or quiet < 5 or len(vetoed_only) < 3:
        probs.append("vacuous: %d alerting, %d quiet flows, %d vetoed by the guard only (want >= 5, 5, 3)"
                     % (len(exp), quiet, len(vetoed_only)))
    classes = sorted({CLASSES[o] for _, o, _ in exp.values()})
    s.report("guarded model: ML alerts = oracle (%d flows, %d alert, %d quiet of which %d vetoed by the guard, "
             "%d near threshold; classes %s)"
             % (len(flows), len(exp), quiet, len(vetoed_only), len(amb), ",".join(classes)), probs)

    # Rows after an alert are dumped but not scored; counters.
    stats = [e for e in r.events if e.get("event_type") == "stats"]
    ml = flowcheck.get(stats[-1], "stats.ml", {}) if stats else {}
    after = sum(len(idx) - 1 - idx.index(exp[f][0]) for f, idx in flows.items() if f in exp)
    probs = []
    if ml.get("rows") != len(rows) or ml.get("dumped") != len(rows):
        probs.append("stats.ml rows/dumped %s/%s, CSV has %d" % (ml.get("rows"), ml.get("dumped"), len(rows)))
    if ml.get("alerts") != len(alerts):
        probs.append("stats.ml.alerts %s, EVE has %d" % (ml.get("alerts"), len(alerts)))
    gd = ml.get("guard") or {}
    if not (gd.get("scored", 0) >= gd.get("vetoed", -1) >= len(vetoed_only)):
        probs.append("stats.ml.guard %s, want vetoed >= %d (flows vetoed only)" % (gd, len(vetoed_only)))
    # Two points of one flow scored in one batch both count as scored.
    if not (len(rows) - after <= (ml.get("scored") or -1) <= len(rows)):
        probs.append("stats.ml.scored %s, want %d..%d" % (ml.get("scored"), len(rows) - after, len(rows)))
    s.report("stats.ml counters (%s)" % ml, probs)
    check_min_payload(s, dp, mlb, mixed, P, names, rows, flows, decide_xgb, exp, amb)

    # ---- 2. isolation forest trained on benign rows
    probs = []
    cp = run([mlb, "train-iforest", "--csv", P("benign.csv"), "-o", P("if.spm"), "--seed", "3"])
    if cp.returncode != 0:
        probs.append("train-iforest: rc %d %s" % (cp.returncode, cp.stderr[-300:]))
    ci = run([mlb, "inspect", P("if.spm")])
    m_th = re.search(r"^thresholds:(.*)$", ci.stdout, re.M)
    m_off = re.search(r"^offset: (\S+)$", ci.stdout, re.M)
    ths = [float(v) for v in m_th.group(1).replace(",", " ").split()] if m_th else []
    thr = ths[0] if ths else float(m_off.group(1)) if m_off else None
    m_sha = re.search(r"^sha256: ([0-9a-f]{64})$", ci.stdout, re.M)
    sha = m_sha.group(1) if m_sha else "?"  # the version of a model without a version metric
    if ci.returncode != 0 or thr is None:
        probs.append("inspect: rc %d, no threshold/offset in %r" % (ci.returncode, ci.stdout[-300:]))
    s.report("isolation forest trained on %d benign rows (threshold %s)" % (
        sum(1 for _ in open(P("benign.csv"))) - 1 if os.path.exists(P("benign.csv")) else 0, thr), probs)
    if not probs:
        ri = flowcheck.run_dp(dp, [mixed], workers=1, eve=P("eve-if.json"), timeout=120,
                              extra=["--model", P("if.spm"), "--dump-features", P("rows-if.csv")])
        probs = [] if ri.rc == 0 else ["spectre-dp (iforest) failed: " + ri.describe()]
        rows_i = read_rows(P("rows-if.csv"), names) if os.path.exists(P("rows-if.csv")) else []
        if row_map(rows_i) != row_map(rows):
            probs.append("rows with the iforest model differ from rows with the default model")
        s.report("iforest run: same rows as with the default model", probs)
        write_exact_csv(P("exact-if.csv"), names, rows_i, np)
        cp = run([mlb, "predict", "--model", P("if.spm"), "--csv", P("exact-if.csv")])
        sc = [float(v) for v in cp.stdout.split()]
        probs = [] if cp.returncode == 0 and len(sc) == len(rows_i) else [
            "predict: rc %d, %d scores for %d rows %s" % (cp.returncode, len(sc), len(rows_i), cp.stderr[-200:])]
        if not probs:
            flows_i = by_flow(rows_i)
            tf32 = float(np.float32(thr))  # spectre-dp compares with the float threshold

            def decide_if(i):
                return sc[i] < tf32, 0, sc[i], abs(sc[i] - tf32) <= 1e-9

            def top_if(i, out, ml):
                got, pr = ml.get("top_features") or [], []
                if not 1 <= len(got) <= 3:
                    pr.append("%d top_features" % len(got))
                cs = [t.get("contribution") for t in got]
                if any(c is None or c <= 0 for c in cs) or cs != sorted(cs, reverse=True):
                    pr.append("top_features contributions not positive and descending: %s" % cs)
                for t in got:
                    nm = t.get("name")
                    if nm not in names:
                        pr.append("unknown feature %r" % nm)
                    elif not same_value(t.get("value"), rows_i[i]["x"][names.index(nm)]):
                        pr.append("top %s value %r, row %r" % (nm, t.get("value"), rows_i[i]["x"][names.index(nm)]))
                return pr

            exp_i, amb_i = expected_alerts(rows_i, flows_i, decide_if)
            probs, alerts_i = check_alerts(rows_i, flows_i, ri.events, exp_i, amb_i, "if", sha[:12], True, tf32,
                                             top_if)
            quiet = len(flows_i) - len(exp_i)
            if len(exp_i) < 5 or quiet < 5:
                probs.append("vacuous: %d alerting and %d quiet flows" % (len(exp_i), quiet))
            s.report("iforest: anomaly alerts = oracle (%d flows, %d alert, %d quiet, %d near threshold)"
                     % (len(flows_i), len(exp_i), quiet, len(amb_i)), probs)
        else:
            s.report("iforest: spectre-ml predict on the rows", probs)

    # ---- 3. refusals and switches
    blob = open(MODEL, "rb").read()
    bads = {"truncated.spm": blob[:len(blob) // 2], "bitflip.spm": bytearray(blob)}
    bads["bitflip.spm"][len(blob) // 2] ^= 0x10
    bads["bitflip-tail.spm"] = bytearray(blob)
    bads["bitflip-tail.spm"][-5] ^= 0x01
    bads["empty.spm"] = b""
    probs = []
    for nm, data in bads.items():
        with open(P(nm), "wb") as fh:
            fh.write(bytes(data))
        rr = flowcheck.run_dp(dp, [mixed], workers=1, eve=P("eve-bad.json"), timeout=60, extra=["--model", P(nm)])
        if rr.rc != 1 or P(nm) not in rr.stderr or ml_alerts(rr.events):
            probs.append("%s: rc %s, stderr %r" % (nm, rr.rc, rr.stderr[-300:]))
    s.report("damaged artifacts refused (exit 1, message names the file)", probs)

    probs = []
    swapped = list(names)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    for nm, extra in (("nonames.spm", []), ("swapped.spm", ["--features", ",".join(swapped)]),
                      ("short.spm", ["--features", ",".join(names[:-1] + ["extra_feature"])])):
        cp = run([mlb, "compile", P("cls.json"), "-o", P(nm), "--classes", ",".join(CLASSES),
                  "--threshold", "0.7"] + extra)
        if cp.returncode != 0:
            probs.append("compile %s: rc %d %s" % (nm, cp.returncode, cp.stderr[-300:]))
            continue
        rr = flowcheck.run_dp(dp, [mixed], workers=1, eve=P("eve-bad.json"), timeout=60, extra=["--model", P(nm)])
        if rr.rc != 1 or "feature schema mismatch" not in rr.stderr or P(nm) not in rr.stderr:
            probs.append("%s: rc %s, stderr %r" % (nm, rr.rc, rr.stderr[-300:]))
    s.report("foreign feature schema refused (f0..f57, swapped, renamed)", probs)

    rr = flowcheck.run_dp(dp, [mixed], workers=1, eve=P("eve-bad.json"), timeout=60,
                          extra=["--model", P("no-such.spm")])
    s.report("missing model file: exit 1 naming it",
             [] if rr.rc == 1 and P("no-such.spm") in rr.stderr else ["rc %s, stderr %r" % (rr.rc, rr.stderr[-300:])])

    cfg = P("ml.yaml")
    with open(cfg, "w") as fh:
        fh.write("ml:\n  model: %s\n" % gm)
    rc_on = flowcheck.run_dp(dp, [mixed], workers=1, config=cfg, eve=P("eve-cfg.json"), timeout=60)
    rc_off = flowcheck.run_dp(dp, [mixed], workers=1, config=cfg, eve=P("eve-noml.json"), timeout=60,
                              extra=["--no-ml"])
    probs = []
    n_on = len(ml_alerts(rc_on.events))
    if rc_on.rc != 0 or n_on != len(alerts):
        probs.append("config ml.model: rc %s, %d ML alerts (want %d as with --model)" % (rc_on.rc, n_on, len(alerts)))
    if rc_off.rc != 0 or ml_alerts(rc_off.events) or "ML model" in rc_off.stderr:
        probs.append("--no-ml: rc %s, %d ML alerts" % (rc_off.rc, len(ml_alerts(rc_off.events))))
    s.report("config ml.model scores; --no-ml overrides it", probs)

    rn = flowcheck.run_dp(dp, [mixed], workers=1, eve=P("eve-none.json"), timeout=60,
                          extra=["--model", gm, "--score-points", "none", "--dump-features", P("rows-none.csv")])
    probs = [] if rn.rc == 0 else ["spectre-dp failed: " + rn.describe()]
    rows_n = read_rows(P("rows-none.csv"), names) if os.path.exists(P("rows-none.csv")) else []
    if {rw["phase"] for rw in rows_n} != {"end"} or len(rows_n) != len(flows):
        probs.append("phases %s, %d rows for %d flows" % (sorted({rw["phase"] for rw in rows_n}), len(rows_n),
                                                          len(flows)))
    # End rows are the same as in the default run; their alerts follow the oracle.
    end_i = {rows[i]["flow"]: i for f, idx in flows.items() for i in idx if rows[i]["phase"] == "end"}
    want_end = {k: v for k, v in row_map(rows).items() if k[1] == "end"}
    if row_map(rows_n) != want_end:
        probs.append("end rows differ from the default run's")
    if not probs:
        flows_n = {f: [end_i[f]] for f in end_i}
        exp_n, amb_n = expected_alerts(rows, flows_n, decide_xgb)
        p2, al_n = check_alerts(rows, flows_n, rn.events, exp_n, amb_n, "guarded", MODEL_VERSION, False, THR,
                                  top_xgb, GUARD)
        probs += p2
        if any(flowcheck.get(x, "ml.phase") != "end" for x in al_n):
            probs.append("alerts not at 'end'")
        if not exp_n:
            probs.append("vacuous: no end row alerts")
    s.report("--score-points none: end rows only, alerts = oracle on end rows", probs)

    probs = []
    for body, want in (("ml:\n  points: [0]\n", "points"), ("ml:\n  modle: x.spm\n", "modle"),
                       ("ml:\n  points: [4, 8, 16, 32]\n", "points"), ("ml:\n  hosts: 1\n", "hosts"),
                       ("ml:\n  points: 4\n", "points"), ("ml: [1, 2]\n", "ml")):
        with open(P("bad.yaml"), "w") as fh:
            fh.write(body)
        rr = flowcheck.run_dp(dp, [mixed], workers=1, config=P("bad.yaml"), eve=P("eve-bad.json"), timeout=60)
        # The message names the file and the line, or the key.
        if rr.rc != 1 or "bad.yaml" not in rr.stderr or (want not in rr.stderr and "bad.yaml:2" not in rr.stderr):
            probs.append("%r: rc %s, stderr %r" % (body, rr.rc, rr.stderr[-300:]))
    s.report("bad ml: config blocks refused with the config error", probs)

    # ---- 4. live reload with a corrupt model
    if not a.no_live:
        live_reload(s, dp, tmp, gm)
    return finish(s)


def check_min_payload(s, dp, mlb, mixed, P, names, rows, flows, decide, exp, amb):
    """The same guarded model with metric min_payload_bytes=1: rows of flows
    without payload are neither scored nor alerted, the rest as before."""
    gm2 = P("guarded-minpay.spm")
    steps = [[mlb, "compile", P("cls.json"), "-o", P("cls-minpay.spm"), "--features", ",".join(names),
              "--classes", ",".join(CLASSES), "--metric", "version=7", "--metric", "min_payload_bytes=1"],
             [mlb, "calibrate", "--model", P("cls-minpay.spm"), "--guard", P("guard.spm"), "--csv", P("benign.csv"),
              "--percentile", "75", "--guard-percentile", "75", "--min-threshold", "0.3", "-o", gm2]]
    probs = []
    for st in steps:
        cp = run(st)
        if cp.returncode != 0:
            probs.append("%s: rc %d %s" % (st[1], cp.returncode, cp.stderr[-300:]))
    if probs:
        return s.report("min_payload_bytes model built", probs)
    if inspect_thresholds(mlb, gm2) != (THR, GUARD["threshold"]):
        probs.append("recalibrated thresholds %r differ from %r" % (inspect_thresholds(mlb, gm2), THR))
    r = flowcheck.run_dp(dp, [mixed], workers=1, eve=P("eve-minpay.json"), timeout=120, extra=["--model", gm2])
    if r.rc != 0:
        probs.append("spectre-dp failed: " + r.describe())
    fwd, bwd = names.index("payload_bytes_fwd"), names.index("payload_bytes_bwd")
    empty = {i for i, rw in enumerate(rows) if rw["x"][fwd] + rw["x"][bwd] < 1}

    def decide2(i):
        return (False, -1, 0.0, False) if i in empty else decide(i)

    exp2, amb2 = expected_alerts(rows, flows, decide2)
    got = {flowcheck.get(e, "flow_id") for e in ml_alerts(r.events)}
    sure = amb | amb2
    if {f for f in got if f not in sure} != {f for f in exp2 if f not in sure}:
        probs.append("alerting flows %d, oracle %d (missing %s, extra %s)" % (
            len(got), len(exp2), sorted(set(exp2) - got - sure)[:5], sorted(got - set(exp2) - sure)[:5]))
    gone = set(exp) - set(exp2)
    if not gone or len(empty) == len(rows):
        probs.append("vacuous: %d flows lose their alert, %d rows have payload (want >= 1 each)"
                     % (len(gone), len(rows) - len(empty)))
    stats = [e for e in r.events if e.get("event_type") == "stats"]
    ml = flowcheck.get(stats[-1], "stats.ml", {}) if stats else {}
    if ml.get("below_min_payload") != len(empty):
        probs.append("stats.ml.below_min_payload %s, payload-less rows %d" % (ml.get("below_min_payload"), len(empty)))
    # Rows with payload are still scored (after an alert a flow's later rows are not).
    after = sum(len(idx) - 1 - idx.index(exp2[f][0]) for f, idx in flows.items() if f in exp2)
    if not (len(rows) - len(empty) - after <= (ml.get("scored") or -1) <= len(rows) - len(empty)):
        probs.append("stats.ml.scored %s, rows with payload %d" % (ml.get("scored"), len(rows) - len(empty)))
    s.report("min_payload_bytes=1: %d payload-less rows unscored, %d with payload scored, %d flows alert "
             "(%d fewer, all payload-less)" % (len(empty), ml.get("scored") or 0, len(exp2), len(gone)), probs)


def live_reload(s, dp, tmp, gm):
    """spectre-dp live (netns + tcpreplay, helpers of tests/live/test_live.py)
    with ml.model in its config; the model file is corrupted and SIGHUP sent:
    the reload is refused with a message naming the file, the process keeps
    running and the old model still alerts on traffic sent afterwards."""
    import test_live as live
    why = live.unavailable() or live.netns_or_why()
    if why:
        print("SKIP live reload: " + why)
        return
    p = err = None
    try:
        before, after = os.path.join(tmp, "live1.pcap"), os.path.join(tmp, "live2.pcap")
        build(5, True, net="10.9.7").write(before)
        build(6, True, net="10.9.6").write(after)
        model = os.path.join(tmp, "live.spm")
        shutil.copy(gm, model)  # the guarded test model: it alerts on these attacks
        cfg = os.path.join(tmp, "live.yaml")
        with open(cfg, "w") as fh:
            fh.write("ml:\n  model: %s\n" % model)
        p, eve, err = live.start_live(tmp, "mlreload", cfg, binary=dp)
        sent1, _ = live.replay(before, "--pps", "4000")
        with open(model, "r+b") as fh:  # one bit flipped in place
            fh.seek(os.path.getsize(model) // 2)
            b = fh.read(1)
            fh.seek(-1, 1)
            fh.write(bytes([b[0] ^ 0x10]))
        p.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        alive = p.poll() is None
        sent2, _ = live.replay(after, "--pps", "4000")
        time.sleep(0.5)
        rc, log = live.stop_live(p, err)
        p = None
        events, _ = flowcheck.parse_eve(eve) if os.path.exists(eve) else ([], [])
        al = ml_alerts(events)
        n1 = sum(1 for e in al if str(e.get("src_ip", "")).startswith("10.9.7."))
        n2 = sum(1 for e in al if str(e.get("src_ip", "")).startswith("10.9.6."))
        probs = []
        if not alive or rc != 0:
            probs.append("process died or exit %s after the SIGHUP" % rc)
        if not re.search(r"reload refused.*" + re.escape(model), log):
            probs.append("no 'reload refused ... %s' in the log: %r" % (model, log[-400:]))
        if sent1 <= 0 or sent2 <= 0:
            probs.append("tcpreplay sent %d / %d packets" % (sent1, sent2))
        if not n1 or not n2:
            probs.append("ML alerts from attackers before / after the reload: %d / %d (want both > 0)" % (n1, n2))
        s.report("live: SIGHUP with a corrupt model refused, the old model keeps alerting (%d / %d)" % (n1, n2),
                 probs)
    except Exception as e:
        s.report("live reload", ["exception: %r" % e])
    finally:
        if p is not None:
            live.stop_live(p, err)
        live.netns_down()


def finish(s):
    sys.exit(s.summary())


if __name__ == "__main__":
    main()
