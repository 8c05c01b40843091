#!/usr/bin/python3
"""Suricata semantics of issue 12 end to end: spectre-dp -r on captures made
here (scapy), alerts per sid against expectations taken from Suricata's
documentation (payload keywords, rule types):

* stream offset/depth/startswith anchored per inspected chunk: a keep-alive
  connection's later responses match `content:"HTTP/1.1 403"; depth:12;`;
* TCP Fast Open: data on the SYN is inspected;
* tcp-pkt (packets) and tcp-stream (reassembled stream) protocols;
* rules without content: IP-only (addresses, ports) once per flow direction,
  every other one (flow, flowbits, negated addresses) on every packet
  (the rule-types page's examples 1601, 1001, 1604, 304; ports as
  suricata -r 7.0.10 gives them: 305, 306);
* byte_test / byte_jump: the payload-keywords page's examples; base64_decode / base64_data;
* itype / icode / icmp_id / icmp_seq (the documented Smurf scanner rule).

  test_suricata_semantics.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import alert_sids, check_sid_counts, need_scapy, offline_main, run_offline, write_lines  # noqa: E402

need_scapy()
from scapy.all import Ether, ICMP, IP, TCP, UDP, Raw, wrpcap  # noqa: E402


class Tcp:
    """One TCP connection, packets appended to `out` with increasing times."""

    def __init__(self, out, cli, srv, sport, dport, t0):
        self.out, self.cli, self.srv, self.sp, self.dp = out, cli, srv, sport, dport
        self.cseq, self.sseq, self.t = 1000, 50000, t0

    def pkt(self, to_server, flags, seq, ack, data=b""):
        ip = IP(src=self.cli, dst=self.srv) if to_server else IP(src=self.srv, dst=self.cli)
        sp, dp = (self.sp, self.dp) if to_server else (self.dp, self.sp)
        p = Ether() / ip / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack)
        if data:
            p = p / Raw(data)
        self.t += 0.001
        p.time = self.t
        self.out.append(p)

    def open(self, syn_data=b""):
        self.pkt(True, "S", self.cseq, 0, syn_data)
        self.cseq += 1 + len(syn_data)
        self.pkt(False, "SA", self.sseq, self.cseq)
        self.sseq += 1
        self.pkt(True, "A", self.cseq, self.sseq)

    def send(self, to_server, data):
        if to_server:
            self.pkt(True, "PA", self.cseq, self.sseq, data)
            self.cseq += len(data)
            self.pkt(False, "A", self.sseq, self.cseq)
        else:
            self.pkt(False, "PA", self.sseq, self.cseq, data)
            self.sseq += len(data)
            self.pkt(True, "A", self.cseq, self.sseq)

    def close(self):
        self.pkt(True, "FA", self.cseq, self.sseq)
        self.pkt(False, "FA", self.sseq, self.cseq + 1)
        self.pkt(True, "A", self.cseq + 1, self.sseq + 1)


def resp(code, reason):
    return ("HTTP/1.1 %d %s\r\nServer: t\r\nContent-Length: 0\r\n\r\n" % (code, reason)).encode()


def build(path):
    """Returns {sid: expected alert count} and the rules, and writes the capture."""
    pk, rules, exp = [], [], {}

    def rule(text, sid, count):
        rules.append(text % sid if "%d" in text else text)
        exp[sid] = count

    # 1. keep-alive: 5 responses (200 403 200 403 403), each one segment.
    c = Tcp(pk, "198.18.1.1", "198.19.1.1", 40001, 80, 1000.0)
    c.open()
    for code in (200, 403, 200, 403, 403):
        c.send(True, b"GET /k HTTP/1.1\r\nHost: k.test\r\n\r\n")
        c.send(False, resp(code, "Forbidden" if code == 403 else "OK"))
    c.send(True, b"x" * 1500)  # past the stream's first 1460 bytes ...
    c.send(True, b"CMD=run&q=1")  # ... an ET-style offset 0, depth 1460 rule still fires
    c.close()
    rule('alert tcp 198.19.1.1 80 -> any any (msg:"403 depth 12"; flow:established,to_client; '
         'content:"HTTP/1.1 403"; depth:12; sid:%d;)', 101, 3)
    rule('alert tcp any any -> 198.19.1.1 80 (msg:"et style"; flow:established,to_server; '
         'content:"CMD=run"; offset:0; depth:1460; sid:%d;)', 102, 1)
    rule('alert tcp any any -> 198.19.1.1 80 (msg:"startswith"; content:"GET /k"; startswith; sid:%d;)', 103, 5)

    # 2. TCP Fast Open: the request rides on the SYN.
    c = Tcp(pk, "198.18.2.1", "198.19.2.1", 40002, 80, 2000.0)
    c.open(syn_data=b"GET /tfo-request HTTP/1.1\r\nHost: tfo.test\r\n\r\n")
    c.send(False, resp(200, "OK"))
    c.close()
    rule('alert tcp any any -> 198.19.2.1 80 (msg:"tfo"; content:"/tfo-request"; sid:%d;)', 201, 1)

    # 3. rules without content (Suricata's rule-types page).
    c = Tcp(pk, "198.18.3.1", "198.19.3.1", 40003, 443, 3000.0)
    c.open()           # client: SYN, ACK; server: SYN-ACK
    c.send(True, b"\x16\x03\x01hello")  # client PA, server A
    c.send(False, b"\x16\x03\x03world")  # server PA, client A
    c.close()          # client FA, A; server FA
    # client packets: S A PA A FA A = 6; server: SA A PA FA = 4
    rule('alert tcp 198.18.3.1 any -> any 443 (flow: to_server; flowbits:set,tls_error; sid:%d; '
         'msg:"Allow TLS error handling (outgoing packet) - non-stateful rule";)', 1604, 6)
    rule('alert tcp 198.18.3.0/24 any -> 198.19.3.0/24 any (msg:"ip only"; sid:%d;)', 301, 1)
    rule('alert tcp 198.18.3.0/24 any -> ![198.19.9.0/24,10.0.0.0/8] any (msg:"like ip only"; sid:%d;)', 304, 6)
    t = 4000.0
    for i in range(3):
        t += 0.01
        p = Ether() / IP(src="198.18.4.1", dst="198.19.4.1") / UDP(sport=5000, dport=5353) / Raw(b"q%d" % i)
        p.time = t
        pk.append(p)
    p = Ether() / IP(src="198.19.4.1", dst="198.18.4.1") / UDP(sport=5353, dport=5000) / Raw(b"answer")
    p.time = t + 0.01
    pk.append(p)
    rule('alert udp 198.18.4.1 any <> 198.19.4.1 any (msg:"UDP with flow direction"; sid:%d;)', 1601, 2)
    rule('alert udp 198.18.4.1 any -> 198.19.4.1 any (msg:"UDP with flow direction"; flow:to_server; '
         'sid:%d;)', 1001, 3)
    rule('alert udp any any -> 198.19.4.1 5353 (msg:"a port, nothing else: IP-only"; sid:%d;)', 305, 1)
    rule('alert udp 198.18.4.1 any -> any !80 (msg:"a negated port: IP-only"; sid:%d;)', 306, 1)

    # tcp-pkt / tcp-stream (rule-types page): the second segment arrives first and
    # waits in reassembly; tcp-pkt inspects each packet as it comes.
    c = Tcp(pk, "198.18.7.1", "198.19.7.1", 40007, 7000, 3500.0)
    c.open()
    c.pkt(True, "PA", c.cseq + 4, c.sseq, b"abc2")
    c.pkt(True, "PA", c.cseq, c.sseq, b"zabc")
    c.cseq += 8
    c.close()
    rule('alert tcp-pkt any any -> 198.19.7.1 7000 (msg:"tcp-pkt, anchored content"; content:"abc"; '
         'startswith; sid:%d;)', 203, 1)
    rule('alert tcp-stream any any -> 198.19.7.1 7000 (msg:"tcp-stream, across segments"; content:"zabcabc2"; '
         'sid:%d;)', 104, 1)

    # 4. byte_test / byte_jump, the documented examples (one TCP payload each).
    c = Tcp(pk, "198.18.5.1", "198.19.5.1", 40005, 9000, 5000.0)
    c.open()
    c.send(True, b"\x00\x01\x00\x02\x00\xff\x00\x03" + b"\x00" * 8 + b"\x00\x01")
    c.send(True, b"xxfoobar 1337yy")
    c.send(True, b"\x00\x0aAlice....Bob")
    c.send(True, b"\x00\x02zz\x00\x01qfoobar")
    c.send(True, b"....l33t1234")
    c.send(True, b"AUTH dXNlcjpwdw==\r\nAUTH YWRtaW46c2VjcmV0\r\n")  # user:pw, then admin:secret
    c.close()
    base = 'alert tcp any any -> 198.19.5.1 9000 (msg:"%s"; %s sid:%%d;)'
    for sid, msg, opts, n in (
            (401, "Byte_Test Example - Num = Value", 'content:"|00 01 00 02|"; byte_test:2,=,0x01,0;', 1),
            (402, "Byte_Test Example - Num = Value relative to content",
             'content:"|00 01 00 02|"; byte_test:2,=,0x03,2,relative;', 1),
            (403, "Byte_Test Example - Num != Value", 'content:"|00 01 00 02|"; byte_test:2,!=,0x06,0;', 1),
            (404, "Byte_Test Example - Detect Large Values",
             'content:"|00 01 00 02|"; byte_test:2,>,1000,1,relative;', 1),
            (405, "Byte_Test Example - Lowest bit is set",
             'content:"|00 01 00 02|"; byte_test:2,&,0x01,12,relative;', 1),
            (406, "Byte_Test Example - Compare to String",
             'content:"foobar"; byte_test:4,=,1337,1,relative,string,dec;', 1),
            (407, "Byte_Test Example - no match", 'content:"|00 01 00 02|"; byte_test:2,=,0x07,2,relative;', 0),
            (411, "Byte_Jump Example", 'content:"Alice"; byte_jump:2,0; content:"Bob";', 1),
            (412, "Byte_Jump Multiple Jumps",
             'byte_jump:2,0; byte_jump:2,0,relative; content:"foobar"; distance:0; within:6;', 1),
            (413, "Byte_Jump From the End -8 Bytes",
             'byte_jump:0,0, from_end, post_offset -8; content:"|6c 33 33 74|"; distance:0; within:4;', 1)):
        rule(base % (msg, opts), sid, n)
    rule(base % ("base64_data", 'content:"AUTH "; base64_decode:relative; base64_data; content:"admin:"; startswith;'),
         421, 1)
    rule(base % ("base64_data miss", 'content:"AUTH "; base64_decode:relative; base64_data; content:"root:";'), 422, 0)
    # 5. ICMP keywords: the documented icmp_id/icmp_seq example (Smurf scanner), itype/icode.
    t = 6000.0
    for typ, code, ident, seq, data in ((8, 0, 0, 0, b"abcd"), (8, 0, 5, 0, b"abcd"), (0, 0, 0, 0, b"abcd"),
                                        (3, 3, 0, 0, b"x" * 28), (3, 1, 0, 0, b"x" * 28)):
        t += 0.01
        p = Ether() / IP(src="198.18.6.1", dst="198.19.6.1") / ICMP(type=typ, code=code, id=ident, seq=seq) / Raw(data)
        p.time = t
        pk.append(p)
    rule('alert icmp 198.18.6.1 any -> any any (msg:"GPL SCAN Broadscan Smurf Scanner"; dsize:4; icmp_id:0; '
         'icmp_seq:0; itype:8; classtype:attempted-recon; sid:%d;)', 501, 1)
    rule('alert icmp 198.18.6.1 any -> any any (msg:"port unreachable"; itype:3; icode:3; sid:%d;)', 502, 1)
    rule('alert icmp 198.18.6.1 any -> any any (msg:"unreachable, code < 3"; itype:3; icode:<3; sid:%d;)', 503, 1)
    rule('alert icmp 198.18.6.1 any -> any any (msg:"type above 2"; itype:>2; sid:%d;)', 504, 4)
    wrpcap(path, pk)
    return rules, exp


def main(check, dp, tmp):
    pcap, rfile, eve = (os.path.join(tmp, n) for n in ("t.pcap", "t.rules", "eve.json"))
    rules, exp = build(pcap)
    write_lines(rfile, rules)
    p, events = run_offline(dp, pcap, eve, rfile, ["--strict"])
    check(p.returncode == 0, "spectre-dp exits 0 with every rule loaded (--strict)", p.stderr[-1500:])
    check_sid_counts(check, alert_sids(events), exp)


if __name__ == "__main__":
    sys.exit(offline_main("suri", main))
