"""Scenario-building framework for gen_traffic.py: expected-flow
bookkeeping (Flow), frames (Step), the interleaving emitter (Gen) and a
TCP conversation builder with consistent seq/ack numbers (TcpConn)."""
import random

import pcaplib
from pcaplib import iso_ts

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80
PROTO_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP"}


class Flow:
    """Expected flow; c* = initiator (client), s* = responder (server)."""

    def __init__(self, proto, cip, sip, cport=None, sport=None, vlan=None,
                 state="established", reason="shutdown", tcp_state=None,
                 note=""):
        self.proto, self.cip, self.sip = proto, cip, sip
        self.cport, self.sport, self.vlan = cport, sport, vlan
        self.state, self.reason, self.tcp_state = state, reason, tcp_state
        self.note = note
        self.pkts = {"ts": 0, "tc": 0}
        self.bytes = {"ts": 0, "tc": 0}
        self.flags = {"ts": 0, "tc": 0}
        self.start = self.end = None  # first/last counted packet
        self.icmp = None  # (type, code) of the first packet
        self.check_icmp = True  # False: contract leaves icmp_type open

    def ends(self, d):
        if d == "ts":
            return self.cip, self.sip, self.cport, self.sport
        return self.sip, self.cip, self.sport, self.cport

    def record(self):
        tcp = self.proto == 6
        r = {"src_ip": self.cip, "src_port": self.cport, "dest_ip": self.sip,
             "dest_port": self.sport,
             "proto": PROTO_NAMES.get(self.proto, str(self.proto)),
             "vlan": self.vlan,
             "pkts_toserver": self.pkts["ts"],
             "pkts_toclient": self.pkts["tc"],
             "bytes_toserver": self.bytes["ts"],
             "bytes_toclient": self.bytes["tc"],
             "state": self.state, "reason": self.reason,
             "tcp_flags_ts": "%02x" % self.flags["ts"] if tcp else None,
             "tcp_flags_tc": "%02x" % self.flags["tc"] if tcp else None,
             "start": iso_ts(self.start), "end": iso_ts(self.end)}
        if tcp:
            r["tcp_flags"] = "%02x" % (self.flags["ts"] | self.flags["tc"])
            r["tcp_state"] = self.tcp_state
        if self.icmp and self.check_icmp:
            r["icmp_type"], r["icmp_code"] = self.icmp
        if self.note:
            r["note"] = self.note
        return r


class Step:
    """One frame. count=False: bytes go to the flow but not a packet
    (all but the completing fragment of a datagram)."""
    __slots__ = ("raw", "flow", "d", "flags", "count", "icmp", "wirelen")

    def __init__(self, raw, flow, d, flags=None, count=True, icmp=None,
                 wirelen=None):
        self.raw, self.flow, self.d = raw, flow, d
        self.flags, self.count, self.icmp = flags, count, icmp
        self.wirelen = wirelen  # original length when the capture cut it


