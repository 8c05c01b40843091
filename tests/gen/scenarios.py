"""The traffic scenarios of gen_traffic.py. Each session is a list of
Steps (frames) that keeps its order while sessions are interleaved; the
expected state/reason of each flow is declared where it is built."""
from genlib import ACK, FIN, PSH, RST, SYN, Flow, Step, TcpConn
import pcaplib

# All large except udp, so the only timeouts are the deliberate UDP ones.
TIMEOUTS = {"tcp_new": 3600, "tcp_established": 3600, "tcp_closing": 3600,
            "tcp_closed": 3600, "udp": 300, "icmp": 3600, "other": 3600}
IDLE_GAP_US = 400 * 1_000_000


def v4(a, b):
    return "198.18.%d.%d" % (a, b)


def v6(n):
    return "2001:db8::%x" % n


def build_scenarios(g):
    """Returns {"p0": [(offset_us, Step)], "main": [session],
    "tail": [Step]}; gen_traffic.scenario() explains the phases."""
    inet, L2, dns = g.S["inet"], g.S["l2"], g.S["dns"]
    main = []

    def new_sess():
        s = []
        main.append(s)
        return s

    # Full handshake, data both ways, FIN close.
    for i in range(3):
        s = new_sess()
        f = g.flow(6, v4(1, 1), v4(2, i + 1), 40000 + i, 80, state="closed",
                   tcp_state="closed", note="tcp fin close %d" % i)
        c = TcpConn(g, s, f)
        c.handshake()
        c.exchange(2 + i)
        if i == 1:  # malformed doff<5 segment on a live flow: not counted
            src, dst, sp, dp = f.ends("ts")
            bad = inet.TCP(sport=sp, dport=dp, flags=ACK, dataofs=4)
            s.append(Step(g.frame(src, dst, bad), None, "ts"))
        c.fin_close("tc" if i == 2 else "ts")
    # RST close.
    s = new_sess()
    f = g.flow(6, v4(1, 2), v4(2, 10), 40100, 443, state="closed",
               tcp_state="closed", note="tcp rst close")
    c = TcpConn(g, s, f)
    c.handshake()
    c.exchange(1)
    c.send("ts", RST | ACK)
    # Midstream pickup: no SYN at all.
    s = new_sess()
    f = g.flow(6, v4(1, 3), v4(2, 11), 40200, 8080, state="established",
               tcp_state="established", note="tcp midstream")
    c = TcpConn(g, s, f, opts=False)
    c.exchange(3)
    # Half-open: SYN plus one retransmission, no answer.
    s = new_sess()
    f = g.flow(6, v4(1, 4), v4(2, 12), 40300, 22, state="new",
               tcp_state="syn_sent", note="tcp half-open syn only")
    c = TcpConn(g, s, f)
    c.send("ts", SYN, options=c.syn_opts())
    c.seq["ts"] -= 1  # retransmission reuses the ISN
    c.send("ts", SYN, options=c.syn_opts())
    # SYN, SYN+ACK and no final ACK; SYN answered by RST (port closed).
    s = new_sess()
    f = g.flow(6, v4(1, 4), v4(2, 12), 40301, 22, state="new",
               tcp_state="syn_recv", note="tcp no final ack")
    c = TcpConn(g, s, f)
    c.send("ts", SYN, options=c.syn_opts())
    c.send("tc", SYN | ACK, options=c.syn_opts())
    s = new_sess()
    f = g.flow(6, v4(1, 4), v4(2, 12), 40302, 23, state="closed",
               tcp_state="closed", note="tcp syn refused by rst")
    c = TcpConn(g, s, f)
    c.send("ts", SYN, options=c.syn_opts())
    c.send("tc", RST | ACK)
    # Started by SYN+ACK: initiator is the SYN+ACK's receiver.
    s = new_sess()
    f = g.flow(6, v4(1, 5), v4(2, 13), 40400, 25, state="established",
               tcp_state="established", note="tcp starts with syn+ack")
    c = TcpConn(g, s, f)
    c.send("tc", SYN | ACK, options=c.syn_opts())
    c.send("ts", ACK)
    c.exchange(2)
    # Half-closed (FIN from client only): not closed.
    s = new_sess()
    f = g.flow(6, v4(1, 6), v4(2, 14), 40500, 80, state="established",
               tcp_state="fin_wait1", note="tcp fin one side")
    c = TcpConn(g, s, f)
    c.handshake()
    c.exchange(1)
    c.send("ts", FIN | ACK)
    c.send("tc", ACK)
    # ECN handshake, left open; also no TCP options and padded frames.
    s = new_sess()
    f = g.flow(6, v4(1, 7), v4(2, 15), 40600, 5000, state="established",
               tcp_state="established", note="tcp ecn, padded, open")
    c = TcpConn(g, s, f, opts=False, pad=True)
    c.handshake(ecn=True)
    c.exchange(2, req=(1, 4), resp=(2, 5))
    # Port reuse: FIN-closed then SYN again; RST-closed then SYN again.
    for cp, how in ((41000, "fin"), (41001, "rst")):
        s = new_sess()
        f1 = g.flow(6, v4(1, 8), v4(2, 16), cp, 80, state="closed",
                    reason="forced", tcp_state="closed",
                    note="tcp reuse #1 (%s)" % how)
        c = TcpConn(g, s, f1)
        c.handshake()
        c.exchange(1)
        if how == "fin":
            c.fin_close()
        else:
            c.send("tc", RST)
        f2 = g.flow(6, v4(1, 8), v4(2, 16), cp, 80, state="closed",
                    tcp_state="closed", note="tcp reuse #2 (%s)" % how)
        c = TcpConn(g, s, f2)
        c.handshake()
        c.exchange(1)
        c.fin_close()
    # IPv4 options on every packet of a TCP session.
    s = new_sess()
    f = g.flow(6, v4(1, 9), v4(2, 17), 40700, 80, state="closed",
               tcp_state="closed", note="tcp with ip options")
    opts = [inet.IPOption_Router_Alert(), inet.IPOption_NOP(),
            inet.IPOption_NOP(), inet.IPOption_NOP(), inet.IPOption_NOP()]
    c = TcpConn(g, s, f, ipopts=opts)
    c.handshake()
    c.exchange(2)
    c.fin_close()
    # IPv6 TCP.
    s = new_sess()
    f = g.flow(6, v6(0x101), v6(0x201), 40800, 443, state="closed",
               tcp_state="closed", note="ipv6 tcp")
    c = TcpConn(g, s, f)
    c.handshake()
    c.exchange(3)
    c.fin_close()
    # VLAN TCP, and QinQ TCP with two 0x8100 tags.
    for vl, ad, port in (([100], True, 40900), ([201, 301], False, 40901)):
        s = new_sess()
        f = g.flow(6, v4(1, 10), v4(2, 18), port, 80, vlan=vl,
                   state="closed", tcp_state="closed",
                   note="tcp vlan %s" % vl)
        c = TcpConn(g, s, f, qinq_ad=ad)
        c.handshake()
        c.exchange(2)
        c.fin_close()

    # UDP both ways, one-way, DNS-like.
    s = new_sess()
    f = g.flow(17, v4(1, 20), v4(2, 20), 50000, 7000, note="udp bidir")
    for _ in range(4):
        g.udp(s, f, "ts", g.rng.randbytes(g.rng.randint(10, 500)))
        g.udp(s, f, "tc", g.rng.randbytes(g.rng.randint(10, 500)))
    s = new_sess()
    f = g.flow(17, v4(1, 21), v4(2, 21), 50001, 514, state="new",
               note="udp one-way")
    for _ in range(3):
        g.udp(s, f, "ts", b"<13>syslog line %d" % g.rng.randint(0, 99))
    s = new_sess()
    f = g.flow(17, v4(1, 22), v4(2, 22), 53535, 53, note="dns")
    q = dns.DNS(id=0x1234, rd=1, qd=dns.DNSQR(qname="example.test"))
    g.udp(s, f, "ts", q)
    r = dns.DNS(id=0x1234, qr=1, rd=1, ra=1,
                qd=dns.DNSQR(qname="example.test"),
                an=dns.DNSRR(rrname="example.test", rdata="198.18.9.9"))
    g.udp(s, f, "tc", r)
    # UDP with IPv4 options, padded small frames.
    s = new_sess()
    f = g.flow(17, v4(1, 23), v4(2, 23), 50002, 6000, note="udp ip options")
    for _ in range(2):
        g.udp(s, f, "ts", b"hi", ipopts=[inet.IPOption_Router_Alert()],
              pad=True)
        g.udp(s, f, "tc", b"ho", pad=True)
    # IPv6 UDP.
    s = new_sess()
    f = g.flow(17, v6(0x102), v6(0x202), 50003, 4500, note="ipv6 udp")
    for _ in range(3):
        g.udp(s, f, "ts", g.rng.randbytes(100))
        g.udp(s, f, "tc", g.rng.randbytes(200))
    # Same 5-tuple untagged, on VLAN 10, on VLAN 20, and QinQ 200/300.
    for vl in (None, [10], [20], [200, 300]):
        s = new_sess()
        f = g.flow(17, v4(1, 24), v4(2, 24), 50004, 9000, vlan=vl,
                   note="udp same tuple vlan %s" % vl)
        for _ in range(2):
            g.udp(s, f, "ts", g.rng.randbytes(50))
            g.udp(s, f, "tc", g.rng.randbytes(60))

    # Fragmented IPv4 UDP: normal packet, in-order 4-frag datagram,
    # out-of-order reply datagram, then a normal reply.
    s = new_sess()
    f = g.flow(17, v4(1, 30), v4(2, 30), 50010, 2049, note="udp frag v4")
    g.udp(s, f, "ts", b"x" * 40)
    g.udp_frag(s, f, "ts", 3500, [0, 1, 2, 3])
    g.udp_frag(s, f, "tc", 3000, [2, 0, 3, 1])
    g.udp(s, f, "tc", b"y" * 40)
    # Flow whose first packet is a datagram sent last-fragment-first.
    s = new_sess()
    f = g.flow(17, v4(1, 31), v4(2, 31), 50011, 2050, state="new",
               note="udp frag v4 reversed first")
    g.udp_frag(s, f, "ts", 2500, [2, 1, 0])
    # Fragmented IPv6 UDP, reversed, plus a reply.
    s = new_sess()
    f = g.flow(17, v6(0x103), v6(0x203), 50012, 2051, note="udp frag v6")
    g.udp_frag(s, f, "ts", 3000, [2, 1, 0], fragsize=1280)
    g.udp(s, f, "tc", b"ok")
    # Never-completed datagrams (middle fragment missing): no flow at all.
    for src, dst in ((v4(66, 1), v4(66, 2)), (v6(0x6601), v6(0x6602))):
        s = new_sess()
        ghost = Flow(None, src, dst, 50013, 2052)  # not registered
        sub = []
        g.udp_frag(sub, ghost, "ts", 2500, [0, 1, 2], fragsize=1000 if
                   ":" not in src else 1200)
        s.extend([sub[0], sub[2]])

    # ICMP echo (3 pairs), ICMPv6 echo, timestamp 13/14, unreachable.
    s = new_sess()
    f = g.flow(1, v4(1, 40), v4(2, 40), note="icmp echo")
    for q in range(3):
        g.icmp(s, f, "ts", 8, ident=77, seq=q, payload=b"p" * 56)
        g.icmp(s, f, "tc", 0, ident=77, seq=q, payload=b"p" * 56)
    s = new_sess()
    f = g.flow(58, v6(0x104), v6(0x204), note="icmpv6 echo")
    for q in range(2):
        g.icmp(s, f, "ts", 128, ident=78, seq=q, payload=b"q" * 32)
        g.icmp(s, f, "tc", 129, ident=78, seq=q, payload=b"q" * 32)
    s = new_sess()
    f = g.flow(1, v4(1, 41), v4(2, 41), note="icmp timestamp")
    fixed = {"ts_ori": 1000, "ts_rx": 1000, "ts_tx": 1000}  # not clock
    g.icmp(s, f, "ts", 13, **fixed)
    g.icmp(s, f, "tc", 14, **fixed)
    s = new_sess()
    f = g.flow(1, v4(2, 42), v4(1, 42), state="new", note="icmp unreachable")
    inner = bytes(inet.IP(src=v4(1, 42), dst=v4(2, 42))
                  / inet.UDP(sport=33434, dport=33434))[:28]
    g.icmp(s, f, "ts", 3, code=3, payload=inner)

    # Tunnels: the inner packet is the flow (Suricata's tunnel pseudo-packets);
    # bytes are the whole frames. GRE both ways, IP-in-IP, 6in4.
    s = new_sess()
    f = g.flow(17, v4(77, 1), v4(77, 2), 1111, 2222, note="udp in gre")
    for d in ("ts", "tc", "ts"):
        src, dst, sp, dp = f.ends(d)
        inner = inet.IP(src=src, dst=dst) / inet.UDP(sport=sp, dport=dp) / b"inner"
        osrc, odst = (v4(1, 50), v4(2, 50)) if d == "ts" else (v4(2, 50), v4(1, 50))
        s.append(Step(g.frame(osrc, odst, L2.GRE() / inner), f, d))
    s = new_sess()
    f = g.flow(6, v4(77, 3), v4(77, 4), 1234, 80, state="new", tcp_state="syn_sent", note="tcp in ipip")
    inner = (inet.IP(src=v4(77, 3), dst=v4(77, 4))
             / inet.TCP(sport=1234, dport=80, flags=SYN))
    s.append(Step(g.frame(v4(1, 51), v4(2, 51), inner), f, "ts", flags=SYN))
    s = new_sess()
    f = g.flow(17, v6(0x7701), v6(0x7702), 1, 2, state="new", note="udp in 6in4")
    inner = (g.S["inet6"].IPv6(src=v6(0x7701), dst=v6(0x7702))
             / inet.UDP(sport=1, dport=2))
    s.append(Step(g.frame(v4(1, 52), v4(2, 52), inner), f, "ts"))

    # ARP: not IP, no flow.
    s = new_sess()
    arp = L2.Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / \
        L2.ARP(psrc=v4(1, 60), pdst=v4(1, 61))
    s.append(Step(bytes(arp), None, "ts"))

    main.extend(edge_sessions(g))
    main.extend(malformed_sessions(g))
    main.extend(random_sessions(g, 30))
    p0 = timed_cases(g, new_sess)
    return {"p0": p0, "main": main, "tail": elephant(g)}


