#!/usr/bin/python3
"""A realistic-shaped capture for scripts/demo: the behaviour scenarios of
tests/gen/behave_scn.py (scans, floods, brute force, beaconing, slow DoS,
exfiltration and their benign near misses), web attacks the shipped
signatures know, and ordinary traffic of other kinds (gen_traffic.py's benign
flows are read beside it).

  demo_traffic.py OUTDIR [--seed N]   writes OUTDIR/demo.pcap and OUTDIR/truth.json

truth.json: {"attack_hosts": [...], "episodes": [[what, attacker, victim], ...]}.
Every attack has hosts of its own, so a flow touching none of attack_hosts is
benign, and an alert on it is a false positive.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import behave_scn  # noqa: E402
from pcaplib import write_pcap  # noqa: E402

S = 1000000


def web_attacks(cap, t0, attacker="10.1.0.120", victim="10.1.0.26"):
    """Requests the shipped signatures name: traversal to /etc/passwd, UNION SELECT, /bin/sh."""
    reqs = [b"GET /cgi-bin/../../../../etc/passwd HTTP/1.1\r\nHost: shop\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
            b"GET /item.php?id=1%20union%20select%20user,password%20from%20users HTTP/1.1\r\nHost: shop\r\n\r\n",
            b"GET /item.php?id=1+UNION+ALL+SELECT+1,2,3 HTTP/1.1\r\nHost: shop\r\n\r\n",
            b"GET /cgi-bin/run?cmd=/bin/sh+-c+id HTTP/1.1\r\nHost: shop\r\n\r\n"]
    for i, r in enumerate(reqs):
        cap.session(t0 + i * 3 * S, attacker, victim, 47000 + i, 80, r,
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    return [("web attack (signatures)", attacker, victim)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    frames, exp = behave_scn.build(a.seed)
    cap = behave_scn.Cap()
    exp += web_attacks(cap, behave_scn.EPOCH_START_US + 150 * S)
    frames = sorted(frames + cap.frames, key=lambda f: f[0])
    write_pcap(os.path.join(a.out, "demo.pcap"), frames)
    hosts = sorted({h for _, atk, vic in exp for h in (atk, vic) if h})
    with open(os.path.join(a.out, "truth.json"), "w") as fh:
        json.dump({"attack_hosts": hosts, "episodes": exp}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
