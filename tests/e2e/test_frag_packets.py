#!/usr/bin/python3
"""IP fragments as packets end to end (Suricata's defrag: each fragment is
inspected as a packet of its own, and so is the datagram rebuilt from them).
spectre-dp -r on a capture made here (scapy): one TCP connection whose data
segment (120 bytes of TCP) travels in three IPv4 fragments (48, 48 and 24
bytes, TTL 77, the content split across the first boundary), and one UDP
datagram of which only the first fragment arrives.

  fragbits:M      the two fragments with MF of the segment, the lone first one: 3
  fragbits:!M     the last fragment and the rebuilt segment (MF cleared): 2
  fragoffset:>0   the second and last fragments: 2
  content across the fragment boundary (needs reassembly): once
  a tcp rule with fragbits:M: never (a fragment has no TCP header; the
  rebuilt segment has MF cleared)
All rules are limited to TTL 77 so the connection's other packets stay out.

  test_frag_packets.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import alert_sids, check_sid_counts, need_scapy, offline_main, run_rules  # noqa: E402

need_scapy()
from scapy.all import Ether, IP, TCP, UDP, Raw, fragment  # noqa: E402
from test_suricata_semantics import Tcp  # noqa: E402

CLI, SRV = "198.51.100.1", "198.51.100.2"
RULES = [
    'alert ip any any -> any any (msg:"more fragments"; fragbits:M; ttl:77; sid:9400001; rev:1;)',
    'alert ip any any -> any any (msg:"no more fragments"; fragbits:!M; ttl:77; sid:9400002; rev:1;)',
    'alert ip any any -> any any (msg:"not the first fragment"; fragoffset:>0; ttl:77; sid:9400003; rev:1;)',
    'alert tcp any any -> any 80 (msg:"split content"; content:"ATTACK-PAYLOAD"; sid:9400004; rev:1;)',
    'alert tcp any any -> any any (msg:"tcp MF"; fragbits:M; sid:9400005; rev:1;)',
]
EXPECT = {9400001: 3, 9400002: 2, 9400003: 2, 9400004: 1}


def packets():
    out = []
    c = Tcp(out, CLI, SRV, 43000, 80, 100.0)
    c.open()
    data = b"." * 22 + b"ATTACK-PAYLOAD" + b"." * 64  # 100 bytes: TCP offset 42..56 spans the 48 boundary
    seg = IP(src=CLI, dst=SRV, ttl=77, id=777) / TCP(sport=43000, dport=80, flags="PA", seq=c.cseq,
                                                      ack=c.sseq) / Raw(data)
    frags = fragment(seg, fragsize=48)
    assert len(frags) == 3, len(frags)
    for f in frags:
        c.t += 0.001
        p = Ether() / f
        p.time = c.t
        out.append(p)
    c.cseq += len(data)
    c.pkt(False, "A", c.sseq, c.cseq)
    c.close()
    lone = fragment(IP(src=CLI, dst=SRV, ttl=77, id=778) / UDP(sport=5000, dport=9) / Raw(b"u" * 80),
                    fragsize=48)[0]
    p = Ether() / lone
    p.time = c.t + 1
    out.append(p)
    return out


def main(check, dp, tmp):
    p, events = run_rules(dp, tmp, packets(), RULES, ["--strict", "--workers", "1"])
    check(p.returncode == 0, "spectre-dp exits 0 with every rule loaded (--strict)", p.stderr[-1500:])
    check_sid_counts(check, alert_sids([e for e in events if e.get("alert", {}).get("gid", 1) == 1]), EXPECT)
    frag_alerts = [e for e in events if e.get("alert", {}).get("signature_id") == 9400003]
    check(all(e.get("src_ip") == CLI and e.get("proto") in ("TCP", 6) for e in frag_alerts),
          "fragment alerts name the addresses and the carried protocol",
          [(e.get("src_ip"), e.get("proto")) for e in frag_alerts])


if __name__ == "__main__":
    sys.exit(offline_main("fragpk", main))
