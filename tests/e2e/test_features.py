#!/usr/bin/python3
"""Per-flow ML features (schemas/features.def) of `spectre-dp --dump-features`
recomputed by an independent Python model from the packets of a generated pcap.

  test_features.py [SPECTRE_DP] [--seed N] [--keep DIR]   (or set $SPECTRE_DP)

Exit 0 all passed, 1 something failed, 77 binary missing. Last line:
"N passed, N failed".

The pcap (scapy frames, written by hand with microsecond timestamps) holds:
TCP with handshake, data both ways and FIN close; SYN answered by RST; SYN
never answered (retransmitted after exactly 1 s and 2 s more); active/idle
periods; PSH/URG; HTTP GET/POST with 200/404; TLS ClientHellos with and
without SNI (bytes by hand); DNS queries over UDP; ICMP and ICMPv6 echo; a
host scanning 50 ports on 10 hosts; long flows (k4/k16); IPv6 (one with a
destination-options header); IPv4 options; port reuse; a flow whose first
packet is a SYN-ACK; a midstream flow; a second phase 80 s later (host
window slides). Every feature of every row is compared to the model.

Definitions taken from the C++ where features.def is not precise (noted so
a reader knows what is assumed):
- entropy_*/printable_*: the first payload-carrying packet of the direction,
  its first min(64, len) bytes (not the first 64 bytes of the stream).
  printable = 0x20..0x7e plus \\t \\r \\n.
- ack_only_cnt: flags & (SYN|FIN|RST|ACK) == ACK and no payload (PSH/URG
  do not matter; FIN-ACK is not "ack only").
- hdr_bytes_*: IP header incl. options/extension headers + TCP header incl.
  options, UDP 8, ICMP 8; frame bytes = captured frame (Ethernet padding
  included), payload = from the IP/UDP lengths (padding excluded).
- iat_*: gaps between consecutive packets of the flow (both directions for
  min/max/mean/std, within one direction for *_fwd/_bwd); std is the
  population std. len_std likewise.
- active/idle: a gap >= 1 s ends an active period; the running period is
  counted in active_mean/max; an active period lasts from its first to its
  last packet (0 for a lone packet).
- tcp_established: SYN, SYN-ACK, ACK (no SYN) from the initiator; a flow
  picked up midstream (first packet neither SYN nor SYN-ACK) counts as 1.
  The initiator sent the first packet unless that packet was a SYN-ACK.
- app features: a transaction counts once it is complete (HTTP: head +
  Content-Length body; DNS/TLS: the message). http_method and dns_* are
  those of the last request/query; app_proto is set by the first payload
  packet; payload that is no protocol makes "failed" (4) once both
  directions had some, or at flow end.
- host_*: the window is 4 sub-windows of 15 s (sub-window = ts // 15 s + 1,
  the row's ts is the flow's last packet); a sub-window slot is reused
  (cleared) when a later sub-window maps to it. Flow start counts at the
  flow's first packet; the outcome at the first responder packet (failed:
  TCP RST) or, never answered, at the flow end (failed). ICMP flows count
  their pseudo-port (request type << 8 | code) as the responder port.
  End rows written at shutdown see the outcomes of other unanswered flows
  in flush order, which the test does not know: their failed ratio must be
  (F + k) / (D + k) for some k in the possible range.
"""
import argparse
import collections
import csv
import ipaddress
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flowcheck  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402
from flowgen import (Gen, Conv, generic, http_req, http_resp, client_hello,  # noqa: E402,F401
                     server_hello, dns_msg)

FEATURES_DEF = os.path.join(os.path.dirname(os.path.dirname(HERE)), "schemas", "features.def")
SLOT_NS = 15 * 10**9
LONG = 3600
CONFIG = "flow:\n  timeouts: {%s}\n" % ", ".join(
    "%s: %d" % (k, LONG) for k in ("tcp_new", "tcp_established", "tcp_closing",
                                   "tcp_closed", "udp", "icmp", "other"))
# Leading metadata columns of a --dump-features row.
META = ("flow_id", "phase", "ts_start", "ts", "src_ip", "src_port", "dst_ip", "dst_port", "proto")
FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 0x10, 0x20
HTTP_METHODS = {"GET": 1, "POST": 2, "HEAD": 3, "PUT": 4}
APP_CODE = {None: 0, "http": 1, "dns": 2, "tls": 3}


def feature_names():
    names = []
    with open(FEATURES_DEF) as fh:
        for ln in fh:
            ln = ln.strip()
            if ln.startswith("X("):
                names.append(ln[2:].split(",")[0].strip())
    return names


# ------------------------------------------------------------- generation