class Gen:
    def __init__(self, seed):
        from scapy.layers import inet, inet6, l2, dns  # slow import, lazily
        self.S = {"inet": inet, "inet6": inet6, "l2": l2, "dns": dns}
        self.rng = random.Random(seed)
        self.flows = []
        self.frames = []
        self.ipid = 0x100
        self.nonflow = 0  # frames that belong to no flow

    def next_ipid(self):
        self.ipid += 1
        return self.ipid

    def flow(self, *a, **kw):
        f = Flow(*a, **kw)
        self.flows.append(f)
        return f

    # ------------------------------------------------------------ framing
    def l3(self, src, dst, l4, ipopts=None, **ipkw):
        if ":" in src:
            return self.S["inet6"].IPv6(src=src, dst=dst, **ipkw) / l4
        return self.S["inet"].IP(src=src, dst=dst, id=self.next_ipid(),
                                 options=ipopts or [], **ipkw) / l4

    def l2(self, src, dst, l3, vlan=None, qinq_ad=True, pad=False, tci=0):
        """tci: PCP/DEI bits OR-ed into every tag (not part of the id)."""
        L2 = self.S["l2"]
        eth = L2.Ether(src=pcaplib.mac_for(src).hex(":"),
                       dst=pcaplib.mac_for(dst).hex(":"))
        if vlan and len(vlan) == 2 and qinq_ad:  # 802.1ad outer tag
            eth = (eth / L2.Dot1AD(vlan=vlan[0], prio=tci >> 13,
                                   id=(tci >> 12) & 1)
                   / L2.Dot1Q(vlan=vlan[1], prio=tci >> 13,
                              id=(tci >> 12) & 1))
        elif vlan:
            for v in vlan:
                eth = eth / L2.Dot1Q(vlan=v, prio=tci >> 13,
                                     id=(tci >> 12) & 1)
        raw = bytes(eth / l3)
        if pad and len(raw) < 60:  # Ethernet minimum-size padding
            raw += b"\0" * (60 - len(raw))
        return raw

    def frame(self, src, dst, l4, vlan=None, ipopts=None, pad=False,
              qinq_ad=True, tci=0):
        return self.l2(src, dst, self.l3(src, dst, l4, ipopts), vlan,
                       qinq_ad, pad, tci)

    # ---------------------------------------------------------- emitting
    def emit(self, t, step):
        self.frames.append((t, step.raw, step.wirelen or len(step.raw)))
        f = step.flow
        if f is None:
            self.nonflow += 1
            return
        f.bytes[step.d] += len(step.raw)
        if step.count:
            if f.start is None:
                f.start = t
                f.icmp = step.icmp
            f.pkts[step.d] += 1
            f.end = t
        if step.flags is not None:
            f.flags[step.d] |= step.flags

    def merge(self, sessions, t):
        """Interleave sessions (each keeps its order); returns end time."""
        pos = [0] * len(sessions)
        live = [i for i, s in enumerate(sessions) if s]
        while live:
            i = self.rng.choice(live)
            self.emit(t, sessions[i][pos[i]])
            pos[i] += 1
            if pos[i] == len(sessions[i]):
                live.remove(i)
            t += self.rng.randint(200, 20000)
        return t

    # ------------------------------------------------------- L4 helpers
    def udp(self, sess, f, d, payload, **kw):
        src, dst, sp, dp = f.ends(d)
        l4 = self.S["inet"].UDP(sport=sp, dport=dp) / payload
        sess.append(Step(self.frame(src, dst, l4, vlan=f.vlan, **kw), f, d))

    def frag_steps(self, f, d, l4, fragsize, order=None, flags=None,
                   hbh=False):
        """Steps for one IP datagram carrying l4, fragmented; the last
        emitted fragment completes it and counts as the flow's packet.
        hbh: IPv6 hop-by-hop header in the unfragmentable part."""
        inet, inet6 = self.S["inet"], self.S["inet6"]
        src, dst, _, _ = f.ends(d)
        if ":" in src:
            pkt = inet6.IPv6(src=src, dst=dst)
            if hbh:
                pkt = pkt / inet6.IPv6ExtHdrHopByHop()
            pkt = pkt / inet6.IPv6ExtHdrFragment(id=self.next_ipid()) / l4
            frags = inet6.fragment6(pkt, fragsize)
        else:
            pkt = inet.IP(src=src, dst=dst, id=self.next_ipid()) / l4
            frags = inet.fragment(pkt, fragsize=fragsize)
        order = list(range(len(frags))) if order is None else order
        assert sorted(order) == list(range(len(frags))), len(frags)
        return [Step(self.l2(src, dst, frags[idx], f.vlan),
                     f if f.proto else None, d, flags,
                     count=k == len(order) - 1)
                for k, idx in enumerate(order)]

    def udp_frag(self, sess, f, d, size, order, fragsize=1000, **kw):
        """UDP datagram of `size` payload bytes, fragments in `order`."""
        _, _, sp, dp = f.ends(d)
        l4 = self.S["inet"].UDP(sport=sp, dport=dp) / self.rng.randbytes(size)
        sess.extend(self.frag_steps(f, d, l4, fragsize, order, **kw))

    def icmp(self, sess, f, d, itype, code=0, ident=0, seq=0, payload=b"",
             **kw):
        src, dst, _, _ = f.ends(d)
        if ":" in src:
            i6 = self.S["inet6"]
            cls = {128: i6.ICMPv6EchoRequest, 129: i6.ICMPv6EchoReply}[itype]
            l4 = cls(id=ident, seq=seq, data=payload)
        else:
            l4 = self.S["inet"].ICMP(type=itype, code=code, id=ident,
                                     seq=seq, **kw) / payload
        sess.append(Step(self.frame(src, dst, l4, vlan=f.vlan), f, d,
                         icmp=(itype, code)))


