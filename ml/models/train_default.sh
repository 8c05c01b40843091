#!/usr/bin/env bash
# Rebuilds ml/models/default.{json,spm} from traffic-lab runs and the project's
# generated traffic. Usage (from the repository root, after a build):
#   ml/models/train_default.sh LAB_TRAIN_DIR... -- LAB_HELDOUT_DIR
# e.g. for the shipped model:
#   scripts/lab --seed 11 --duration 240 --out /tmp/lab11
#   scripts/lab --seed 33 --duration 180 --out /tmp/lab33
#   scripts/lab --seed 22 --duration 180 --out /tmp/lab22
#   ml/models/train_default.sh /tmp/lab11 /tmp/lab33 -- /tmp/lab22
set -euo pipefail
dp=build/dataplane/spectre-dp
ml=build/ml/spectre-ml
# Lab classes grouped into attack families (the model's classes).
map='scan_*=scan,dos_*=dos,bruteforce_*=bruteforce,web_*=web_attack,c2_beacon=c2_exfil,dns_tunnel=c2_exfil,exfiltration=c2_exfil'
classes=benign,bruteforce,c2_exfil,dos,scan,web_attack
work=$(mktemp -d /tmp/spectre-train.XXXXXX)
trap 'rm -rf "$work"' EXIT
train=() held=""
for d in "$@"; do
  if [ "$d" = "--" ]; then held=next; continue; fi
  if [ "$held" = next ]; then held=$d; else train+=("$d"); fi
done
[ ${#train[@]} -gt 0 ] && [ -n "$held" ] && [ "$held" != next ] || { echo "usage: $0 LAB_DIR... -- HELDOUT_LAB_DIR" >&2; exit 2; }

rows() {  # pcap labels.csv out.csv
  $dp -r "$1" --dump-features "$work/rows.csv" 2>/dev/null
  $ml label --rows "$work/rows.csv" --labels "$2" --map "$map" -o "$3" 2>/dev/null
}
echo "episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts" > "$work/none.csv"
i=0
for d in "${train[@]}"; do rows "$d/lab.pcap" "$d/labels.csv" "$work/part$((i++)).csv"; done
# Generated traffic (tests/gen): labelled attacks and benign flows of other
# shapes than the lab's, so the model does not learn the lab's quirks only.
for s in 101 102 103 104 105; do
  /usr/bin/python3 tests/gen/ml_traffic.py "$work/g$s" --seed $s
  rows "$work/g$s/mixed.pcap" "$work/g$s/labels.csv" "$work/part$((i++)).csv"
  rows "$work/g$s/benign.pcap" "$work/none.csv" "$work/part$((i++)).csv"
done
/usr/bin/python3 tests/gen/gen_traffic.py "$work/many7" --many 3000 --seed 7 >/dev/null
rows "$work/many7/flows.pcap" "$work/none.csv" "$work/part$((i++)).csv"
head -1 "$work/part0.csv" > "$work/train.csv"
for f in "$work"/part*.csv; do tail -n +2 "$f" >> "$work/train.csv"; done

$ml train-xgb --csv "$work/train.csv" --label label --classes $classes --objective multi \
  --class-weight auto --rounds 15 --depth 6 --seed 0 -o "$work/m.spm" --json ml/models/default.json
rows "$held/lab.pcap" "$held/labels.csv" "$work/held.csv"
$ml compile ml/models/default.json -o ml/models/default.spm --features "$($ml schema --csv)" \
  --classes $classes --threshold 0.7 --validation "$work/held.csv" --metric version=2
$ml eval --model ml/models/default.spm --csv "$work/held.csv"
