"""Behaviour-detector scenarios: attacks and the near misses that must not alert.

    frames, expected = build(seed)

Frames are (ts_us, bytes) built with pcaplib's raw builders (scapy is far too
slow for tens of thousands of packets); `expected` lists the behaviour
episodes a correct detector reports: (detector, attacker, victim). Floods
carry attacker None (spoofed / many sources). Every scenario has its own
hosts so alerts are attributable.
"""
import random

from pcaplib import EPOCH_START_US, ether, ip_packet, l4_tcp, l4_udp

SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08
HOME_NET = "10.0.0.0/8"


class Cap:
    def __init__(self):
        self.frames = []

    def tcp(self, t, src, dst, sport, dport, seq, ack, flags, payload=b""):
        et, l3 = ip_packet(src, dst, 6, l4_tcp(src, dst, sport, dport, seq, ack, flags, payload))
        self.frames.append((int(t), ether(src, dst, et, l3)))

    def udp(self, t, src, dst, sport, dport, payload=b""):
        et, l3 = ip_packet(src, dst, 17, l4_udp(src, dst, sport, dport, payload))
        self.frames.append((int(t), ether(src, dst, et, l3)))

    def session(self, t, c, s, sport, dport, req=b"", resp=b"", gap_us=2000, chunks=None, close=True):
        """Handshake, request (in `chunks` pieces if given), response, FIN both ways. Returns the end time."""
        cs, ss = 1000, 5000
        self.tcp(t, c, s, sport, dport, cs, 0, SYN)
        self.tcp(t + 300, s, c, dport, sport, ss, cs + 1, SYN | ACK)
        self.tcp(t + 600, c, s, sport, dport, cs + 1, ss + 1, ACK)
        t += 600
        cs += 1
        ss += 1
        for piece in (chunks or ([req] if req else [])):
            t += gap_us
            self.tcp(t, c, s, sport, dport, cs, ss, PSH | ACK, piece)
            cs += len(piece)
        for i in range(0, len(resp), 8000):
            t += 200
            self.tcp(t, s, c, dport, sport, ss, cs, PSH | ACK, resp[i:i + 8000])
            ss += len(resp[i:i + 8000])
        if close:
            t += gap_us
            self.tcp(t, c, s, sport, dport, cs, ss, FIN | ACK)
            self.tcp(t + 200, s, c, dport, sport, ss, cs + 1, FIN | ACK)
            self.tcp(t + 400, c, s, sport, dport, cs + 1, ss + 1, ACK)
            t += 400
        return t

    def exchange(self, t, c, s, sport, dport, steps, end="fin"):
        """Handshake, then steps (gap_us, from_client, payload) with the peer's ACKs, then
        end: "fin" (both close), "rst" (the client resets) or None (left open). Returns the end time."""
        cs, ss = 1000, 5000
        self.tcp(t, c, s, sport, dport, cs, 0, SYN)
        self.tcp(t + 300, s, c, dport, sport, ss, cs + 1, SYN | ACK)
        self.tcp(t + 600, c, s, sport, dport, cs + 1, ss + 1, ACK)
        t += 600
        cs += 1
        ss += 1
        for gap, from_client, piece in steps:
            t += gap
            if from_client:
                self.tcp(t, c, s, sport, dport, cs, ss, PSH | ACK, piece)
                cs += len(piece)
                self.tcp(t + 100, s, c, dport, sport, ss, cs, ACK)
            else:
                self.tcp(t, s, c, dport, sport, ss, cs, PSH | ACK, piece)
                ss += len(piece)
                self.tcp(t + 100, c, s, sport, dport, cs, ss, ACK)
            t += 100
        if end == "fin":
            self.tcp(t + 200, c, s, sport, dport, cs, ss, FIN | ACK)
            self.tcp(t + 400, s, c, dport, sport, ss, cs + 1, FIN | ACK)
            self.tcp(t + 600, c, s, sport, dport, cs + 1, ss + 1, ACK)
            t += 600
        elif end == "rst":
            self.tcp(t + 200, c, s, sport, dport, cs, 0, RST)
            t += 200
        return t

    def upload(self, t, c, s, sport, dport, total, frame=8000, gap_us=1000):
        """One connection sending `total` bytes to the server in jumbo segments."""
        cs, ss = 1, 1
        self.tcp(t, c, s, sport, dport, cs, 0, SYN)
        self.tcp(t + 300, s, c, dport, sport, ss, cs + 1, SYN | ACK)
        cs += 1
        ss += 1
        self.tcp(t + 600, c, s, sport, dport, cs, ss, ACK)
        t += 600
        sent = 0
        blob = bytes(frame)
        while sent < total:
            t += gap_us
            self.tcp(t, c, s, sport, dport, cs, ss, ACK, blob)
            cs += frame
            sent += frame
            if sent % (frame * 16) == 0:
                self.tcp(t + 50, s, c, dport, sport, ss, cs, ACK)
        self.tcp(t + 100, c, s, sport, dport, cs, ss, FIN | ACK)
        self.tcp(t + 300, s, c, dport, sport, ss, cs + 1, FIN | ACK)
        self.tcp(t + 500, c, s, sport, dport, cs + 1, ss + 1, ACK)
        return t + 500


