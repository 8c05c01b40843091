#!/usr/bin/python3
"""Export a fitted scikit-learn IsolationForest to the spectre-iforest JSON form.

Usage:
  ml/export_iforest.py MODEL.pkl OUT.json     (a pickled/joblib'd IsolationForest)
or from Python:
  from export_iforest import export_iforest; text = export_iforest(forest)

The C++ loader (ml/iforest, load_iforest_json) reproduces score_samples exactly:
per tree the raw tree_ arrays plus the column mapping the forest applies
before the tree sees a row (estimators_features_, only used by sklearn when
max_features < n_features), max_samples_ for the c(n) normalisation and offset_.
"""
import json
import sys


def export_iforest(forest):
    """Returns the JSON text for a fitted sklearn.ensemble.IsolationForest."""
    from sklearn.ensemble import IsolationForest
    if not isinstance(forest, IsolationForest):
        raise TypeError("expected a fitted sklearn.ensemble.IsolationForest")
    if not hasattr(forest, "estimators_"):
        raise ValueError("IsolationForest is not fitted")
    n_features = int(forest.n_features_in_)
    # sklearn only indexes columns when fewer features than the input are used
    # (IsolationForest._compute_chunked_score_samples); otherwise trees see the
    # row as is even though estimators_features_ may hold a permutation.
    subsample = int(forest._max_features) != n_features
    trees = []
    for est, feats in zip(forest.estimators_, forest.estimators_features_):
        t = est.tree_
        mapping = [int(v) for v in feats] if subsample else list(range(n_features))
        trees.append({
            "features": mapping,
            "children_left": [int(v) for v in t.children_left],
            "children_right": [int(v) for v in t.children_right],
            "feature": [int(v) for v in t.feature],
            # float() keeps every bit: json writes repr(), the shortest round-trip form.
            "threshold": [float(v) for v in t.threshold],
            "n_node_samples": [int(v) for v in t.n_node_samples],
        })
    # Key order matters: the C++ reader wants n_features before trees.
    doc = {
        "format": "spectre-iforest",
        "version": 1,
        "source": "sklearn",
        "n_features": n_features,
        "max_samples": int(forest.max_samples_),
        "offset": float(forest.offset_),
        "trees": trees,
    }
    return json.dumps(doc, allow_nan=False, separators=(",", ":")) + "\n"


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: export_iforest.py MODEL.pkl OUT.json\n")
        return 2
    try:
        import joblib
        forest = joblib.load(argv[1])
    except ImportError:
        import pickle
        with open(argv[1], "rb") as fh:
            forest = pickle.load(fh)
    text = export_iforest(forest)
    with open(argv[2], "w") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
