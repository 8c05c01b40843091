#!/usr/bin/env bash
# Feature-row datasets of the shipped model, split by whole capture file / lab
# run (never by row). Sourced by train_default.sh and eval_default.sh; needs a
# build, WORK (a directory) and, for the nDPI parts, ../shared.
#   rows PCAP LABELS OUT      --dump-features rows labelled with the lab's rule
#   benign_rows PCAP... > OUT rows of benign captures (label benign), flow ids
#                             prefixed by the file's position so files never collide
#   ndpi_part PART OUT        benign_rows of one part of ml/models/split.txt
#   reference_parts           makes the reproducible training parts (generated + nDPI train)
#   add_reference MODEL       attaches their benign rows to MODEL as its drift reference
dp=${SPECTRE_DP:-build/dataplane/spectre-dp}
ml=${SPECTRE_ML:-build/ml/spectre-ml}
export SPECTRE_CONFIG=none
# Lab classes grouped into attack families (the model's classes).
map='scan_*=scan,dos_*=dos,bruteforce_*=bruteforce,web_*=web_attack,c2_beacon=c2_exfil,dns_tunnel=c2_exfil,exfiltration=c2_exfil'

rows() {
  $dp -r "$1" --dump-features "$WORK/rows.tmp" >/dev/null 2>&1
  $ml label --rows "$WORK/rows.tmp" --labels "$2" --map "$map" -o "$3" 2>/dev/null
}

benign_rows() {
  local i=0 f
  for f in "$@"; do
    $dp -r "$f" --dump-features "$WORK/rows.tmp" >/dev/null 2>&1 || { echo "skip $f (spectre-dp failed)" >&2; continue; }
    if [ $i = 0 ]; then head -1 "$WORK/rows.tmp" | sed 's/$/,label,episode_id/'; fi
    tail -n +2 "$WORK/rows.tmp" | sed "s/^/f${i}_/; s/\$/,benign,/"
    i=$((i + 1))
  done
}

ndpi_part() {
  ml/models/split.py --part "$1" > "$WORK/$1.files"
  # shellcheck disable=SC2046
  benign_rows $(cat "$WORK/$1.files") > "$2"
}

# cat CSVs with one header.
concat() {
  local out=$1 f first=1
  shift
  for f in "$@"; do
    if [ $first = 1 ]; then cat "$f" > "$out"; first=0; else tail -n +2 "$f" >> "$out"; fi
  done
}

# Generated traffic (tests/gen): ml_traffic seeds give labelled attacks + benign;
# gen_traffic --many gives benign flows of other shapes.
gen_rows() {  # SEED... (ml_traffic) writes $WORK/genS-{mixed,benign}.csv
  local s
  echo "episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts" > "$WORK/none.csv"
  for s in "$@"; do
    /usr/bin/python3 tests/gen/ml_traffic.py "$WORK/g$s" --seed "$s" >/dev/null
    rows "$WORK/g$s/mixed.pcap" "$WORK/g$s/labels.csv" "$WORK/gen$s-mixed.csv"
    rows "$WORK/g$s/benign.pcap" "$WORK/none.csv" "$WORK/gen$s-benign.csv"
  done
}
many_rows() {  # N SEED -> $WORK/many$SEED.csv
  echo "episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts" > "$WORK/none.csv"
  /usr/bin/python3 tests/gen/gen_traffic.py "$WORK/many$2" --many "$1" --seed "$2" >/dev/null
  rows "$WORK/many$2/flows.pcap" "$WORK/none.csv" "$WORK/many$2.csv"
}

# The drift reference of the shipped model: the benign rows of the training parts
# the repository can rebuild (ml_traffic seeds 101-105, gen_traffic --many 3000
# --seed 7, the nDPI train part); the lab runs are not in the repository, so
# their rows are not in it. The CSV is named relative to WORK so the artifact
# (whose reference records its source) is the same wherever WORK is.
reference_parts() {
  [ -f "$WORK/gen105-benign.csv" ] || gen_rows 101 102 103 104 105
  [ -f "$WORK/many7.csv" ] || many_rows 3000 7
  [ -f "$WORK/ndpi-train.csv" ] || ndpi_part train "$WORK/ndpi-train.csv"
}
add_reference() {  # MODEL (rewritten in place)
  local s parts=()
  for s in 101 102 103 104 105; do parts+=("$WORK/gen$s-mixed.csv" "$WORK/gen$s-benign.csv"); done
  concat "$WORK/reference-rows.csv" "${parts[@]}" "$WORK/many7.csv" "$WORK/ndpi-train.csv"
  local abs_ml abs_model
  abs_ml=$(cd "$(dirname "$ml")" && pwd)/$(basename "$ml")
  abs_model=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  (cd "$WORK" && "$abs_ml" reference --model "$abs_model" --csv reference-rows.csv --label label --benign benign \
     -o reference.spm) && mv "$WORK/reference.spm" "$1"
}
