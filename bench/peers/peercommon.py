"""Helpers shared by the peer comparisons (compare_snort.py, compare_suricata.py): captures, rule index,
spectre-dp's load verdicts, running a peer, counting EVE alerts (spectre-dp's and Suricata's EVE alike), the
summary of the counts, its report and the scripts' main."""
import json
import os
import re
import subprocess
import sys

SKIP = 77
EXTS = (".pcap", ".pcapng", ".cap")
PKTS_KEPT = 20  # packet numbers kept per sid and side and batch (for investigation)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def find_captures(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in os.walk(p):
                out += [os.path.join(d, f) for f in files if f.endswith(EXTS)]
        elif os.path.isfile(p):
            out.append(p)
        else:
            skip("no capture at %s" % p)
    return sorted(out)


def rule_index(path):
    """sid -> (line number, msg) of the active rules of the file (gid 1)."""
    idx = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not re.match(r"\s*(alert|drop|reject|pass|block)\s", line):
                continue
            sid = re.search(r"[(;]\s*sid\s*:\s*(\d+)", line)
            msg = re.search(r'msg\s*:\s*"((?:[^"\\]|\\.)*)"', line)
            if sid:
                idx[int(sid.group(1))] = (n, msg.group(1) if msg else "")
    return idx


def load_verdicts(report, idx):
    """sid -> why spectre-dp did not run it, from --rules-report lines 'file:LINE: reason' or 'sid N: reason'."""
    by_line = {n: sid for sid, (n, _) in idx.items()}
    out = {}
    if not os.path.exists(report):
        return out
    for line in open(report, encoding="utf-8", errors="replace"):
        m = re.match(r"sid (\d+): (.*)", line)
        if m:
            out[int(m.group(1))] = m.group(2).strip()
            continue
        m = re.match(r".*?:(\d+): (.*)", line)
        if m and int(m.group(1)) in by_line:
            out[by_line[int(m.group(1))]] = m.group(2).strip()
    return out


def run(cmd, env, timeout, what):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        sys.stderr.write("%s failed (exit %d): %s\n%s\n" % (what, p.returncode, " ".join(cmd),
                                                           p.stderr.decode(errors="replace")[-3000:]))
        raise RuntimeError(what + " failed")
    return p


def count_eve(eve, sids, counts, pkts, flows=None):
    """Adds the gid-1 alerts of `sids` in an EVE file to counts[sid]; pkts[sid] gets the first pcap_cnt values;
    flows (optional Counter) gets (sid, sorted 5-tuple) keys."""
    if not os.path.exists(eve):
        return
    for line in open(eve, encoding="utf-8", errors="replace"):
        if '"alert"' not in line:
            continue
        ev = json.loads(line)
        a = ev.get("alert") or {}
        if ev.get("event_type") != "alert" or a.get("gid", 1) != 1 or a.get("signature_id") not in sids:
            continue
        sid = a["signature_id"]
        counts[sid] += 1
        if len(pkts[sid]) < PKTS_KEPT:
            pkts[sid].append(ev.get("pcap_cnt", 0))
        if flows is not None:
            ends = sorted([(ev.get("src_ip"), ev.get("src_port", 0)), (ev.get("dest_ip"), ev.get("dest_port", 0))])
            flows[(sid, str(ev.get("proto", "")).upper(), tuple(ends[0]), tuple(ends[1]))] += 1


def summarise_counts(ours, peer, idx, peer_key, row_extra=lambda sid: {}):
    """Per-sid agreement of two Counters (spectre-dp's, the peer's); keys named after `peer_key`."""
    both = sorted(set(ours) & set(peer))
    only_peer, only_ours = sorted(set(peer) - set(ours)), sorted(set(ours) - set(peer))
    rows = lambda sids: [dict({"sid": s, "msg": idx[s][1], "ours": ours[s], peer_key: peer[s]}, **row_extra(s))
                         for s in sids]
    return {"sids_both": len(both), "sids_both_equal_counts": sum(1 for s in both if ours[s] == peer[s]),
            "sids_only_" + peer_key: len(only_peer), "sids_only_ours": len(only_ours),
            "alerts_ours": sum(ours.values()), "alerts_" + peer_key: sum(peer.values()),
            "both": rows(both), "only_" + peer_key: rows(only_peer), "only_ours": rows(only_ours)}


def print_counts(s, peer_key, peer_name, msg_head="msg", note=lambda row: ""):
    """The totals line and the three tables of a summarise_counts() summary."""
    print("sids fired by both: %d (equal counts: %d); only %s: %d; only spectre-dp: %d; alerts: spectre-dp %d, "
          "%s %d" % (s["sids_both"], s["sids_both_equal_counts"], peer_name, s["sids_only_" + peer_key],
                     s["sids_only_ours"], s["alerts_ours"], peer_name, s["alerts_" + peer_key]))
    for title, key in (("both", "both"), ("only " + peer_name, "only_" + peer_key), ("only spectre-dp", "only_ours")):
        print("\n%s:" % title)
        print("%9s %8s %8s %8s  %s" % ("sid", "spectre", peer_key, "diff", msg_head))
        for r in s[key]:
            print("%9d %8d %8d %+8d  %s%s" % (r["sid"], r["ours"], r[peer_key], r["ours"] - r[peer_key],
                                             r["msg"][:70], note(r)))


def main(argv, parse_args, compare, print_report, peer_key):
    """A comparison script's main: runs it, writes --json, prints the report (tables emptied by --quiet)."""
    a = parse_args(argv)
    try:
        s = compare(a)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print("FAIL: %s" % e)
        return 1
    if a.json:
        with open(a.json, "w") as f:
            json.dump(s, f, indent=1)
    if a.quiet:
        s = dict(s, both=[], only_ours=[], **{"only_" + peer_key: []})
    print_report(s)
    return 0
