#!/usr/bin/env bash
# Rebuilds ml/models/default.{json,spm}: a per-flow classifier behind an
# open-set guard, calibrated to a false-positive budget on benign traffic that
# training never saw. Usage (from the repository root, after a build, with
# ../shared present):
#   ml/models/train_default.sh LAB_TRAIN_DIR... [-- WORK_DIR]
# e.g. for the shipped model (see ml/models/README.md):
#   scripts/lab --seed 11 --duration 150 --out /tmp/lab11        # benign1 kinds + attacks
#   ml/models/train_default.sh /tmp/lab11
# Data, split by whole capture file / lab run (never by row):
#   train:       the lab runs given; tests/gen/ml_traffic.py seeds 101-105 (mixed and
#                benign); gen_traffic.py --many 3000 --seed 7; nDPI "train" part
#   calibration: nDPI "calibration" part; gen_traffic.py --many 2000 --seed 8;
#                ml_traffic.py seed 106 benign.pcap
#   hold-outs (ml/models/eval_default.sh): nDPI "holdout" part; a lab run with the
#                benign2 kinds only (scripts/lab --scenarios benign2,attacks);
#                ml_traffic.py seed 1, gen_traffic.py --many 2000 --seed 2
# The nDPI parts are in ml/models/split.txt (rule: ml/models/split.py).
set -euo pipefail
train=() WORK=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then WORK=${2:-}; break; fi
  train+=("$1"); shift
done
[ ${#train[@]} -gt 0 ] || { echo "usage: $0 LAB_DIR... [-- WORK_DIR]" >&2; exit 2; }
if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/spectre-train.XXXXXX); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"
# shellcheck source=ml/models/datasets.sh
. ml/models/datasets.sh
# Per-flow classes: families a single flow shows (see README "Which classes
# per flow"). Scans, floods and brute force are behaviours across flows (the
# behaviour detectors, gid 9100): their rows are left out of training.
classes=benign,c2_exfil,web_attack
percentile=${SPECTRE_PERCENTILE:-99.9}
guard_percentile=${SPECTRE_GUARD_PERCENTILE:-99}

i=0
parts=()
for d in "${train[@]}"; do rows "$d/lab.pcap" "$d/labels.csv" "$WORK/lab$i.csv"; parts+=("$WORK/lab$i.csv"); i=$((i + 1)); done
gen_rows 101 102 103 104 105 106
for s in 101 102 103 104 105; do parts+=("$WORK/gen$s-mixed.csv" "$WORK/gen$s-benign.csv"); done
many_rows 3000 7
many_rows 2000 8
ndpi_part train "$WORK/ndpi-train.csv"
ndpi_part calibration "$WORK/ndpi-calib.csv"
parts+=("$WORK/many7.csv" "$WORK/ndpi-train.csv")
concat "$WORK/all.csv" "${parts[@]}"
# Keep the per-flow classes' rows and benign ones.
awk -F, -v keep="$classes" 'NR == 1 { for (c = 1; c <= NF; c++) if ($c == "label") L = c; n = split(keep, k, ",");
  for (j = 1; j <= n; j++) ok[k[j]] = 1; print; next } ($L in ok)' "$WORK/all.csv" > "$WORK/train.csv"
concat "$WORK/calib.csv" "$WORK/ndpi-calib.csv" "$WORK/many8.csv" "$WORK/gen106-benign.csv"
{ sed "s|^|ndpi/|" "$WORK/calibration.files" | sed "s|ndpi/.*/pcap/|ndpi:|"
  echo "tests/gen/gen_traffic.py --many 2000 --seed 8"; echo "tests/gen/ml_traffic.py --seed 106 (benign.pcap)"; } \
  > "$WORK/calib.files"

$ml train-xgb --csv "$WORK/train.csv" --label label --classes $classes --objective multi \
  --class-weight auto --rounds 20 --depth 5 --seed 0 -o "$WORK/cls.spm" --json ml/models/default.json
# The guard: isolation forest on the benign training rows.
$ml train-iforest --csv "$WORK/train.csv" --label label --benign benign --trees 50 --max-samples 256 --seed 1 \
  -o "$WORK/guard.spm"
# --metric min_payload_bytes=1 (compile) holds only while no attack row is payload-less.
awk -F, 'NR == 1 { for (c = 1; c <= NF; c++) { if ($c == "label") L = c; if ($c == "payload_bytes_fwd") F = c;
  if ($c == "payload_bytes_bwd") B = c } next } $L != "benign" && $F + $B == 0 { n++ } END { exit n > 0 }' \
  "$WORK/train.csv" || { echo "train_default.sh: payload-less attack rows in train.csv: drop min_payload_bytes" >&2; exit 1; }
$ml compile ml/models/default.json -o "$WORK/cls.spm" --features "$($ml schema --csv)" \
  --classes $classes --threshold 0.5 --validation "$WORK/calib.csv" --metric version=4 \
  --metric min_payload_bytes=1
$ml calibrate --model "$WORK/cls.spm" --guard "$WORK/guard.spm" --csv "$WORK/calib.csv" \
  --percentile "$percentile" --guard-percentile "$guard_percentile" --min-threshold 0.5 --files-from "$WORK/calib.files" -o ml/models/default.spm
# The drift reference: benign rows of the reproducible training parts (not the lab runs).
add_reference ml/models/default.spm
$ml inspect ml/models/default.spm | sed -n '/^guard/,$p'
