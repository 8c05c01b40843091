#!/usr/bin/python3
"""Reference side of spectre-mlbench's isolation-forest comparison.

Fits IsolationForest(n_estimators=100, max_samples=256) on synthetic 50-feature
data, exports it with ml/export_iforest.py, times score_samples on 1, 32 and
256 rows, and writes one JSON file: the spectre-iforest form plus a "bench"
member {"sklearn", "rows", "scores", "sklearn_ns_per_row"} that
`spectre-mlbench --iforest-json FILE` reads (it checks our scores against
"scores" within 1e-6 and times ours on the same rows).

usage: iforest_sklearn.py --out FILE [--quick] [--seed N]
Exit 3 when numpy/scikit-learn are missing.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import numpy as np
    import sklearn
    from sklearn.ensemble import IsolationForest
except ImportError:
    sys.exit(3)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "ml"))
from export_iforest import export_iforest  # noqa: E402

NFEAT = 50
BATCHES = (1, 32, 256)


def ns_per_row(fn, rows, reps, seconds):
    """Median over `reps` repetitions of ~`seconds` each, in ns per row."""
    calls = 1
    while True:  # calibrate
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        dt = time.perf_counter() - t0
        if dt >= 0.01:
            calls = max(1, int(calls * seconds / dt))
            break
        calls *= 2
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t0) * 1e9 / (calls * rows))
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    scale = rng.uniform(0.5, 5.0, size=NFEAT)
    X = rng.normal(size=(20000, NFEAT)) * scale
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=a.seed).fit(X)

    # 256 scored rows: inliers, uniform noise and far outliers.
    rows = np.vstack([rng.normal(size=(192, NFEAT)) * scale,
                      rng.uniform(-10, 10, size=(48, NFEAT)) * scale,
                      rng.normal(size=(16, NFEAT)) * scale * 8])
    scores = forest.score_samples(rows)

    reps, seconds = (3, 0.03) if a.quick else (5, 0.1)
    timings = {}
    for n in BATCHES:
        part = rows[:n]
        timings[str(n)] = ns_per_row(lambda: forest.score_samples(part), n, reps, seconds)

    doc = json.loads(export_iforest(forest))
    doc["bench"] = {
        "sklearn": sklearn.__version__,
        "rows": [[float(v) for v in r] for r in rows],
        "scores": [float(s) for s in scores],
        "sklearn_ns_per_row": timings,
    }
    with open(a.out, "w") as fh:
        json.dump(doc, fh, allow_nan=False, separators=(",", ":"))
        fh.write("\n")
    print("sklearn %s score_samples ns/row: %s" % (sklearn.__version__,
          ", ".join("%s: %.0f" % kv for kv in timings.items())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
