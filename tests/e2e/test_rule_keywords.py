#!/usr/bin/python3
"""Rule keywords of issue 12 (item 6) end to end: spectre-dp -r on captures
made here (scapy), alerts per sid against expectations from Suricata's
documentation, each with near misses that must stay silent:

* rules mixing payload and HTTP buffers (a raw "../" next to http.uri);
* http.start, http.header.raw, http.host.raw, http.accept_enc, http.accept_lang;
* stream_size (server bytes by sequence numbers), xbits across flows
  (track ip_dst set, track ip_src / ip_pair checked), byte_extract / byte_math
  variables, ip_proto, app-layer-event http.invalid_transfer_encoding_value_in_request.

  test_rule_keywords.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import alert_sids, check_sid_counts, need_scapy, offline_main, run_offline, write_lines  # noqa: E402

need_scapy()
from scapy.all import Ether, GRE, IP, UDP, Raw  # noqa: E402
from scapy.all import wrpcap  # noqa: E402
from test_suricata_semantics import Tcp  # noqa: E402

RULES = [
    # Mixed payload + HTTP buffers (ET Open 2009876 shape).
    'alert http any any -> any any (msg:"mixed lfi"; flow:to_server,established; content:"../"; depth:200; '
    'http.method; content:"GET"; http.uri; content:"/doku.php?"; nocase; sid:101; rev:1;)',
    'alert http any any -> any any (msg:"http.start"; flow:to_server; http.start; '
    'content:"POST /up HTTP/1.1|0d 0a|Host|3a 20|"; startswith; sid:102; rev:1;)',
    'alert http any any -> any any (msg:"header.raw folded"; http.header.raw; content:"X-Folded: one|0d 0a 09|two"; sid:103; rev:1;)',
    'alert http any any -> any any (msg:"header normalised (no raw fold)"; http.header; content:"X-Folded: one|0d 0a 09|two"; sid:104; rev:1;)',
    'alert http any any -> any any (msg:"accept_enc"; http.accept_enc; content:"br"; sid:105; rev:1;)',
    'alert http any any -> any any (msg:"accept_lang"; http.accept_lang; content:"ru-RU"; sid:106; rev:1;)',
    'alert http any any -> any any (msg:"host.raw"; http.host.raw; content:"Evil.COM:8080"; sid:107; rev:1;)',
    # stream_size: the server has sent nothing but its SYN-ACK.
    'alert tcp any any -> any 9000 (msg:"quiet server"; flow:to_server,established; content:"cmd"; '
    'stream_size:server,<,5; sid:110; rev:1;)',
    # xbits: xbits.rst's pattern, set toward a host, check it as a source later.
    'alert tcp any any -> any 7000 (msg:"mark"; content:"MARK"; xbits:set,ET.mark,track ip_dst,expire 60; noalert; sid:120; rev:1;)',
    'alert tcp any any -> any any (msg:"marked host speaks"; content:"HELLO"; xbits:isset,ET.mark,track ip_src; sid:121; rev:1;)',
    'alert tcp any any -> any 7000 (msg:"pair"; content:"PAIR"; xbits:set,ET.pair,track ip_pair; noalert; sid:122; rev:1;)',
    'alert tcp any any -> any any (msg:"pair back"; content:"BACK"; xbits:isset,ET.pair,track ip_pair; sid:123; rev:1;)',
    # byte_extract / byte_math.
    'alert tcp any any -> any 6000 (msg:"length prefixed"; content:"LEN"; byte_extract:1,0,n,relative; '
    'content:"END"; distance:n; within:3; sid:130; rev:1;)',
    'alert tcp any any -> any 6000 (msg:"byte_math"; content:"SUM"; byte_math:bytes 1, offset 0, oper +, rvalue 1, '
    'result s, relative; byte_test:1,=,s,1,relative; sid:131; rev:1;)',
    # app-layer-event (ET Open CVE-2023-46747 shape).
    'alert http any any -> any any (msg:"bad TE"; flow:established,to_server; '
    'app-layer-event:http.invalid_transfer_encoding_value_in_request; content:"/tmui/"; sid:150; rev:1;)',
    # ip_proto.
    'alert ip any any -> any any (msg:"gre"; ip_proto:47; sid:140; rev:1;)',
]


def http_flows(out):
    c = Tcp(out, "10.0.0.1", "192.168.1.10", 40001, 80, 1.0)
    c.open()
    c.send(True, b"GET /doku.php?x=../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")  # 101
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.send(True, b"GET /doku.php?x=etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")  # near miss: no ../
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.send(True, b"POST /doku.php?x=../ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")  # near miss: POST
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.send(True, b"POST /up HTTP/1.1\r\nHost: Evil.COM:8080\r\nAccept-Encoding: gzip, br\r\n"
                 b"Accept-Language: ru-RU\r\nX-Folded: one\r\n\ttwo\r\nContent-Length: 2\r\n\r\nhi")  # 102..107
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.send(True, b"POST /up2 HTTP/1.1\r\nHost: evil.com:8080\r\nAccept-Encoding: gzip\r\n"
                 b"Accept-Language: en\r\nContent-Length: 0\r\n\r\n")  # near misses of 102, 105..107
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.close()
    e = Tcp(out, "10.0.0.6", "192.168.1.60", 40006, 80, 5.0)
    e.open()
    e.send(True, b"POST /tmui/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")  # 150
    e.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    e.send(True, b"POST /tmui/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n")  # near miss
    e.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    e.close()


def tcp_flows(out):
    s = Tcp(out, "10.0.0.2", "192.168.1.20", 40002, 9000, 10.0)
    s.open()
    s.send(True, b"cmd one")           # 110: server sent nothing yet
    s.send(False, b"x" * 100)
    s.send(True, b"cmd two")           # near miss: server sent 100 bytes
    s.close()
    m = Tcp(out, "10.0.0.3", "192.168.1.30", 40003, 7000, 20.0)
    m.open()
    m.send(True, b"MARK")              # marks 192.168.1.30
    m.send(True, b"PAIR")              # marks the pair (10.0.0.3, 192.168.1.30)
    m.close()
    h = Tcp(out, "192.168.1.30", "8.8.8.8", 50000, 443, 21.0)  # the marked host, another flow
    h.open()
    h.send(True, b"HELLO")             # 121
    h.send(True, b"BACK")              # near miss: another pair
    h.close()
    u = Tcp(out, "192.168.1.31", "8.8.8.8", 50001, 443, 22.0)  # an unmarked host
    u.open()
    u.send(True, b"HELLO")             # near miss
    u.close()
    r = Tcp(out, "192.168.1.30", "10.0.0.3", 7001, 50002, 23.0)  # the pair, reversed, a new flow
    r.open()
    r.send(True, b"BACK")              # 123
    r.close()
    b = Tcp(out, "10.0.0.4", "192.168.1.40", 40004, 6000, 30.0)
    b.open()
    b.send(True, b"LEN\x04abcdEND")    # 130
    b.send(True, b"LEN\x03abcdEND")    # near miss: wrong length
    b.send(True, b"SUM\x05\x06")       # 131: 5 + 1 = 6
    b.send(True, b"SUM\x05\x07")       # near miss
    b.close()


def other(out):
    for i, t in enumerate((40.0, 40.1)):
        p = Ether() / IP(src="10.0.0.5", dst="192.168.1.50") / GRE() / IP(src="1.1.1.1", dst="2.2.2.2") / UDP() / Raw(b"x")
        p.time = t
        out.append(p)
    p = Ether() / IP(src="10.0.0.5", dst="192.168.1.50") / UDP(sport=1, dport=2) / Raw(b"x")  # near miss
    p.time = 40.2
    out.append(p)


EXPECT = {101: 1, 102: 1, 103: 1, 105: 1, 106: 1, 107: 1, 110: 1, 121: 1, 123: 1, 130: 1, 131: 1, 140: 2, 150: 1}


def main(check, dp, tmp):
    pcap, rfile, eve = (os.path.join(tmp, n) for n in ("t.pcap", "t.rules", "eve.json"))
    pkts = []
    http_flows(pkts)
    tcp_flows(pkts)
    other(pkts)
    wrpcap(pcap, pkts)
    write_lines(rfile, RULES)
    p, events = run_offline(dp, pcap, eve, rfile, ["--strict", "--workers", "1"])
    check(p.returncode == 0, "spectre-dp exits 0 with every rule loaded (--strict)", p.stderr[-1500:])
    check_sid_counts(check, alert_sids(events), EXPECT,
                     "no alerts from unexpected sids (104: normalised header has no raw fold)")


if __name__ == "__main__":
    sys.exit(offline_main("kw", main))
