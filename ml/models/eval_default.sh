#!/usr/bin/env bash
# Hold-out figures of a model through the data plane's own output: runs
# `spectre-dp -r CAPTURE --model MODEL --eve` (1 worker) and counts with
# `spectre-ml eval --eve` (ML gid 9000 and behaviour gid 9100 alerts per flow).
# Usage (repository root, after a build, ../shared present):
#   ml/models/eval_default.sh [--model M.spm] [--lab DIR]... [--benign-lab DIR]... [-- WORK_DIR]
#     --lab DIR         a lab run with labels.csv (e.g. the benign2,attacks hold-out run)
#     --benign-lab DIR  a lab run of benign kinds only (every flow benign)
# Always: nDPI "holdout" part; every benign nDPI capture (train + calibration +
# holdout: the figure over ALL of them, training data included); generated
# hold-outs (ml_traffic.py --seed 1, gen_traffic.py --many 2000 --seed 2).
set -euo pipefail
model=ml/models/default.spm labs=() blabs=() WORK=""
while [ $# -gt 0 ]; do
  case $1 in
    --model) model=$2; shift 2 ;;
    --lab) labs+=("$2"); shift 2 ;;
    --benign-lab) blabs+=("$2"); shift 2 ;;
    --) WORK=${2:-}; break ;;
    *) echo "usage: $0 [--model M] [--lab DIR]... [--benign-lab DIR]... [-- WORK]" >&2; exit 2 ;;
  esac
done
if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/spectre-eval.XXXXXX); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"
# shellcheck source=ml/models/datasets.sh
. ml/models/datasets.sh

eve_of() {  # OUT.json CAPTURE...: one spectre-dp run per capture, EVE lines concatenated
  local out=$1 f
  shift
  : > "$out"
  for f in "$@"; do
    # One retry: on this shared machine a start-up very rarely fails (not reproducible alone).
    $dp -r "$f" --workers 1 --model "$model" --eve "$WORK/one.json" >/dev/null 2>&1 ||
      $dp -r "$f" --workers 1 --model "$model" --eve "$WORK/one.json" >/dev/null 2>&1 || echo "spectre-dp failed on $f" >&2
    cat "$WORK/one.json" >> "$out"
  done
}
report() {  # TITLE EVE [LABELS]
  echo "== $1"
  if [ -n "${3:-}" ]; then $ml eval --eve "$2" --labels "$3"; else $ml eval --eve "$2"; fi
}

for part in holdout train calibration; do ml/models/split.py --part $part > "$WORK/$part.files"; done
# shellcheck disable=SC2046
eve_of "$WORK/ndpi-holdout.json" $(cat "$WORK/holdout.files")
report "nDPI holdout part ($(wc -l < "$WORK/holdout.files") captures)" "$WORK/ndpi-holdout.json"
# shellcheck disable=SC2046
eve_of "$WORK/ndpi-rest.json" $(cat "$WORK/train.files" "$WORK/calibration.files")
cat "$WORK/ndpi-holdout.json" "$WORK/ndpi-rest.json" > "$WORK/ndpi-all.json"
report "ALL benign nDPI captures (train + calibration + holdout: $(cat "$WORK"/{holdout,train,calibration}.files | wc -l))" \
  "$WORK/ndpi-all.json"
for d in "${labs[@]}"; do
  eve_of "$WORK/lab.json" "$d/lab.pcap"
  report "lab run $d (labels)" "$WORK/lab.json" "$d/labels.csv"
done
for d in "${blabs[@]}"; do
  eve_of "$WORK/blab.json" "$d/lab.pcap"
  report "benign lab run $d" "$WORK/blab.json"
done
/usr/bin/python3 tests/gen/ml_traffic.py "$WORK/g1" --seed 1 >/dev/null
eve_of "$WORK/g1.json" "$WORK/g1/mixed.pcap"
report "generated: ml_traffic.py --seed 1 (labels)" "$WORK/g1.json" "$WORK/g1/labels.csv"
/usr/bin/python3 tests/gen/gen_traffic.py "$WORK/many2" --many 2000 --seed 2 >/dev/null
eve_of "$WORK/many2.json" "$WORK/many2/flows.pcap"
report "generated: gen_traffic.py --many 2000 --seed 2" "$WORK/many2.json"
