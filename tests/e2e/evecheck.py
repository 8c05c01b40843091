#!/usr/bin/python3
"""EVE fields checked against the capture itself (issue 12 item 9):

- pcap_cnt (offline): on alert and app-layer events a real packet produced,
  never on flow events (Suricata omits it on flow-timeout pseudo packets);
  the packet with that 1-based number (counted over all -r inputs in order)
  has the event's timestamp, IP version and addresses/ports (either
  direction: a stream alert may be raised by the other side's packet).
- ip_v on every event with addresses, matching the addresses' family.
- pkt_src on alerts, one of Suricata's names; "wire/pcap" and "defrag"
  alerts carry pcap_cnt.
- IPv6 addresses as Suricata prints them: eight groups of four lowercase
  hex digits, no "::".

CLI: evecheck.py EVE.json PCAP... (exit 1 on problems).
"""
import base64
import collections
import datetime
import ipaddress
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import refflow  # noqa: E402

V6_RE = re.compile(r"^[0-9a-f]{4}(:[0-9a-f]{4}){7}$")
PKT_SRC = {"wire/pcap", "defrag", "stream (flow timeout)"}
PROTO = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP", 132: "SCTP"}


def _packet(ts, linktype, fr):
    """(ts_ns, ip_v, src, dst, sport, dport, proto) of an Ethernet frame;
    None for what is not IP. Addresses as ipaddress objects."""
    if linktype != 1 or len(fr) < 14:
        return None
    off, et = 12, struct.unpack(">H", fr[12:14])[0]
    while et in (0x8100, 0x88A8) and len(fr) >= off + 6:
        off += 4
        et = struct.unpack(">H", fr[off:off + 2])[0]
    l3 = off + 2
    if et == 0x0800 and len(fr) >= l3 + 20:
        ihl = (fr[l3] & 15) * 4
        proto = fr[l3 + 9]
        src, dst = fr[l3 + 12:l3 + 16], fr[l3 + 16:l3 + 20]
        frag = struct.unpack(">H", fr[l3 + 6:l3 + 8])[0] & 0x1FFF
        l4, v = l3 + ihl, 4
        if frag:
            l4 = None  # ports only in the first fragment
    elif et == 0x86DD and len(fr) >= l3 + 40:
        proto = fr[l3 + 6]
        src, dst = fr[l3 + 8:l3 + 24], fr[l3 + 24:l3 + 40]
        l4, v = l3 + 40, 6
    else:
        return None
    sp = dp = None
    if l4 is not None and proto in (6, 17, 132) and len(fr) >= l4 + 4:
        sp, dp = struct.unpack(">HH", fr[l4:l4 + 4])
    return (ts, v, ipaddress.ip_address(bytes(src)),
            ipaddress.ip_address(bytes(dst)), sp, dp, proto)


def ip_bytes(paths):
    """The IP packet (from the IP header, link padding trimmed) of every
    frame of the -r inputs in order; None when not IP."""
    issues, out = collections.Counter(), []
    for p in paths:
        for _, lt, fr in refflow.read_frames(p, issues):
            off, et = 12, struct.unpack(">H", fr[12:14])[0] if len(fr) >= 14 else 0
            while et in (0x8100, 0x88A8) and len(fr) >= off + 6:
                off += 4
                et = struct.unpack(">H", fr[off:off + 2])[0]
            l3 = fr[off + 2:]
            if lt != 1 or et not in (0x0800, 0x86DD) or len(l3) < 20:
                out.append(None)
            elif et == 0x0800:
                out.append(l3[:struct.unpack(">H", l3[2:4])[0]])
            else:
                out.append(l3[:40 + struct.unpack(">H", l3[4:6])[0]])
    return out


def payload_problems(events, paths):
    """eve.alert payload/packet on: `packet` is the base64 IP packet of
    the pcap_cnt frame (packet_info.linktype 101); packet-mode (UDP)
    alerts' `payload` is that packet's UDP payload. Returns (problems,
    alerts with packet, alerts with payload)."""
    ips = ip_bytes(paths)
    probs, npk, npl = [], 0, 0
    for e in events:
        if e.get("event_type") != "alert" or "pcap_cnt" not in e:
            continue
        where = "sid %s pcap_cnt %d" % (e["alert"]["signature_id"],
                                        e["pcap_cnt"])
        ip = ips[e["pcap_cnt"] - 1]
        if "packet" in e:
            npk += 1
            got = base64.b64decode(e["packet"])
            if got != ip[:1536]:
                probs.append("%s: packet %r, capture %r" % (
                    where, got[:40], ip[:40]))
            if e.get("packet_info") != {"linktype": 101}:
                probs.append("%s: packet_info %r" % (where,
                                                      e.get("packet_info")))
        if "payload" in e:
            npl += 1
            got = base64.b64decode(e["payload"])
            if e.get("proto") == "UDP" and e.get("stream") == 0:
                ihl = (ip[0] & 15) * 4 if ip[0] >> 4 == 4 else 40
                if got != ip[ihl + 8:][:1024]:
                    probs.append("%s: payload %r, UDP payload %r" % (
                        where, got[:40], ip[ihl + 8:][:40]))
    return probs, npk, npl