def edge_sessions(g):
    """Cases where implementations tend to slip."""
    inet, inet6 = g.S["inet"], g.S["inet6"]
    out = []
    # RST, then more segments without SYN: still the same (closed) flow.
    s = []
    out.append(s)
    f = g.flow(6, v4(3, 1), v4(4, 1), 42000, 80, state="closed",
               tcp_state="closed", note="tcp stray after rst")
    c = TcpConn(g, s, f)
    c.handshake()
    c.exchange(1)
    c.send("tc", RST)
    c.data("ts", 30, ack_it=False)
    c.send("tc", RST)
    # FIN/FIN close, then a retransmitted FIN and ACK: same flow.
    s = []
    out.append(s)
    f = g.flow(6, v4(3, 2), v4(4, 2), 42001, 80, state="closed",
               tcp_state="closed", note="tcp stray after fin close")
    c = TcpConn(g, s, f)
    c.handshake()
    c.exchange(1)
    c.fin_close()
    c.seq["tc"] -= 1
    c.send("tc", FIN | ACK)
    c.send("ts", ACK)
    # TCP segment IP-fragmented into 8-byte pieces (first fragment holds
    # only part of the TCP header), then a normal reply.
    s = []
    out.append(s)
    f = g.flow(6, v4(3, 3), v4(4, 3), 42002, 80, state="established",
               tcp_state="established", note="tcp tiny fragments")
    c = TcpConn(g, s, f, opts=False)
    c.handshake()
    c.send("ts", PSH | ACK, g.rng.randbytes(48), fragsize=8)
    c.data("tc", 100)
    # Fragments of two datagrams of one flow interleaved, ids differ.
    s = []
    out.append(s)
    f = g.flow(17, v4(3, 4), v4(4, 4), 42003, 3000, state="new",
               note="udp two datagrams interleaved fragments")
    a, b = [], []
    g.udp_frag(a, f, "ts", 2000, [0, 1, 2])
    g.udp_frag(b, f, "ts", 2500, [2, 1, 0])
    s.extend(x for pair in zip(a, b) for x in pair)
    # IPv6: UDP behind hop-by-hop + destination options; fragmented UDP
    # with hop-by-hop in the unfragmentable part; MLD report after HBH.
    s = []
    out.append(s)
    f = g.flow(17, v6(0x301), v6(0x401), 42004, 3001,
               note="ipv6 udp behind ext headers")
    for d in ("ts", "tc", "ts"):
        src, dst, sp, dp = f.ends(d)
        l4 = (inet6.IPv6ExtHdrHopByHop() / inet6.IPv6ExtHdrDestOpt()
              / inet.UDP(sport=sp, dport=dp) / b"ext")
        s.append(Step(g.frame(src, dst, l4), f, d))
    g.udp_frag(s, f, "tc", 2000, [1, 0], fragsize=1280, hbh=True)
    s = []
    out.append(s)
    f = g.flow(58, v6(0x302), v6(0x402), state="new", note="ipv6 mld")
    l4 = (inet6.IPv6ExtHdrHopByHop(options=[inet6.RouterAlert()])
          / inet6.ICMPv6MLReport2())
    s.append(Step(g.frame(f.cip, f.sip, l4), f, "ts", icmp=(143, 0)))
    # Echo flow whose first packet is the reply: sender of it is src.
    s = []
    out.append(s)
    f = g.flow(1, v4(4, 5), v4(3, 5), note="icmp reply first")
    f.check_icmp = False
    g.icmp(s, f, "ts", 0, ident=5, seq=1)
    g.icmp(s, f, "tc", 8, ident=5, seq=2)
    g.icmp(s, f, "ts", 0, ident=5, seq=2)
    # VLAN tag with PCP and DEI bits set: id is 42 only.
    s = []
    out.append(s)
    f = g.flow(17, v4(3, 6), v4(4, 6), 42005, 3002, vlan=[42],
               note="vlan with pcp/dei bits")
    g.udp(s, f, "ts", b"q", tci=0xB000)
    g.udp(s, f, "tc", b"r", tci=0xB000)
    # One datagram in 100 fragments of 8 bytes (no limit in the contract).
    s = []
    out.append(s)
    f = g.flow(17, v4(3, 8), v4(4, 8), 42007, 3004, state="new",
               note="udp datagram in 100 fragments")
    g.udp_frag(s, f, "ts", 792, list(range(100)), fragsize=8)
    # Capture cut off 20 trailer bytes after the IP datagram: caplen
    # counts, the IP packet itself is whole.
    s = []
    out.append(s)
    f = g.flow(17, v4(3, 9), v4(4, 9), 42008, 3005, note="udp snapped trailer")
    for d in ("ts", "tc"):
        tmp = []
        g.udp(tmp, f, d, b"trailer follows")
        tmp[0].wirelen = len(tmp[0].raw) + 20
        s.extend(tmp)
    # After an RST, the old responder opens the next connection.
    s = []
    out.append(s)
    f = g.flow(6, v4(3, 10), v4(4, 10), 42009, 3006, state="closed",
               reason="forced", tcp_state="closed",
               note="tcp reuse reversed #1")
    c = TcpConn(g, s, f)
    c.handshake()
    c.send("tc", RST | ACK)
    f = g.flow(6, v4(4, 10), v4(3, 10), 3006, 42009, state="established",
               tcp_state="established", note="tcp reuse reversed #2")
    c = TcpConn(g, s, f)
    c.handshake()
    # Jumbo frame (9000 bytes, not fragmented).
    s = []
    out.append(s)
    f = g.flow(17, v4(3, 7), v4(4, 7), 42006, 3003, state="new",
               note="udp jumbo frame")
    g.udp(s, f, "ts", g.rng.randbytes(9000 - 42))
    return out


