#!/usr/bin/python3
"""Trains small XGBoost models on random data for the Xgb* differential tests.

usage: gen_xgb_models.py OUTDIR
Writes OUTDIR/<name>.json (Booster.save_model) and OUTDIR/<name>.csv (test rows,
one per line, 'nan' for missing) for each model below. Deterministic (fixed seeds).
"""
import os
import sys

import numpy as np
import xgboost as xgb


def rows(rng, n, nfeat, nan_frac=0.0):
    x = rng.normal(size=(n, nfeat)).astype(np.float32)
    # Coarse grid values on a few columns so hist cut points repeat exactly in test rows.
    x[:, 0] = np.round(x[:, 0] * 4) / 4
    if nan_frac > 0:
        x[rng.random(size=x.shape) < nan_frac] = np.nan
    return x


def label_binary(x, rng):
    z = np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) * np.nan_to_num(x[:, 2]) \
        - np.sin(np.nan_to_num(x[:, 3]))
    return (z + 0.3 * rng.normal(size=len(z)) > 0).astype(np.float32)


def save(outdir, name, booster, xtest):
    booster.save_model(os.path.join(outdir, name + ".json"))
    np.savetxt(os.path.join(outdir, name + ".csv"), xtest, delimiter=",", fmt="%.9g")


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(20240501)
    nfeat = 16

    x = rows(rng, 3000, nfeat)
    y = label_binary(x, rng)
    d = xgb.DMatrix(x, label=y)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.3, "seed": 1}, d, 100)
    save(outdir, "bin100_d6", b, rows(rng, 1000, nfeat))

    b = xgb.train({"objective": "binary:logistic", "max_depth": 8, "eta": 0.1, "base_score": 0.3,
                   "subsample": 0.8, "colsample_bytree": 0.8, "seed": 2}, d, 500)
    save(outdir, "bin500_d8", b, rows(rng, 500, nfeat))

    y3 = np.digitize(np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 4]), [-0.5, 0.5]).astype(np.float32)
    b = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 5, "seed": 3},
                  xgb.DMatrix(x, label=y3), 40)
    save(outdir, "multi3", b, rows(rng, 500, nfeat))

    yr = (np.nan_to_num(x[:, 0]) * 2 + np.nan_to_num(x[:, 5]) ** 2 + rng.normal(size=len(x))).astype(np.float32)
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 6, "base_score": 1.25, "seed": 4},
                  xgb.DMatrix(x, label=yr), 80)
    save(outdir, "reg80", b, rows(rng, 500, nfeat))

    xm = rows(rng, 3000, nfeat, nan_frac=0.25)
    ym = label_binary(xm, rng)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 6, "tree_method": "hist", "seed": 5},
                  xgb.DMatrix(xm, label=ym, missing=np.nan), 60)
    save(outdir, "missing60", b, rows(rng, 1000, nfeat, nan_frac=0.25))


if __name__ == "__main__":
    main()