def build(seed):
    g = Gen(seed)
    r = g.rnd
    C1, C2, S1, S2, DNS = "10.1.0.10", "10.1.0.11", "10.2.0.20", "10.2.0.21", "10.2.0.53"
    SCAN = "10.9.9.9"
    C6, S6 = "2001:db8::10", "2001:db8::20"

    # HTTP keep-alive: GET 200 then POST 404, FIN close.
    c = Conv(g, C1, 41000, S1, 80, 0.5, app="http")
    c.handshake()
    c.tcp(0, "PA", http_req("GET", "/index.html"), meta={"http_req": "GET"})
    c.tcp(1, "A")
    c.tcp(1, "PA", http_resp(200, b"<html>hello</html>"), dt=0.02, meta={"http_resp": 200})
    c.tcp(0, "A")
    c.tcp(0, "PA", http_req("POST", "/login", b"user=a&pw=b"), dt=0.3, meta={"http_req": "POST"})
    c.tcp(1, "PA", http_resp(404, b"not found"), dt=0.01, meta={"http_resp": 404})
    c.tcp(0, "A")
    c.close(dt=0.05)

    # Long HTTP download (> 16 packets): the response body comes in 12 segments.
    c = Conv(g, C1, 41001, S1, 8080, 1.0, app="http")
    c.handshake()
    c.tcp(0, "PA", http_req("GET", "/big.bin"), meta={"http_req": "GET"})
    body = bytes(r.randrange(256) for _ in range(12 * 400))
    resp = http_resp(200, body)
    segs = [resp[i:i + 400] for i in range(0, len(resp), 400)]
    for i, s in enumerate(segs):
        last = i == len(segs) - 1
        c.tcp(1, "PA" if last else "A", s, dt=0.002, meta={"http_resp": 200} if last else None)
        if i % 2 == 1:
            c.tcp(0, "A")
    c.tcp(0, "PA", http_req("HEAD", "/big.bin"), dt=0.2, meta={"http_req": "HEAD"})
    c.tcp(1, "PA", http_resp(301, b""), meta={"http_resp": 301})
    c.close()

    # Active/idle periods, PSH/URG, generic payload both ways (app failed).
    c = Conv(g, C2, 42000, S2, 5000, 2.0, app="generic")
    c.handshake()
    c.tcp(0, "PA", generic(r, 40, text=True))
    c.tcp(1, "PA", generic(r, 300))
    c.tcp(0, "A", dt=1.5)                          # idle gap
    c.tcp(0, "PAU", generic(r, 20), urgptr=5, dt=0.999999)  # just below 1 s: not idle
    c.tcp(1, "AU", dt=0.1, urgptr=1)
    c.tcp(1, "PA", generic(r, 64), dt=1.0)          # exactly 1 s: idle
    c.tcp(0, "A", dt=2.5)
    c.tcp(0, "PA", generic(r, 100), dt=0.0003)
    c.close(dt=0.4)

    # SYN answered by RST (closed port).
    c = Conv(g, C1, 41002, S2, 23, 3.0)
    c.tcp(0, "S", win=29200)
    c.tcp(1, "RA", win=0)

    # SYN never answered, retransmitted after 1 s and 2 s.
    c = Conv(g, C2, 42001, S2, 445, 3.5)
    for dt in (0, 1.0, 2.0):
        c.seq[0] -= 1 if dt else 0
        c.tcp(0, "S", dt=dt, win=64240)

    # TLS ClientHello with and without SNI.
    c = Conv(g, C1, 41003, S1, 443, 4.0, app="tls")
    c.handshake()
    c.tcp(0, "PA", client_hello(r, "www.example.org"), meta={"tls_sni": True})
    c.tcp(1, "PA", server_hello(r), dt=0.03)
    c.tcp(0, "A")
    c.tcp(0, "PA", b"\x17\x03\x03\x00\x20" + bytes(r.randrange(256) for _ in range(32)), dt=0.01)
    c.tcp(1, "PA", b"\x17\x03\x03\x00\x40" + bytes(r.randrange(256) for _ in range(64)), dt=0.01)
    c.close()
    c = Conv(g, C2, 42002, S1, 443, 4.2, app="tls")
    c.handshake()
    c.tcp(0, "PA", client_hello(r, None), meta={"tls_sni": False})
    c.tcp(1, "PA", server_hello(r), dt=0.02)
    c.close()

    # DNS over UDP: names with different label entropy and length.
    names = ["www.example.com", "a9x3kq7zt2m8v1p0.evil.example", "x.co",
             "mail.google.com", "q" * 63 + ".long.example.net", "aaaaaaaaaaaa.test"]
    for i, nm in enumerate(names):
        c = Conv(g, C1, 40001 + i, DNS, 53, 5.0 + 0.1 * i, app="dns")
        c.udp(0, dns_msg(100 + i, nm), meta={"dns_q": nm})
        c.udp(1, dns_msg(100 + i, nm, resp=True, answer_ip="192.0.2.%d" % (i + 1)), dt=0.004)
    c = Conv(g, C2, 40100, DNS, 53, 5.7, app="dns")    # one socket, two queries
    c.udp(0, dns_msg(7, "first.example.com"), meta={"dns_q": "first.example.com"})
    c.udp(1, dns_msg(7, "first.example.com", True, "192.0.2.9"), dt=0.003)
    c.udp(0, dns_msg(8, "zz9.example"), dt=0.5, meta={"dns_q": "zz9.example"})
    c.udp(1, dns_msg(8, "zz9.example", True, "192.0.2.10"), dt=0.003)

    # ICMP echo, 4 rounds 1 s apart (equal gaps: std 0).
    c = Conv(g, C2, 0, S1, 0, 5.05)
    for i in range(4):
        c.echo(0, 77, i, b"ping" * 8, dt=0 if i == 0 else 0.999)
        c.echo(1, 77, i, b"ping" * 8, dt=0.001)

    # Scan: 50 ports on 10 hosts, 10 ms apart. Ports ending in 2 are open
    # (SYN-ACK, scanner resets), ending in 7 never answer, others RST.
    t = 6.0
    for h in range(1, 11):
        for port in range(20, 70):
            c = Conv(g, SCAN, 50000 + (h * 50 + port) % 10000, "10.3.0.%d" % h, port, t)
            t += 0.01
            c.tcp(0, "S", win=1024)
            if port % 10 == 2:
                c.tcp(1, "SA", win=29200, dt=0.0002)
                c.tcp(0, "R", dt=0.0001, win=0)
            elif port % 10 != 7:
                c.tcp(1, "RA", win=0, dt=0.0002)

    # IPv6: HTTP, DNS, UDP with a destination-options header, ICMPv6 echo.
    c = Conv(g, C6, 43000, S6, 80, 7.0, app="http")
    c.handshake()
    c.tcp(0, "PA", http_req("PUT", "/up", b"x" * 50), meta={"http_req": "PUT"})
    c.tcp(1, "PA", http_resp(500, b"oops"), dt=0.01, meta={"http_resp": 500})
    c.close()
    c = Conv(g, C6, 43001, S6, 53, 7.1, app="dns")
    c.udp(0, dns_msg(9, "v6.example.com"), meta={"dns_q": "v6.example.com"})
    c.udp(1, dns_msg(9, "v6.example.com", True, "192.0.2.66"), dt=0.002)
    c = Conv(g, C6, 43002, S6, 7777, 7.2)
    c.ext = True
    for i in range(5):
        c.udp(i % 2, b"\x00\x00\x00\x00\x00\x00" + bytes(r.randrange(256) for _ in range(20 + i)), dt=0.05)
    c = Conv(g, C6, 0, S6, 0, 7.3)
    for i in range(3):
        c.echo(0, 5, i, b"abc" * 5, dt=0.2)
        c.echo(1, 5, i, b"abc" * 5)

    # IPv4 options; port reuse after a full close.
    c = Conv(g, C2, 42500, S1, 9000, 8.0, app="generic")
    c.ipopts = True
    c.handshake()
    c.tcp(0, "PA", generic(r, 30))
    c.tcp(1, "A")
    c.close()
    c2 = Conv(g, C2, 42500, S1, 9000, 0, app="generic")
    c2.t = c.t + 500000
    c2.handshake()
    c2.tcp(1, "PA", generic(r, 25, text=True))       # only the responder talks
    c2.tcp(0, "A")
    c2.close()

    # First packet a SYN-ACK (the SYN was not captured): C1 is the initiator.
    c = Conv(g, C1, 41010, S2, 7000, 8.5, app="generic")
    c.tcp(1, "SA", win=65000, dt=0)
    c.tcp(0, "A", win=600)
    c.tcp(0, "PA", b"\x00\x01hello there, this is not a protocol")
    c.tcp(1, "A")
    # Midstream: data first.
    c = Conv(g, C2, 42600, S2, 6000, 8.7, app="generic")
    c.tcp(0, "PA", generic(r, 120), dt=0, win=700)
    c.tcp(1, "A", win=800)
    c.tcp(0, "PA", generic(r, 80))

    # Long UDP flow, not DNS (no app session).
    c = Conv(g, C1, 41020, S2, 9999, 9.0)
    for i in range(21):
        c.udp(1 if i % 3 == 2 else 0, b"\x07\x07\x07\x07\x00\x00" + bytes(r.randrange(256) for _ in range(30 + i)),
              dt=0.01 * (1 + i % 4))

    # C1 in the next sub-window.
    c = Conv(g, C1, 41030, S1, 80, 20.0, app="http")
    c.handshake()
    c.tcp(0, "PA", http_req("GET", "/later"), meta={"http_req": "GET"})
    c.tcp(1, "PA", http_resp(200, b"ok"), meta={"http_resp": 200})
    c.close()

    # Phase 2, 80 s later: C1 again (its old sub-windows out). Not the
    # scanner: its flows end at shutdown and their rows read the host's newest
    # sub-window, which must still hold the scan.
    for i, port in enumerate((21, 23, 8081)):
        c = Conv(g, C1, 51000 + i, "10.3.1.1", port, 80.0 + 0.01 * i)
        c.tcp(0, "S", win=1024)
        c.tcp(1, "RA", win=0)
    c = Conv(g, C1, 41040, S1, 80, 81.0, app="http")
    c.handshake()
    c.tcp(0, "PA", http_req("GET", "/phase2"), meta={"http_req": "GET"})
    c.tcp(1, "PA", http_resp(200, b"again"), meta={"http_resp": 200})
    c.close()
    return g


