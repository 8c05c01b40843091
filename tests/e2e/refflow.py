#!/usr/bin/python3
"""Independent, slow reference flow counter (pure struct parsing).

Implements spectre-dp's documented flow semantics so its output can be
compared with spectre-dp's EVE flow records. Anything the contract leaves
open (checksum errors, odd encapsulations, overlapping fragments, ...) is
recorded in `issues`; a caller wanting a confident answer skips inputs
that have issues.

  refflow.py FILE... [--config YAML] [--issues]   prints JSON flow records
"""
import collections
import ipaddress
import json
import re
import struct
import sys

INF = float("inf")
PROTO_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP"}
ICMP4_PAIRS = {8: 0, 13: 14, 15: 16, 17: 18}   # request -> reply
ICMP6_PAIRS = {128: 129}
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
# Ethertypes that carry IP inside something the contract does not mention.
ODD_ETHERTYPES = {0x8847: "mpls", 0x8848: "mpls", 0x8864: "pppoe",
                  0x88E7: "pbb", 0x894F: "nsh"}
IP6_EXT = (0, 43, 60, 135, 139, 140)
FIN, SYN, RST, ACK = 1, 2, 4, 0x10


class RefError(Exception):
    """Input the reference cannot read at all."""


# ------------------------------------------------------------- file reading

