"""Shared by the side-by-side tests (test_suricata_compare.py, test_snort_compare.py): the paths, the argument
handling with its skips, and the per-sid checks against the peer's counts."""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
NDPI = os.path.join("corpora", "pcaps", "ndpi", "tests", "cfgs", "default", "pcap")


def setup(argv, shared, peer_opt, peer_default, rules_rel, captures, extra=lambda ap: None):
    """Parses [--shared DIR] [--<peer_opt> BIN] (+ `extra`); (args, rules path, capture paths), or None after
    printing SKIP when the rules or a capture is absent."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=shared)
    ap.add_argument("--" + peer_opt, default=peer_default)
    extra(ap)
    a = ap.parse_args(argv)
    rules = os.path.join(a.shared, "corpora", "rules", rules_rel)
    caps = [os.path.join(a.shared, NDPI, c) for c in captures]
    missing = [p for p in [rules] + caps if not os.path.exists(p)]
    if missing:
        print("SKIP: absent: %s (../shared not here?)" % ", ".join(missing))
        return None
    return a, rules, caps


def rows_by_sid(s, peer_key):
    return {r["sid"]: r for key in ("both", "only_" + peer_key, "only_ours") for r in s[key]}


def check_agree(check, s, sids, peer_key, peer_name):
    """Each of `sids` fires on both sides with the same count."""
    rows = rows_by_sid(s, peer_key)
    for sid in sorted(sids):
        r = rows.get(sid)
        check(r is not None and r["ours"] == r[peer_key] and r["ours"] > 0, "sid %d: both fire, equal counts" % sid,
              "spectre-dp %s, %s %s" % ((r["ours"], peer_name, r[peer_key]) if r else (0, peer_name, 0)))
    return rows


def print_totals(s, peer_key, peer_name):
    print("totals: both %d (equal %d), only %s %d, only spectre-dp %d; alerts spectre-dp %d, %s %d" % (
        s["sids_both"], s["sids_both_equal_counts"], peer_name, s["sids_only_" + peer_key], s["sids_only_ours"],
        s["alerts_ours"], peer_name, s["alerts_" + peer_key]))
