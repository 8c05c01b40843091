#!/usr/bin/env bash
# Feature-row datasets of the shipped model, split by whole capture file / lab
# run (never by row). Sourced by train_default.sh and eval_default.sh; needs a
# build, WORK (a directory) and, for the nDPI parts, ../shared.
#   rows PCAP LABELS OUT      --dump-features rows labelled with the lab's rule
#   benign_rows PCAP... > OUT rows of benign captures (label benign), flow ids
#                             prefixed by the file's position so files never collide
#   ndpi_part PART OUT        benign_rows of one part of ml/models/split.txt
dp=build/dataplane/spectre-dp
ml=build/ml/spectre-ml
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
