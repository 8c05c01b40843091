"""Helpers shared by the peer comparisons (compare_snort.py, compare_suricata.py): captures, rule index,
spectre-dp's load verdicts, running a peer, counting EVE alerts (spectre-dp's and Suricata's EVE alike)."""
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