def capture_packets(paths):
    """Packets of the -r inputs in reading order; index pcap_cnt - 1."""
    issues = collections.Counter()
    out = []
    for p in paths:
        for ts, lt, fr in refflow.read_frames(p, issues):
            out.append(_packet(ts, lt, fr))
    return out


def _ts_ns(s):
    d = datetime.datetime.strptime(s[:26], "%Y-%m-%dT%H:%M:%S.%f")
    d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


def _addr_problems(e):
    probs = []
    for k in ("src_ip", "dest_ip"):
        a = e.get(k)
        if a is None:
            continue
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            probs.append("%s %r not an address" % (k, a))
            continue
        if ip.version == 6 and not V6_RE.match(a):
            probs.append("%s %r not in Suricata's form (%s)" % (
                k, a, ip.exploded))
        if e.get("ip_v") != ip.version:
            probs.append("ip_v %r but %s is IPv%d" % (e.get("ip_v"), k,
                                                      ip.version))
    return probs


def _cnt_problems(e, pkts):
    n = e["pcap_cnt"]
    if not isinstance(n, int) or not 1 <= n <= len(pkts):
        return ["pcap_cnt %r outside 1..%d" % (n, len(pkts))]
    p = pkts[n - 1]
    if p is None:
        return ["pcap_cnt %d is not an IP packet" % n]
    ts, v, src, dst, sp, dp, proto = p
    probs = []
    if _ts_ns(e["timestamp"]) != ts // 1000 * 1000:
        probs.append("pcap_cnt %d: packet time %d ns, event %s" % (
            n, ts, e["timestamp"]))
    if e.get("ip_v") != v:
        probs.append("pcap_cnt %d: packet is IPv%d, ip_v %r" % (
            n, v, e.get("ip_v")))
    got = (ipaddress.ip_address(e["src_ip"]), e.get("src_port"),
           ipaddress.ip_address(e["dest_ip"]), e.get("dest_port"))
    if got not in ((src, sp, dst, dp), (dst, dp, src, sp)):
        probs.append("pcap_cnt %d: packet %s:%s -> %s:%s, event %s:%s -> "
                     "%s:%s" % ((n, src, sp, dst, dp) + got))
    if e.get("proto") != PROTO.get(proto, e.get("proto")):
        probs.append("pcap_cnt %d: packet proto %d, event %r" % (
            n, proto, e.get("proto")))
    return probs


def problems(events, pcaps, offline=True):
    """Contract problems of EVE `events` from a run over `pcaps`."""
    pkts = capture_packets(pcaps) if offline else []
    probs, seen = [], collections.Counter()
    for i, e in enumerate(events):
        t = e.get("event_type")
        if t in (None, "stats") or "src_ip" not in e:
            continue
        where = "event #%d (%s %s)" % (i, t, e.get("flow_id"))
        errs = _addr_problems(e)
        if t == "flow" and "pcap_cnt" in e:
            errs.append("flow event has pcap_cnt")
        if t == "alert":
            src = e.get("pkt_src")
            if src not in PKT_SRC:
                errs.append("pkt_src %r" % src)
            elif src != "stream (flow timeout)" and offline and \
                    "pcap_cnt" not in e:
                errs.append("pkt_src %r without pcap_cnt" % src)
        if "pcap_cnt" in e:
            seen[t] += 1
            if not offline:
                errs.append("pcap_cnt in live mode")
            else:
                errs += _cnt_problems(e, pkts)
        probs += ["%s: %s" % (where, x) for x in errs]
    return probs


def main():
    sys.path.insert(0, HERE)
    import flowcheck
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    probs = problems(flowcheck.parse_eve(sys.argv[1]), sys.argv[2:])
    for p in probs[:50]:
        print(p)
    print("%d problems" % len(probs))
    sys.exit(1 if probs else 0)


if __name__ == "__main__":
    main()
