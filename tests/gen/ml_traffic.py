#!/usr/bin/python3
"""Mixed benign and attack traffic for the ML stage: varied benign HTTP, DNS
and TLS flows, "regular" benign flows (near-identical rows an isolation forest
learns as normal), an nmap-like SYN scan, an hping3-like SYN flood and an HTTP
brute force. Used by tests/e2e/test_ml_scoring.py and scripts/demo.

  ml_traffic.py OUTDIR [--seed N]   writes OUTDIR/mixed.pcap, OUTDIR/labels.csv (the
                                   lab's label format, for spectre-ml label) and OUTDIR/benign.pcap
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flowgen import T0_US, Gen, Conv, http_req, http_resp, client_hello, server_hello, dns_msg  # noqa: E402


def benign(g, t0, n=40, regular=False):
    """HTTP GETs (one or two per connection), DNS queries, TLS sessions from a
    few clients with random sizes, or (regular) one flow per client with fixed
    sizes and bytes: near-identical rows an isolation forest learns as normal."""
    r = g.rnd
    t = t0
    for i in range(n):
        c = "10.1.%d.%d" % (1 + i // 200, 10 + i % 200) if regular else "10.1.0.%d" % (10 + i % 6)
        rb = random.Random(0) if regular else r  # TLS bytes
        k = i % 4
        if k == 0:
            cv = Conv(g, c, 40000 + i, "10.2.0.20", 80, t, app="http")
            cv.handshake()
            cv.tcp(0, "PA", http_req("GET", "/page%03d.html" % i))
            cv.tcp(1, "A")
            size = 600 if regular else r.randrange(200, 1200)
            cv.tcp(1, "PA", http_resp(200, b"<html>" + b"x" * size + b"</html>"), dt=0.01)
            cv.tcp(0, "A")
            cv.close(dt=0.05)
        elif k == 1:
            nm = "www.site%03d.example.com" % i
            cv = Conv(g, c, 30000 + i, "10.2.0.53", 53, t, app="dns")
            cv.udp(0, dns_msg(i, nm))
            cv.udp(1, dns_msg(i, nm, resp=True, answer_ip="192.0.2.%d" % (i % 250 + 1)), dt=0.003)
        elif k == 2:
            cv = Conv(g, c, 45000 + i, "10.2.0.30", 443, t, app="tls")
            cv.handshake()
            cv.tcp(0, "PA", client_hello(rb, "app%03d.example.org" % i))
            cv.tcp(1, "PA", server_hello(rb), dt=0.02)
            cv.tcp(0, "A")
            for _ in range(3):
                cv.tcp(0, "PA", b"\x17\x03\x03\x00\x40" + bytes(rb.randrange(256) for _ in range(64)), dt=0.01)
                cv.tcp(1, "PA", b"\x17\x03\x03\x01\x00" + bytes(rb.randrange(256) for _ in range(256)), dt=0.01)
            cv.close()
        else:
            cv = Conv(g, c, 46000 + i, "10.2.0.20", 80, t, app="http")
            cv.handshake()
            for j in range(2):
                cv.tcp(0, "PA", http_req("GET", "/img%d.png" % j), dt=0.05)
                cv.tcp(1, "PA", http_resp(200, bytes(rb.randrange(256) for _ in range(800))), dt=0.01)
                cv.tcp(0, "A")
            cv.close(dt=0.1)
        t += 0.37


def syn_scan(g, t0, src="10.9.9.9", dst="10.2.0.40", nports=300):
    """nmap -sS like: 800 SYN/s, closed ports RST, three open (scanner resets)."""
    t = t0
    for port in range(1, nports + 1):
        cv = Conv(g, src, 55000 + port % 7, dst, port, t)
        t += 0.00125
        cv.tcp(0, "S", win=1024, opts=[("MSS", 1460)])
        if port in (22, 80, 443):
            cv.tcp(1, "SA", win=64240, dt=0.0001)
            cv.tcp(0, "R", dt=0.0001, win=0)
        else:
            cv.tcp(1, "RA", win=0, dt=0.0001)


def syn_flood(g, t0, src="10.9.9.8", dst="10.2.0.20", n=400):
    """hping3 -S -p 80 like: one SYN per source port, SYN-ACK, RST."""
    t = t0
    for i in range(n):
        cv = Conv(g, src, 2000 + i, dst, 80, t)
        t += 0.002
        cv.tcp(0, "S", win=512)
        cv.tcp(1, "SA", win=64240, dt=0.0001)
        cv.tcp(0, "R", dt=0.0001, win=0)


def http_brute(g, t0, src="10.9.9.7", dst="10.2.0.20", n=60):
    """Many short connections, one GET /admin/ with credentials each."""
    t = t0
    for i in range(n):
        cv = Conv(g, src, 38000 + i, dst, 80, t, app="http")
        t += 0.03
        cv.handshake()
        req = http_req("GET", "/admin/").replace(
            b"User-Agent: feattest", b"Authorization: Basic YWRtaW46cGFzcyVk\r\nUser-Agent: Mozilla/4.0 (Hydra)")
        cv.tcp(0, "PA", req)
        cv.tcp(1, "PA", http_resp(404, b"unauthorized"), dt=0.002)
        cv.tcp(0, "A")
        cv.close(dt=0.001)


def build(seed, attacks, net="10.9.9", regular=60):
    """Varied benign flows, regular benign flows, and (attacks) the three
    attacks. g.episodes lists them as label rows (class, attacker, victim,
    proto, victim port, start and end in seconds from T0)."""
    g = Gen(seed)
    g.episodes = []
    if attacks:
        benign(g, 0.1)
    benign(g, 0.2, n=regular, regular=True)
    if attacks:
        syn_scan(g, 2.0, src=net + ".9")
        g.episodes.append(("scan_syn", net + ".9", "10.2.0.40", "tcp", "", 2.0, 2.0 + 300 * 0.00125))
        syn_flood(g, 4.0, src=net + ".8")
        g.episodes.append(("dos_synflood", net + ".8", "10.2.0.20", "tcp", "80", 4.0, 4.0 + 400 * 0.002))
        http_brute(g, 6.0, src=net + ".7")
        g.episodes.append(("bruteforce_http", net + ".7", "10.2.0.20", "tcp", "80", 6.0, 6.0 + 60 * 0.03))
    return g


def write_labels(g, path):
    """labels.csv in the traffic lab's format (lab/labels.py COLUMNS)."""
    mitre = {"scan_syn": "T1046", "dos_synflood": "T1498.001", "bruteforce_http": "T1110.001"}
    with open(path, "w") as fh:
        fh.write("episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts\n")
        for i, (cls, a, v, proto, port, t0, t1) in enumerate(g.episodes, 1):
            fh.write("%d,%s,%s,%s,%s,%s,%s,%.6f,%.6f\n" % (i, cls, mitre[cls], a, v, proto, port,
                                                        T0_US / 1e6 + t0, T0_US / 1e6 + t1 + 0.5))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    g = build(a.seed, True)
    g.write(os.path.join(a.out, "mixed.pcap"))
    write_labels(g, os.path.join(a.out, "labels.csv"))
    build(a.seed + 1, False, regular=120).write(os.path.join(a.out, "benign.pcap"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
