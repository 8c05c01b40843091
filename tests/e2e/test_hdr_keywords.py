#!/usr/bin/python3
"""Header sticky buffers (Suricata header-keywords: ipv4.hdr, ipv6.hdr,
tcp.hdr, udp.hdr, icmpv4.hdr, icmpv6.hdr), flowint (flowint.rst) and hostbits
(xbits.rst) end to end: spectre-dp -r on captures made here (scapy), alerts per
sid from the documented examples, each with a near miss that must stay silent.

  test_hdr_keywords.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import alert_sids, check_sid_counts, need_scapy, offline_main, run_rules, Timed  # noqa: E402

need_scapy()
from scapy.all import Ether, ICMP, IP, IPOption_Router_Alert, IPv6, ICMPv6EchoRequest, TCP, UDP, Raw  # noqa: E402
from test_suricata_semantics import Tcp  # noqa: E402

RULES = [
    # header-keywords.rst, tcp.hdr: the MSS option after the fixed header, below 536.
    'alert tcp any any -> any any (msg:"small MSS"; flags:S,12; tcp.hdr; content:"|02 04|"; offset:20; '
    'byte_test:2,<,536,0,big,relative; sid:201; rev:1;)',
    # header-keywords.rst, udp.hdr: length 8, no payload.
    'alert udp any any -> any any (msg:"empty udp"; udp.hdr; content:"|00 08|"; offset:4; depth:2; sid:202; rev:1;)',
    # IPv4 options belong to ipv4.hdr: Router Alert (0x94 0x04) after 20 bytes.
    'alert ip any any -> any any (msg:"router alert"; ipv4.hdr; content:"|94 04|"; offset:20; depth:2; sid:203; rev:1;)',
    'alert ip any any -> any any (msg:"v6 next header icmpv6"; ipv6.hdr; content:"|3a|"; offset:6; depth:1; sid:204; rev:1;)',
    'alert icmp any any -> any any (msg:"icmpv6 echo"; icmpv6.hdr; content:"|80 00|"; depth:2; sid:205; rev:1;)',
    'alert icmp any any -> any any (msg:"icmpv4 echo"; icmpv4.hdr; content:"|08 00|"; depth:2; sid:206; rev:1;)',
    # A payload pattern with a header condition (TTL byte > 200).
    'alert tcp any any -> any any (msg:"high ttl probe"; content:"probe"; ipv4.hdr; byte_test:1,>,200,8; sid:207; rev:1;)',
    # flowint.rst: count usernames per flow, alert from the sixth on; a logout lowers the count.
    'alert tcp any any -> any 23 (msg:"More than Five Usernames!"; content:"jonkman"; content:!"logout"; '
    'flowint:usernamecount,+,1; flowint:usernamecount,>,5; sid:210; rev:1;)',
    'alert tcp any any -> any 23 (msg:"Username Logged out"; content:"logout jonkman"; '
    'flowint:usernamecount,-,1; flowint:usernamecount,>,5; sid:211; rev:1;)',
    # hostbits: mark the server of a request, see it as a source in another flow.
    'alert tcp any any -> any 8080 (msg:"mark"; content:"MARK"; hostbits:set,evil,track ip_dst,expire 60; noalert; sid:220; rev:1;)',
    'alert tcp any any -> any any (msg:"marked host"; content:"HELLO"; hostbits:isset,evil,track ip_src; sid:221; rev:1;)',
]


def packets():
    out = Timed(100.0)
    add = out.add

    cli, srv = "10.1.0.1", "192.168.2.1"
    add(Ether() / IP(src=cli, dst=srv) / TCP(sport=40001, dport=80, flags="S", options=[("MSS", 500)]))  # 201
    add(Ether() / IP(src=cli, dst=srv) / TCP(sport=40002, dport=80, flags="S", options=[("MSS", 1460)]))  # near miss
    add(Ether() / IP(src=cli, dst=srv) / TCP(sport=40003, dport=80, flags="S") / Raw(b"\x02\x04\x01\xf4"))  # in payload only
    add(Ether() / IP(src=cli, dst=srv) / UDP(sport=5000, dport=5001))  # 202
    add(Ether() / IP(src=cli, dst=srv) / UDP(sport=5000, dport=5002) / Raw(b"data"))  # near miss
    add(Ether() / IP(src=cli, dst=srv, options=[IPOption_Router_Alert()]) / UDP(sport=5003, dport=5004) / Raw(b"x"))  # 203
    add(Ether() / IP(src=cli, dst=srv) / UDP(sport=5005, dport=5006) / Raw(b"\x94\x04"))  # near miss
    add(Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(id=1, seq=1))  # 204, 205
    add(Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2) / Raw(b":"))  # near miss
    add(Ether() / IP(src=cli, dst=srv) / ICMP(type=8, id=1, seq=1) / Raw(b"ping"))  # 206
    add(Ether() / IP(src=srv, dst=cli) / ICMP(type=0, id=1, seq=1) / Raw(b"ping"))  # near miss
    add(Ether() / IP(src=cli, dst=srv, ttl=250) / UDP(sport=7, dport=8) / Raw(b"probe"))  # 207 is tcp: near miss
    add(Ether() / IP(src=cli, dst=srv, ttl=250) / TCP(sport=40010, dport=9, flags="S") / Raw(b"probe"))  # 207
    add(Ether() / IP(src=cli, dst=srv, ttl=64) / TCP(sport=40011, dport=9, flags="S") / Raw(b"probe"))  # near miss
    return out


def flows(out):
    # Each line is followed by more than the stream window (1024 bytes) of
    # filler: a stream chunk is inspected behind the previous chunk's tail, and
    # a match inside that tail alone counts as reported already.
    pad = b"." * 1100
    u = Tcp(out, "10.1.0.5", "192.168.2.5", 40100, 23, 200.0)
    u.open()
    for _ in range(5):
        u.send(True, b"user jonkman\r\n" + pad)     # counts 1..5: silent
    u.send(True, b"user jonkman\r\n" + pad)         # 6 > 5: 210
    u.send(True, b"logout jonkman\r\n" + pad)       # 5: silent
    u.send(True, b"user jonkman\r\n" + pad)         # 6: 210
    u.close()
    v = Tcp(out, "10.1.0.6", "192.168.2.6", 40101, 23, 210.0)  # another flow: its own count
    v.open()
    v.send(True, b"user jonkman\r\n" + pad)         # near miss: 1
    v.close()
    m = Tcp(out, "10.1.0.7", "192.168.2.7", 40102, 8080, 220.0)
    m.open()
    m.send(True, b"MARK")                      # marks 192.168.2.7
    m.close()
    h = Tcp(out, "192.168.2.7", "8.8.4.4", 50100, 443, 221.0)
    h.open()
    h.send(True, b"HELLO")                     # 221
    h.close()
    n = Tcp(out, "192.168.2.8", "8.8.4.4", 50101, 443, 222.0)
    n.open()
    n.send(True, b"HELLO")                     # near miss: unmarked host
    n.close()


EXPECT = {201: 1, 202: 1, 203: 1, 204: 1, 205: 1, 206: 1, 207: 1, 210: 2, 221: 1}


def main(check, dp, tmp):
    pkts = packets()
    flows(pkts)
    p, events = run_rules(dp, tmp, pkts, RULES, ["--strict", "--workers", "1"])
    check(p.returncode == 0, "spectre-dp exits 0 with every rule loaded (--strict)", p.stderr[-1500:])
    check_sid_counts(check, alert_sids(events), EXPECT)
    st = [e for e in events if e.get("event_type") == "stats"]
    det = st[-1]["stats"].get("detect", {}) if st else {}
    check(det.get("flowint_full") == 0 and det.get("xbits_full") == 0,
          "stats: detect.flowint_full and detect.xbits_full reported, 0 here", det)


if __name__ == "__main__":
    sys.exit(offline_main("hdr", main))
