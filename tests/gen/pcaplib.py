"""Small pcap/pcapng writers and raw (scapy-free) frame builders.

The raw builders exist for --many mode, where scapy would be far too slow.
Timestamps are integer microseconds since the epoch everywhere.
"""
import datetime
import ipaddress
import struct

LINKTYPE_ETHERNET = 1
# 2024-01-01T00:00:00Z
EPOCH_START_US = 1704067200 * 1_000_000


def iso_ts(ts_us):
    """Format like EVE: 2024-01-01T12:00:00.123456+0000."""
    sec, usec = divmod(ts_us, 1_000_000)
    d = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%06d+0000" % usec


def write_pcap(path, frames, snaplen=262144, nsec=False, endian="<", linktype=LINKTYPE_ETHERNET):
    """frames: iterable of (ts_us, bytes[, original length]). Classic pcap;
    default is little-endian with microsecond timestamps, Ethernet frames."""
    e = endian
    with open(path, "wb") as f:
        magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
        f.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for ts, data, *orig in frames:
            sec, usec = divmod(ts, 1_000_000)
            frac = usec * 1000 if nsec else usec
            f.write(struct.pack(e + "IIII", sec, frac, len(data),
                                orig[0] if orig else len(data)))
            f.write(data)


def _block(e, btype, body):
    # pcapng block: type, total length, body (padded to 4), total length
    body += b"\0" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack(e + "II", btype, total) + body + struct.pack(
        e + "I", total)


def write_pcapng(path, frames, snaplen=262144, endian="<", tsresol=9):
    """Same packets as pcapng. The default interface uses nanosecond
    resolution (if_tsresol=9) so readers must honour the option;
    tsresol=None omits the option (microseconds)."""
    e = endian
    with open(path, "wb") as f:
        f.write(_block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1,
                                                  0, -1)))
        opts = b""
        if tsresol is not None:
            opts = struct.pack(e + "HHB3x", 9, 1, tsresol) + struct.pack(
                e + "HH", 0, 0)
        f.write(_block(e, 1, struct.pack(e + "HHI", LINKTYPE_ETHERNET, 0,
                                         snaplen) + opts))
        mult = 10 ** (tsresol if tsresol is not None else 6) // 1_000_000
        for ts, data, *orig in frames:
            t = ts * mult
            f.write(_block(e, 6, struct.pack(e + "IIIII", 0, t >> 32,
                                             t & 0xFFFFFFFF, len(data),
                                             orig[0] if orig else len(data))
                           + data))


def write_pcapng_multi(path, frames):
    """Harder pcapng: two interfaces with different resolutions (ns, us)
    used alternately, comment options on packets, a name resolution block
    and interface statistics blocks."""
    e = "<"
    with open(path, "wb") as f:
        f.write(_block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1,
                                                  0, -1)))
        ns = struct.pack(e + "HHB3x", 9, 1, 9) + struct.pack(e + "HH", 0, 0)
        # same link type and snaplen on both: libpcap insists on that
        f.write(_block(e, 1, struct.pack(e + "HHI", LINKTYPE_ETHERNET, 0,
                                         262144) + ns))
        f.write(_block(e, 1, struct.pack(e + "HHI", LINKTYPE_ETHERNET, 0,
                                         262144)))
        # name resolution block: one IPv4 record, then end of records
        rec = bytes([198, 18, 1, 1]) + b"host.test\0"
        rec += b"\0" * (-len(rec) % 4)
        f.write(_block(e, 4, struct.pack(e + "HH", 1, 14) + rec
                       + struct.pack(e + "HH", 0, 0)))
        for n, (ts, data) in enumerate(frames):
            iface = n % 2
            t = ts * 1000 if iface == 0 else ts
            opts = b""
            if n % 3 == 0:
                c = b"frame %d" % n
                opts = (struct.pack(e + "HH", 1, len(c)) + c
                        + b"\0" * (-len(c) % 4) + struct.pack(e + "HH", 0, 0))
            body = struct.pack(e + "IIIII", iface, t >> 32, t & 0xFFFFFFFF,
                               len(data), len(data))
            body += data + b"\0" * (-len(data) % 4) + opts
            f.write(_block(e, 6, body))
        for iface in (0, 1):
            f.write(_block(e, 5, struct.pack(e + "III", iface, 0, 0)))


# ---------------------------------------------------------------- raw builders

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _pseudo(src, dst, proto, length):
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if a.version == 4:
        return a.packed + b.packed + struct.pack("!BBH", 0, proto, length)
    return a.packed + b.packed + struct.pack("!IxxxB", length, proto)


def l4_tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    seg = hdr + payload
    c = csum(_pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def l4_udp(src, dst, sport, dport, payload=b""):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = csum(_pseudo(src, dst, 17, len(seg)) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def l4_icmp(src, dst, itype, code, ident, seqno, payload=b"", v6=False):
    body = struct.pack("!BBHHH", itype, code, 0, ident, seqno) + payload
    pre = _pseudo(src, dst, 58, len(body)) if v6 else b""
    c = csum(pre + body)
    return body[:2] + struct.pack("!H", c) + body[4:]


def ip_packet(src, dst, proto, l4, ident=0):
    a = ipaddress.ip_address(src)
    if a.version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0,
                          64, proto, 0, a.packed,
                          ipaddress.ip_address(dst).packed)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return 0x0800, hdr + l4
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, a.packed,
                      ipaddress.ip_address(dst).packed)
    return 0x86DD, hdr + l4


def mac_for(ip):
    """Stable locally administered MAC derived from an address string."""
    h = 0
    for ch in ip:
        h = (h * 131 + ord(ch)) & 0xFFFFFFFFFF
    return b"\x02" + h.to_bytes(5, "big")


def ether(src_ip, dst_ip, ethertype, l3, vlans=None):
    out = mac_for(dst_ip) + mac_for(src_ip)
    for v in vlans or ():
        out += struct.pack("!HH", 0x8100, v)
    return out + struct.pack("!H", ethertype) + l3


def config_yaml(timeouts):
    """Config text in the format spectre-dp accepts."""
    inner = ", ".join("%s: %d" % kv for kv in timeouts.items())
    return "flow:\n  timeouts: {%s}\n" % inner
