"""Traffic for the threat-intel e2e test (tests/e2e/test_intel.py): flows to
listed and unlisted addresses, DNS queries, TLS ClientHellos with SNI, HTTP
requests. Raw frames through pcaplib (no scapy). Times start 2024-01-01."""
import random
import struct

import alert_tls
import pcaplib

SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08


class Pcap:
    def __init__(self):
        self.frames = []
        self.t = pcaplib.EPOCH_START_US
        self.port = 40000

    def frame(self, src, dst, proto, l4):
        et, l3 = pcaplib.ip_packet(src, dst, proto, l4)
        self.t += 1000
        self.frames.append((self.t, pcaplib.ether(src, dst, et, l3)))

    def tcp(self, c, s, dport, request=b"", response=b""):
        """Handshake, optional request and response, FIN both ways."""
        self.port += 1
        cp = self.port
        cs, ss = 1000, 5000
        seg = lambda a, b, sp, dp, sq, ak, fl, pl=b"": self.frame(a, b, 6, pcaplib.l4_tcp(a, b, sp, dp, sq, ak, fl, pl))
        seg(c, s, cp, dport, cs, 0, SYN)
        seg(s, c, dport, cp, ss, cs + 1, SYN | ACK)
        cs += 1
        ss += 1
        seg(c, s, cp, dport, cs, ss, ACK)
        if request:
            seg(c, s, cp, dport, cs, ss, PSH | ACK, request)
            cs += len(request)
            seg(s, c, dport, cp, ss, cs, ACK)
        if response:
            seg(s, c, dport, cp, ss, cs, PSH | ACK, response)
            ss += len(response)
            seg(c, s, cp, dport, cs, ss, ACK)
        seg(c, s, cp, dport, cs, ss, FIN | ACK)
        seg(s, c, dport, cp, ss, cs + 1, FIN | ACK)
        seg(c, s, cp, dport, cs + 1, ss + 1, ACK)

    def udp(self, c, s, dport, payload, reply=None):
        self.port += 1
        self.frame(c, s, 17, pcaplib.l4_udp(c, s, self.port, dport, payload))
        if reply is not None:
            self.frame(s, c, 17, pcaplib.l4_udp(s, c, dport, self.port, reply))


def dns_query(name, qid, response=False):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    if not response:
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q
    ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 200])
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q + ans


def http_get(host, path):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: intel-test\r\n\r\n" % (path, host)).encode()


HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CLIENT, RESOLVER = "10.0.0.5", "10.0.0.53"


def build(path):
    """Writes the capture; returns the JA3 MD5 of the generated ClientHellos."""
    p = Pcap()
    rng = random.Random(13)
    p.tcp(CLIENT, "203.0.113.10", 443)                 # Feodo C2 (listed)
    p.tcp(CLIENT, "203.0.113.11", 443)                 # unlisted neighbour
    p.tcp(CLIENT, "198.51.100.77", 8080)               # Feodo, expired by TTL
    p.udp(CLIENT, "203.0.113.20", 8080, b"hello")      # MISP ip-dst|port
    p.tcp(CLIENT, "2001:db8:bad::5", 80)               # STIX IPv6 CIDR
    p.tcp(CLIENT, "2001:db8:bae::5", 80)               # outside the /48
    p.udp(CLIENT, RESOLVER, 53, dns_query("www.evil.example", 1), dns_query("www.evil.example", 1, True))
    p.udp(CLIENT, RESOLVER, 53, dns_query("notevil.example", 2))             # not a child
    p.udp(CLIENT, RESOLVER, 53, dns_query("evil.example.attacker.net", 3))   # listed name as a prefix
    p.udp(CLIENT, RESOLVER, 53, dns_query("C2.Misp.Example", 4))             # MISP hostname, other case
    p.udp(CLIENT, RESOLVER, 53, dns_query("x.c2.misp.example", 5))           # hostname: exact only
    p.udp(CLIENT, RESOLVER, 53, dns_query("plain-bad.example", 6))           # plain list
    ja3 = None
    for sni, server in (("login.evil.example", "192.0.2.80"), ("benign.example", "192.0.2.81")):
        rec, _, ja3 = alert_tls.client_hello(sni, rng)
        p.tcp(CLIENT, server, 443, rec)
    p.tcp(CLIENT, "192.0.2.90", 80, http_get("malware.example", "/bins/x.sh"), HTTP_OK)   # URLhaus
    p.tcp(CLIENT, "192.0.2.90", 80, http_get("malware.example", "/bins/y.sh"), HTTP_OK)   # same host, other path
    p.tcp(CLIENT, "192.0.2.91", 80, http_get("dl.misp.example:80", "/payload.bin"), HTTP_OK)  # MISP url
    p.tcp(CLIENT, "192.0.2.92", 80, http_get("CDN.evil.example", "/index.html"), HTTP_OK)  # STIX domain in Host
    pcaplib.write_pcap(path, p.frames)
    return ja3
