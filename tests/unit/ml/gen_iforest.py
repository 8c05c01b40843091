#!/usr/bin/python3
"""Fits scikit-learn IsolationForests, exports them with ml/export_iforest.py and
writes test rows with sklearn's score_samples, for tests/unit/ml/test_iforest.cc.

Usage: gen_iforest.py OUTDIR
Writes OUTDIR/configs.txt (one config name a line) and per config NAME.json and
NAME.rows ("nrows nfeat" then per row nfeat values and the expected score, repr()).
Exit 3 when sklearn is missing (the test then skips).
"""
import os
import sys

try:
    import numpy as np
    from sklearn.ensemble import IsolationForest
except ImportError:
    sys.exit(3)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "ml"))
from export_iforest import export_iforest  # noqa: E402


def threshold_rows(forest, rng, nfeat, base, count):
    """Rows with one feature set at (or one ulp around) a split threshold, so the
    `x <= threshold` direction and the float32 rounding of inputs are exercised."""
    rows = []
    subsample = int(forest._max_features) != nfeat
    for _ in range(count):
        k = rng.integers(len(forest.estimators_))
        t = forest.estimators_[k].tree_
        internal = np.flatnonzero(t.children_left >= 0)
        if len(internal) == 0:
            continue
        node = rng.choice(internal)
        col = int(t.feature[node])
        if subsample:
            col = int(forest.estimators_features_[k][col])
        thr = float(t.threshold[node])
        f32 = float(np.float32(thr))
        for v in (thr, np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf), f32,
                  float(np.nextafter(np.float32(thr), np.float32(np.inf))),
                  float(np.nextafter(np.float32(thr), np.float32(-np.inf)))):
            r = base[rng.integers(len(base))].copy()
            r[col] = v
            rows.append(r)
    return np.array(rows).reshape(-1, nfeat)


def make(name, outdir, rng, n, nfeat, params, integer=False):
    X = rng.normal(size=(n, nfeat)) * rng.uniform(0.5, 5.0, size=nfeat)
    if integer:
        X = np.round(X * 3)
    forest = IsolationForest(random_state=int(rng.integers(1 << 30)), **params).fit(X)
    parts = [X[: min(n, 200)],
             rng.uniform(-8, 8, size=(200, nfeat)),
             rng.normal(size=(50, nfeat)) * 40]
    tr = threshold_rows(forest, rng, nfeat, X, 60)
    if len(tr):
        parts.append(tr)
    rows = np.vstack(parts)
    scores = forest.score_samples(rows)
    with open(os.path.join(outdir, name + ".json"), "w") as fh:
        fh.write(export_iforest(forest))
    with open(os.path.join(outdir, name + ".rows"), "w") as fh:
        fh.write("%d %d\n" % rows.shape)
        for r, s in zip(rows, scores):
            fh.write(" ".join(repr(float(v)) for v in r) + " " + repr(float(s)) + "\n")
    return name


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gen_iforest.py OUTDIR\n")
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(20240517)
    names = [
        make("t100_ms256", outdir, rng, 1000, 6, dict(n_estimators=100, max_samples=256)),
        make("t100_auto_mf05", outdir, rng, 700, 8,
             dict(n_estimators=100, max_samples="auto", max_features=0.5)),
        make("small_n60", outdir, rng, 60, 4,
             dict(n_estimators=100, max_samples="auto", max_features=0.75)),
        make("mf3_ms64_contam", outdir, rng, 400, 5,
             dict(n_estimators=50, max_samples=64, max_features=3, contamination=0.1)),
        make("int_valued", outdir, rng, 300, 3, dict(n_estimators=40, max_samples=128),
             integer=True),
        make("n2", outdir, rng, 2, 2, dict(n_estimators=10)),
        make("n1", outdir, rng, 1, 2, dict(n_estimators=5)),
    ]
    with open(os.path.join(outdir, "configs.txt"), "w") as fh:
        fh.write("\n".join(names) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
