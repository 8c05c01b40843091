#!/usr/bin/python3
"""decode-event and stream-event rules end to end (Suricata decode-layer.rst
and the forms of its rules/decoder-events.rules and stream-events.rules):
spectre-dp -r on frames made broken here (scapy), one alert per broken frame
of the named reason, none for whole packets or for other reasons; an event
this engine never raises is refused by name and reason; the EVE alert of a packet with
no flow has no flow_id, and no addresses when its IP header could not be read.
Stream events: an overlap with different data, retransmissions counted by
flowint up to stream-events.rules' "excessive" rule, FIN+SYN, a lone RST,
handshake anomalies (3whs_* raised in IDS mode: a SYN/ACK in the wrong
direction or acking another ISN, SYN/ACK and SYN in the wrong direction or
a SYN with another ISN in SYN_RECV; a plain SYN resend raises none), and
a clean connection that raises none.

  test_decode_events.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import alert_sids, alerts, check_sid_counts, need_scapy, offline_main, run_rules, Timed  # noqa: E402

need_scapy()
from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw  # noqa: E402
from test_suricata_semantics import Tcp  # noqa: E402


def rule(sid, event, msg, head="pkthdr any any -> any any", extra=""):
    return ('alert %s (msg:"SURICATA %s"; decode-event:%s; %sclasstype:protocol-command-decode; sid:%d; rev:2;)'
            % (head, msg, event, extra, sid))


RULES = [
    rule(2200000, "ipv4.pkt_too_small", "IPv4 packet too small"),
    rule(2200001, "ipv4.hlen_too_small", "IPv4 header size too small"),
    rule(2200003, "ipv4.trunc_pkt", "IPv4 truncated packet"),
    rule(2200013, "ipv6.trunc_pkt", "IPv6 truncated packet"),
    rule(2200033, "tcp.hlen_too_small", "TCP header length too small"),
    rule(2200037, "udp.pkt_too_small", "UDP packet too small"),
    rule(2200009, "ipv4.opt_duplicate", "IPv4 duplicated IP option"),  # never raised here: refused
    # Addresses and thresholds apply as in any rule.
    rule(9000001, "ipv4.trunc_pkt", "IPv4 truncated from 198.18.1.0/24", head="pkthdr 198.18.1.0/24 any -> any any",
         extra="threshold:type limit, track by_src, count 1, seconds 60; "),
    'alert tcp any any -> any any (msg:"syn"; flags:S; sid:1; rev:1;)',
    # stream-events.rules
    'alert tcp any any -> any any (msg:"SURICATA STREAM reassembly overlap with different data"; '
    'stream-event:reassembly_overlap_different_data; classtype:protocol-command-decode; sid:2210050; rev:2;)',
    'alert tcp any any -> any any (msg:"SURICATA STREAM Packet is retransmission"; stream-event:pkt_retransmission; '
    'flowint:tcp.retransmission.count,+,1; noalert; classtype:protocol-command-decode; sid:2210053; rev:1;)',
    'alert tcp any any -> any any (msg:"SURICATA STREAM excessive retransmissions"; '
    'flowbits:isnotset,tcp.retransmission.alerted; flowint:tcp.retransmission.count,>=,10; '
    'flowbits:set,tcp.retransmission.alerted; classtype:protocol-command-decode; sid:2210054; rev:1;)',
    'alert tcp any any -> any any (msg:"SURICATA STREAM FIN SYN reuse"; stream-event:fin_syn; '
    'classtype:protocol-command-decode; sid:2210060; rev:1;)',
    'alert tcp any any -> any any (msg:"SURICATA STREAM RST recv but no session"; stream-event:rst_but_no_session; '
    'classtype:protocol-command-decode; sid:2210041; rev:2;)',
    'alert tcp any any -> any any (msg:"SURICATA STREAM ESTABLISHED ack for ZWP data"; '
    'stream-event:est_ack_zwp_data; classtype:protocol-command-decode; sid:2210065; rev:1;)',  # refused
] + [
    # The handshake checks Suricata's TCP state machine makes in IDS mode (SYN_SENT, SYN_RECV).
    'alert tcp any any -> any any (msg:"SURICATA STREAM %s"; stream-event:%s; '
    'classtype:protocol-command-decode; sid:%d; rev:1;)' % (ev, ev, sid) for sid, ev in (
        (9220001, "3whs_synack_in_wrong_direction"), (9220002, "3whs_synack_with_wrong_ack"),
        (9220003, "3whs_synack_toserver_on_syn_recv"), (9220004, "3whs_syn_toclient_on_syn_recv"),
        (9220005, "3whs_syn_resend_diff_seq_on_syn_recv"))
]


def tcp_flows(out):
    t = 200.0
    # Bytes 5-9 arrive ahead (buffered), again with other bytes, then the hole is filled.
    # (Delivered bytes are not kept, so only buffered ones can be compared.)
    ov = Tcp(out, "198.18.2.1", "198.18.2.2", 40001, 80, t)
    ov.open()
    ov.pkt(True, "PA", ov.cseq + 5, ov.sseq, b"bbbbb")
    ov.pkt(True, "PA", ov.cseq + 5, ov.sseq, b"ccccc")
    ov.pkt(True, "PA", ov.cseq, ov.sseq, b"aaaaa")
    ov.cseq += 10
    ov.close()
    rt = Tcp(out, "198.18.2.3", "198.18.2.4", 40002, 80, t + 1)  # 12 identical retransmissions: one alert
    rt.open()
    rt.pkt(True, "PA", rt.cseq, rt.sseq, b"hello")
    rt.pkt(False, "A", rt.sseq, rt.cseq + 5)
    for _ in range(12):
        rt.pkt(True, "PA", rt.cseq, rt.sseq, b"hello")
    rt.cseq += 5
    rt.close()
    few = Tcp(out, "198.18.2.5", "198.18.2.6", 40003, 80, t + 2)  # near miss: 9 retransmissions
    few.open()
    few.pkt(True, "PA", few.cseq, few.sseq, b"hello")
    for _ in range(9):
        few.pkt(True, "PA", few.cseq, few.sseq, b"hello")
    few.cseq += 5
    few.close()
    clean = Tcp(out, "198.18.2.7", "198.18.2.8", 40004, 80, t + 3)  # nothing
    clean.open()
    clean.send(True, b"GET / HTTP/1.0\r\n\r\n")
    clean.send(False, b"HTTP/1.0 200 OK\r\n\r\n")
    clean.close()
    handshake_flows(out, t + 10)
    fs = Ether() / IP(src="198.18.2.9", dst="198.18.2.10") / TCP(sport=40005, dport=80, flags="FS", seq=7)
    rst = Ether() / IP(src="198.18.2.11", dst="198.18.2.12") / TCP(sport=40006, dport=80, flags="R", seq=9)
    for i, p in enumerate((fs, rst)):
        p.time = t + 4 + i
        out.append(p)


def handshake_flows(out, t):
    """One flow per 3whs anomaly, each raised once; 6 pure SYNs in all (sid 1)."""
    wd = Tcp(out, "198.18.3.1", "198.18.3.2", 41001, 80, t)  # the client answers its own SYN with a SYN/ACK
    wd.pkt(True, "S", wd.cseq, 0)
    wd.pkt(True, "SA", wd.cseq, 1)
    wa = Tcp(out, "198.18.3.3", "198.18.3.4", 41002, 80, t + 1)  # the SYN/ACK acks another ISN
    wa.pkt(True, "S", wa.cseq, 0)
    wa.pkt(False, "SA", wa.sseq, wa.cseq + 77)
    sr = Tcp(out, "198.18.3.5", "198.18.3.6", 41003, 80, t + 2)  # SYN_RECV: three anomalies and a plain resend
    sr.pkt(True, "S", sr.cseq, 0)
    sr.pkt(False, "SA", sr.sseq, sr.cseq + 1)
    sr.pkt(True, "SA", sr.cseq, sr.sseq + 1)      # 3whs_synack_toserver_on_syn_recv
    sr.pkt(False, "S", sr.sseq, 0)                # 3whs_syn_toclient_on_syn_recv
    sr.pkt(True, "S", sr.cseq, 0)                 # the same SYN again: nothing
    sr.pkt(True, "S", sr.cseq + 4242, 0)          # 3whs_syn_resend_diff_seq_on_syn_recv
    sr.pkt(True, "A", sr.cseq + 1, sr.sseq + 1)
    sr.cseq += 1
    sr.sseq += 1
    sr.send(True, b"hello")
    sr.close()


def frames():
    out = Timed(100.0)
    add = out.add

    def patched(pkt, at, value):
        b = bytearray(bytes(pkt))
        b[at:at + len(value)] = value
        return Ether(bytes(b))

    add(Ether() / IP(src="198.18.0.1", dst="198.18.0.2") / TCP(sport=1234, dport=80, flags="S"))  # whole: sid 1
    add(Ether() / IP(src="198.18.0.1", dst="198.18.0.2") / UDP(sport=5, dport=53) / Raw(b"q" * 12))  # whole: none
    for src in ("198.18.0.3", "198.18.1.3", "198.18.1.3"):  # total length 200 beyond the frame
        add(patched(Ether() / IP(src=src, dst="198.18.0.4") / UDP(sport=1, dport=2) / Raw(b"x" * 20),
                    16, (200).to_bytes(2, "big")))
    add(patched(Ether() / IP(src="198.18.0.5", dst="198.18.0.6") / TCP(sport=5, dport=6), 14, b"\x44"))  # ihl 4
    add(patched(Ether() / IP(src="198.18.0.7", dst="198.18.0.8") / TCP(sport=7, dport=8), 14 + 20 + 12, b"\x30"))
    add(Ether(bytes(Ether() / IP(src="198.18.0.9", dst="198.18.0.10"))[:14 + 10]))  # 10 bytes of IPv4
    v6 = Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=9, dport=9) / Raw(b"y" * 8)
    add(patched(v6, 14 + 4, (300).to_bytes(2, "big")))  # payload length beyond the frame
    add(patched(Ether() / IP(src="198.18.0.11", dst="198.18.0.12", proto=17) / Raw(b"abcd"), 14 + 2,
                (24).to_bytes(2, "big")))  # a 4-byte UDP header
    return out


# 2200003: three truncated frames; 9000001: the first of the two from 198.18.1.0/24 (limit 1).
# sid 1 (flags:S): the whole SYN of frames() and the four connections' SYNs (not the FIN+SYN: flags:S is exact),
# and the 6 pure SYNs of handshake_flows.
EXPECT = {1: 5 + 6, 9220001: 1, 9220002: 1, 9220003: 1, 9220004: 1, 9220005: 1, 2200000: 1, 2200001: 1, 2200003: 3, 2200013: 1, 2200033: 1, 2200037: 1, 9000001: 1,
          2210050: 1, 2210054: 1, 2210060: 1, 2210041: 1}


def main(check, dp, tmp):
    pkts = frames()
    tcp_flows(pkts)
    p, events = run_rules(dp, tmp, pkts, RULES, ["--workers", "1"])
    check(p.returncode == 0, "spectre-dp exits 0", p.stderr[-1500:])
    check("sid 2200009: decode-event ipv4.opt_duplicate: an event this decoder does not raise" in p.stderr,
          "an event the decoder never raises is refused by name", p.stderr[-1500:])
    check("sid 2210065: stream-event est_ack_zwp_data: zero-window probes" in p.stderr,
          "a stream event the engine never raises is refused by name, with the reason", p.stderr[-1500:])
    check("2 rejected at compile" in p.stderr, "the refusals are counted in the rules line", p.stderr[-800:])
    check_sid_counts(check, alert_sids(events), EXPECT)
    by_sid = {}
    for a in alerts(events):
        by_sid.setdefault(a["alert"]["signature_id"], []).append(a)
    trunc = by_sid.get(2200003, [])
    check(sorted(a.get("src_ip") for a in trunc) == ["198.18.0.3", "198.18.1.3", "198.18.1.3"] and
          all(a.get("dest_ip") == "198.18.0.4" and a.get("proto") == "UDP" for a in trunc),
          "a truncated packet's alert names the addresses of its IP header", trunc)
    check(all("flow_id" not in a and "src_port" not in a and a.get("pcap_cnt") for a in trunc),
          "no flow_id and no ports on a packet with no flow; pcap_cnt kept", trunc[:1])
    small = by_sid.get(2200000, [{}])[0]
    check("src_ip" not in small and "proto" not in small and
          small.get("alert", {}).get("signature") == "SURICATA IPv4 packet too small",
          "an IPv4 header of 10 bytes: no addresses, the rule's message", small)
    v6 = by_sid.get(2200013, [{}])[0]
    check(v6.get("src_ip") == "2001:0db8:0000:0000:0000:0000:0000:0001" and v6.get("ip_v") == 6, "IPv6 truncated: its addresses", v6)
    st = [e for e in events if e.get("event_type") == "stats"]
    check(bool(st), "stats written", "")
    ov = by_sid.get(2210050, [{}])[0]
    check(ov.get("src_ip") == "198.18.2.1" and ov.get("src_port") == 40001 and "flow_id" in ov,
          "the overlap alert is on the client's flow, with its flow_id", ov)
    ex = by_sid.get(2210054, [{}])[0]
    check(ex.get("src_ip") == "198.18.2.3", "excessive retransmissions: the flow that retransmitted 12 times", ex)
    syn = by_sid.get(1, [{}])[0]
    check("flow_id" in syn and syn.get("src_port") == 1234, "a whole packet's alert keeps flow_id and ports", syn)


if __name__ == "__main__":
    sys.exit(offline_main("decev", main))