S = 1_000_000  # microseconds per second


def attacks(cap, t0, rnd):
    exp = []
    # Vertical SYN scan: 300 ports of one host, closed ports reset, a few open.
    a, v = "10.1.0.66", "10.1.0.10"
    for i, port in enumerate(range(1, 301)):
        t = t0 + 10 * S + i * 20000
        cap.tcp(t, a, v, 40000, port, 7, 0, SYN)
        if port in (22, 80, 443):
            cap.tcp(t + 200, v, a, port, 40000, 9, 8, SYN | ACK)
            cap.tcp(t + 400, a, v, 40000, port, 8, 0, RST)
        else:
            cap.tcp(t + 200, v, a, port, 40000, 0, 8, RST | ACK)
    exp.append(("scan", a, None))
    # Horizontal scan: port 445 on 60 hosts, nobody answers.
    a = "10.1.0.67"
    for i in range(60):
        cap.tcp(t0 + 20 * S + i * 50000, a, "10.1.1.%d" % (i + 1), 41000 + i, 445, 1, 0, SYN)
    exp.append(("scan", a, None))
    # SYN flood from spoofed sources: 3000 SYNs in 10 s; the victim answers SYN-ACK.
    v = "10.1.0.20"
    for i in range(3000):
        t = t0 + 60 * S + i * 3333
        src = "100.%d.%d.%d" % (64 + rnd.randrange(60), rnd.randrange(256), 1 + rnd.randrange(250))
        sp = 1024 + rnd.randrange(60000)
        cap.tcp(t, src, v, sp, 80, rnd.randrange(1 << 32), 0, SYN)
        cap.tcp(t + 100, v, src, 80, sp, 77, 1, SYN | ACK)
    exp.append(("synflood", None, v))
    # SSH brute force: 40 short sessions in 40 s.
    a, v = "10.1.0.70", "10.1.0.22"
    for i in range(40):
        cap.session(t0 + 120 * S + i * S, a, v, 50000 + i, 22, b"SSH-2.0-libssh\r\n" + bytes(400),
                    b"SSH-2.0-OpenSSH_9.2\r\n" + bytes(900))
    exp.append(("bruteforce", a, v))
    # HTTP basic-auth brute force: 30 requests answered 401.
    a, v = "10.1.0.71", "10.1.0.25"
    for i in range(30):
        cap.session(t0 + 130 * S + i * 700000, a, v, 51000 + i, 8080,
                    b"GET /admin/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n",
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
    exp.append(("bruteforce", a, v))
    # C2 beacon: every 30 s +-2 s, 14 connections of similar size, to an outside host.
    a, v = "10.1.0.80", "203.0.113.50"
    for i in range(14):
        t = t0 + 200 * S + i * 30 * S + rnd.randrange(-2 * S, 2 * S)
        cap.session(t, a, v, 52000 + i, 8443, bytes(300 + rnd.randrange(40)), bytes(500 + rnd.randrange(40)))
    exp.append(("beacon", a, v))
    # Slowloris: 30 connections sending a header line every 10 s, never finishing the request.
    a, v = "10.1.0.90", "10.1.0.23"
    for i in range(30):
        chunks = [b"GET / HTTP/1.1\r\nHost: v\r\n"] + [b"X-a: %d\r\n" % k for k in range(6)]
        cap.session(t0 + 700 * S + i * 100000, a, v, 53000 + i, 80, chunks=chunks, gap_us=10 * S, close=False)
    exp.append(("slowdos", None, v))
    # Slowloris as slowhttptest runs it briefly: 60 connections opened at 50/s, a
    # header line every 3 s, all closed after ~9 s (seen while open, not at the end).
    a, v = "10.1.0.91", "10.1.0.26"
    for i in range(60):
        steps = [(300, True, b"GET /index.html HTTP/1.1\r\nHost: v\r\nUser-Agent: x\r\n")]
        steps += [(3 * S, True, b"X-%04x: %d\r\n" % (i, k)) for k in range(3)]
        cap.exchange(t0 + 760 * S + i * 20000, a, v, 55000 + i, 80, steps)
    exp.append(("slowdos", None, v))
    # nmap -sV -p 22,53,80,443,8080 of one host: SYN phase (closed ports refused,
    # open ones reset by the prober after the SYN-ACK), then version probes.
    a, v = "10.1.0.68", "10.1.0.11"
    t = t0 + 40 * S
    for k, port in enumerate((22, 53, 80, 443, 8080)):
        cap.tcp(t + k * 300, a, v, 47000, port, 11, 0, SYN)
        if port in (80, 443):
            cap.tcp(t + k * 300 + 100, v, a, port, 47000, 21, 12, SYN | ACK)
            cap.tcp(t + k * 300 + 200, a, v, 47000, port, 12, 0, RST)
        else:
            cap.tcp(t + k * 300 + 100, v, a, port, 47000, 0, 12, RST | ACK)
    probes = [(80, b"GET / HTTP/1.0\r\n\r\n"), (80, b"OPTIONS / HTTP/1.0\r\n\r\n"),
              (443, b"\x16\x03\x00\x00S\x01\x00\x00O\x03\x00" + bytes(60)), (443, b"GET / HTTP/1.0\r\n\r\n")]
    for k, (port, probe) in enumerate(probes):
        cap.exchange(t + S + k * 600000, a, v, 48000 + k, port, [(200, True, probe), (300, False, bytes(200))], end="rst")
    exp.append(("scan", a, None))
    # nmap -sU of 10 ports of one host: closed ports answer ICMP port unreachable, NTP answers.
    a, v = "10.1.0.69", "10.1.0.13"
    t = t0 + 60 * S
    for k, port in enumerate((53, 67, 69, 123, 137, 161, 500, 514, 1900, 5353)):
        cap.udp(t + k * 200, a, v, 40581, port, bytes(40))
        if port == 123:
            cap.udp(t + k * 200 + 100, v, a, port, 40581, bytes(48))
    exp.append(("scan", a, None))
    # Exfiltration: 30 MB to an outside host from a host that moved a few KB before.
    a, v = "10.1.0.100", "198.51.100.7"
    for i in range(5):
        cap.session(t0 + (300 + 70 * i) * S, a, "198.51.100.99", 54000 + i, 443, bytes(600), bytes(4000))
    cap.upload(t0 + 800 * S, a, v, 54100, 443, 30_000_000)
    exp.append(("exfil", a, v))
    # Reflection flood: NTP/DNS replies from 80 reflectors to random victim ports.
    v = "10.1.0.24"
    for i in range(1500):
        refl = "192.0.2.%d" % (1 + i % 80) if i % 2 else "198.18.%d.%d" % (i % 80, 7)
        cap.udp(t0 + 900 * S + i * 3000, refl, v, 123 if i % 2 else 53, 1024 + rnd.randrange(60000), bytes(440))
    exp.append(("flood", None, v))
    return exp


def near_misses(cap, t0, rnd):
    # Many DNS names through one resolver.
    c, r = "10.2.0.30", "10.2.0.53"
    for i in range(600):
        t = t0 + 5 * S + i * 100000
        sp = 20000 + i
        cap.udp(t, c, r, sp, 53, b"\x12\x34\x01\x00\x00\x01" + bytes(6) + b"\x03www\x04n%03d\x03com\x00\x00\x01\x00\x01" % (i % 1000))
        cap.udp(t + 900, r, c, 53, sp, b"\x12\x34\x81\x80\x00\x01\x00\x01" + bytes(4) + bytes(40))
    # A browser: 40 HTTPS connections to one CDN address, then to 40 CDN addresses.
    c = "10.2.0.31"
    for i in range(40):
        cap.session(t0 + 100 * S + i * 250000, c, "198.51.100.10", 30000 + i, 443, bytes(500), bytes(6000))
        cap.session(t0 + 112 * S + i * 250000, c, "198.51.100.%d" % (20 + i), 31000 + i, 443, bytes(500), bytes(6000))
    # A nightly backup: 30 MB to an internal server (HOME_NET), nothing before.
    cap.upload(t0 + 400 * S, "10.2.0.32", "10.2.0.200", 32000, 873, 30_000_000)
    # An NTP client polling every 64 s (new source port each time).
    for i in range(14):
        t = t0 + i * 64 * S + 3 * S
        cap.udp(t, "10.2.0.33", "10.2.0.123", 33000 + i, 123, bytes(48))
        cap.udp(t + 2000, "10.2.0.123", "10.2.0.33", 123, 33000 + i, bytes(48))
    # A mail client polling IMAPS every 5 minutes, successful logins.
    for i in range(4):
        cap.session(t0 + i * 300 * S + 7 * S, "10.2.0.34", "10.2.0.143", 34000 + i, 993, bytes(700), bytes(3000))
    # Keep-alive HTTP: 20 connections with complete requests, idle, another request 30 s later.
    c, v = "10.2.0.40", "10.2.0.80"
    req, resp = b"GET / HTTP/1.1\r\nHost: v\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    for i in range(20):
        cap.exchange(t0 + 150 * S + i * 200000, c, v, 36000 + i, 80,
                     [(300, True, req), (300, False, resp), (30 * S, True, req), (300, False, resp)])
    # Long polls / websockets: 4 connections, upgrade completed, frames every 10 s for a minute.
    c, v = "10.2.0.41", "10.2.0.81"
    up = b"GET /ws HTTP/1.1\r\nHost: v\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    for i in range(4):
        steps = [(300, True, up), (300, False, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")]
        steps += [(10 * S, k % 2 == 0, b"\x81\x05hello") for k in range(6)]
        cap.exchange(t0 + 160 * S + i * S, c, v, 37000 + i, 80, steps)
    # SSH sessions: 20 interactive sessions of ~45 s to one server (keystrokes every 5 s).
    c, v = "10.2.0.42", "10.2.0.82"
    for i in range(20):
        steps = [(300, False, b"SSH-2.0-OpenSSH_9.2\r\n"), (300, True, b"SSH-2.0-OpenSSH_9.2\r\n"),
                 (300, True, bytes(1400)), (300, False, bytes(1100))]
        steps += [(5 * S, True, bytes(36)) for _ in range(9)]
        cap.exchange(t0 + 170 * S + i * 300000 + rnd.randrange(200000), c, v, 38000 + i, 22, steps)
    # A browser to one server: some connections refused (server restarting), some
    # cancelled right after the handshake (preconnects): not a few-port scan.
    c, v = "10.2.0.43", "10.2.0.83"
    for i in range(30):
        t = t0 + 250 * S + i * 150000
        port = 443 if i % 3 else 80
        if i % 5 == 1:
            cap.tcp(t, c, v, 39000 + i, port, 1, 0, SYN)
            cap.tcp(t + 100, v, c, port, 39000 + i, 0, 2, RST | ACK)
        elif i % 5 == 2:
            cap.exchange(t, c, v, 39000 + i, port, [], end="rst")
        else:
            cap.session(t, c, v, 39000 + i, port, bytes(500), bytes(3000))
    # HTTP uploads: 16 POSTs streaming 200 KB over 10 s each (request incomplete for a while, not slow).
    c, v = "10.2.0.44", "10.2.0.84"
    for i in range(16):
        head = b"POST /up HTTP/1.1\r\nHost: v\r\nContent-Length: 200000\r\n\r\n"
        cap.session(t0 + 280 * S + i * 100000, c, v, 40000 + i, 80, chunks=[head] + [bytes(2000)] * 100,
                    resp=b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", gap_us=100000)
    # LAN chatter to multicast and broadcast (mDNS, LLMNR, SSDP, NetBIOS), never answered;
    # a syslog client to a silent collector; DNS, NTP and SNMP to one server, half unanswered.
    for i in range(30):
        dst, port = [("224.0.0.251", 5353), ("224.0.0.252", 5355), ("239.255.255.250", 1900),
                     ("10.2.0.255", 137), ("10.2.0.255", 138), ("255.255.255.255", 67)][i % 6]
        cap.udp(t0 + 100 * S + i * S, "10.2.0.40", dst, port, port, bytes(60))
    for i in range(20):
        cap.udp(t0 + 100 * S + i * S, "10.2.0.41", "10.2.0.60", 6000 + i, 514, bytes(120))
    for i in range(12):
        port = (53, 123, 161)[i % 3]
        cap.udp(t0 + 100 * S + i * S, "10.2.0.42", "10.2.0.61", 7000 + i, port, bytes(48))
        if i % 2:
            cap.udp(t0 + 100 * S + i * S + 500, "10.2.0.61", "10.2.0.42", port, 7000 + i, bytes(48))
    # A monitoring system polling 40 hosts over SNMP every 60 s (all answer).
    for r_ in range(3):
        for h in range(40):
            t = t0 + 600 * S + r_ * 60 * S + h * 20000
            host = "10.2.1.%d" % (h + 1)
            cap.udp(t, "10.2.0.35", host, 35000 + r_ * 100 + h, 161, bytes(40))
            cap.udp(t + 1500, host, "10.2.0.35", 161, 35000 + r_ * 100 + h, bytes(90))


def build(seed=7):
    rnd = random.Random(seed)
    cap = Cap()
    t0 = EPOCH_START_US
    exp = attacks(cap, t0, rnd)
    near_misses(cap, t0, rnd)
    cap.frames.sort(key=lambda f: f[0])
    return cap.frames, exp