class TcpConn:
    """Builds a TCP conversation with consistent seq/ack numbers."""

    def __init__(self, g, sess, flow, opts=True, ipopts=None, pad=False,
                 qinq_ad=True):
        self.g, self.sess, self.f = g, sess, flow
        self.opts, self.ipopts, self.pad = opts, ipopts, pad
        self.qinq_ad = qinq_ad  # outer tag 0x88a8 (else 0x8100 twice)
        self.seq = {"ts": g.rng.randrange(1 << 32),
                    "tc": g.rng.randrange(1 << 32)}
        self.tsval = g.rng.randrange(1 << 30)

    def send(self, d, flags, payload=b"", options=None, fragsize=None,
             **tcpkw):
        other = "tc" if d == "ts" else "ts"
        src, dst, sp, dp = self.f.ends(d)
        self.tsval += 7
        if options is None:
            options = ([("NOP", None), ("NOP", None),
                        ("Timestamp", (self.tsval, self.tsval - 3))]
                       if self.opts else [])
        tcp = self.g.S["inet"].TCP(
            sport=sp, dport=dp, seq=self.seq[d] & 0xFFFFFFFF,
            ack=self.seq[other] & 0xFFFFFFFF if flags & ACK else 0,
            flags=flags, window=64240, options=options, **tcpkw)
        self.seq[d] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        if fragsize:  # IP-fragmented segment
            self.sess.extend(self.g.frag_steps(self.f, d, tcp / payload,
                                               fragsize, flags=flags))
            return
        raw = self.g.frame(src, dst, tcp / payload, vlan=self.f.vlan,
                           ipopts=self.ipopts, pad=self.pad,
                           qinq_ad=self.qinq_ad)
        self.sess.append(Step(raw, self.f, d, flags))

    def syn_opts(self):
        if not self.opts:
            return []
        return [("MSS", 1460), ("SAckOK", b""),
                ("Timestamp", (self.tsval, 0)), ("NOP", None),
                ("WScale", 7)]

    def handshake(self, ecn=False):
        self.send("ts", SYN | (ECE | CWR if ecn else 0),
                  options=self.syn_opts())
        self.send("tc", SYN | ACK | (ECE if ecn else 0),
                  options=self.syn_opts())
        self.send("ts", ACK)

    def data(self, d, n, ack_it=True):
        self.send(d, PSH | ACK, self.g.rng.randbytes(n))
        if ack_it:
            self.send("tc" if d == "ts" else "ts", ACK)

    def exchange(self, rounds, req=(20, 300), resp=(100, 1400)):
        for _ in range(rounds):
            self.data("ts", self.g.rng.randint(*req), ack_it=False)
            self.data("tc", self.g.rng.randint(*resp))

    def fin_close(self, d="ts"):
        o = "tc" if d == "ts" else "ts"
        self.send(d, FIN | ACK)
        self.send(o, ACK)
        self.send(o, FIN | ACK)
        self.send(d, ACK)
