#!/usr/bin/python3
"""End-to-end tests of `spectre-ml label` and `spectre-ml eval`, and of predict /
train-* on `spectre-dp --dump-features`-style CSVs (metadata columns, duplicated
dst_port/proto names, label and episode_id columns).

label: differential against lab/score.py's own read_labels + assign on random
rows and labels (addresses, CIDRs, protos by name and number, ports, ICMP,
times on the slack edges), three slack values.
eval: per-flow TP/FN/FP/TN, TPR/FPR, class-exact accuracy and the row-level
confusion recomputed here from python3-xgboost probabilities (or, for the
isolation forest, `spectre-ml predict` scores) with an independent aggregation.

Usage: test_spectre_ml_label.py [SPECTRE_ML]  (else $SPECTRE_ML, else build/ml/spectre-ml)
Exit 0 all passed, 1 a failure, 77 skipped (binary missing). Last line: "N passed, N failed".
"""
import csv
import json
import math
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
import score  # noqa: E402  (lab/score.py: the reference matching rule)
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402

BIN = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPECTRE_ML")
       or os.path.join(ROOT, "build", "ml", "spectre-ml"))
META = ["flow_id", "phase", "ts_start", "ts", "src_ip", "src_port", "dst_ip", "dst_port", "proto"]

check = Checks()