def timed_cases(g, new_sess):
    """Phase 0 (explicit offsets from the start, in us) for the timeout
    cases; their flows go on in the main phase that starts after
    IDLE_GAP_US, so no flow is left idle at the end of the capture."""
    udp = TIMEOUTS["udp"] * 1_000_000
    p0 = []

    def at(off, f, d, payload):
        tmp = []
        g.udp(tmp, f, d, payload)
        p0.append((off, tmp[0]))
    # Idle far longer than the udp timeout: two flows.
    f = g.flow(17, v4(1, 70), v4(2, 70), 50100, 1812, reason="timeout",
               note="udp idle, part 1")
    for k in range(2):
        at(k * 20000, f, "ts", b"a" * 30)
        at(k * 20000 + 10000, f, "tc", b"b" * 30)
    s = new_sess()
    f = g.flow(17, v4(1, 70), v4(2, 70), 50100, 1812, state="new",
               note="udp idle, part 2")
    g.udp(s, f, "ts", b"c" * 30)
    # Gap of exactly the timeout: not "more than", so one flow.
    f = g.flow(17, v4(1, 71), v4(2, 71), 50101, 1813,
               note="udp gap == timeout")
    at(100000, f, "ts", b"d")
    at(100000 + udp, f, "tc", b"e")
    g.udp(new_sess(), f, "ts", b"f")
    # Gap of the timeout plus 1 ms: two flows.
    f = g.flow(17, v4(1, 72), v4(2, 72), 50102, 1814, state="new",
               reason="timeout", note="udp gap == timeout + 1ms, part 1")
    at(200000, f, "ts", b"g")
    f = g.flow(17, v4(1, 72), v4(2, 72), 50102, 1814,
               note="udp gap == timeout + 1ms, part 2")
    at(200000 + udp + 1000, f, "ts", b"h")
    g.udp(new_sess(), f, "tc", b"i")
    return p0