# ------------------------------------------------------------- the model

def parse_frame(b):
    """Our own decode: (src, dst, proto, sport, dport, hdr_len, payload, flags, win)."""
    et = struct.unpack(">H", b[12:14])[0]
    l3 = b[14:]
    if et == 0x0800:
        ihl = (l3[0] & 15) * 4
        tot = struct.unpack(">H", l3[2:4])[0]
        proto = l3[9]
        src, dst = ipaddress.ip_address(l3[12:16]), ipaddress.ip_address(l3[16:20])
        off, end = ihl, tot
    else:
        assert et == 0x86DD
        plen = struct.unpack(">H", l3[4:6])[0]
        nh = l3[6]
        src, dst = ipaddress.ip_address(l3[8:24]), ipaddress.ip_address(l3[24:40])
        off, end = 40, 40 + plen
        while nh in (0, 43, 60):
            nh, off = l3[off], off + (l3[off + 1] + 1) * 8
        proto = nh
    l4 = l3[off:end]
    flags = win = 0
    if proto == 6:
        sport, dport = struct.unpack(">HH", l4[:4])
        hl = (l4[12] >> 4) * 4
        flags, win = l4[13], struct.unpack(">H", l4[14:16])[0]
    elif proto == 17:
        sport, dport = struct.unpack(">HH", l4[:4])
        hl = 8
    else:  # ICMP / ICMPv6: both "ports" are the request type << 8 | code
        t = l4[0]
        req = {0: 8, 8: 8, 129: 128, 128: 128}[t]
        sport = dport = req << 8 | l4[1]
        hl = 8
    return src, dst, proto, sport, dport, off + hl, l4[hl:], flags, win


