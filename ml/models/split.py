#!/usr/bin/python3
"""Deterministic split of the nDPI protocol captures by whole file (never by row).

  split.py [--write]          print (or write ml/models/split.txt)
  split.py --part PART        print the capture paths of one part
                              (train, calibration, holdout, excluded)

Rule: a capture whose name says it carries an attack, scan, fuzzing, flood,
exploit, malware (incl. trickbot, "malicious"), cryptomining or a covert channel
(EXCLUDE below) is excluded from benign
traffic. Every other capture goes by the first byte of sha256(file name):
byte % 10 in 0-5 -> train, 6-7 -> calibration, 8-9 -> holdout.
The directory is ../shared/corpora/pcaps/ndpi/tests/cfgs/default/pcap relative
to the repository (SPECTRE_NDPI_DIR overrides).
"""
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDPI = os.environ.get("SPECTRE_NDPI_DIR",
                      os.path.join(ROOT, "..", "shared", "corpora", "pcaps", "ndpi", "tests", "cfgs", "default", "pcap"))
EXCLUDE = re.compile(r"attack|scan|fuzz|flood|dos_|exploit|malware|emotet|injection|xss|exfil|iodine|dns2tcp|"
                     r"icmp-tunnel|trojan|trickbot|malicious|mining", re.I)


def part_of(name):
    if EXCLUDE.search(name):
        return "excluded"
    b = hashlib.sha256(name.encode()).digest()[0] % 10
    return "train" if b < 6 else "calibration" if b < 8 else "holdout"


def captures():
    return sorted(f for f in os.listdir(NDPI) if f.endswith((".pcap", ".pcapng", ".cap")))


def main(argv):
    if not os.path.isdir(NDPI):
        print(f"split.py: {NDPI} is absent", file=sys.stderr)
        return 2
    names = captures()
    if argv[:1] == ["--part"] and len(argv) == 2:
        for n in names:
            if part_of(n) == argv[1]:
                print(os.path.join(NDPI, n))
        return 0
    lines = ["# nDPI captures (tests/cfgs/default/pcap) by part: made by ml/models/split.py, rule in its docstring.",
             "# part file"]
    lines += [f"{part_of(n)} {n}" for n in names]
    text = "\n".join(lines) + "\n"
    if argv[:1] == ["--write"]:
        with open(os.path.join(ROOT, "ml", "models", "split.txt"), "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
