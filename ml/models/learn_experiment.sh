#!/bin/bash
# The learning loop on the shipped model's own data (issue 14 figures):
# active = ml/models/default.spm; base rows = its training rows; live rows +
# analyst feedback = lab run seed 22 (a capture training never saw; analysts
# confirm its c2_exfil / web_attack flows as true positives); the candidate keeps
# the active guard and is calibrated on the shipped calibration rows; gates on
# hold-out captures neither model was trained or calibrated on
# (gen_traffic --many 2000 --seed 2, ml_traffic --seed 1, ml_traffic --seed 2 benign). None of
# those has a c2_exfil / web_attack flow, so no TPR gate can be measured: --allow-no-tpr.
# Usage: ml/models/learn_experiment.sh DATA OUT   (DATA: the train_default.sh work dir
#        layout: final/train.csv, final/calib.csv, work/lab22.csv, work/many2.csv, work/gen1-*.csv)
set -euo pipefail
D=${1:?DATA dir}; W=${2:?OUT dir}
B=$(cd "$(dirname "$0")/../.." && pwd)/build
rm -rf "$W"; mkdir -p "$W"
/usr/bin/python3 - "$D/work/lab22.csv" "$W/feedback.jsonl" <<'PY'
import csv, json, sys
seen = {}
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f):
        seen[r["flow_id"]] = r["label"]
with open(sys.argv[2], "w") as o:
    for i, (fid, lab) in enumerate(sorted(seen.items())):
        if lab in ("c2_exfil", "web_attack"):
            o.write(json.dumps({"id": i, "flow_id": fid, "verdict": "true_positive", "class": lab,
                                "label": lab, "reason": "confirmed", "author": "analyst"}) + "\n")
PY
L=("$B/ctrlplane/learn/spectre-learn" --registry "$W/reg" --audit "$W/audit.log" --actor experiment)
"${L[@]}" install "$(cd "$(dirname "$0")" && pwd)/default.spm" > /dev/null
"${L[@]}" --spectre-ml "$B/ml/spectre-ml" --train "$D/final/train.csv" --rows "$D/work/lab22.csv" \
  --feedback "$W/feedback.jsonl" --calibrate "$D/final/calib.csv" \
  --holdout "$D/work/many2.csv" --holdout "$D/work/gen1-mixed.csv" --holdout "$D/work/gen1-benign.csv" \
  --max-fpr 0.001 --min-agreement 0.99 --min-tpr 0.5 --allow-no-tpr \
  --train-arg --rounds --train-arg 20 --train-arg --depth --train-arg 5 --train-arg --class-weight \
  --train-arg auto --train-arg --seed --train-arg 0 retrain > "$W/job.json" || true
/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("job", j["state"], "passed", j["passed"]);
[print("  %-12s %s (limit %s) %s" % (c["name"], c["value"], c["limit"], c["detail"])) for c in (j.get("gate") or {}).get("checks", [])]' "$W/job.json"
cand=$(ls "$W"/reg/learn/*.spm | head -1)
for m in "$(dirname "$0")/default.spm" "$cand"; do
  echo "== $(basename "$m") on lab22 (in-sample for the candidate: its feedback came from there)"
  "$B/ml/spectre-ml" eval --model "$m" --csv "$D/work/lab22.csv" | sed -n '/class/,/all attacks/p'
done