def entropy(data):
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in collections.Counter(data).values())


def printable(data):
    if not data:
        return 0.0
    return sum(1 for x in data if 0x20 <= x < 0x7f or x in (9, 10, 13)) / len(data)


class Pk:
    __slots__ = ("ts", "dir", "flen", "hdr", "pay", "flags", "win", "meta")


class RefFlow:
    def __init__(self, key, src, sport, dst, dport, proto, ts, ident):
        self.key, self.proto = key, proto
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
        self.start = ts
        self.pkts = []
        self.fin = [False, False]
        self.closed = False
        self.answered = False
        self.app = None
        self.ident = ident

    def match_key(self):
        return (str(self.src), self.sport, str(self.dst), self.dport, self.proto, self.start // 1000)


def std(vals):
    if not vals:
        return 0.0
    m = sum(vals) / len(vals)
    return math.sqrt(max(0.0, sum((v - m) ** 2 for v in vals) / len(vals)))


def features(fl, n, end):
    """Every non-host feature of flow `fl` after its first n packets."""
    P = fl.pkts[:n]
    F = {}
    first, last = P[0].ts, max(p.ts for p in P)
    dur = (last - first) / 1e9
    fwd = [p for p in P if p.dir == 0]
    bwd = [p for p in P if p.dir == 1]
    F["duration_s"] = dur
    F["pkts_fwd"], F["pkts_bwd"] = len(fwd), len(bwd)
    F["bytes_fwd"], F["bytes_bwd"] = sum(p.flen for p in fwd), sum(p.flen for p in bwd)
    F["payload_bytes_fwd"] = sum(len(p.pay) for p in fwd)
    F["payload_bytes_bwd"] = sum(len(p.pay) for p in bwd)
    F["payload_pkts_fwd"] = sum(1 for p in fwd if p.pay)
    F["payload_pkts_bwd"] = sum(1 for p in bwd if p.pay)
    lens = [p.flen for p in P]
    F["len_min"], F["len_max"] = min(lens), max(lens)
    F["len_mean"], F["len_std"] = sum(lens) / len(lens), std(lens)
    F["len_mean_fwd"] = F["bytes_fwd"] / len(fwd) if fwd else 0
    F["len_mean_bwd"] = F["bytes_bwd"] / len(bwd) if bwd else 0
    gaps = [P[i].ts - P[i - 1].ts for i in range(1, len(P))]
    F["iat_min_ms"] = min(gaps) / 1e6 if gaps else 0
    F["iat_max_ms"] = max(gaps) / 1e6 if gaps else 0
    F["iat_mean_ms"] = sum(gaps) / len(gaps) / 1e6 if gaps else 0
    F["iat_std_ms"] = std(gaps) / 1e6
    for name, ps in (("fwd", fwd), ("bwd", bwd)):
        g = [ps[i].ts - ps[i - 1].ts for i in range(1, len(ps))]
        F["iat_mean_%s_ms" % name] = sum(g) / len(g) / 1e6 if g else 0
    tcp = fl.proto == 6
    F["syn_cnt"] = sum(1 for p in P if tcp and p.flags & SYN)
    F["synack_cnt"] = sum(1 for p in P if tcp and p.flags & SYN and p.flags & ACK)
    F["fin_cnt"] = sum(1 for p in P if tcp and p.flags & FIN)
    F["rst_fwd"] = sum(1 for p in fwd if tcp and p.flags & RST)
    F["rst_bwd"] = sum(1 for p in bwd if tcp and p.flags & RST)
    F["psh_cnt"] = sum(1 for p in P if tcp and p.flags & PSH)
    F["ack_only_cnt"] = sum(1 for p in P if tcp and p.flags & (SYN | FIN | RST | ACK) == ACK and not p.pay)
    F["urg_cnt"] = sum(1 for p in P if tcp and p.flags & URG)
    F["hdr_bytes_fwd"] = sum(p.hdr for p in fwd)
    F["hdr_bytes_bwd"] = sum(p.hdr for p in bwd)
    F["init_win_fwd"] = fwd[0].win if tcp and fwd else 0
    F["init_win_bwd"] = bwd[0].win if tcp and bwd else 0
    rate = max(dur, 1e-3)
    F["bytes_per_s"] = sum(lens) / rate
    F["pkts_per_s"] = len(P) / rate
    F["down_up_ratio"] = F["bytes_bwd"] / F["bytes_fwd"] if F["bytes_fwd"] else 0
    # Active periods: split at gaps >= 1 s.
    periods, idles, a0 = [], [], P[0].ts
    for i in range(1, len(P)):
        if P[i].ts - P[i - 1].ts >= 10**9:
            periods.append(P[i - 1].ts - a0)
            idles.append(P[i].ts - P[i - 1].ts)
            a0 = P[i].ts
    periods.append(P[-1].ts - a0)
    F["active_mean_ms"] = sum(periods) / len(periods) / 1e6
    F["active_max_ms"] = max(periods) / 1e6
    F["idle_mean_ms"] = sum(idles) / len(idles) / 1e6 if idles else 0
    F["idle_max_ms"] = max(idles) / 1e6 if idles else 0
    for name, ps in (("fwd", fwd), ("bwd", bwd)):
        firstpay = next((p.pay for p in ps if p.pay), b"")[:64]
        F["entropy_" + name] = entropy(firstpay)
        F["printable_" + name] = printable(firstpay)
    F["ip_proto"] = fl.proto
    F["server_port"] = fl.dport if fl.proto in (6, 17) else 0
    # App layer.
    dirs_pay = {p.dir for p in P if p.pay}
    if fl.app in ("http", "dns", "tls"):
        F["app_proto"] = APP_CODE[fl.app] if dirs_pay else 0
    elif fl.app == "generic":
        F["app_proto"] = 4 if len(dirs_pay) == 2 or (end and dirs_pay) else 0
    else:
        F["app_proto"] = 0
    est = 0
    if tcp:
        fp = P[0]
        if not fp.flags & SYN:
            est = 1  # midstream pickup
        else:
            stage = 0 if fp.flags & ACK == 0 else 1
            for p in P[1:]:
                if p.flags & RST:
                    break
                if stage == 0 and p.dir == 1 and p.flags & (SYN | ACK) == (SYN | ACK):
                    stage = 1
                elif stage == 1 and p.dir == 0 and p.flags & (SYN | ACK) == ACK:
                    est = 1
                    break
    F["tcp_established"] = est
    qs = [p.meta["dns_q"] for p in P if "dns_q" in p.meta]
    F["dns_qname_len"] = len(qs[-1]) if qs else 0
    F["dns_label_entropy"] = entropy(qs[-1].split(".")[0].encode()) if qs else 0
    reqs = [p.meta["http_req"] for p in P if "http_req" in p.meta]
    F["http_method"] = HTTP_METHODS.get(reqs[-1], 5) if reqs else 0
    resps = [p.meta["http_resp"] for p in P if "http_resp" in p.meta]
    F["http_status_class"] = resps[-1] // 100 if resps else 0
    F["http_requests"] = len(reqs)
    F["tls_sni_present"] = 1 if any(p.meta.get("tls_sni") for p in P) else 0
    return F


class HostModel:
    """Sub-window bookkeeping per initiator host (see the module doc)."""

    def __init__(self):
        self.h = collections.defaultdict(dict)  # addr -> slot -> [epoch, starts, done, failed]
        self.last = {}  # addr -> newest epoch: late events and queries use it

    def _slot(self, src, ts):
        ep = max(ts // SLOT_NS + 1, self.last.get(src, 0))
        self.last[src] = ep
        slots = self.h[src]
        s = slots.get(ep % 4)
        if s is None or s[0] != ep:
            s = slots[ep % 4] = [ep, [], 0, 0]
        return s

    def start(self, src, dst, dport, ts):
        self._slot(src, ts)[1].append((dst, dport))

    def outcome(self, src, failed, ts):
        s = self._slot(src, ts)
        s[2] += 1
        s[3] += int(failed)

    def stats(self, src, ts):
        ep = max(ts // SLOT_NS + 1, self.last.get(src, 0))
        starts, done, failed = [], 0, 0
        for s in self.h.get(src, {}).values():
            if s[0] + 4 <= ep or s[0] > ep:
                continue
            starts += s[1]
            done += s[2]
            failed += s[3]
        return {"dsts": len({d for d, _ in starts}), "dports": len({p for _, p in starts}),
                "conns": len(starts), "done": done, "failed": failed}


def model(frames, points):
    """Runs the flow + feature model over the frames in file order (one
    worker). Returns {(match_key, phase): expected} where expected holds the
    features, host figures and, for shutdown end rows, the pending range."""
    flows, done_flows = {}, []
    hosts = HostModel()
    rows = {}
    ident = 0

    def row(fl, phase, n, pending=None):
        F = features(fl, n, phase == "end")
        last = max(p.ts for p in fl.pkts[:n])
        F["_host"] = hosts.stats(fl.src, last)
        F["_pending"] = pending
        F["_ts"] = last
        F["_flow"] = fl
        rows[(fl.match_key(), phase)] = F

    for t_us, _, b, meta in frames:
        ts = t_us * 1000
        src, dst, proto, sport, dport, hdr, pay, flags, win = parse_frame(b)
        a, z = (src, sport), (dst, dport)
        key = (proto, min(a, z), max(a, z))
        fl = flows.get(key)
        if fl and proto == 6 and fl.closed and flags & (SYN | ACK) == SYN:
            if not fl.answered:
                hosts.outcome(fl.src, True, max(p.ts for p in fl.pkts))
            row(fl, "end", len(fl.pkts))
            done_flows.append(fl)
            fl = None
        if fl is None:
            synack = proto == 6 and flags & (SYN | ACK) == (SYN | ACK)
            if synack:
                fl = RefFlow(key, dst, dport, src, sport, proto, ts, ident)
            else:
                fl = RefFlow(key, src, sport, dst, dport, proto, ts, ident)
            ident += 1
            fl.app = meta.get("app")
            flows[key] = fl
            hosts.start(fl.src, fl.dst, fl.dport, ts)
        p = Pk()
        p.ts, p.flen, p.hdr, p.pay, p.flags, p.win, p.meta = ts, len(b), hdr, pay, flags, win, meta
        p.dir = 0 if (src, sport) == (fl.src, fl.sport) else 1
        fl.pkts.append(p)
        if proto == 6:
            if flags & RST:
                fl.closed = True
            if flags & FIN:
                fl.fin[p.dir] = True
                if all(fl.fin):
                    fl.closed = True
        if p.dir == 1 and not fl.answered:
            fl.answered = True
            hosts.outcome(fl.src, proto == 6 and bool(flags & RST), ts)
        for k in points:
            if len(fl.pkts) == k:
                row(fl, "k%d" % k, k)
    # Shutdown: the unanswered flows' outcomes land in an unknown order.
    open_flows = list(flows.values())
    pend = collections.defaultdict(list)  # host -> last ts of unanswered flows
    for fl in open_flows:
        if not fl.answered:
            pend[fl.src].append((fl, fl.pkts[-1].ts))
    # Late outcomes go to the host's newest sub-window, which the row's stats
    # also read: every pending outcome of the host is in the window.
    for fl in open_flows:
        row(fl, "end", len(fl.pkts), pending=(0 if fl.answered else 1, len(pend[fl.src])))
    return rows, done_flows + open_flows


# ------------------------------------------------------------- checks

def read_rows(path, names):
    out, probs = {}, []
    with open(path) as fh:
        rd = csv.reader(fh)
        hdr = next(rd)
        want = list(META) + names
        if hdr != want:
            probs.append("CSV header differs from features.def: %s" % hdr)
            return out, probs
        for r in rd:
            d = dict(zip(hdr, r))
            k = (int(d["flow_id"]), d["phase"])
            if k in out:
                probs.append("duplicate row %s" % (k,))
            out[k] = d
    return out, probs


def usecs(s):
    a, b = s.split(".")
    return int(a) * 1000000 + int(b)


def row_key(d):
    return (str(ipaddress.ip_address(d["src_ip"])), int(d["src_port"]), str(ipaddress.ip_address(d["dst_ip"])),
            int(d["dst_port"]), int(d["proto"]), usecs(d["ts_start"]))


LC_ONE = -128 * math.log(127 / 128)  # linear counting estimate of one set bit
STD_SCALE = {"len_std": "len_max", "iat_std_ms": "iat_max_ms"}


def close(want, got, scale=0.0, floor=1e-9):
    return abs(want - got) <= 1e-4 * abs(want) + 1e-6 * scale + floor


# The C++ takes c*log2(c) from a float table: an entropy that is exactly 0
# (one symbol repeated) comes out as ~1e-8 for some lengths.
ABS_FLOOR = {"entropy_fwd": 1e-6, "entropy_bwd": 1e-6, "dns_label_entropy": 1e-6}


def compare(rows, exp, names, with_host, what):
    probs = []
    got_by_key = {}
    for (fid, phase), d in rows.items():
        got_by_key[(row_key(d), phase)] = (fid, d)
    missing = [k for k in exp if k not in got_by_key]
    extra = [k for k in got_by_key if k not in exp]
    for k in missing[:10]:
        probs.append("%s: missing row %s %s" % (what, k[1], k[0]))
    for k in extra[:10]:
        probs.append("%s: unexpected row %s %s" % (what, k[1], k[0]))
    if len(missing) > 10 or len(extra) > 10:
        probs.append("%s: %d missing, %d unexpected rows" % (what, len(missing), len(extra)))
    for k, F in exp.items():
        if k not in got_by_key:
            continue
        fid, d = got_by_key[k]
        tag = "%s %s %s:%s->%s:%s/%s" % (what, k[1], d["src_ip"], d["src_port"], d["dst_ip"], d["dst_port"], d["proto"])
        if usecs(d["ts"]) != F["_ts"] // 1000:
            probs.append("%s: ts %s, want %d us" % (tag, d["ts"], F["_ts"] // 1000))
        for nm in names:
            if nm.startswith("host_"):
                continue
            try:
                g = float(d[nm])
            except ValueError:
                probs.append("%s: %s = %r (not a number)" % (tag, nm, d[nm]))
                continue
            w = F[nm]
            sc = F[STD_SCALE[nm]] if nm in STD_SCALE else 0.0
            if not close(float(w), g, sc, ABS_FLOOR.get(nm, 1e-9)):
                probs.append("%s: %s = %s, want %.9g" % (tag, nm, d[nm], w))
        if with_host:
            probs += host_problems(tag, d, F)
    # Most frequent mismatching features first, then the details.
    counts = collections.Counter(p.split(": ")[1].split(" =")[0] for p in probs if " = " in p)
    return ["%s: %s wrong in %d rows" % (what, n, c) for n, c in counts.most_common()] + probs


def host_problems(tag, d, F):
    probs = []
    h = F["_host"]
    g = {n: float(d["host_" + n]) for n in ("distinct_dsts", "distinct_dports", "conns", "failed_ratio")}
    if g["conns"] != h["conns"]:
        probs.append("%s: host_conns = %s, want %d" % (tag, d["host_conns"], h["conns"]))
    for nm, exact in (("distinct_dsts", h["dsts"]), ("distinct_dports", h["dports"])):
        ok = (abs(g[nm] - LC_ONE) < 1e-4 if exact == 1 else
              g[nm] == 0 if exact == 0 else abs(g[nm] - exact) <= 0.15 * exact)
        if not ok:
            probs.append("%s: host_%s = %s, exact %d" % (tag, nm, d["host_" + nm], exact))
    lo, hi = F["_pending"] or (0, 0)
    cands = [(h["failed"] + k) / (h["done"] + k) if h["done"] + k else 0.0 for k in range(lo, hi + 1)]
    if not any(close(c, g["failed_ratio"]) for c in cands):
        probs.append("%s: host_failed_ratio = %s, want %s (failed %d / done %d, + k pending in %d..%d)"
                     % (tag, d["host_failed_ratio"], " or ".join("%.6g" % c for c in cands[:5]),
                        h["failed"], h["done"], lo, hi))
    return probs


def eve_problems(rows, events):
    probs = []
    flows = {e["flow_id"]: e for e in events if e.get("event_type") == "flow"}
    ends = {fid: d for (fid, ph), d in rows.items() if ph == "end"}
    if len(flows) != len(ends):
        probs.append("%d EVE flows, %d end rows" % (len(flows), len(ends)))
    for fid, d in ends.items():
        e = flows.get(fid)
        if not e:
            probs.append("end row flow_id %d has no EVE flow" % fid)
            continue
        same = (ipaddress.ip_address(e["src_ip"]) == ipaddress.ip_address(d["src_ip"])
                and ipaddress.ip_address(e["dest_ip"]) == ipaddress.ip_address(d["dst_ip"])
                and str(e.get("proto", "")).upper() in ({"6": "TCP", "17": "UDP", "1": "ICMP",
                                                         "58": "IPV6-ICMP"}.get(d["proto"], d["proto"]),)
                and (int(d["proto"]) not in (6, 17) or (e.get("src_port") == int(d["src_port"])
                                                        and e.get("dest_port") == int(d["dst_port"]))))
        if not same:
            probs.append("flow_id %d: EVE %s:%s->%s:%s %s, row %s:%s->%s:%s %s" % (
                fid, e.get("src_ip"), e.get("src_port"), e.get("dest_ip"), e.get("dest_port"), e.get("proto"),
                d["src_ip"], d["src_port"], d["dst_ip"], d["dst_port"], d["proto"]))
        fl = e.get("flow", {})
        pk = (fl.get("pkts_toserver", 0) or 0) + (fl.get("pkts_toclient", 0) or 0)
        if pk != int(float(d["pkts_fwd"])) + int(float(d["pkts_bwd"])):
            probs.append("flow_id %d: EVE %d packets, end row %s+%s" % (fid, pk, d["pkts_fwd"], d["pkts_bwd"]))
    for (fid, ph), d in rows.items():
        if ph != "end" and (fid, "end") not in rows:
            probs.append("row %s of flow %d without an end row" % (ph, fid))
    return probs


def point_problems(rows, exp_flows, points):
    """k rows exist iff the flow reached k packets (independent of the values)."""
    probs = []
    by_key = collections.defaultdict(set)
    for (fid, ph), d in rows.items():
        by_key[row_key(d)].add(ph)
    for fl in exp_flows:
        want = {"end"} | {"k%d" % k for k in points if len(fl.pkts) >= k}
        got = by_key.get(fl.match_key(), set())
        if got != want:
            probs.append("flow %s:%d->%s:%d/%d (%d pkts): phases %s, want %s" % (
                fl.src, fl.sport, fl.dst, fl.dport, fl.proto, len(fl.pkts), sorted(got), sorted(want)))
    return probs


def run(binary, pcap, cfg, tmp, tag, extra=(), workers=1):
    csvp = os.path.join(tmp, "rows-%s.csv" % tag)
    eve = os.path.join(tmp, "eve-%s.json" % tag)
    r = flowcheck.run_dp(binary, [pcap], workers=workers, config=cfg, eve=eve, timeout=300,
                         extra=["--dump-features", csvp] + list(extra))
    return r, csvp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="write the pcap and outputs here")
    a = ap.parse_args()
    names = feature_names()
    s = Checks()
    s.report("features.def has 58 features", [] if len(names) == 58 else ["%d names" % len(names)])
    binary = flowcheck.find_binary(a.binary)
    if not binary:
        sys.exit(s.skip("spectre-dp not found (pass a path or set SPECTRE_DP)"))
    tmpd = tempfile.TemporaryDirectory(prefix="feattest-")
    tmp = a.keep or tmpd.name
    os.makedirs(tmp, exist_ok=True)
    g = build(a.seed)
    pcap = os.path.join(tmp, "features.pcap")
    g.write(pcap)
    cfg = os.path.join(tmp, "config.yaml")
    with open(cfg, "w") as fh:
        fh.write(CONFIG)

    # Model self-checks: the scenario really has what the test is about.
    exp, exp_flows = model(g.frames, (4, 16))
    ends = [F for (k, ph), F in exp.items() if ph == "end"]
    probs = []
    for what, cond in (("k16 rows", any(ph == "k16" for _, ph in exp)),
                       ("idle periods", any(F["idle_max_ms"] >= 1000 for F in ends)),
                       ("IPv6 flows", any(":" in k[0] for k, ph in exp)),
                       ("every app proto", {F["app_proto"] for F in ends} >= {0, 1, 2, 3, 4}),
                       ("URG", any(F["urg_cnt"] for F in ends)),
                       ("RST answers", any(F["rst_bwd"] for F in ends)),
                       ("scanner conns >= 500", any(F["_host"]["conns"] >= 500 for F in ends))):
        if not cond:
            probs.append("scenario lacks " + what)
    s.report("scenario covers the cases (%d flows, %d frames)" % (len(ends), len(g.frames)), probs)

    # 1 worker, default points: every feature incl. host_*, EVE flow ids.
    r, csvp = run(binary, pcap, cfg, tmp, "default")
    probs = [] if r.rc == 0 else ["spectre-dp failed: " + r.describe()]
    rows1, p = read_rows(csvp, names) if os.path.exists(csvp) else ({}, ["no CSV written"])
    probs += p
    s.report("default run (%d rows)" % len(rows1), probs)
    s.report("default: rows k4/k16/end per flow", point_problems(rows1, exp_flows, (4, 16)))
    s.report("default: every feature vs model", compare(rows1, exp, names, True, "default"))
    s.report("default: flow_id matches EVE flows", eve_problems(rows1, r.events))

    # Other scoring points.
    exp2, flows2 = model(g.frames, (2, 5, 9))
    r, csvp = run(binary, pcap, cfg, tmp, "p259", ["--score-points", "2,5,9"])
    rows2, p = read_rows(csvp, names) if os.path.exists(csvp) else ({}, ["no CSV written"])
    p += [] if r.rc == 0 else ["spectre-dp failed: " + r.describe()]
    s.report("--score-points 2,5,9: phases", p + point_problems(rows2, flows2, (2, 5, 9)))
    s.report("--score-points 2,5,9: every feature vs model", compare(rows2, exp2, names, True, "p259"))

    exp3, flows3 = model(g.frames, ())
    r, csvp = run(binary, pcap, cfg, tmp, "none", ["--score-points", "none"])
    rows3, p = read_rows(csvp, names) if os.path.exists(csvp) else ({}, ["no CSV written"])
    p += [] if r.rc == 0 else ["spectre-dp failed: " + r.describe()]
    s.report("--score-points none: end rows only", p + point_problems(rows3, flows3, ()))
    s.report("--score-points none: every feature vs model", compare(rows3, exp3, names, True, "none"))

    # Two workers: same rows; same values except host_* (hosts are per worker).
    r, csvp = run(binary, pcap, cfg, tmp, "w2", workers=2)
    rows4, p = read_rows(csvp, names) if os.path.exists(csvp) else ({}, ["no CSV written"])
    p += [] if r.rc == 0 else ["spectre-dp failed: " + r.describe()]
    if set(rows4) != set(rows1):
        p.append("row sets differ: %d only with 1 worker, %d only with 2" % (
            len(set(rows1) - set(rows4)), len(set(rows4) - set(rows1))))
    for k in sorted(set(rows1) & set(rows4)):
        diff = [n for n in rows1[k] if not n.startswith("host_") and rows1[k][n] != rows4[k][n]]
        if diff:
            p.append("row %s: %s differ (%s vs %s)" % (k, diff[:4], [rows1[k][n] for n in diff[:4]],
                                                        [rows4[k][n] for n in diff[:4]]))
    s.report("--workers 2: same rows and non-host values", p)
    s.report("--workers 2: every non-host feature vs model", compare(rows4, exp, names, False, "w2"))

    # Bad values: exit 2 with a message naming the option.
    probs = []
    for bad in ("0", "a,b", "4,8,16,32", "", "4,,16", "70000", "-3"):
        cp = subprocess.run([binary, "-r", pcap, "--dump-features", os.path.join(tmp, "bad.csv"),
                             "--score-points", bad], capture_output=True, timeout=60)
        err = cp.stderr.decode("utf-8", "replace")
        if cp.returncode != 2 or "score-points" not in err:
            probs.append("--score-points %r: rc %d, stderr %r" % (bad, cp.returncode, err[-200:]))
    s.report("bad --score-points values exit 2", probs)
    sys.exit(s.summary())


if __name__ == "__main__":
    main()
