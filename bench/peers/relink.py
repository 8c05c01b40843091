#!/usr/bin/python3
"""Re-frames a capture in Ethernet for Snort 3, whose core decodes only Ethernet, raw IP and PPPoE link types.

  relink.py IN OUT        writes OUT (classic pcap, nanoseconds) when IN needs it; prints what it did

Snort 3.11 registers root codecs for DLT_EN10MB, DLT_PPP_ETHER, DLT_RAW, DLT_IPV4 and DLT_IPV6 only
(src/codecs/root/cd_eth.cc, cd_raw.cc, src/codecs/ip/cd_ipv4.cc, cd_ipv6.cc); for any other link type
CodecManager::thread_init prints "No codec found for data link type N" and every packet stays undecoded:
no rule can fire. The Linux cooked (SLL), BSD loopback (NULL/LOOP), PPP and Cisco HDLC codecs are in
snort3_extra, not in the peer. Each packet keeps its place (packet numbers stay comparable): the link header
is replaced by an Ethernet header whose EtherType is the packet's network protocol; a packet whose protocol
cannot be told keeps its bytes behind the local experimental EtherType 0x88b5, which neither engine decodes.
"""
import struct
import sys

SNORT_LINKTYPES = {1, 12, 14, 51, 101, 228, 229}  # EN10MB, RAW (12/14/101), PPP_ETHER, IPV4, IPV6
UNKNOWN_ETHERTYPE = 0x88B5
ETHERNET = -1  # network_layer's answer for a frame that is already Ethernet
ETH_HEADER = bytes.fromhex("000000000002" "000000000001")
AF_INET6 = {10, 23, 24, 28, 30}  # Linux, Windows, BSDs, FreeBSD, Darwin
PPP_PROTOS = {0x0021: 0x0800, 0x0057: 0x86DD}


def by_version(data):
    if data and data[0] >> 4 == 4:
        return 0x0800, data
    if data and data[0] >> 4 == 6:
        return 0x86DD, data
    return None, data


def null_loop(data, big_endian):
    if len(data) < 4:
        return None, data
    af = struct.unpack(">I" if big_endian else "<I", data[:4])[0]
    if not big_endian and af > 0xFFFF:  # DLT_NULL is host order: a big-endian writer
        af = struct.unpack(">I", data[:4])[0]
    return {2: 0x0800}.get(af, 0x86DD if af in AF_INET6 else None), data[4:]


def ppp(data):
    if data[:1] in (b"\x0f", b"\x8f") and data[1:2] == b"\x00":  # Cisco HDLC written as PPP
        return c_hdlc(data)
    if data[:2] == b"\xff\x03":
        data = data[2:]
    if len(data) < 2:
        return None, data
    return PPP_PROTOS.get(struct.unpack(">H", data[:2])[0]), data[2:]


def c_hdlc(data):
    if len(data) < 4:
        return None, data
    proto = struct.unpack(">H", data[2:4])[0]
    return (proto if proto >= 0x0600 else None), data[4:]


def network_layer(linktype, data):
    """(EtherType or None, bytes after the link header) of one packet."""
    if linktype in (0, 108):                                  # NULL, LOOP
        return null_loop(data, linktype == 108)
    if linktype == 113 and len(data) >= 16:                   # LINUX_SLL
        proto = struct.unpack(">H", data[14:16])[0]
        return (proto if proto >= 0x0600 else None), data[16:]
    if linktype == 276 and len(data) >= 20:                   # LINUX_SLL2
        proto = struct.unpack(">H", data[0:2])[0]
        return (proto if proto >= 0x0600 else None), data[20:]
    if linktype in (9, 50):                                   # PPP, PPP_HDLC
        return ppp(data)
    if linktype == 104:                                       # C_HDLC: address, control, EtherType
        return c_hdlc(data)
    if linktype == 1:                                         # Ethernet (inside PPI): kept whole
        return ETHERNET, data
    if linktype == 192 and len(data) >= 8:                    # PPI: a header, then another link type
        hlen, inner = struct.unpack("<HI", data[2:8])
        return network_layer(inner, data[hlen:]) if inner != 192 else (None, data)
    if linktype in (12, 14, 101, 228, 229):
        return by_version(data)
    return None, data


def read_pcap(f, head):
    """Yields (linktype, seconds, nanoseconds, original length, bytes) of a classic pcap."""
    magic = head[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    rest = f.read(20)
    linktype = struct.unpack(endian + "I", rest[16:20])[0] & 0x0FFFFFFF
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            return
        sec, frac, incl, orig = struct.unpack(endian + "IIII", rec)
        yield linktype, sec, frac if nano else frac * 1000, orig, f.read(incl)


def idb_resolution(body, endian):
    """Units per second of an Interface Description Block (option if_tsresol, default microseconds)."""
    off = 8
    while off + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, off)
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = body[off + 4]
            return 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
        off += 4 + (length + 3) // 4 * 4
    return 10 ** 6


def read_pcapng(f, head):
    """Yields (linktype, seconds, nanoseconds, original length, bytes) of a pcapng file."""
    data = head + f.read()
    off, endian, ifaces = 0, "<", []
    while off + 12 <= len(data):
        btype = struct.unpack_from("<I", data, off)[0]
        if btype == 0x0A0D0D0A:
            endian = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack_from(endian + "I", data, off + 4)[0]
        if blen < 12:
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            ifaces.append((struct.unpack_from(endian + "H", body, 0)[0], idb_resolution(body, endian)))
        elif btype == 6 and ifaces:
            iface, hi, lo, incl, orig = struct.unpack_from(endian + "IIIII", body, 0)
            linktype, res = ifaces[iface]
            ts = (hi << 32) | lo
            yield linktype, ts // res, (ts % res) * 10 ** 9 // res, orig, body[20:20 + incl]
        elif btype == 3 and ifaces:
            orig = struct.unpack_from(endian + "I", body, 0)[0]
            yield ifaces[0][0], 0, 0, orig, body[4:4 + orig]
        off += blen


def packets(path):
    f = open(path, "rb")
    head = f.read(4)
    if head == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(f, head)
    if head in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        return read_pcap(f, head)
    raise ValueError("%s: not a pcap or pcapng file" % path)


def linktypes(path):
    """The link types of a capture (those of its interfaces that carry packets)."""
    return {p[0] for p in packets(path)}


def needs_relink(path):
    return not linktypes(path) <= SNORT_LINKTYPES


def relink(src, dst):
    """Writes src re-framed in Ethernet to dst; returns (packets, packets whose protocol was not known)."""
    n = unknown = 0
    with open(dst, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        for linktype, sec, nsec, orig, data in packets(src):
            etype, rest = (ETHERNET, data) if linktype == 1 else network_layer(linktype, data)
            if etype == ETHERNET:
                frame = rest
            else:
                if etype is None:
                    unknown += 1
                    etype, rest = UNKNOWN_ETHERTYPE, data
                frame = ETH_HEADER + struct.pack(">H", etype) + rest
            out.write(struct.pack("<IIII", sec, nsec, len(frame), max(orig + len(frame) - len(data), len(frame))))
            out.write(frame)
            n += 1
    return n, unknown


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kinds = sorted(linktypes(sys.argv[1]))
    if not needs_relink(sys.argv[1]):
        print("%s: link types %s, Snort decodes them: not rewritten" % (sys.argv[1], kinds))
        sys.exit(0)
    total, unknown = relink(sys.argv[1], sys.argv[2])
    print("%s: link types %s: %d packets re-framed in Ethernet (%d of unknown protocol)" % (
        sys.argv[1], kinds, total, unknown))
