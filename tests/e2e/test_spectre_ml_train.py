#!/usr/bin/python3
"""End-to-end tests of `spectre-ml train-xgb` and `spectre-ml train-iforest`.

Usage: test_spectre_ml_train.py [SPECTRE_ML]  (else $SPECTRE_ML, else build/ml/spectre-ml)
Exit 0 all passed, 1 a failure, 77 skipped (binary missing). Last line: "N passed, N failed".
"""
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPECTRE_ML")
       or os.path.join(HERE, "..", "..", "build", "ml", "spectre-ml"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402

check = Checks()


def run(*args):
    p = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


CENTERS = {"benign": (0.0, 0.0), "scan": (4.0, 0.0), "brute": (0.0, 4.0)}


def write_csv(path, rows, header=("flow_id", "src_ip", "a", "b", "app", "noise1", "noise2", "label")):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")


def gen(rng, counts, centers=CENTERS, spread=0.7):
    rows = []
    fid = 0
    for cls, n in counts.items():
        cx, cy = centers[cls]
        for _ in range(n):
            fid += 1
            a = "" if rng.random() < 0.02 else round(rng.gauss(cx, spread), 6)  # some missing
            rows.append((fid, "10.0.%d.%d" % (fid // 250, fid % 250), a, round(rng.gauss(cy, spread), 6),
                         rng.choice(["http", "dns"]), round(rng.random(), 6), round(rng.gauss(0, 3), 6), cls))
    rng.shuffle(rows)
    return rows


def predict(model, csv):
    rc, out, err = run("predict", "--model", model, "--csv", csv)
    if rc != 0:
        raise RuntimeError("predict failed: " + err)
    return [[float(v) for v in line.split(",")] for line in out.split("\n") if line]


def metrics(model):
    rc, out, _ = run("inspect", model)
    m = {}
    for line in out.split("\n"):
        if line.startswith("  ") and ":" in line:
            k, v = line.strip().split(":", 1)
            m[k] = float(v)
    return m, out


def auc(pos, neg):
    """P(score of a positive < score of a negative): positives should score lower."""
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p < n else 0.5 if p == n else 0.0
    return wins / (len(pos) * len(neg))


def main():
    if not os.access(BIN, os.X_OK):
        return check.skip("no spectre-ml binary at %s" % BIN)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as d:
        p = lambda n: os.path.join(d, n)
        # 1. Multi-class: 3 classes, 2 informative features, noise, id columns.
        write_csv(p("train.csv"), gen(rng, {"benign": 400, "scan": 300, "brute": 300}))
        test_rows = gen(rng, {"benign": 200, "scan": 150, "brute": 150})
        write_csv(p("test.csv"), test_rows)
        rc, _, err = run("train-xgb", "--csv", p("train.csv"), "--label", "label", "--objective", "multi",
                         "--rounds", 60, "--depth", 4, "--json", p("multi.json"), "-o", p("multi.spm"))
        check(rc == 0, "multi: train-xgb exit 0", err)
        check("non-numeric columns: app" in err, "multi: skipped non-numeric app reported", err)
        check(os.path.getsize(p("multi.json")) > 0 if os.path.exists(p("multi.json")) else False, "multi: --json written")
        if rc == 0:
            m, out = metrics(p("multi.spm"))
            check("classes: benign,brute,scan" in out, "multi: artifact classes in order", out)
            check("feature_names: a,b,noise1,noise2\n" in out, "multi: feature names exclude ids and label", out)
            check("valid_accuracy" in m and "best_iteration" in m, "multi: metrics stored", out)
            probs = predict(p("multi.spm"), p("test.csv"))
            classes = ["benign", "brute", "scan"]
            correct = sum(1 for pr, r in zip(probs, test_rows) if classes[pr.index(max(pr))] == r[-1])
            acc = correct / len(test_rows)
            check(len(probs) == len(test_rows) and acc > 0.9, "multi: held-out accuracy > 0.9 (%.3f)" % acc)
            check(all(abs(sum(pr) - 1) < 1e-4 for pr in probs), "multi: probabilities sum to 1")
            # The compile path accepts the same JSON and scores identically.
            rc2, _, err2 = run("compile", p("multi.json"), "-o", p("multi2.spm"),
                             "--features", "a,b,noise1,noise2", "--classes", "benign,brute,scan")
            check(rc2 == 0 and predict(p("multi2.spm"), p("test.csv")) == probs,
                  "multi: compile of --json output agrees", err2)

        # 2. Binary, imbalanced (attack 3%), class weights auto; 0/1 labels.
        cen = {"0": (0.0, 0.0), "1": (2.0, 2.0)}
        write_csv(p("imb.csv"), gen(rng, {"0": 1940, "1": 60}, cen, 0.8))
        test_imb = gen(rng, {"0": 1000, "1": 200}, cen, 0.8)
        write_csv(p("imb_test.csv"), test_imb)
        rc, _, err = run("train-xgb", "--csv", p("imb.csv"), "--label", "label", "--rounds", 40,
                         "--depth", 3, "--class-weight", "auto", "-o", p("imb.spm"))
        check(rc == 0, "binary: train-xgb exit 0", err)
        if rc == 0:
            _, out = metrics(p("imb.spm"))
            check("outputs: 1" in out and "classes: 0,1" in out, "binary: one output, classes 0,1", out)
            sc = predict(p("imb.spm"), p("imb_test.csv"))
            pos = [s[0] for s, r in zip(sc, test_imb) if r[-1] == "1"]
            recall = sum(1 for s in pos if s >= 0.5) / len(pos)
            check(recall > 0.8, "binary: minority recall > 0.8 with class weights (%.3f)" % recall)
            rc, _, err = run("train-xgb", "--csv", p("imb.csv"), "--label", "label", "--rounds", 40,
                             "--depth", 3, "--class-weight", "none", "-o", p("imb0.spm"))
            sc0 = predict(p("imb0.spm"), p("imb_test.csv")) if rc == 0 else []
            recall0 = sum(1 for s, r in zip(sc0, test_imb) if r[-1] == "1" and s[0] >= 0.5) / len(pos)
            check(rc == 0 and recall0 < recall, "binary: unweighted recall lower (%.3f < %.3f)" % (recall0, recall), err)

        # 3. Early stopping on an easy problem stops well before --rounds.
        easy = {"benign": (0.0, 0.0), "scan": (20.0, 20.0)}
        write_csv(p("easy.csv"), gen(rng, {"benign": 300, "scan": 300}, easy, 0.5))
        rc, _, err = run("train-xgb", "--csv", p("easy.csv"), "--label", "label", "--rounds", 500,
                         "--early-stop", 5, "--eta", 0.5, "-o", p("easy.spm"))
        check(rc == 0, "early stop: exit 0", err)
        if rc == 0:
            m, out = metrics(p("easy.spm"))
            check(m.get("best_iteration", 1e9) < 499 and m.get("rounds_trained", 1e9) < 500,
                  "early stop: best_iteration < rounds (%s)" % m.get("best_iteration"), out)
            rc, out, _ = run("inspect", p("easy.spm"))
            trees = int([l for l in out.split("\n") if l.startswith("trees:")][0].split(":")[1])
            check(trees == int(m["best_iteration"]) + 1,
                  "early stop: model keeps best_iteration+1 trees", out)

        # 3b. --split-by flow_id: a flow's scoring points stay on one side of the
        # split. Labels are noise per flow and each flow has 3 near-identical rows,
        # so only a leaky (per-row) split lets validation look learnable.
        leak_rows = []
        for fid in range(1, 401):
            cls = rng.choice(["benign", "scan"])
            base = [round(rng.gauss(0, 1), 6) for _ in range(4)]
            for k in range(3):
                leak_rows.append((fid, "10.1.%d.%d" % (fid // 250, fid % 250), base[0], base[1] + k * 1e-6,
                                  "dns", base[2], base[3], cls))
        rng.shuffle(leak_rows)
        write_csv(p("leak.csv"), leak_rows)
        accs = {}
        for how, extra in (("row", ()), ("flow", ("--split-by", "flow_id"))):
            rc, _, err = run("train-xgb", "--csv", p("leak.csv"), "--label", "label", "--rounds", 100,
                             "--early-stop", 0, "--depth", 8, "-o", p("leak-%s.spm" % how), *extra)
            check(rc == 0, "split-by %s: exit 0" % how, err)
            if rc == 0:
                m, out = metrics(p("leak-%s.spm" % how))
                accs[how] = m.get("valid_accuracy", -1)
                if how == "flow":
                    vg, tg = m.get("valid_groups", -1), m.get("train_groups", -1)
                    check(vg > 0 and m.get("valid_rows") == 3 * vg and m.get("train_rows") == 3 * tg
                        and vg + tg == 400,
                        "split-by flow: whole flows (valid %s rows = 3 x %s flows, train %s = 3 x %s)" % (
                        m.get("valid_rows"), vg, m.get("train_rows"), tg), out)
                else:
                    check("valid_groups" not in m, "split by row: no group metrics (artifacts as before)", out)
        if len(accs) == 2:
            check(accs["flow"] < 0.65 and accs["row"] > accs["flow"] + 0.15, "split-by flow removes the leak: validation accuracy %.3f by flow (chance), %.3f by row" % (
                accs["flow"], accs["row"]))
        rc, _, err = run("train-xgb", "--csv", p("leak.csv"), "--label", "label", "--split-by", "episode",
                         "-o", p("x.spm"))
        check(rc == 1 and "no --split-by column 'episode'" in err, "split-by: unknown column refused", err)

        # 4. Isolation forest on benign rows: outliers rank below inliers.
        rows = gen(rng, {"benign": 800, "scan": 50}, {"benign": (0.0, 0.0), "scan": (5.0, 5.0)}, 0.7)
        write_csv(p("if.csv"), rows)
        rc, _, err = run("train-iforest", "--csv", p("if.csv"), "--label", "label", "--benign", "benign",
                         "--trees", 100, "--max-samples", 256, "--seed", 3, "-o", p("if.spm"))
        check(rc == 0, "iforest: exit 0", err)
        if rc == 0:
            m, out = metrics(p("if.spm"))
            check(m.get("train_rows") == 800, "iforest: trained on benign rows only", out)
            check("thresholds: -0.5" in out, "iforest: threshold is offset -0.5", out)
            ev = gen(rng, {"benign": 200, "scan": 40}, {"benign": (0.0, 0.0), "scan": (5.0, 5.0)}, 0.7)
            write_csv(p("if_test.csv"), ev)
            sc = predict(p("if.spm"), p("if_test.csv"))
            a = auc([s[0] for s, r in zip(sc, ev) if r[-1] == "scan"],
                    [s[0] for s, r in zip(sc, ev) if r[-1] == "benign"])
            check(a > 0.95, "iforest: AUC > 0.95 (%.3f)" % a)
            # --contamination 0.05: the threshold is the 5% quantile of the training scores.
            rc, _, err = run("train-iforest", "--csv", p("if.csv"), "--label", "label", "--benign", "benign",
                             "--seed", 3, "--contamination", 0.05, "-o", p("if5.spm"))
            check(rc == 0, "iforest --contamination: exit 0", err)
            if rc == 0:
                _, out = metrics(p("if5.spm"))
                thr = float([l for l in out.split("\n") if l.startswith("thresholds:")][0].split(":")[1])
                benign_rows = [r for r in rows if r[-1] == "benign"]
                write_csv(p("if_train_benign.csv"), benign_rows)
                sc = [v[0] for v in predict(p("if5.spm"), p("if_train_benign.csv"))]
                frac = sum(v < thr for v in sc) / len(sc)
                check(0.04 <= frac <= 0.055,
                      "iforest --contamination 0.05: %.4f of training rows below %.6g" % (frac, thr), out)  # inspect prints the threshold to 6 digits
            rc, _, err = run("train-iforest", "--csv", p("if.csv"), "--contamination", 0.7, "-o", p("x.spm"))
            check(rc == 2 and "contamination" in err, "iforest --contamination 0.7 refused", err)
        rc, _, err = run("train-iforest", "--csv", p("if.csv"), "--label", "label", "--benign", "nosuch",
                         "-o", p("x.spm"))
        check(rc == 1 and "no rows" in err, "iforest: no benign rows -> exit 1", err)

        # 5. Bad CSVs: exit 1 with a clear message.
        rc, _, err = run("train-xgb", "--csv", p("train.csv"), "--label", "klass", "-o", p("x.spm"))
        check(rc == 1 and "no label column 'klass'" in err, "bad: missing label column", err)
        open(p("empty.csv"), "w").close()
        rc, _, err = run("train-xgb", "--csv", p("empty.csv"), "--label", "label", "-o", p("x.spm"))
        check(rc == 1 and "empty CSV" in err, "bad: empty file", err)
        rc, _, err = run("train-iforest", "--csv", p("empty.csv"), "-o", p("x.spm"))
        check(rc == 1 and "empty CSV" in err, "bad: empty file (iforest)", err)
        rc, _, err = run("train-xgb", "--csv", p("train.csv"), "--label", "label", "--objective", "binary",
                         "-o", p("x.spm"))
        check(rc == 1 and "exactly 2 classes" in err and "scan" in err, "bad: binary with 3 classes", err)
        write_csv(p("hdr.csv"), [])
        rc, _, err = run("train-xgb", "--csv", p("hdr.csv"), "--label", "label", "-o", p("x.spm"))
        check(rc == 1 and "no data rows" in err, "bad: header only", err)
        rc, _, err = run("train-xgb", "--csv", p("nosuch.csv"), "--label", "label", "-o", p("x.spm"))
        check(rc == 1 and "cannot open" in err, "bad: missing file", err)
        check(not os.path.exists(p("x.spm")), "bad: no artifact written")

        # 6. Wrong use: exit 2.
        for args in (["train-xgb"], ["train-xgb", "--csv", p("train.csv"), "-o", p("x.spm")],
                     ["train-xgb", "--csv", p("train.csv"), "--label", "label", "-o", p("x.spm"), "--bogus", "1"],
                     ["train-xgb", "--csv", p("train.csv"), "--label", "label", "-o", p("x.spm"), "--rounds", "x"],
                     ["train-xgb", "--csv", p("train.csv"), "--label", "label", "-o", p("x.spm"),
                      "--objective", "poisson"],
                     ["train-iforest", "--csv", p("if.csv")],
                     ["train-iforest", "--csv", p("if.csv"), "-o", p("x.spm"), "--label", "label"],
                     ["train-iforest", "--csv", p("if.csv"), "-o", p("x.spm"), "--trees"]):
            rc, _, err = run(*args)
            check(rc == 2, "usage: %s -> exit 2" % " ".join(os.path.basename(a) for a in args), (rc, err))

    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
