#!/usr/bin/python3
"""End-to-end test of spectre-ml compile / predict / inspect.

Trains a small XGBoost model (python3-xgboost) and a scikit-learn
IsolationForest (exported with ml/export_iforest.py), compiles both into .spm
artifacts, and checks that `predict` matches xgboost's own margins (1e-5) and
probabilities, and sklearn's score_samples (1e-6); that corrupt and truncated
artifacts are refused with "checksum" in the error; and that wrong use exits 2.

Usage: test_spectre_ml.py [SPECTRE_ML]  (else $SPECTRE_ML, else build/ml/spectre-ml)
Exit: 0 all passed, 1 a failure, 77 skipped (binary or python modules missing).
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "ml"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402

check = Checks()


def run(binary, *args):
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=120)


def write_csv(path, header, X, blank=None):
    with open(path, "w") as fh:
        fh.write(",".join(header) + "\n")
        for i, row in enumerate(X):
            cells = []
            for j, v in enumerate(row):
                cells.append("" if (v != v) else repr(float(v)))
            fh.write(",".join(cells) + "\n")


def parse_scores(text):
    return [[float(c) for c in line.split(",")] for line in text.strip().splitlines()]


def max_diff(ours, ref):
    if len(ours) != len(ref):
        return float("inf")
    worst = 0.0
    for a, b in zip(ours, ref):
        if len(a) != len(b):
            return float("inf")
        for x, y in zip(a, b):
            worst = max(worst, abs(x - y))
    return worst


def test_xgb(binary, tmp, np, xgb):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    y = ((X[:, 0] + X[:, 1] * X[:, 2]) > 0.3).astype(int)
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 1},
                    xgb.DMatrix(X, label=y, missing=np.nan), num_boost_round=30)
    mj = os.path.join(tmp, "xgb.json")
    bst.save_model(mj)
    names = ["pkts", "bytes", "dur", "iat", "syn", "rst"]
    csv = os.path.join(tmp, "xgb.csv")
    write_csv(csv, names, X)
    spm = os.path.join(tmp, "xgb.spm")
    r = run(binary, "compile", mj, "-o", spm, "--features", ",".join(names),
            "--classes", "benign,attack", "--threshold", "0.7", "--validation", csv,
            "--metric", "auc=0.99")
    check(r.returncode == 0 and os.path.getsize(spm) > 32, "xgb compile", r.stderr)
    dm = xgb.DMatrix(X, missing=np.nan)
    ref_margin = [[float(v)] for v in bst.predict(dm, output_margin=True)]
    ref_prob = [[float(v)] for v in bst.predict(dm)]
    r = run(binary, "predict", "--model", spm, "--csv", csv, "--margin")
    check(r.returncode == 0, "xgb predict --margin exit 0", r.stderr)
    d = max_diff(parse_scores(r.stdout), ref_margin)
    check(d <= 1e-5, "xgb margins match xgboost within 1e-5", "max diff %g" % d)
    r = run(binary, "predict", "--model", spm, "--csv", csv)
    d = max_diff(parse_scores(r.stdout), ref_prob)
    check(d <= 1e-6, "xgb probabilities match xgboost within 1e-6", "max diff %g" % d)
    # f0..fN header works as well.
    csv2 = os.path.join(tmp, "xgb_f.csv")
    write_csv(csv2, ["f%d" % i for i in range(6)], X[:20])
    r = run(binary, "predict", "--model", spm, "--csv", csv2, "--margin")
    d = max_diff(parse_scores(r.stdout), ref_margin[:20])
    check(r.returncode == 0 and d <= 1e-5, "xgb predict with f0..fN header", r.stderr)
    r = run(binary, "inspect", spm)
    out = r.stdout
    check(r.returncode == 0 and "kind: xgboost" in out and "trees: 30" in out
          and "classes: benign,attack" in out and "thresholds: 0.7" in out and "auc: 0.99" in out
          and "validation_rows: 8 ok" in out and "feature_names: pkts,bytes" in out
          and "sha256: " in out, "xgb inspect", out + r.stderr)

    # Multi-class with softprob.
    y3 = (np.nan_to_num(X[:, 0]) > 0).astype(int) + (np.nan_to_num(X[:, 3]) > 0.5).astype(int)
    bst3 = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "seed": 2},
                     xgb.DMatrix(X, label=y3, missing=np.nan), num_boost_round=10)
    mj3 = os.path.join(tmp, "xgb3.json")
    bst3.save_model(mj3)
    spm3 = os.path.join(tmp, "xgb3.spm")
    r = run(binary, "compile", mj3, "-o", spm3, "--classes", "a,b,c")
    check(r.returncode == 0, "xgb multi-class compile (synthetic validation rows)", r.stderr)
    r = run(binary, "predict", "--model", spm3, "--csv", csv2, "--margin")
    ref3 = bst3.predict(xgb.DMatrix(X[:20], missing=np.nan), output_margin=True).tolist()
    d = max_diff(parse_scores(r.stdout), ref3)
    check(r.returncode == 0 and d <= 1e-5, "xgb multi-class margins match within 1e-5",
          "max diff %g %s" % (d, r.stderr))
    r = run(binary, "compile", mj3, "-o", spm3 + ".bad", "--classes", "a,b")
    check(r.returncode == 1 and not os.path.exists(spm3 + ".bad"), "class count mismatch refused (exit 1)",
          r.stderr)
    return spm, csv


def test_iforest(binary, tmp, np):
    from sklearn.ensemble import IsolationForest
    from export_iforest import export_iforest
    rng = np.random.default_rng(11)
    X = rng.normal(size=(600, 5))
    X[:10] += 6.0
    forest = IsolationForest(n_estimators=50, max_samples=128, random_state=3).fit(X)
    mj = os.path.join(tmp, "if.json")
    with open(mj, "w") as fh:
        fh.write(export_iforest(forest))
    csv = os.path.join(tmp, "if.csv")
    write_csv(csv, ["f%d" % i for i in range(5)], X)
    spm = os.path.join(tmp, "if.spm")
    r = run(binary, "compile", mj, "-o", spm, "--validation", csv)
    check(r.returncode == 0, "iforest compile (auto-detected)", r.stderr)
    r = run(binary, "predict", "--model", spm, "--csv", csv)
    ref = [[float(v)] for v in forest.score_samples(X)]
    d = max_diff(parse_scores(r.stdout), ref)
    check(r.returncode == 0 and d <= 1e-6, "iforest scores match sklearn score_samples within 1e-6",
          "max diff %g %s" % (d, r.stderr))
    r = run(binary, "predict", "--model", spm, "--csv", csv, "--margin")
    ref = [[float(v)] for v in forest.decision_function(X)]
    d = max_diff(parse_scores(r.stdout), ref)
    check(r.returncode == 0 and d <= 1e-6, "iforest --margin matches decision_function", "max diff %g" % d)
    r = run(binary, "inspect", spm)
    check(r.returncode == 0 and "kind: iforest" in r.stdout and "trees: 50" in r.stdout
          and "classes: anomaly" in r.stdout and "validation_rows: 8 ok" in r.stdout, "iforest inspect", r.stdout + r.stderr)
    return spm


def test_corrupt(binary, tmp, spm, csv):
    data = open(spm, "rb").read()
    cases = {
        "flip": data[:100] + bytes([data[100] ^ 0x01]) + data[101:],
        "flip-trailer": data[:-1] + bytes([data[-1] ^ 0x80]),
        "truncate": data[:len(data) // 2],
    }
    for name, blob in cases.items():
        p = os.path.join(tmp, "bad-%s.spm" % name)
        with open(p, "wb") as fh:
            fh.write(blob)
        for cmd in (["inspect", p], ["predict", "--model", p, "--csv", csv]):
            r = run(binary, *cmd)
            check(r.returncode == 1 and "checksum" in r.stderr and r.stdout == "",
                  "%s artifact refused by %s" % (name, cmd[0]), r.stderr)
    p = os.path.join(tmp, "tiny.spm")
    with open(p, "wb") as fh:
        fh.write(data[:10])
    r = run(binary, "inspect", p)
    check(r.returncode == 1 and "too short" in r.stderr, "tiny file refused", r.stderr)
    r = run(binary, "inspect", os.path.join(tmp, "missing.spm"))
    check(r.returncode == 1, "missing file exit 1", r.stderr)
    # A CSV lacking a feature column, and a non-numeric cell.
    bad_csv = os.path.join(tmp, "bad.csv")
    with open(bad_csv, "w") as fh:
        fh.write("x,y\n1,2\n")
    r = run(binary, "predict", "--model", spm, "--csv", bad_csv)
    check(r.returncode == 1 and "no column" in r.stderr, "CSV without feature columns exit 1", r.stderr)


def test_resigned(binary, tmp, spm):
    """Damage with a valid trailer: the verifier, structure checks and validation
    rows must refuse it (exit 1) or, for bytes that do not matter, accept it; never crash."""
    import hashlib
    data = open(spm, "rb").read()
    body = data[:-32]

    def signed(b):
        return b + hashlib.sha256(b).digest()

    p = os.path.join(tmp, "resigned.spm")
    with open(p, "wb") as fh:
        fh.write(signed(body[:4] + b"SPM9" + body[8:]))
    r = run(binary, "inspect", p)
    check(r.returncode == 1 and "identifier" in r.stderr, "wrong identifier refused", r.stderr)
    refused = crashed = 0
    step = max(1, len(body) // 150)
    for off in range(0, len(body), step):
        with open(p, "wb") as fh:
            fh.write(signed(body[:off] + bytes([body[off] ^ 0x5a]) + body[off + 1:]))
        r = run(binary, "inspect", p)
        if r.returncode == 1:
            refused += 1
        elif r.returncode != 0:
            crashed += 1
    check(crashed == 0 and refused > 0, "re-signed byte flips never crash (%d refused)" % refused,
          "crashed %d" % crashed)


def test_usage(binary, spm):
    for args in ([], ["frobnicate"], ["compile"], ["compile", "x.json"], ["predict", "--model", spm],
                 ["inspect"], ["compile", "x.json", "-o", "y.spm", "--kind", "svm"],
                 ["predict", "--model", spm, "--csv"]):
        r = run(binary, *args)
        check(r.returncode == 2 and "usage" in r.stderr, "wrong use %r exits 2" % (args,), r.stderr)
    r = run(binary, "--help")
    check(r.returncode == 0 and "compile" in r.stdout and "predict" in r.stdout, "--help exits 0")


def main():
    binary = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPECTRE_ML")
              or os.path.join(ROOT, "build", "ml", "spectre-ml"))
    if not os.access(binary, os.X_OK):
        return check.skip("spectre-ml not found at %s" % binary)
    try:
        import numpy as np
        import xgboost as xgb
        import sklearn  # noqa: F401
    except ImportError as e:
        return check.skip(str(e))
    with tempfile.TemporaryDirectory(prefix="spectre-ml-") as tmp:
        try:
            spm, csv = test_xgb(binary, tmp, np, xgb)
            if_spm = test_iforest(binary, tmp, np)
            test_corrupt(binary, tmp, spm, csv)
            test_corrupt(binary, tmp, if_spm, csv)
            test_resigned(binary, tmp, spm)
            test_resigned(binary, tmp, if_spm)
            test_usage(binary, spm)
        except Exception as e:  # a crash in the harness is a failure, not a skip
            import traceback
            traceback.print_exc()
            check(False, "harness ran to completion", repr(e))
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
