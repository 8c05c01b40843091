#!/usr/bin/python3
"""Short traffic-lab run (scripts/lab --duration 60 --seed 1, about 2 minutes),
then spectre-dp offline over its pcap. Checks:
  1. labels.csv has the exact header and parses (times, classes, MITRE ids);
  2. every attack class and every benign scenario produced flows in the EVE output;
  3. every flow touching an attacker address maps to a label row (attackers send
     only attack traffic), and no benign client's flow matches any label;
  4. meta.json agrees with the run (seed, hosts, packet count = pcap).
Needs root, network namespaces and the lab tools; exits 77 (skip) otherwise.
LAB_OUT=DIR reuses an existing lab output instead of running the lab.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from lab.labels import COLUMNS, MITRE, flow_key, matches, read_labels  # noqa: E402
from lab.main import missing_tools  # noqa: E402
from lab.scenarios import ALL_ATTACKS  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402

DP = os.environ.get("SPECTRE_DP", os.path.join(ROOT, "build/dataplane/spectre-dp"))
check = Checks()


def can_netns():
    name = f"labprobe{os.getpid() % 100000}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return r.returncode == 0


def pcap_count(path):
    """Packets in a classic pcap (tcpdump -w output), counted from record headers."""
    import struct
    n = 0
    with open(path, "rb") as f:
        hdr = f.read(24)
        endian = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            incl = struct.unpack(endian + "IIII", rec)[2]
            f.seek(incl, 1)
            n += 1
    return n


def main():
    if os.geteuid() != 0:
        return check.skip("the lab needs root")
    miss = missing_tools()
    if miss:
        return check.skip(f"missing lab tools: {' '.join(miss)} (apt-get install $(cat lab/packages.txt))")
    if not os.access(DP, os.X_OK):
        return check.skip(f"{DP} not built")
    if not os.environ.get("LAB_OUT") and not can_netns():
        return check.skip("cannot create network namespaces")
    tmp = tempfile.mkdtemp(prefix="spectre-labtest-")
    try:
        out = os.environ.get("LAB_OUT") or os.path.join(tmp, "out")
        if not os.environ.get("LAB_OUT"):
            t0 = time.time()
            r = subprocess.run([os.path.join(ROOT, "scripts/lab"), "--duration", "60", "--seed", "1", "--out", out],
                               capture_output=True, text=True, timeout=240)
            print(r.stdout[-1500:] + r.stderr[-1500:])
            check(r.returncode == 0, f"scripts/lab exits 0 ({r.returncode}) in {time.time() - t0:.1f}s")
            listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            left = [l.split()[0] for l in listed.splitlines() if l.startswith("lab") and "-" in l.split()[0]]
            check(not left, f"no lab namespace left after the run ({' '.join(left) or 'none'})")
        pcap, lab_csv, meta_p = (os.path.join(out, x) for x in ("lab.pcap", "labels.csv", "meta.json"))
        check(all(os.path.exists(p) for p in (pcap, lab_csv, meta_p)), "lab.pcap, labels.csv, meta.json written")

        # 1. labels parse
        with open(lab_csv) as f:
            check(f.readline().strip() == ",".join(COLUMNS), "labels.csv header is exact")
        labels = read_labels(lab_csv)
        ok = all(l["class"] in MITRE and l["mitre_technique"] == MITRE[l["class"]] and l["attacker_ip"]
                 .startswith("198.18.") and l["end_ts"] >= l["start_ts"] > 1e9 for l in labels)
        check(ok and len(labels) > 0, f"{len(labels)} label rows parse with known classes and MITRE ids")
        check(sorted({l["class"] for l in labels}) == sorted(ALL_ATTACKS),
              f"every attack class has an episode ({len({l['class'] for l in labels})}/{len(ALL_ATTACKS)})")
        meta = json.load(open(meta_p))
        check(meta["seed"] == 1 and len(meta["hosts"]) >= 8 and meta["episodes"] == len(labels),
              "meta.json has seed, hosts, episode count")
        n_pcap = pcap_count(pcap)
        check(meta["packets"] == n_pcap and n_pcap > 1000,
              f"meta packet count == pcap records ({meta['packets']} vs {n_pcap})")

        # spectre-dp offline
        eve = os.path.join(tmp, "eve.json")
        t0 = time.time()
        r = subprocess.run([DP, "-r", pcap, "--eve", eve, "--no-progress"], capture_output=True, text=True,
                           timeout=600)
        check(r.returncode == 0, f"spectre-dp offline exits 0 ({r.returncode}, {time.time() - t0:.1f}s)")
        flows = []
        with open(eve) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event_type") == "flow" and "src_ip" in ev:
                    flows.append(flow_key(ev))
        attackers = set(meta["attackers"])
        clients = set(meta["benign_clients"])
        hosts = {h: v["ip"] for h, v in meta["hosts"].items()}

        # 2. every episode and benign scenario yields flows
        per_label = [sum(1 for fl in flows if matches(l, fl)) for l in labels]
        empty = [f"{l['episode_id']}:{l['class']}" for l, n in zip(labels, per_label) if n == 0]
        check(not empty, f"every episode has flows (min {min(per_label or [0])}; empty: {empty})")
        by_class = collections.Counter()
        for l, n in zip(labels, per_label):
            by_class[l["class"]] += n
        print("  flows per class: " + ", ".join(f"{c}={n}" for c, n in sorted(by_class.items())))
        benign_sig = {
            "web_http": (hosts["web"], "tcp", 80), "web_https": (hosts["web"], "tcp", 443),
            "dns": (hosts["dns"], "udp", 53), "ssh_session": (hosts["ssh"], "tcp", 22),
            "bulk_download/upload": (hosts["bulk"], "tcp", 80)}
        for name, (dst, proto, port) in benign_sig.items():
            n = sum(1 for fl in flows if fl[0] in clients and fl[1] == dst and fl[2] == proto and fl[3] == port)
            check(n > 0, f"benign {name}: {n} client flows")
        nb = sum(1 for fl in flows if fl[0] in clients or fl[1] in clients)
        check(nb > 1000, f"{nb} benign client flows")

        # 3. attacker flows are all labeled; benign flows never are
        att_flows = [fl for fl in flows if fl[0] in attackers or fl[1] in attackers]
        unlabeled = [fl for fl in att_flows if not any(matches(l, fl) for l in labels)]
        check(att_flows and not unlabeled,
              f"all {len(att_flows)} attacker flows map to a label ({len(unlabeled)} do not)")
        for fl in unlabeled[:10]:
            print(f"  unlabeled: {fl}")
        # negative control: the matcher really uses time and addresses
        shifted = [dict(l, start_ts=l["start_ts"] + 3600, end_ts=l["end_ts"] + 3600) for l in labels]
        swapped = [dict(l, victim_ip="198.19.255.254") for l in labels if l["victim_ip"]]
        n_shift = sum(1 for fl in att_flows if any(matches(l, fl) for l in shifted))
        n_swap = sum(1 for fl in att_flows if any(matches(l, fl) for l in swapped))
        check(n_shift == 0 and n_swap == 0,
              f"no attacker flow matches labels moved 1h later ({n_shift}) or with another victim ({n_swap})")
        ben_flows = [fl for fl in flows if not (fl[0] in attackers or fl[1] in attackers)]
        bad = [fl for fl in ben_flows if any(matches(l, fl) for l in labels)]
        check(not bad, f"none of {len(ben_flows)} benign flows matches a label ({len(bad)} do)")
        stray = [fl for fl in ben_flows if fl[0] not in clients and fl[1] not in clients]
        check(not stray, f"every non-attacker flow involves a benign client ({len(stray)} do not)")
        for fl in stray[:10]:
            print(f"  stray: {fl}")
    except Exception as e:
        check(False, f"exception: {e!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
