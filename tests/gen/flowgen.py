"""Scapy-built conversations with exact TCP sequence numbers and microsecond
timestamps (Gen, Conv) plus HTTP / TLS / DNS payload builders. Shared by the
feature and ML tests (tests/e2e) and the ML demo traffic (tests/gen/ml_traffic.py)."""
import ipaddress
import random
import struct

T0_US = 1700000040 * 1000000          # a multiple of 60 s: host sub-windows start with it
FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 0x10, 0x20


# ------------------------------------------------------------- generation

class Gen:
    """Frames with their timestamp (us) and what the app layer should see."""

    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.frames = []  # (ts_us, seq, bytes, meta)

    def add(self, t_us, pkt, meta):
        b = bytes(pkt)
        if len(b) < 60:
            b += b"\0" * (60 - len(b))  # Ethernet padding, as on a wire
        self.frames.append((t_us, len(self.frames), b, meta))

    def write(self, path):
        self.frames.sort(key=lambda f: (f[0], f[1]))
        with open(path, "wb") as fh:
            fh.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for t, _, b, _ in self.frames:
                fh.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(b), len(b)))
                fh.write(b)


class Conv:
    """One conversation: TCP (sequence numbers kept), UDP or ICMP."""

    def __init__(self, g, cli, cport, srv, sport, t, app=None):
        self.g, self.app = g, app
        self.addr = [cli, srv]
        self.port = [cport, sport]
        self.v6 = ":" in cli
        self.t = T0_US + int(round(t * 1e6))
        self.seq = [g.rnd.randrange(1 << 32), g.rnd.randrange(1 << 32)]
        self.win = [502, 509]
        self.ext = None
        self.ipopts = False

    def l3(self, d):
        from scapy.all import IP, IPv6, IPv6ExtHdrDestOpt, IPOption_NOP, IPOption_EOL
        if self.v6:
            ip = IPv6(src=self.addr[d], dst=self.addr[1 - d], hlim=64)
            return ip / IPv6ExtHdrDestOpt() if self.ext else ip
        if self.ipopts:
            return IP(src=self.addr[d], dst=self.addr[1 - d], ttl=64,
                      options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_EOL()])
        return IP(src=self.addr[d], dst=self.addr[1 - d], ttl=64)

    def eth(self):
        from scapy.all import Ether
        return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")

    def step(self, dt):
        self.t += int(round(dt * 1e6))

    def tcp(self, d, flags, data=b"", dt=0.001, win=None, opts=None, urgptr=0, meta=None):
        from scapy.all import TCP, Raw
        self.step(dt)
        fl = 0
        for ch, bit in (("F", FIN), ("S", SYN), ("R", RST), ("P", PSH), ("A", ACK), ("U", URG)):
            if ch in flags:
                fl |= bit
        ack = self.seq[1 - d] if fl & ACK else 0
        seg = TCP(sport=self.port[d], dport=self.port[1 - d], seq=self.seq[d] & 0xffffffff,
                  ack=ack & 0xffffffff, flags=fl, window=self.win[d] if win is None else win,
                  options=opts or [], urgptr=urgptr)
        pkt = self.eth() / self.l3(d) / seg
        if data:
            pkt = pkt / Raw(load=data)
        self.seq[d] += len(data) + (1 if fl & (SYN | FIN) else 0)
        m = dict(meta or {})
        m["app"] = self.app
        self.g.add(self.t, pkt, m)

    def udp(self, d, data, dt=0.001, meta=None):
        from scapy.all import UDP, Raw
        self.step(dt)
        pkt = self.eth() / self.l3(d) / UDP(sport=self.port[d], dport=self.port[1 - d]) / Raw(load=data)
        m = dict(meta or {})
        m["app"] = self.app
        self.g.add(self.t, pkt, m)

    def echo(self, d, ident, seqn, data, dt=0.001):
        from scapy.all import ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, Raw
        self.step(dt)
        if self.v6:
            l4 = (ICMPv6EchoRequest if d == 0 else ICMPv6EchoReply)(id=ident, seq=seqn, data=data)
            pkt = self.eth() / self.l3(d) / l4
        else:
            pkt = self.eth() / self.l3(d) / ICMP(type=8 if d == 0 else 0, id=ident, seq=seqn) / Raw(load=data)
        self.g.add(self.t, pkt, {"app": None})

    # -- TCP helpers
    def handshake(self, dt=0.001):
        self.tcp(0, "S", dt=dt, win=64240,
                 opts=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)])
        self.tcp(1, "SA", win=65160, opts=[("MSS", 1400), ("NOP", None), ("WScale", 7)])
        self.tcp(0, "A")

    def close(self, dt=0.001):
        self.tcp(0, "FA", dt=dt)
        self.tcp(1, "FA")
        self.tcp(0, "A")


def generic(rnd, n, text=False):
    """Payload that is no app protocol: starts 00 01 (rejected by every
    detector within its first 14 bytes), then random or text bytes."""
    if text:
        body = bytes(rnd.choice(b"abcdefghij klmnop\r\n") for _ in range(n - 2))
    else:
        body = bytes(rnd.randrange(256) for _ in range(n - 2))
    return b"\x00\x01" + body


def http_req(method, path, body=b""):
    h = "%s %s HTTP/1.1\r\nHost: example.test\r\nUser-Agent: feattest\r\n" % (method, path)
    if body or method == "POST":
        h += "Content-Length: %d\r\nContent-Type: application/x-www-form-urlencoded\r\n" % len(body)
    return (h + "\r\n").encode() + body


def http_resp(status, body):
    reason = {200: "OK", 404: "Not Found", 301: "Moved Permanently", 500: "Internal Server Error"}[status]
    return ("HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
            % (status, reason, len(body))).encode() + body


def client_hello(rnd, sni):
    """TLS 1.2 record with a ClientHello, optionally with server_name."""
    ext = b""
    if sni:
        name = sni.encode()
        entry = b"\x00" + struct.pack(">H", len(name)) + name
        sn = struct.pack(">H", len(entry)) + entry
        ext += struct.pack(">HH", 0, len(sn)) + sn
    groups = struct.pack(">HHH", 4, 0x001d, 0x0017)
    ext += struct.pack(">HH", 10, len(groups)) + groups
    ext += struct.pack(">HH", 11, 2) + b"\x01\x00"
    suites = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0x009e, 0x003c]
    body = b"\x03\x03" + bytes(rnd.randrange(256) for _ in range(32)) + b"\x00"
    body += struct.pack(">H", 2 * len(suites)) + b"".join(struct.pack(">H", s) for s in suites)
    body += b"\x01\x00" + struct.pack(">H", len(ext)) + ext
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def server_hello(rnd):
    body = b"\x03\x03" + bytes(rnd.randrange(256) for _ in range(32)) + b"\x00" + b"\xc0\x2f" + b"\x00"
    body += struct.pack(">H", 0)
    hs = b"\x02" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack(">H", len(hs)) + hs


def dns_msg(ident, name, resp=False, answer_ip=None):
    q = b"".join(bytes([len(lab)]) + lab.encode() for lab in name.split(".")) + b"\x00"
    q += struct.pack(">HH", 1, 1)
    flags = 0x8180 if resp else 0x0100
    an = 1 if resp and answer_ip else 0
    m = struct.pack(">HHHHHH", ident, flags, 1, an, 0, 0) + q
    if an:
        m += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + ipaddress.ip_address(answer_ip).packed
    return m
