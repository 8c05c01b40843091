#!/usr/bin/python3
"""decode-event rules end to end (Suricata decode-layer.rst; the form of its
rules/decoder-events.rules): spectre-dp -r on frames made broken here (scapy),
one alert per broken frame of the named reason, none for whole packets or for
other reasons; an event this decoder never raises is refused by name; the EVE
alert of a packet with no flow has no flow_id, and no addresses when its IP
header could not be read.

  test_decode_events.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
sys.path.insert(0, HERE)
from checks import Checks  # noqa: E402
from dprun import alerts, alert_sids, check_sid_counts, dp_binary, run_rules  # noqa: E402

try:
    from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw  # noqa: E402
except ImportError:
    print("SKIP: scapy is not installed")
    sys.exit(77)


def rule(sid, event, msg, head="pkthdr any any -> any any", extra=""):
    return ('alert %s (msg:"SURICATA %s"; decode-event:%s; %sclasstype:protocol-command-decode; sid:%d; rev:2;)'
            % (head, msg, event, extra, sid))


RULES = [
    rule(2200000, "ipv4.pkt_too_small", "IPv4 packet too small"),
    rule(2200001, "ipv4.hlen_too_small", "IPv4 header size too small"),
    rule(2200003, "ipv4.trunc_pkt", "IPv4 truncated packet"),
    rule(2200013, "ipv6.trunc_pkt", "IPv6 truncated packet"),
    rule(2200033, "tcp.hlen_too_small", "TCP header length too small"),
    rule(2200037, "udp.pkt_too_small", "UDP packet too small"),
    rule(2200009, "ipv4.opt_duplicate", "IPv4 duplicated IP option"),  # never raised here: refused
    # Addresses and thresholds apply as in any rule.
    rule(9000001, "ipv4.trunc_pkt", "IPv4 truncated from 198.18.1.0/24", head="pkthdr 198.18.1.0/24 any -> any any",
         extra="threshold:type limit, track by_src, count 1, seconds 60; "),
    'alert tcp any any -> any any (msg:"syn"; flags:S; sid:1; rev:1;)',
]


def frames():
    out = []
    t = [100.0]

    def add(p):
        t[0] += 0.01
        p.time = t[0]
        out.append(p)

    def patched(pkt, at, value):
        b = bytearray(bytes(pkt))
        b[at:at + len(value)] = value
        return Ether(bytes(b))

    add(Ether() / IP(src="198.18.0.1", dst="198.18.0.2") / TCP(sport=1234, dport=80, flags="S"))  # whole: sid 1
    add(Ether() / IP(src="198.18.0.1", dst="198.18.0.2") / UDP(sport=5, dport=53) / Raw(b"q" * 12))  # whole: none
    for src in ("198.18.0.3", "198.18.1.3", "198.18.1.3"):  # total length 200 beyond the frame
        add(patched(Ether() / IP(src=src, dst="198.18.0.4") / UDP(sport=1, dport=2) / Raw(b"x" * 20),
                    16, (200).to_bytes(2, "big")))
    add(patched(Ether() / IP(src="198.18.0.5", dst="198.18.0.6") / TCP(sport=5, dport=6), 14, b"\x44"))  # ihl 4
    add(patched(Ether() / IP(src="198.18.0.7", dst="198.18.0.8") / TCP(sport=7, dport=8), 14 + 20 + 12, b"\x30"))
    add(Ether(bytes(Ether() / IP(src="198.18.0.9", dst="198.18.0.10"))[:14 + 10]))  # 10 bytes of IPv4
    v6 = Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=9, dport=9) / Raw(b"y" * 8)
    add(patched(v6, 14 + 4, (300).to_bytes(2, "big")))  # payload length beyond the frame
    add(patched(Ether() / IP(src="198.18.0.11", dst="198.18.0.12", proto=17) / Raw(b"abcd"), 14 + 2,
                (24).to_bytes(2, "big")))  # a 4-byte UDP header
    return out


# 2200003: three truncated frames; 9000001: the first of the two from 198.18.1.0/24 (limit 1).
EXPECT = {1: 1, 2200000: 1, 2200001: 1, 2200003: 3, 2200013: 1, 2200033: 1, 2200037: 1, 9000001: 1}


def main():
    dp = dp_binary()
    if not dp:
        return 77
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-decev-")
    p, events = run_rules(dp, tmp, frames(), RULES, ["--workers", "1"])
    check(p.returncode == 0, "spectre-dp exits 0", p.stderr[-1500:])
    check("sid 2200009: decode-event ipv4.opt_duplicate: an event this decoder does not raise" in p.stderr,
          "an event the decoder never raises is refused by name", p.stderr[-1500:])
    check("1 rejected at compile" in p.stderr, "the refusal is counted in the rules line", p.stderr[-800:])
    check_sid_counts(check, alert_sids(events), EXPECT)
    by_sid = {}
    for a in alerts(events):
        by_sid.setdefault(a["alert"]["signature_id"], []).append(a)
    trunc = by_sid.get(2200003, [])
    check(sorted(a.get("src_ip") for a in trunc) == ["198.18.0.3", "198.18.1.3", "198.18.1.3"] and
          all(a.get("dest_ip") == "198.18.0.4" and a.get("proto") == "UDP" for a in trunc),
          "a truncated packet's alert names the addresses of its IP header", trunc)
    check(all("flow_id" not in a and "src_port" not in a and a.get("pcap_cnt") for a in trunc),
          "no flow_id and no ports on a packet with no flow; pcap_cnt kept", trunc[:1])
    small = by_sid.get(2200000, [{}])[0]
    check("src_ip" not in small and "proto" not in small and
          small.get("alert", {}).get("signature") == "SURICATA IPv4 packet too small",
          "an IPv4 header of 10 bytes: no addresses, the rule's message", small)
    v6 = by_sid.get(2200013, [{}])[0]
    check(v6.get("src_ip") == "2001:0db8:0000:0000:0000:0000:0000:0001" and v6.get("ip_v") == 6, "IPv6 truncated: its addresses", v6)
    st = [e for e in events if e.get("event_type") == "stats"]
    check(bool(st), "stats written", "")
    syn = by_sid.get(1, [{}])[0]
    check("flow_id" in syn and syn.get("src_port") == 1234, "a whole packet's alert keeps flow_id and ports", syn)
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
