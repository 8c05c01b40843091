#!/usr/bin/python3
"""Benign false-positive rate of the shipped model on held-out nDPI captures.

  test_fpr_holdout.py [--max-fpr 0.001]   ($SPECTRE_DP, $SPECTRE_ML; else build/...)

The nDPI protocol captures (../shared/corpora/pcaps/ndpi/tests/cfgs/default/pcap)
are split by whole file in ml/models/split.txt (rule: ml/models/split.py).
The shipped model was trained on the "train" part and calibrated on the
"calibration" part; this test runs the real `spectre-dp -r FILE --model
ml/models/default.spm --eve` (1 worker) over every "holdout" capture and
counts, per flow (EVE flow records), the flows with an ML alert (gid 9000) or
a behaviour alert (gid 9100). It fails when that fraction exceeds --max-fpr
(0.1%), when the split file disagrees with split.py, when a holdout capture is
among the files the model's calibration record names, or when the count by
`spectre-ml eval --eve` differs from this script's own.

Exit 0 passed, 1 failed, 77 skipped (../shared or binaries absent).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402

MODEL = os.path.join(ROOT, "ml", "models", "default.spm")
SPLIT = os.path.join(ROOT, "ml", "models", "split.py")
NDPI = os.path.join(ROOT, "..", "shared", "corpora", "pcaps", "ndpi", "tests", "cfgs", "default", "pcap")


def binary(env, rel):
    p = os.environ.get(env) or os.path.join(ROOT, "build", rel)
    return p if os.access(p, os.X_OK) else None


def flows_and_alerted(eve_path):
    """(flow ids, alerted flow ids, alerts by gid) of one EVE file."""
    flows, alerted, gids = set(), set(), {}
    with open(eve_path) as f:
        for line in f:
            ev = json.loads(line)
            t = ev.get("event_type")
            if t == "flow":
                flows.add(ev["flow_id"])
            elif t == "alert":
                gid = ev.get("alert", {}).get("gid")
                gids[gid] = gids.get(gid, 0) + 1
                if gid in (9000, 9100):
                    alerted.add(ev.get("flow_id"))
                    alerted.update(ev.get("behaviour", {}).get("flow_ids", []))
    return flows, alerted, gids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-fpr", type=float, default=0.001)
    a = ap.parse_args()
    if not os.path.isdir(NDPI):
        print("SKIP: %s is absent (the nDPI captures live in ../shared)" % NDPI)
        return 77
    dp, mlb = binary("SPECTRE_DP", "dataplane/spectre-dp"), binary("SPECTRE_ML", "ml/spectre-ml")
    if not dp or not mlb:
        print("SKIP: spectre-dp or spectre-ml not built (set SPECTRE_DP and SPECTRE_ML)")
        return 77
    check = Checks()
    env = dict(os.environ, SPECTRE_CONFIG="none", SPECTRE_NDPI_DIR=NDPI)
    split_now = subprocess.run([sys.executable, SPLIT], capture_output=True, text=True, env=env).stdout
    with open(os.path.join(ROOT, "ml", "models", "split.txt")) as f:
        check(f.read() == split_now, "ml/models/split.txt is what split.py makes of the captures present")
    held = subprocess.run([sys.executable, SPLIT, "--part", "holdout"], capture_output=True, text=True,
                          env=env).stdout.split()
    check(len(held) >= 50, "holdout part has %d captures" % len(held))
    info = subprocess.run([mlb, "inspect", MODEL], capture_output=True, text=True)
    check(info.returncode == 0 and "guard: isolation forest" in info.stdout,
          "shipped model carries an open-set guard", info.stdout[-800:] + info.stderr[-300:])
    calib = {ln.strip() for ln in info.stdout.split("\n") if ln.startswith("    ")}
    leaked = sorted(os.path.basename(h) for h in held if any(c.endswith("/" + os.path.basename(h)) or
                                                              c == os.path.basename(h) for c in calib))
    check(not leaked and len(calib) > 0, "no holdout capture among the model's %d calibration files" % len(calib),
          leaked[:5])
    tmp = tempfile.mkdtemp(prefix="fpr-holdout-")
    n_flows = n_alerted = 0
    gids, worst, failed = {}, [], []
    all_eve = os.path.join(tmp, "all.json")
    with open(all_eve, "w") as out:
        for i, pcap in enumerate(held):
            eve = os.path.join(tmp, "eve%d.json" % i)
            for _ in range(2):  # one retry: a start-up on the busy shared machine rarely fails
                cp = subprocess.run([dp, "-r", pcap, "--workers", "1", "--model", MODEL, "--eve", eve],
                                    capture_output=True, text=True, env=env, timeout=120)
                if cp.returncode == 0:
                    break
            if cp.returncode != 0 or not os.path.exists(eve):
                failed.append("%s: rc %s %s" % (os.path.basename(pcap), cp.returncode, cp.stderr[-200:]))
                continue
            flows, alerted, g = flows_and_alerted(eve)
            hit = alerted & flows
            own = alerted - flows - {None, 0}  # alerts without a flow record: flows of their own
            n_flows += len(flows) + len(own)
            n_alerted += len(hit) + len(own)
            for k, v in g.items():
                gids[k] = gids.get(k, 0) + v
            if hit:
                worst.append((len(hit), os.path.basename(pcap)))
            with open(eve) as f:
                out.write(f.read())
            os.unlink(eve)
    check(not failed, "spectre-dp ran on every holdout capture (%d)" % len(held), failed[:5])
    fpr = n_alerted / n_flows if n_flows else 1.0
    worst.sort(reverse=True)
    print("holdout: %d captures, %d flows, %d flows with an ML/behaviour alert: FPR %.5f; alerts by gid %s; "
          "most: %s" % (len(held), n_flows, n_alerted, fpr, gids, worst[:5]))
    check(n_flows >= 1000, "enough holdout flows to measure 0.1%% (%d)" % n_flows)
    check(fpr <= a.max_fpr, "benign per-flow FPR %.5f <= %.4f on the holdout captures" % (fpr, a.max_fpr),
          "alerted flows per capture: %s" % worst[:10])
    ev = subprocess.run([mlb, "eval", "--eve", all_eve, "--json", os.path.join(tmp, "eval.json")],
                        capture_output=True, text=True)
    ok = ev.returncode == 0 and os.path.exists(os.path.join(tmp, "eval.json"))
    r = json.load(open(os.path.join(tmp, "eval.json"))) if ok else {}
    check(ok and r.get("benign_flows") == n_flows and r.get("fp_any") == n_alerted,
          "spectre-ml eval --eve counts the same flows and false positives (%s / %s)"
          % (r.get("fp_any"), r.get("benign_flows")), ev.stdout[-600:] + ev.stderr[-300:])
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