def read_frames(path, issues):
    """Yields (ts_ns, linktype, frame bytes)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4:
        raise RefError("%s: too short" % path)
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng(data, issues)
        return
    fmts = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
            b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
    if magic not in fmts or len(data) < 24:
        raise RefError("%s: not a pcap/pcapng file" % path)
    e, mult = fmts[magic]
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            issues["truncated file"] += 1
            return
        sec, frac, cap, orig = struct.unpack(e + "IIII", data[off:off + 16])
        if off + 16 + cap > len(data):
            issues["truncated file"] += 1
            return
        if cap < orig:
            issues["snapped frame"] += 1
        yield (sec * 1_000_000_000 + frac * mult, linktype,
               data[off + 16:off + 16 + cap])
        off += 16 + cap


def _pcapng(data, issues):
    e = "<"
    ifaces = []  # (linktype, ticks per second)
    off = 0
    while off + 12 <= len(data):
        btype = struct.unpack(e + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                raise RefError("bad pcapng byte-order magic")
            ifaces = []
        blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
        if blen < 12 or blen % 4 or off + blen > len(data):
            if off + blen > len(data):
                issues["truncated file"] += 1
                return
            raise RefError("bad pcapng block length %d" % blen)
        body = data[off + 8:off + blen - 4]
        off += blen
        if btype == 1:  # interface description
            linktype = struct.unpack(e + "H", body[:2])[0]
            ifaces.append((linktype, _tsresol(body[8:], e, issues)))
        elif btype in (6, 2):  # enhanced / obsolete packet block
            if btype == 6:
                iface, hi, lo, cap, orig = struct.unpack(e + "5I", body[:20])
            else:
                iface, _, hi, lo, cap, orig = struct.unpack(e + "HH4I",
                                                            body[:20])
            if iface >= len(ifaces):
                raise RefError("packet for undefined interface")
            if cap < orig:
                issues["snapped frame"] += 1
            link, tps = ifaces[iface]
            yield (((hi << 32) | lo) * 1_000_000_000 // tps, link,
                   body[20:20 + cap])
        elif btype == 3:  # simple packet block: no timestamp
            issues["pcapng simple packet block"] += 1
    if off != len(data):
        issues["truncated file"] += 1


def _tsresol(opts, e, issues):
    tps = 1_000_000
    o = 0
    while o + 4 <= len(opts):
        code, ln = struct.unpack(e + "HH", opts[o:o + 4])
        if code == 0:
            break
        if code == 9 and ln >= 1:
            v = opts[o + 4]
            tps = 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
        elif code == 14:
            issues["pcapng if_tsoffset"] += 1
        o += 4 + ln + (-ln % 4)
    return tps


# ------------------------------------------------------------------- flows

class Flow:
    __slots__ = ("key", "proto", "cip", "sip", "cport", "sport", "vlan",
                 "pkts", "bytes", "flags", "start", "last", "syn_ack_seen",
                 "est", "fin", "rst", "icmp")

    def __init__(self, key, proto, cip, sip, cport, sport, vlan, ts):
        self.key, self.proto, self.vlan = key, proto, vlan
        self.cip, self.sip, self.cport, self.sport = cip, sip, cport, sport
        self.pkts, self.bytes, self.flags = [0, 0], [0, 0], [0, 0]
        self.start = self.last = ts
        self.syn_ack_seen = self.est = self.rst = False
        self.fin = [False, False]
        self.icmp = None

    def closed(self):
        return self.rst or all(self.fin)

    def state(self):
        if self.proto == 6:
            return ("closed" if self.closed() else
                    "established" if self.est else "new")
        return "established" if all(self.pkts) else "new"

    def timeout_name(self):
        if self.proto == 6:
            return ("tcp_closed" if self.closed() else
                    "tcp_closing" if any(self.fin) else
                    "tcp_established" if self.est else "tcp_new")
        return {17: "udp", 1: "icmp", 58: "icmp"}.get(self.proto, "other")


class Ref:
    def __init__(self, timeouts=None):
        self.timeouts = {k: float(v) for k, v in (timeouts or {}).items()}
        self.flows = {}
        self.ended = []
        self.frags = {}
        self.issues = collections.Counter()
        self.frames = self.bytes = self.reassembled = 0
        self.malformed = collections.Counter()  # reason -> frames

    # --- decoding: each returns None after counting a malformed frame
    def bad(self, why):
        self.malformed[why] += 1
        return None

    def feed(self, ts, linktype, frame):
        self.frames += 1
        self.bytes += len(frame)
        if linktype != 1:
            self.issues["linktype %d" % linktype] += 1
            return
        if len(frame) < 14:
            return self.bad("ethernet")
        et = struct.unpack("!H", frame[12:14])[0]
        off, vlan = 14, []
        while et in VLAN_TYPES:
            if len(frame) < off + 4:
                return self.bad("vlan")
            tci, et = struct.unpack("!HH", frame[off:off + 4])
            vlan.append(tci & 0xFFF)
            off += 4
        if 0 in vlan:
            self.issues["vlan id 0"] += 1
        if len(vlan) > 2:
            self.issues["more than 2 vlan tags"] += 1
        if et == 0x8864 and len(frame) >= off + 8 and frame[off + 1] == 0:  # PPPoE session, PPP
            ppp = struct.unpack("!H", frame[off + 6:off + 8])[0]
            et, off = {0x0021: 0x0800, 0x0057: 0x86DD}.get(ppp, 0), off + 8
        elif et in ODD_ETHERTYPES:
            self.issues["ethertype " + ODD_ETHERTYPES[et]] += 1
        if et == 0x0800:
            self.ipv4(ts, frame[off:], len(frame), tuple(vlan))
        elif et == 0x86DD:
            self.ipv6(ts, frame[off:], len(frame), tuple(vlan))

    # Tunnels (as Suricata decodes them by default): the innermost packet is
    # the flow; its bytes are the whole captured frame. At most 3 layers.
    def inner_eth(self, ts, b, nbytes, vlan, depth):
        if len(b) < 14:
            return self.bad("inner ethernet")
        et, off = struct.unpack("!H", b[12:14])[0], 14
        while et in VLAN_TYPES and len(b) >= off + 4:
            et = struct.unpack("!H", b[off + 2:off + 4])[0]
            off += 4
        self.inner_ip(ts, et, b[off:], nbytes, vlan, depth)

    def inner_ip(self, ts, et, b, nbytes, vlan, depth):
        if depth > 3:
            return self.bad("tunnel depth")
        if et == 0x0800:
            self.ipv4(ts, b, nbytes, vlan, depth)
        elif et == 0x86DD:
            self.ipv6(ts, b, nbytes, vlan, depth)

    def gre(self, ts, b, nbytes, vlan, depth):
        """True when decoded as a tunnel (or counted bad)."""
        if len(b) < 4:
            self.bad("gre header")
            return True
        flags, proto = struct.unpack("!HH", b[:4])
        ver, off = flags & 7, 4
        if ver == 0:
            if flags & 0x4000:
                return False
            off += 4 * (bool(flags & 0x8000) + bool(flags & 0x2000) + bool(flags & 0x1000))
        elif ver == 1 and proto == 0x880B and flags & 0x2000:
            off += 4 + 4 * (bool(flags & 0x1000) + bool(flags & 0x0080))
        else:
            self.bad("gre version")
            return True
        if off > len(b):
            self.bad("gre header")
            return True
        p = b[off:]
        if proto in (0x0800, 0x86DD):
            self.inner_ip(ts, proto, p, nbytes, vlan, depth + 1)
        elif proto == 0x6558:
            self.inner_eth(ts, p, nbytes, vlan, depth + 1)
        elif proto == 0x88BE and flags & 0x1000:
            self.inner_eth(ts, p[8:], nbytes, vlan, depth + 1)
        elif proto == 0x22EB:
            h = 12 + (8 if len(p) >= 12 and p[11] & 1 else 0)
            self.inner_eth(ts, p[h:], nbytes, vlan, depth + 1)
        elif proto == 0x880B:
            h = 2 if p[:2] == b"\xff\x03" else 0
            pp = p[h] if len(p) > h and p[h] & 1 else (struct.unpack("!H", p[h:h + 2])[0] if len(p) >= h + 2 else 0)
            h += 1 if len(p) > h and p[h] & 1 else 2
            if pp in (0x21, 0x57):
                self.inner_ip(ts, 0x0800 if pp == 0x21 else 0x86DD, p[h:], nbytes, vlan, depth + 1)
        else:
            return False
        return True

    def udp_tunnel(self, ts, sport, dport, p, nbytes, vlan, depth):
        if dport == 4789 and len(p) >= 22 and p[0] & 0x08:
            self.inner_eth(ts, p[8:], nbytes, vlan, depth + 1)
            return True
        if dport == 6081 and len(p) >= 8 and p[0] >> 6 == 0:
            h, proto = 8 + (p[0] & 0x3F) * 4, struct.unpack("!H", p[2:4])[0]
            if h <= len(p) and proto in (0x6558, 0x0800, 0x86DD):
                if proto == 0x6558:
                    self.inner_eth(ts, p[h:], nbytes, vlan, depth + 1)
                else:
                    self.inner_ip(ts, proto, p[h:], nbytes, vlan, depth + 1)
                return True
        if 3544 in (sport, dport):
            off = 8 if p[:2] == b"\0\0" and len(p) >= 8 else (4 + p[2] + p[3] + 9 if p[:2] == b"\0\1" and len(p) >= 4 else 0)
            if len(p) >= off + 40 and p[off] >> 4 == 6 and off + 40 + struct.unpack("!H", p[off + 4:off + 6])[0] == len(p):
                self.inner_ip(ts, 0x86DD, p[off:], nbytes, vlan, depth + 1)
                return True
        return False

    def ipv4(self, ts, b, nbytes, vlan, depth=0):
        if len(b) < 20 or b[0] >> 4 != 4:
            return self.bad("ipv4 header")
        ihl = (b[0] & 15) * 4
        tot = struct.unpack("!H", b[2:4])[0]
        if ihl < 20 or len(b) < ihl or tot < ihl or tot > len(b):
            return self.bad("ipv4 lengths")
        if _csum(b[:ihl]) != 0:
            self.issues["ipv4 header checksum"] += 1
        if ihl > 20 and not _options_ok(b[20:ihl]):
            self.issues["ipv4 options malformed"] += 1
        ff, proto = struct.unpack("!H", b[6:8])[0], b[9]
        src, dst = _addr(b[12:16]), _addr(b[16:20])
        payload = b[ihl:tot]
        if ff & 0x3FFF:  # MF set or offset != 0
            done = self.defrag(ts, (4, src, dst, b[4:6], proto),
                               (ff & 0x1FFF) * 8, bool(ff & 0x2000),
                               payload, nbytes, proto)
            if done is None:
                return
            proto, payload, nbytes = done
        self.l4(ts, src, dst, proto, payload, nbytes, vlan, False, depth)

    def ipv6(self, ts, b, nbytes, vlan, depth=0):
        if len(b) < 40 or b[0] >> 4 != 6:
            return self.bad("ipv6 header")
        plen, nh = struct.unpack("!HB", b[4:7])
        if plen == 0:
            self.issues["ipv6 jumbo/zero payload length"] += 1
        if 40 + plen > len(b):
            return self.bad("ipv6 payload length")
        src, dst = _addr(b[8:24]), _addr(b[24:40])
        data = b[40:40 + plen]
        while True:
            if nh in IP6_EXT or nh == 51:
                if len(data) < 8:
                    return self.bad("ipv6 ext header")
                hl = (data[1] + 2) * 4 if nh == 51 else (data[1] + 1) * 8
                if nh == 51:
                    self.issues["ipv6 AH"] += 1
                if hl > len(data):
                    return self.bad("ipv6 ext header")
                nh, data = data[0], data[hl:]
            elif nh == 44:
                if len(data) < 8:
                    return self.bad("ipv6 frag header")
                fo = struct.unpack("!H", data[2:4])[0]
                nxt, ident, data = data[0], data[4:8], data[8:]
                if fo & 0xFFF9 == 0:
                    self.issues["ipv6 atomic fragment"] += 1
                    nh = nxt
                    continue
                done = self.defrag(ts, (6, src, dst, ident), fo & 0xFFF8,
                                   bool(fo & 1), data, nbytes, nxt)
                if done is None:
                    return
                nh, data, nbytes = done
            else:
                break
        if nh == 59:
            self.issues["ipv6 no next header"] += 1
        self.l4(ts, src, dst, nh, data, nbytes, vlan, True, depth)

    def defrag(self, ts, key, off, more, data, nbytes, proto):
        """Returns (proto, payload, summed frame bytes) when complete."""
        st = self.frags.setdefault(key, {"parts": {}, "end": None,
                                         "bytes": 0, "first": ts,
                                         "proto": None})
        st["bytes"] += nbytes
        if off == 0:
            st["proto"] = proto
        for o, d in st["parts"].items():
            if o < off + len(data) and off < o + len(d):
                self.issues["fragment overlap/duplicate"] += 1
        if not more:
            if st["end"] is not None:
                self.issues["fragment overlap/duplicate"] += 1
            st["end"] = off + len(data)
        st["parts"].setdefault(off, data)
        if st["end"] is None or st["proto"] is None:
            return None
        pos, out = 0, []
        for o in sorted(st["parts"]):
            if o > pos:
                return None  # hole
            d = st["parts"][o]
            out.append(d[pos - o:])
            pos = max(pos, o + len(d))
        if pos < st["end"]:
            return None
        del self.frags[key]
        self.reassembled += 1
        if ts - st["first"] > 30 * 10**9:
            self.issues["slow fragment reassembly"] += 1
        return st["proto"], b"".join(out)[:st["end"]], st["bytes"]

    def l4(self, ts, src, dst, proto, b, nbytes, vlan, v6, depth=0):
        sport = dport = None
        flags = None
        extra = None
        if proto in (4, 41):
            return self.inner_ip(ts, 0x0800 if proto == 4 else 0x86DD, b, nbytes, vlan, depth + 1)
        if proto == 47 and self.gre(ts, b, nbytes, vlan, depth):
            return
        if proto == 6:
            if len(b) < 20 or b[12] >> 4 < 5 or (b[12] >> 4) * 4 > len(b):
                return self.bad("tcp header")
            sport, dport = struct.unpack("!HH", b[:4])
            flags = b[13]
            if b[12] >> 4 > 5 and not _tcp_options_ok(b[20:(b[12] >> 4) * 4]):
                self.issues["tcp options malformed"] += 1
        elif proto == 17:
            if len(b) < 8:
                return self.bad("udp header")
            sport, dport, ulen = struct.unpack("!HHH", b[:6])
            if ulen != len(b):
                self.issues["udp length field mismatch"] += 1
            if 8 <= ulen <= len(b) and self.udp_tunnel(ts, sport, dport, b[8:ulen], nbytes, vlan, depth):
                return
        elif proto in (1, 58):
            if len(b) < 4:
                return self.bad("icmp header")
            if len(b) < 8:
                self.issues["icmp shorter than 8 bytes"] += 1
            t, c = b[0], b[1]
            pairs = ICMP6_PAIRS if v6 else ICMP4_PAIRS
            rev = {v: k for k, v in pairs.items()}
            extra = (rev.get(t, t), c)
            if proto == 58 and not v6 or proto == 1 and v6:
                self.issues["icmp over wrong ip version"] += 1
        elif proto == 132:
            if len(b) < 12:
                return self.bad("sctp header")
            sport, dport = struct.unpack("!HH", b[:4])
        a, z = (src, sport), (dst, dport)
        if a == z:
            self.issues["same endpoint both sides"] += 1
        key = (vlan, proto, min(a, z), max(a, z), extra)
        self.account(ts, key, proto, src, dst, sport, dport, vlan, flags,
                     nbytes, (b[0], b[1]) if extra else None)

    def account(self, ts, key, proto, src, dst, sport, dport, vlan, flags,
                nbytes, icmp):
        f = self.flows.get(key)
        if f is not None:
            if ts - f.last > self.timeouts.get(f.timeout_name(), INF) * 1e9:
                self.end(f, "timeout")
                f = None
            elif (flags is not None and flags & SYN and not flags & ACK
                  and f.closed()):
                self.end(f, "forced")
                f = None
        if f is None:
            if flags is not None and flags & SYN and flags & ACK:
                f = Flow(key, proto, dst, src, dport, sport, vlan, ts)
            else:
                f = Flow(key, proto, src, dst, sport, dport, vlan, ts)
                f.est = flags is not None and not flags & SYN  # midstream
            f.icmp = icmp
            self.flows[key] = f
        if ts < f.last:
            self.issues["timestamps go backwards"] += 1
        f.last = max(f.last, ts)
        d = 0 if (src, sport) == (f.cip, f.cport) else 1
        f.pkts[d] += 1
        f.bytes[d] += nbytes
        if flags is None:
            return
        f.flags[d] |= flags
        if flags & RST:
            f.rst = True
        if flags & FIN:
            f.fin[d] = True
        if flags & SYN and flags & ACK and d == 1:
            f.syn_ack_seen = True
        elif d == 0 and flags & ACK and not flags & SYN and f.syn_ack_seen:
            f.est = True

    def end(self, f, reason):
        del self.flows[f.key]
        self.ended.append((f, reason))

    def finish(self):
        """Ends all flows; returns records ordered by start time."""
        for f in list(self.flows.values()):
            self.end(f, "shutdown")
        out = []
        for f, reason in sorted(self.ended, key=lambda x: x[0].start):
            tcp = f.proto == 6
            r = {"src_ip": f.cip, "src_port": f.cport, "dest_ip": f.sip,
                 "dest_port": f.sport,
                 "proto": PROTO_NAMES.get(f.proto, str(f.proto)),
                 "vlan": list(f.vlan) or None,
                 "pkts_toserver": f.pkts[0], "pkts_toclient": f.pkts[1],
                 "bytes_toserver": f.bytes[0], "bytes_toclient": f.bytes[1],
                 "state": f.state(), "reason": reason,
                 "tcp_flags_ts": "%02x" % f.flags[0] if tcp else None,
                 "tcp_flags_tc": "%02x" % f.flags[1] if tcp else None,
                 "start": _iso(f.start), "end": _iso(f.last)}
            if f.icmp:
                r["icmp_type"], r["icmp_code"] = f.icmp
            out.append(r)
        return out


def _iso(ts_ns):
    import datetime
    sec, ns = divmod(ts_ns, 10**9)
    d = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%06d+0000" % (ns // 1000)


def _addr(b):
    return str(ipaddress.ip_address(b))


def _csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _options_ok(opts):
    i = 0
    while i < len(opts):
        if opts[i] == 0:
            return True
        if opts[i] == 1:
            i += 1
            continue
        if (i + 1 >= len(opts) or opts[i + 1] < 2
                or i + opts[i + 1] > len(opts)):
            return False
        i += opts[i + 1]
    return True


TCP_OPT_LEN = {2: (4,), 3: (3,), 4: (2,), 8: (10,)}  # MSS, WS, SACKOK, TS


def _tcp_options_ok(opts):
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            return True
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts):
            return False
        ln = opts[i + 1]
        if ln < 2 or i + ln > len(opts):
            return False
        if ln not in TCP_OPT_LEN.get(kind, (ln,)) or \
                kind == 5 and (ln - 2) % 8:  # SACK blocks
            return False
        i += ln
    return True


def run(paths, timeouts=None):
    """Returns (records, stats dict, issues Counter); raises RefError."""
    ref = Ref(timeouts)
    for p in paths:
        for ts, link, frame in read_frames(p, ref.issues):
            ref.feed(ts, link, frame)
    recs = ref.finish()
    issues = ref.issues
    stats = {"frames": ref.frames, "bytes": ref.bytes,
             "malformed": sum(ref.malformed.values()),
             "malformed_why": dict(ref.malformed), "flows": len(recs),
             "reassembled": ref.reassembled,
             "incomplete_datagrams": len(ref.frags)}
    return recs, stats, issues


def parse_timeouts(text):
    """flow.timeouts from the test config YAML (flow or block style)."""
    m = re.search(r"timeouts:\s*\{([^}]*)\}", text)
    items = (m.group(1).split(",") if m else
             re.findall(r"^\s+(\w+:\s*\d+)\s*$", text, re.M))
    out = {}
    for it in items:
        k, _, v = it.partition(":")
        if k.strip() and v.strip().isdigit():
            out[k.strip()] = int(v)
    return out


def main():
    args = sys.argv[1:]
    timeouts = None
    if "--config" in args:
        i = args.index("--config")
        with open(args[i + 1]) as fh:
            timeouts = parse_timeouts(fh.read())
        del args[i:i + 2]
    show_issues = "--issues" in args
    args = [a for a in args if a != "--issues"]
    if not args:
        sys.exit(__doc__)
    try:
        recs, stats, issues = run(args, timeouts)
    except (RefError, OSError, struct.error) as e:
        sys.exit("refflow: %s" % e)
    if show_issues:
        print(json.dumps({"stats": stats, "issues": issues}, indent=1))
    else:
        json.dump(recs, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()