def run(*args):
    p = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def read_csv(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [row for row in r if row]


# ---------------------------------------------------------------- label (differential)

V4 = ["10.0.0.%d" % i for i in range(1, 7)] + ["10.0.1.9"]
V6 = ["fd00::1", "fd00::2", "fd00::a:3"]
NETS = ["10.0.0.0/30", "10.0.0.4/31", "10.0.0.0/16", "10.0.1.9/32", "fd00::/120", "fd00::a:0/112"]
PROTOS_LABEL = ["", "", "tcp", "TCP", "6", "udp", "17", "icmp", "1", "ipv6-icmp", "58"]
PROTOS_ROW = ["6", "6", "17", "17", "1", "58"]
PORTS = [22, 53, 80, 443]


def gen_labels(rng, n):
    rows, t0 = [], 1000.0
    classes = ["scan_syn", "web_sqli", "dns_tunnel", "c2_beacon", "exfiltration", "scan_udp"]
    for i in range(n):
        eid = str(rng.randint(1, n * 2 // 3))  # some episodes get several rows
        cls = classes[int(eid) % len(classes)]
        fam6 = rng.random() < 0.2
        pool = V6 if fam6 else V4
        att = rng.choice(pool) if rng.random() < 0.8 else rng.choice(
            [n_ for n_ in NETS if (":" in n_) == fam6])
        vic = rng.choice(["", rng.choice(pool), rng.choice(pool),
                          rng.choice([n_ for n_ in NETS if (":" in n_) == fam6])])
        port = rng.choice(["", "", str(rng.choice(PORTS)), "%d.0" % rng.choice(PORTS)])
        start = round(t0 + rng.uniform(0, 100), 6)
        end = round(start + rng.choice([0, rng.uniform(0, 20)]), 6)
        rows.append([eid, cls, "T0000", att, vic, rng.choice(PROTOS_LABEL), port, "%.6f" % start, "%.6f" % end])
    return rows


def gen_rows(rng, n, labels):
    rows = []
    for i in range(n):
        fam6 = rng.random() < 0.2
        pool = V6 if fam6 else V4
        src, dst = rng.choice(pool), rng.choice(pool)
        proto = rng.choice(PROTOS_ROW)
        sport = rng.choice([rng.randint(1024, 65535), rng.choice(PORTS)])
        dport = rng.choice(PORTS + [rng.randint(1, 65535)])
        if proto in ("1", "58"):
            sport = dport = 0
        lab = rng.choice(labels)
        r = rng.random()
        slack = rng.choice([0.0, 1.0, 2.5])
        if r < 0.15:  # flow ends exactly at start_ts - slack
            end = float(lab[7]) - slack
            start = end - rng.uniform(0, 5)
        elif r < 0.3:  # flow starts exactly at end_ts + slack
            start = float(lab[8]) + slack
            end = start + rng.uniform(0, 5)
        else:
            start = rng.uniform(990, 1120)
            end = start + rng.choice([0, rng.uniform(0, 3), rng.uniform(0, 30)])
        if r < 0.3 and rng.random() < 0.5:  # sometimes the actual pair of that label
            a = lab[3].split("/")[0]
            v = lab[4].split("/")[0] if lab[4] else rng.choice(pool)
            if (":" in a) == (":" in v):
                src, dst = (a, v) if rng.random() < 0.5 else (v, a)
        phase = rng.choice(["k4", "k16", "end"])
        rows.append([str(i + 1), phase, "%.6f" % start, "%.6f" % end, src, str(sport), dst, str(dport), proto,
                     "%.3f" % rng.random(), str(dport), proto])
    return rows


def reference_labels(rows, labels_path, slack):
    """Per row (label, episode_id) from lab/score.py's read_labels + assign."""
    episodes, rules = score.read_labels(labels_path)
    flows = []
    for r in rows:
        ev = {"src_ip": r[4], "dest_ip": r[6], "src_port": int(r[5]), "dest_port": int(r[7]), "proto": r[8]}
        flows.append(score.Flow(("row", r[0]), ev, float(r[2]), float(r[3]), False))
    score.assign(flows, episodes, rules, slack)
    out = []
    for f in flows:
        if not f.episodes:
            out.append(("benign", ""))
        else:
            eid = min(f.episodes, key=lambda e: (episodes[e]["start_ts"], e))
            out.append((episodes[eid]["class"], eid))
    return out


def test_label(d, rng):
    p = lambda n: os.path.join(d, n)
    header = META + ["duration_s", "dst_port", "proto"]
    total_rows = matched = 0
    for seed in range(3):
        labels = gen_labels(rng, 40)
        with open(p("labels.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(score.LABEL_COLUMNS)
            w.writerows(labels)
        rows = gen_rows(rng, 300, labels)
        with open(p("rows.csv"), "w") as f:
            f.write(",".join(header) + "\n")
            for r in rows:
                f.write(",".join(r) + "\n")
        for slack in (0.0, 1.0, 2.5):
            rc, _, err = run("label", "--rows", p("rows.csv"), "--labels", p("labels.csv"), "-o", p("out.csv"),
                             "--slack", slack)
            if rc != 0:
                check(False, "label seed %d slack %g: exit 0" % (seed, slack), err)
                continue
            h, got = read_csv(p("out.csv"))
            want = reference_labels(rows, p("labels.csv"), slack)
            diffs = [(r, g[-2:], w_) for r, g, w_ in zip(rows, got, want) if tuple(g[-2:]) != w_]
            check(h == header + ["label", "episode_id"] and len(got) == len(rows) and not diffs
                  and all(g[:-2] == r for g, r in zip(got, rows)),
                  "label seed %d slack %g: %d rows identical to score.py (%d labelled)"
                  % (seed, slack, len(rows), sum(1 for w_ in want if w_[0] != "benign")), diffs[:5])
            total_rows += len(rows)
            matched += sum(1 for w_ in want if w_[0] != "benign")
            check("labelled %d rows" % len(rows) in err and "benign" in err,
                  "label seed %d slack %g: summary on stderr" % (seed, slack), err)
    check(total_rows and 0.15 < matched / total_rows < 0.85,
          "label: the random cases label a good share of rows (%d of %d)" % (matched, total_rows))

    # Wrong use and bad input.
    rc, _, err = run("label", "--rows", p("rows.csv"), "--labels", p("labels.csv"))
    check(rc == 2, "label: missing -o -> exit 2", err)
    rc, _, err = run("label", "--rows", p("rows.csv"), "--labels", p("labels.csv"), "-o", p("x.csv"), "--slack", "-1")
    check(rc == 2, "label: negative slack -> exit 2", err)
    with open(p("bad_labels.csv"), "w") as f:
        f.write(",".join(score.LABEL_COLUMNS) + "\n1,benign,T,10.0.0.1,,,,1,2\n")
    rc, _, err = run("label", "--rows", p("rows.csv"), "--labels", p("bad_labels.csv"), "-o", p("x.csv"))
    check(rc == 1 and "reserved" in err, "label: reserved class -> exit 1", err)
    rc, _, err = run("label", "--rows", p("out.csv"), "--labels", p("labels.csv"), "-o", p("x.csv"))
    check(rc == 1 and "already has a 'label' column" in err, "label: already labelled rows -> exit 1", err)
    rc, _, err = run("label", "--rows", p("nosuch.csv"), "--labels", p("labels.csv"), "-o", p("x.csv"))
    check(rc == 1 and "cannot read" in err, "label: missing rows file -> exit 1", err)
    check(not os.path.exists(p("x.csv")), "label: nothing written on failure")


# ---------------------------------------------------------------- eval

CENTERS = {"benign": (0.0, 0.0), "scan": (3.0, 0.0), "brute": (0.0, 3.0)}
FEATURES = ["duration_s", "f_a", "f_b", "dst_port", "proto"]


def gen_flows(rng, counts, t0=1000.0):
    """Rows of dump CSV + label, episode_id. Early (k4) rows are noisier and
    sometimes labelled benign (the episode window starts later)."""
    rows, fid = [], 0
    for cls, n in counts.items():
        cx, cy = CENTERS[cls]
        for _ in range(n):
            fid += 1
            start = t0 + rng.uniform(0, 100)
            phases = rng.choice([["k4", "k16", "end"], ["k4", "end"], ["end"], ["k4"]])
            for k, ph in enumerate(phases):
                noise = 1.6 if ph == "k4" else 0.9
                ts = start + 0.5 * (k + 1)
                lab = cls
                if cls != "benign" and ph == "k4" and len(phases) > 1 and rng.random() < 0.3:
                    lab = "benign"
                a = "" if rng.random() < 0.03 else "%.6f" % rng.gauss(cx, noise)
                dport = rng.choice([22, 80])
                rows.append([fid * 7919, ph, "%.6f" % start, "%.6f" % ts, "10.0.0.%d" % (fid % 250),
                             40000 + fid % 20000, "10.0.1.1", dport, 6, "%.3f" % (ts - start), a,
                             "%.6f" % rng.gauss(cy, noise), dport, 6, lab, "" if lab == "benign" else 1 + fid % 5])
    rng.shuffle(rows)
    return rows


def write_dump(path, rows, label_name="label"):
    with open(path, "w") as f:
        f.write(",".join(META + FEATURES + [label_name, "episode_id"]) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")


def expected_eval(rows, preds, phase, benign="benign", exact_classes=True):
    """Independent per-flow aggregation. rows: [flow_id, phase, ts, label]; preds: class or benign."""
    flows = {}
    for (fid, ph, ts, lab), pr in zip(rows, preds):
        f = flows.setdefault(fid, {"rows": []})
        f["rows"].append((ts, lab, ph, pr))
    res = {"per_class": {}, "benign": {"flows": 0, "FP": 0, "TN": 0}, "exact": 0, "flows": 0}
    for fid, f in flows.items():
        in_phase = [r for r in f["rows"] if phase == "any" or r[2] == phase]
        if not in_phase:
            continue
        res["flows"] += 1
        latest = max(f["rows"], key=lambda r: r[0])  # ts unique within a flow here
        cls = latest[1]
        alerting = sorted((r for r in in_phase if r[3] != benign), key=lambda r: r[0])
        pred = alerting[0][3] if alerting else benign
        res["exact"] += pred == cls
        if cls == benign:
            res["benign"]["flows"] += 1
            res["benign"]["FP" if alerting else "TN"] += 1
        else:
            c = res["per_class"].setdefault(cls, {"flows": 0, "TP": 0, "FN": 0, "exact": 0})
            c["flows"] += 1
            c["TP" if alerting else "FN"] += 1
            c["exact"] += pred == cls
    conf = {}
    for (fid, ph, ts, lab), pr in zip(rows, preds):
        if phase == "any" or ph == phase:
            conf[(lab, pr)] = conf.get((lab, pr), 0) + 1
    res["confusion"] = conf
    return res


def compare_eval(name, got, want):
    ok = True
    detail = []
    for cls, c in want["per_class"].items():
        g = got["per_class"].get(cls)
        tpr = c["TP"] / c["flows"]
        if not g or (g["flows"], g["TP"], g["FN"], g["exact"]) != (c["flows"], c["TP"], c["FN"], c["exact"]) \
                or abs(g["TPR"] - tpr) > 1e-12:
            ok = False
            detail.append((cls, g, c))
    if set(got["per_class"]) != set(want["per_class"]):
        ok = False
        detail.append(("classes", list(got["per_class"]), list(want["per_class"])))
    b, wb = got["benign"], want["benign"]
    fpr = wb["FP"] / wb["flows"] if wb["flows"] else None
    if (b["flows"], b["FP"], b["TN"]) != (wb["flows"], wb["FP"], wb["TN"]) or \
            (fpr is None) != (b["FPR"] is None) or (fpr is not None and abs(b["FPR"] - fpr) > 1e-12):
        ok = False
        detail.append(("benign", b, wb))
    if got["flows"] != want["flows"] or got["class_exact_correct"] != want["exact"]:
        ok = False
        detail.append(("flows/exact", got["flows"], want["flows"], got["class_exact_correct"], want["exact"]))
    conf = got["confusion"]
    gconf = {}
    for i, t in enumerate(conf["true"]):
        for j, pcls in enumerate(conf["pred"]):
            if conf["counts"][i][j]:
                gconf[(t, pcls)] = conf["counts"][i][j]
    if gconf != want["confusion"]:
        ok = False
        detail.append(("confusion", gconf, want["confusion"]))
    at = sum(c["TP"] for c in want["per_class"].values())
    af = sum(c["flows"] for c in want["per_class"].values())
    if got["all_attacks"]["TP"] != at or got["all_attacks"]["flows"] != af:
        ok = False
        detail.append(("all attacks", got["all_attacks"], at, af))
    check(ok, name, detail)
    return ok


def xgb_probs(json_path, rows, names, groups):
    import numpy as np
    import xgboost as xgb
    bst = xgb.Booster()
    bst.load_model(json_path)
    col = {n: META.__len__() + FEATURES.index(n) for n in names}
    x = np.array([[float(r[col[n]]) if r[col[n]] != "" else np.nan for n in names] for r in rows], dtype=np.float32)
    p = bst.predict(xgb.DMatrix(x, missing=np.nan))
    return p.reshape(len(rows), groups)


def inspect(path):
    rc, out, _ = run("inspect", path)
    info = {}
    for line in out.split("\n"):
        if ":" in line and not line.startswith("  "):
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    return info


def test_eval(d, rng):
    p = lambda n: os.path.join(d, n)
    write_dump(p("train.csv"), gen_flows(rng, {"benign": 300, "scan": 150, "brute": 150}))
    test_rows = gen_flows(rng, {"benign": 200, "scan": 80, "brute": 80}, t0=5000.0)
    write_dump(p("test.csv"), test_rows)
    meta_rows = [[r[0], r[1], float(r[3]), r[14]] for r in test_rows]

    # Multi-class XGBoost.
    rc, _, err = run("train-xgb", "--csv", p("train.csv"), "--label", "label", "--rounds", 30, "--depth", 3,
                     "--json", p("multi.json"), "-o", p("multi.spm"))
    check(rc == 0, "eval: train-xgb on a dump CSV exit 0", err)
    if rc != 0:
        return
    info = inspect(p("multi.spm"))
    check(info.get("feature_names") == ",".join(FEATURES),
          "train-xgb: features are the columns after the metadata (dst_port, proto kept once)", info)
    check("skipped" not in err, "train-xgb: metadata and episode_id not reported as skipped", err)
    classes = info["classes"].split(",")
    probs = xgb_probs(p("multi.json"), test_rows, info["feature_names"].split(","), len(classes))
    # predict picks the features by name among the extra columns.
    rc, out, err = run("predict", "--model", p("multi.spm"), "--csv", p("test.csv"))
    ours = [[float(v) for v in line.split(",")] for line in out.split("\n") if line]
    maxdiff = max(abs(a - b) for r1, r2 in zip(ours, probs) for a, b in zip(r1, r2)) if ours else 1
    check(rc == 0 and len(ours) == len(test_rows) and maxdiff < 1e-5,
          "predict: dump CSV rows scored by feature name, match python3-xgboost (max diff %.2g)" % maxdiff, err)
    thr = 0.5
    near = sum(1 for r in probs for v in r if abs(v - thr) < 1e-5)
    preds = []
    for r in probs:
        cand = [(v, c) for v, c in zip(r, classes) if c != "benign" and v >= thr]
        preds.append(max(cand)[1] if cand else "benign")
    for phase in ("any", "end", "k4"):
        rc, out, err = run("eval", "--model", p("multi.spm"), "--csv", p("test.csv"), "--phase", phase,
                           "--json", p("ev.json"))
        if rc != 0:
            check(False, "eval multi %s: exit 0" % phase, err)
            continue
        with open(p("ev.json")) as f:
            got = json.load(f)
        want = expected_eval(meta_rows, preds, phase)
        compare_eval("eval multi phase %s: per-flow figures and confusion match (%d flows, %d near-threshold)"
                     % (phase, want["flows"], near), got, want)
        acc = want["exact"] / want["flows"]
        check(abs(got["class_exact_accuracy"] - acc) < 1e-12 and "class-exact accuracy" in out,
              "eval multi phase %s: class-exact accuracy %.4f" % (phase, acc), out)
        check("all attacks" in out and "FPR" in out, "eval multi phase %s: table printed" % phase, out)
        if phase == "any":
            tpr = got["all_attacks"]["TPR"]
            check(tpr > 0.8 and got["benign"]["FPR"] < 0.2,
                  "eval multi: detects most attack flows (TPR %.3f, FPR %.3f)" % (tpr, got["benign"]["FPR"]))

    # Binary model (benign vs attack) evaluated against the multi-class labels.
    bin_rows = [r[:14] + ["benign" if r[14] == "benign" else "attack", r[15]]
                for r in gen_flows(rng, {"benign": 300, "scan": 150, "brute": 150})]
    write_dump(p("train_bin.csv"), bin_rows, "kind")
    rc, _, err = run("train-xgb", "--csv", p("train_bin.csv"), "--label", "kind", "--rounds", 20, "--depth", 3,
                     "--json", p("bin.json"), "-o", p("bin.spm"))
    check(rc == 0, "eval binary: train-xgb exit 0", err)
    if rc == 0:
        pb = xgb_probs(p("bin.json"), test_rows, FEATURES, 1)
        preds_b = ["attack" if v[0] >= 0.5 else "benign" for v in pb]
        rc, out, err = run("eval", "--model", p("bin.spm"), "--csv", p("test.csv"), "--json", p("evb.json"))
        if rc == 0:
            with open(p("evb.json")) as f:
                got = json.load(f)
            compare_eval("eval binary: TP when flagged with any class, figures match", got,
                         expected_eval(meta_rows, preds_b, "any"))
        else:
            check(False, "eval binary: exit 0", err)

    # Isolation forest on benign rows: anomaly when score_samples < threshold.
    rc, _, err = run("train-iforest", "--csv", p("train.csv"), "--label", "label", "--benign", "benign",
                     "--trees", 50, "--seed", 2, "-o", p("if.spm"))
    check(rc == 0, "eval iforest: train-iforest on a dump CSV exit 0", err)
    if rc == 0:
        info = inspect(p("if.spm"))
        check(info.get("feature_names") == ",".join(FEATURES),
              "train-iforest: features are the columns after the metadata", info)
        thr_if = float(info["thresholds"])
        rc, out, err = run("predict", "--model", p("if.spm"), "--csv", p("test.csv"))
        s = [float(v) for v in out.split()]
        preds_i = ["anomaly" if v < thr_if else "benign" for v in s]
        rc, out, err = run("eval", "--model", p("if.spm"), "--csv", p("test.csv"), "--json", p("evi.json"),
                           "--phase", "end")
        if rc == 0:
            with open(p("evi.json")) as f:
                got = json.load(f)
            compare_eval("eval iforest phase end: figures match (threshold %g)" % thr_if, got,
                         expected_eval(meta_rows, preds_i, "end"))
            check(got["class_exact_accuracy"] is None, "eval iforest: no class-exact accuracy", got)
        else:
            check(False, "eval iforest: exit 0", err)

    # Missing feature column, bad use.
    with open(p("test.csv")) as f:
        lines = f.read().split("\n")
    cut = [",".join(c for k, c in enumerate(l.split(",")) if k != len(META) + 1) for l in lines if l]
    with open(p("cut.csv"), "w") as f:
        f.write("\n".join(cut) + "\n")
    rc, _, err = run("predict", "--model", p("multi.spm"), "--csv", p("cut.csv"))
    check(rc == 1 and "f_a" in err and "no column for 1 of" in err, "predict: missing model feature -> exit 1 naming it", err)
    rc, _, err = run("eval", "--model", p("multi.spm"), "--csv", p("cut.csv"))
    check(rc == 1 and "f_a" in err, "eval: missing model feature -> exit 1", err)
    rc, _, err = run("eval", "--model", p("multi.spm"), "--csv", p("test.csv"), "--label", "klass")
    check(rc == 1 and "klass" in err, "eval: missing label column -> exit 1", err)
    rc, _, err = run("eval", "--model", p("multi.spm"), "--csv", p("test.csv"), "--phase", "k8")
    check(rc == 2, "eval: bad --phase -> exit 2", err)
    rc, _, err = run("eval", "--csv", p("test.csv"))
    check(rc == 2, "eval: no --model -> exit 2", err)


def main():
    if not os.access(BIN, os.X_OK):
        return check.skip("no spectre-ml binary at %s" % BIN)
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as d:
        test_label(d, rng)
        test_eval(d, rng)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