def elephant(g):
    """70000 frames one way + 3 back: counters must not be 16-bit."""
    f = g.flow(17, v4(5, 1), v4(6, 1), 43000, 5001, note="udp elephant")
    out = []
    g.udp(out, f, "ts", b"E" * 18)
    g.udp(out, f, "tc", b"e" * 18)
    out = [out[0]] * 70000 + [out[1]] * 3
    return out


def malformed_sessions(g):
    """Each malformed frame in its own session; none belongs to a flow."""
    inet, inet6, L2 = g.S["inet"], g.S["inet6"], g.S["l2"]
    out = []

    def add(src, dst, l3raw, ethertype=None):
        if ethertype is None:
            raw = g.l2(src, dst, l3raw)
        else:
            eth = L2.Ether(src=pcaplib.mac_for(src).hex(":"),
                           dst=pcaplib.mac_for(dst).hex(":"), type=ethertype)
            raw = bytes(eth) + l3raw
        out.append([Step(raw, None, "ts")])

    a, b = v4(66, 10), v4(66, 11)
    udp = inet.UDP(sport=6000, dport=6001) / (b"z" * 20)
    full = bytes(inet.IP(src=a, dst=b) / udp)
    add(a, b, full[:12], 0x0800)                          # truncated IPv4 hdr
    add(a, b, bytes([0x44]) + full[1:], 0x0800)           # IHL 4
    add(a, b, inet.IP(src=a, dst=b, len=600) / udp)       # total len > frame
    add(a, b, inet.IP(src=a, dst=b, len=12) / udp)        # total len < IHL
    add(a, b, inet.IP(src=a, dst=b, proto=17) / b"\x17\x70\x17")  # short UDP
    add(a, b, inet.IP(src=a, dst=b, proto=1) / b"\x08\x00\x00")  # short ICMP
    tcp = bytes(inet.TCP(sport=6002, dport=6003, flags=SYN))
    add(a, b, inet.IP(src=a, dst=b, proto=6) / tcp[:12])  # truncated TCP hdr
    add(a, b, inet.IP(src=a, dst=b)
        / inet.TCP(sport=6004, dport=6005, flags=SYN, dataofs=3))  # doff<5
    add(a, b, inet.IP(src=a, dst=b)
        / inet.TCP(sport=6006, dport=6007, flags=SYN, dataofs=15))  # doff>len
    a6, b6 = v6(0x6610), v6(0x6611)
    full6 = bytes(inet6.IPv6(src=a6, dst=b6) / udp)
    add(a6, b6, full6[:20], 0x86DD)                       # truncated IPv6 hdr
    add(a6, b6, inet6.IPv6(src=a6, dst=b6, plen=400) / udp)  # plen > frame
    add(a6, b6, inet6.IPv6(src=a6, dst=b6)
        / inet.TCP(sport=6008, dport=6009, flags=SYN, dataofs=2))
    out.append([Step(b"\x02\0\0\0\0\x01\x02", None, "ts")])  # runt frame
    return out


def random_sessions(g, n):
    """Short TCP/UDP sessions with unique tuples, to interleave."""
    out = []
    for i in range(n):
        s = []
        out.append(s)
        v6mode = i % 4 == 3
        cip = v6(0x8000 + i) if v6mode else v4(100 + i // 200, i % 200 + 1)
        sip = v6(0x9000 + i) if v6mode else v4(150 + i // 200, i % 200 + 1)
        cport = g.rng.randint(1024, 65535)
        if i % 2 == 0:
            f = g.flow(6, cip, sip, cport, 443, state="closed",
                       tcp_state="closed", note="random tcp")
            c = TcpConn(g, s, f, opts=bool(i % 3))
            c.handshake()
            c.exchange(g.rng.randint(1, 3))
            c.fin_close()
        else:
            f = g.flow(17, cip, sip, cport, 53, note="random udp")
            for _ in range(g.rng.randint(1, 3)):
                g.udp(s, f, "ts", g.rng.randbytes(g.rng.randint(20, 80)))
                g.udp(s, f, "tc", g.rng.randbytes(g.rng.randint(40, 400)))
    return out
