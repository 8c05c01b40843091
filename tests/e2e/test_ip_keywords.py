#!/usr/bin/python3
"""IP and TCP header keywords (Suricata header-keywords / Snort 3 options: ttl,
tos, id, fragbits, fragoffset, ipopts, sameip, seq, ack, window) and Snort 3's
bufferlen, sip_method and sip_stat_code, and Suricata's rpc end to end: spectre-dp -r on captures made here (scapy), alerts per
sid from the documented examples and the Snort 3 community rules that use
them, each with a near miss that must stay silent.

  test_ip_keywords.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import alert_sids, check_sid_counts, need_scapy, offline_main, run_rules, Timed  # noqa: E402

need_scapy()
from scapy.all import (Ether, ICMP, IP, IPOption, IPOption_LSRR, IPv6, TCP, UDP, Raw,  # noqa: E402
                       fragment)
from test_suricata_semantics import Tcp  # noqa: E402

RULES = [
    # Community sid 385 (PROTOCOL-ICMP traceroute): itype:8; ttl:1.
    'alert icmp any any -> any any (msg:"traceroute"; itype:8; ttl:1; sid:385; rev:8;)',
    # Community sid 29456 (Unusual PING): fragbits:!M with negated contents.
    'alert icmp any any -> any any (msg:"unusual ping"; icode:0; itype:8; fragbits:!M; '
    'content:!"ABCDEFGHIJKLMNOPQRSTUVWABCDEFGHI",depth 32; sid:29456; rev:1;)',
    # Community sid 613 (myscan): ack:0; flags:S; ttl:>220 from source port 10101.
    'alert tcp any 10101 -> any any (msg:"myscan"; flow:stateless; ack:0; flags:S; ttl:>220; sid:613; rev:11;)',
    # Community sid 622 (ipEye SYN scan): flags:S; seq:1958810375.
    'alert tcp any any -> any any (msg:"ipEye"; flow:stateless; flags:S; seq:1958810375; sid:622; rev:12;)',
    # Community sid 630 (synscan): flags:FS; id:39426.
    'alert tcp any any -> any any (msg:"synscan"; flow:stateless; flags:FS; id:39426; sid:630; rev:11;)',
    # Suricata's window example; tos with negations (all must hold); Snort's inclusive range.
    'alert tcp any any -> any any (msg:"typot"; flow:stateless; flags:S,12; window:55808; sid:2182; rev:8;)',
    'alert udp any any -> any 7001 (msg:"odd tos"; tos:!0; tos:!8; tos:!16; sid:700; rev:1;)',
    'alert udp any any -> any 7002 (msg:"ttl band"; ttl:10<=>20; sid:701; rev:1;)',
    # Suricata's ipopts and sameip examples.
    'alert ip any any -> any any (msg:"lsrr"; ipopts:lsrr; sid:2100502; rev:3;)',
    'alert ip any any -> any any (msg:"same SRC/DST"; sameip; sid:2100527; rev:9;)',
    # fragbits D exactly, and Suricata's fragoffset example (never on a rebuilt datagram).
    'alert udp any any -> any 7003 (msg:"DF only"; fragbits:D; sid:702; rev:1;)',
    'alert ip any any -> any any (msg:"frag offset"; fragbits:M; fragoffset:>0; sid:2001022; rev:5;)',
    # Suricata's rpc (its unit test's portmap GETPORT call).
    'alert udp any any -> any 111 (msg:"portmap getport"; rpc:100000, *, 3; sid:705; rev:1;)',
    # Snort 3 bufferlen on http_raw_uri (community sid 38510 style: Locky's /main.php).
    'alert tcp any any -> any 80 ( msg:"locky"; flow:to_server,established; http_method; content:"POST"; '
    'http_raw_uri; content:"/main.php",fast_pattern,nocase; bufferlen:9; service:http; sid:38510; rev:1; )',
    'alert tcp any any -> any 80 ( msg:"uri band"; flow:to_server,established; http_uri; content:"/q"; '
    'bufferlen:3<=>5; service:http; sid:703; rev:1; )',
    # Snort 3 sip_method / sip_stat_code with a payload content (community sids 11968, 19389 without their
    # detection_filter; a third with a code list).
    'alert udp any any -> any 5060 ( msg:"inbound INVITE"; flow:to_server; content:"INVITE",fast_pattern,nocase; '
    'sip_method:invite; service:sip; sid:11968; rev:1; )',
    'alert udp any 5060 -> any any ( msg:"4xx"; flow:to_client; sip_stat_code:4; content:"SIP/2.0",fast_pattern,nocase; '
    'service:sip; sid:19389; rev:1; )',
    'alert udp any 5060 -> any any ( msg:"ringing"; flow:to_client; sip_stat_code:180,183; content:"SIP/2.0"; '
    'service:sip; sid:704; rev:1; )',
]

CLI, SRV = "10.1.0.1", "192.168.2.1"


def packets():
    out = Timed(100.0)
    add = out.add

    pad = b"abcdefghijklmnopqrstuvwabcdefghi"
    add(Ether() / IP(src=CLI, dst=SRV, ttl=1) / ICMP(type=8, id=7, seq=1) / Raw(b"X" * 32))  # 385, 29456
    add(Ether() / IP(src=CLI, dst=SRV, ttl=2) / ICMP(type=8, id=7, seq=2) / Raw(pad.upper()))  # neither
    # A fragmented echo: inspected once, rebuilt (MF and offset cleared): 29456 fires, 2001022 does not.
    for f in fragment(IP(src=CLI, dst=SRV, ttl=64, id=4242) / ICMP(type=8, id=8, seq=1) / Raw(b"Y" * 64),
                      fragsize=40):
        add(Ether() / f)
    add(Ether() / IP(src=CLI, dst=SRV, ttl=230) / TCP(sport=10101, dport=22, flags="S", ack=0))  # 613
    add(Ether() / IP(src=CLI, dst=SRV, ttl=220) / TCP(sport=10101, dport=23, flags="S", ack=0))  # ttl not > 220
    add(Ether() / IP(src=CLI, dst=SRV, ttl=230) / TCP(sport=10101, dport=24, flags="S", ack=5))  # ack != 0
    add(Ether() / IP(src=CLI, dst=SRV) / TCP(sport=40001, dport=80, flags="S", seq=1958810375))  # 622
    add(Ether() / IP(src=CLI, dst=SRV) / TCP(sport=40002, dport=80, flags="S", seq=1958810376))  # near miss
    add(Ether() / IP(src=CLI, dst=SRV, id=39426) / TCP(sport=40003, dport=81, flags="FS"))  # 630
    add(Ether() / IP(src=CLI, dst=SRV, id=39427) / TCP(sport=40004, dport=81, flags="FS"))  # near miss
    add(Ether() / IP(src=CLI, dst=SRV) / TCP(sport=40005, dport=82, flags="SEC", window=55808))  # 2182 (S,12)
    add(Ether() / IP(src=CLI, dst=SRV) / TCP(sport=40006, dport=82, flags="S", window=55809))  # near miss
    add(Ether() / IP(src=CLI, dst=SRV, tos=4) / UDP(sport=5000, dport=7001) / Raw(b"t"))  # 700
    add(Ether() / IP(src=CLI, dst=SRV, tos=8) / UDP(sport=5000, dport=7001) / Raw(b"t"))  # near miss
    add(Ether() / IP(src=CLI, dst=SRV, ttl=20) / UDP(sport=5000, dport=7002) / Raw(b"t"))  # 701 (inclusive)
    add(Ether() / IP(src=CLI, dst=SRV, ttl=21) / UDP(sport=5000, dport=7002) / Raw(b"t"))  # near miss
    add(Ether() / IP(src=CLI, dst=SRV, options=[IPOption_LSRR(routers=["10.9.9.9"])]) /
        UDP(sport=5001, dport=9) / Raw(b"r"))  # 2100502
    add(Ether() / IP(src=CLI, dst=SRV, options=[IPOption(b"\x94\x04\x00\x00")]) /
        UDP(sport=5001, dport=9) / Raw(b"r"))  # router alert: near miss
    add(Ether() / IP(src=CLI, dst=CLI) / UDP(sport=5002, dport=9) / Raw(b"s"))  # 2100527
    add(Ether() / IP(src=CLI, dst=SRV, flags="DF") / UDP(sport=5003, dport=7003) / Raw(b"d"))  # 702
    add(Ether() / IP(src=CLI, dst=SRV, flags="DF+evil") / UDP(sport=5003, dport=7003) / Raw(b"d"))  # R too
    add(Ether() / IPv6(src="2001:db8::1", dst="2001:db8::1") / UDP(sport=5004, dport=9) / Raw(b"6"))  # 2100527
    getport = bytes.fromhex("64b2b375" "00000000" "00000002" "000186a0" "00000002" "00000003"
                            "00000000" "00000000" "00000000" "00000000" "000186a2" "00000002" "00000011" "00000000")
    add(Ether() / IP(src=CLI, dst=SRV) / UDP(sport=900, dport=111) / Raw(getport))  # 705
    add(Ether() / IP(src=CLI, dst=SRV) / UDP(sport=901, dport=111) /
        Raw(getport[:4] + b"\x00\x00\x00\x01" + getport[8:]))  # a REPLY: near miss
    return out


def sip(out):
    t = [400.0]
    hdrs = (b"Via: SIP/2.0/UDP 10.1.0.1:5060\r\nFrom: <sip:alice@a.example>\r\nTo: <sip:bob@b.example>\r\n"
            b"Call-ID: 77@a.example\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
    msgs = [(True, b"INVITE sip:bob@b.example SIP/2.0\r\n" + hdrs),   # 11968
            (False, b"SIP/2.0 180 Ringing\r\n" + hdrs),               # 704
            (False, b"SIP/2.0 486 Busy Here\r\n" + hdrs),            # 19389
            (False, b"SIP/2.0 200 OK\r\n" + hdrs),                   # none
            (True, b"OPTIONS sip:bob@b.example SIP/2.0\r\n" + hdrs.replace(b"1 INVITE", b"2 OPTIONS"))]  # none
    for to_server, m in msgs:
        ip = IP(src=CLI, dst=SRV) if to_server else IP(src=SRV, dst=CLI)
        sp, dport = (40500, 5060) if to_server else (5060, 40500)
        t[0] += 0.01
        p = Ether() / ip / UDP(sport=sp, dport=dport) / Raw(m)
        p.time = t[0]
        out.append(p)


def flows(out):
    for i, (method, uri) in enumerate([("POST", "/main.php"), ("POST", "/main.php5"), ("GET", "/main.php"),
                                       ("GET", "/q12"), ("GET", "/q12345")]):
        c = Tcp(out, CLI, SRV, 41000 + i, 80, 300.0 + i)
        c.open()
        c.send(True, b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % (method.encode(), uri.encode()))
        c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        c.close()


# 29456: the unfragmented echo with 32 X's, and the rebuilt fragmented one.
EXPECT = {385: 1, 29456: 2, 613: 1, 622: 1, 630: 1, 2182: 1, 700: 1, 701: 1, 2100502: 1, 2100527: 2, 702: 1,
          38510: 1, 703: 1, 11968: 1, 19389: 1, 704: 1, 705: 1}


def main(check, dp, tmp):
    pkts = packets()
    flows(pkts)
    sip(pkts)
    p, events = run_rules(dp, tmp, pkts, RULES, ["--strict", "--workers", "1"])
    check(p.returncode == 0, "spectre-dp exits 0 with every rule loaded (--strict)", p.stderr[-1500:])
    # gid 1: the rules here (the probes also trip the behaviour scan detector, gid 9100).
    check_sid_counts(check, alert_sids([e for e in events if e.get("alert", {}).get("gid", 1) == 1]), EXPECT)


if __name__ == "__main__":
    sys.exit(offline_main("ipkw", main))
