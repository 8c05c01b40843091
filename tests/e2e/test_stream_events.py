#!/usr/bin/python3
"""stream-event rules of the TCP session tracker end to end (stream/tcp_track.h:
Suricata's stream-tcp.c conditions in IDS mode). spectre-dp -r on scapy-made
connections, one per event, each raising its event a known number of times,
and clean connections raising none:

  handshake: a SYN/ACK resent with another ack; TFO data the SYN/ACK ignores;
  right seq / wrong ack (evasion) and wrong seq / wrong ack on the 3whs ACK;
  the 4-way handshake's wrong ACK, wrong SYN and wrong seq;
  established: SYN/ACK to the server, SYN to the client, SYN resent with the
  same and another ISN, SYN/ACK resent with another seq, with another ack, and
  after the server confirmed the 3whs; a SYN after a FIN (shutdown);
  data resent after it was acked (spurious retransmission); a FIN with no
  session (and none for a midstream FIN carrying data);
  ACK, FIN and RST validation: data past the window (est_packet_out_of_window),
  an ACK beyond the peer's window (est_invalid_ack,
  4whs_invalid_ack, with pkt_invalid_ack each), a FIN with a bad ack or beyond
  the window, a RST with a bad ack or with data, a bad window update;
  the close states, one connection per event: FIN_WAIT1 (the server's FIN
  first), FIN_WAIT2, CLOSING (simultaneous), CLOSE_WAIT (the client's FIN
  first), LAST_ACK and TIME_WAIT, each with its wrong seq / invalid ack packet;
  IPS-only events (3whs_ack_in_wrong_dir, 3whs_ack_data_inject) load and
  never fire, as Suricata in IDS mode; the flow they judge (server data after
  a missed 3whs ACK) is tracked on: its resent data is a spurious
  retransmission;
  PAWS: a data packet whose TSval is older than the client's last
  (pkt_invalid_timestamp); data resent wholly below last_ack
  (est_pkt_before_last_ack, not also a segment before the base); a segment
  wholly before the reassembly's base (reassembly_segment_before_base_seq,
  also for the resent data above); a 6th SYN/ACK with another seq
  (3whs_synack_flood; 3whs_synack_resend_with_diff_seq stays silent, as in
  Suricata, which queues those); a TCP-MD5-signed RST from the server, then
  server data (suspected_rst_inject); wrong_thread loads and never fires (one
  worker owns a flow).
Second run (stream.async_oneside on, stream.depth 64): a one-sided ACK with the
wrong seq after the SYN; depth reached once per direction.
Third run: every stream-event name of Suricata's rules/stream-events.rules
loads (../shared/corpora/rules/et-open/stream-events.rules is used
when present; else the names and sids of that file are written out here).

  test_stream_events.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dprun import alert_sids, check_sid_counts, need_scapy, offline_main, run_rules  # noqa: E402

need_scapy()
from scapy.all import Ether, IP, TCP, Raw  # noqa: E402
from test_suricata_semantics import Tcp  # noqa: E402


def rule(sid, event, extra=""):
    return ('alert tcp any any -> any any (msg:"SURICATA STREAM %s"; %sstream-event:%s; '
            'classtype:protocol-command-decode; sid:%d; rev:1;)' % (event, extra, event, sid))


# (sid, event): Suricata's sids where stream-events.rules has one.
EVENTS = [
    (2210004, "3whs_synack_resend_with_different_ack"), (2210064, "3whs_synack_tfo_data_ignored"),
    (2210002, "3whs_right_seq_wrong_ack_evasion"), (2210010, "3whs_wrong_seq_wrong_ack"),
    (2210011, "4whs_synack_with_wrong_ack"), (2210012, "4whs_synack_with_wrong_syn"), (2210013, "4whs_wrong_seq"),
    (2210025, "est_synack_toserver"), (2210028, "est_syn_toclient"), (2210026, "est_syn_resend"),
    (2210027, "est_syn_resend_diff_seq"), (2210024, "est_synack_resend_with_diff_seq"),
    (2210022, "est_synack_resend"), (2210023, "est_synack_resend_with_different_ack"),
    (2210049, "shutdown_syn_resend"), (9221001, "pkt_spurious_retransmission"),
    (2210037, "fin_but_no_session"), (2210000, "3whs_ack_in_wrong_dir"), (2210001, "3whs_async_wrong_seq"),
    (9221002, "reassembly_depth_reached"),
    (2210029, "est_invalid_ack"), (2210020, "est_packet_out_of_window"), (2210014, "4whs_invalid_ack"), (2210030, "fin_invalid_ack"),
    (2210038, "fin_out_of_window"), (2210046, "rst_invalid_ack"), (9221003, "rst_with_data"),
    (2210056, "pkt_bad_window_update"), (2210045, "pkt_invalid_ack"),
    (2210031, "fin1_ack_wrong_seq"), (2210032, "fin1_fin_wrong_seq"), (2210033, "fin1_invalid_ack"),
    (2210034, "fin2_ack_wrong_seq"), (2210035, "fin2_fin_wrong_seq"), (2210036, "fin2_invalid_ack"),
    (2210016, "closewait_fin_out_of_window"), (2210015, "closewait_ack_out_of_window"),
    (2210052, "closewait_pkt_before_last_ack"), (2210017, "closewait_invalid_ack"),
    (2210018, "closing_ack_wrong_seq"), (2210019, "closing_invalid_ack"),
    (2210039, "lastack_ack_wrong_seq"), (2210040, "lastack_invalid_ack"),
    (2210042, "timewait_ack_wrong_seq"), (2210043, "timewait_invalid_ack"),
    (2210044, "pkt_invalid_timestamp"), (2210021, "est_pkt_before_last_ack"),
    (2210047, "reassembly_segment_before_base_seq"), (2210055, "3whs_synack_flood"),
    (2210005, "3whs_synack_resend_with_diff_seq"), (2210058, "suspected_rst_inject"), (2210059, "wrong_thread"),
]
RULES = [rule(s, e) for s, e in EVENTS] + [
    'drop tcp any any -> any any (msg:"SURICATA STREAM 3way handshake toclient data injection suspected"; '
    'flow:to_client; stream-event:3whs_ack_data_inject; classtype:protocol-command-decode; sid:2210057; rev:1;)']


def conn(out, n, t, sport=None):
    return Tcp(out, "198.18.%d.1" % n, "198.18.%d.2" % n, sport or 42000 + n, 80, t)


def handshake_flows(out, t):
    c = conn(out, 1, t)  # SYN_RECV: the SYN/ACK resent acking another byte
    c.pkt(True, "S", 1000, 0)
    c.pkt(False, "SA", 50000, 1001)
    c.pkt(False, "SA", 50000, 1005)              # 2210004
    c.pkt(True, "A", 1001, 50001)
    c = conn(out, 2, t + 1)  # TCP Fast Open: the server acks the SYN only
    c.pkt(True, "S", 1000, 0, b"tfo-data")
    c.pkt(False, "SA", 50000, 1001)              # 2210064
    c = conn(out, 3, t + 2)  # the 3whs ACK: right seq, wrong ack; then wrong both; then right
    c.pkt(True, "S", 1000, 0)
    c.pkt(False, "SA", 50000, 1001)
    c.pkt(True, "A", 1001, 50099)                # 2210002
    c.pkt(True, "A", 900000, 50099)              # 2210010
    c.pkt(True, "A", 1001, 50001)
    c = conn(out, 4, t + 3)  # 4-way handshake: the server sends a SYN too
    c.pkt(True, "S", 1000, 0)
    c.pkt(False, "S", 50000, 0)
    c.pkt(True, "SA", 1000, 50007)               # 2210011
    c.pkt(True, "SA", 1009, 50001)               # 2210012
    c.pkt(True, "SA", 1000, 50001)
    c.pkt(False, "A", 50005, 1001)               # 2210013
    c.pkt(False, "A", 50001, 1001)
    c = conn(out, 5, t + 4)  # the server answers with data, the 3whs ACK never seen: IPS-only events
    c.pkt(True, "S", 1000, 0)
    c.pkt(False, "SA", 50000, 1001)
    c.pkt(False, "PA", 50001, 1001, b"220 banner\r\n")
    c.pkt(True, "A", 1001, 50013)
    c.pkt(False, "PA", 50001, 1001, b"220 banner\r\n")  # 9221001: tracked on after the missed ACK


def opened_at(out, n, t):
    c = conn(out, n, t)
    c.open()  # client ISN 1000, server ISN 50000; windows 8192, unscaled
    return c


def established_flows(out, t):
    def opened(n, dt):
        return opened_at(out, n, t + dt)
    opened(10, 0).pkt(True, "SA", 1000, 50001)                     # 2210025
    opened(11, 1).pkt(False, "S", 50000, 0)                        # 2210028
    opened(12, 2).pkt(True, "S", 1000, 0)                          # 2210026
    opened(13, 3).pkt(True, "S", 2000, 0)                          # 2210027
    opened(14, 4).pkt(False, "SA", 50077, 1001)                    # 2210024
    c = opened(15, 5)
    c.pkt(False, "SA", 50000, 1001)  # final ACK lost, the server resends: nothing
    c.pkt(False, "A", 50001, 1001)   # the server confirms the 3whs
    c.pkt(False, "SA", 50000, 1001)                                # 2210022
    c = opened(16, 6)
    c.send(True, b"hello")           # acked: the client's last_ack moves on
    c.pkt(False, "SA", 50000, 1001)                                # 2210023
    c = opened(17, 7)
    c.pkt(True, "FA", 1001, 50001)
    c.pkt(True, "S", 1000, 0)                                      # 2210049
    c = opened(18, 8)
    c.send(True, b"GET / HTTP/1.0\r\n\r\n")
    c.pkt(True, "PA", 1001, 50001, b"GET / HTTP/1.0\r\n\r\n")     # 9221001: resent after the ACK
    c.pkt(True, "PA", c.cseq, c.sseq, b"x")
    c.pkt(True, "PA", c.cseq, c.sseq, b"x")                        # resent before any ACK: not spurious
    # A FIN as a flow's first packet: no session (2210037); with data midstream picks it up.
    fin = Ether() / IP(src="198.18.19.1", dst="198.18.19.2") / TCP(sport=42019, dport=80, flags="FA", seq=7, ack=9)
    find = Ether() / IP(src="198.18.20.1", dst="198.18.20.2") / TCP(sport=42020, dport=80, flags="FPA", seq=7,
                                                                     ack=9) / Raw(b"bye")
    for i, p in enumerate((fin, find)):
        p.time = t + 9 + i
        out.append(p)
    for n in (21, 22):  # clean connections: nothing
        c = opened(n, 10 + n)
        c.send(True, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        c.close()


def validation_flows(out, t):
    """ACK, FIN and RST checks in ESTABLISHED (and the 4-way handshake's ACK)."""
    opened_at(out, 40, t).pkt(True, "A", 1001, 70001)              # 2210029: beyond 50001 + 8192
    opened_at(out, 41, t + 1).pkt(True, "FA", 1001, 90000)         # 2210030
    opened_at(out, 42, t + 2).pkt(True, "FA", 20001, 50001)        # 2210038: beyond 1001 + 8192
    opened_at(out, 43, t + 3).pkt(True, "RA", 1001, 90000)         # 2210046
    opened_at(out, 44, t + 4).pkt(True, "RA", 1001, 50001, b"bye")  # 9221003
    c = opened_at(out, 45, t + 5)  # acks and sends beyond what was seen, shrinking the window
    c.pkt(True, "A", 1500, 50500)
    c.out[-1][TCP].window = 100                                    # 2210056
    opened_at(out, 63, t + 7).pkt(True, "PA", 10001, 50001, b"x" * 100)  # 2210020: ends past 1001 + 8192
    c = conn(out, 46, t + 6)  # 4-way handshake, the server's ACK acking unsent data
    c.pkt(True, "S", 1000, 0)
    c.pkt(False, "S", 50000, 0)
    c.pkt(True, "SA", 1000, 50001)
    c.pkt(False, "A", 50001, 7777)                                 # 2210014
    c.pkt(False, "A", 50001, 1001)


def close_flows(out, t):
    """One connection per close-state event (tcp_track_close.cc)."""
    def server_fin(n, dt, then_ack=False):  # FIN_WAIT1; with the client's ACK, FIN_WAIT2
        c = opened_at(out, n, t + dt)
        c.pkt(False, "FA", 50001, 1001)
        if then_ack:
            c.pkt(True, "A", 1001, 50002)
        return c

    def client_fin(n, dt):  # CLOSE_WAIT
        c = opened_at(out, n, t + dt)
        c.pkt(True, "FA", 1001, 50001)
        return c
    server_fin(47, 0).pkt(True, "A", 20000, 50002)                 # 2210031
    server_fin(48, 1).pkt(True, "FA", 900, 50002)                  # 2210032
    server_fin(49, 2).pkt(True, "A", 1001, 90000)                  # 2210033
    server_fin(50, 3, True).pkt(True, "A", 20000, 50002)           # 2210034
    server_fin(51, 4, True).pkt(True, "FA", 900, 50002)            # 2210035
    server_fin(52, 5, True).pkt(True, "FA", 1001, 90000)           # 2210036
    c = client_fin(53, 6)
    c.pkt(False, "A", 50001, 1002)
    c.pkt(True, "FA", 1001, 50001)                                 # 2210016: the FIN again, now acked
    client_fin(54, 7).pkt(False, "A", 60000, 1002)                 # 2210015
    c = client_fin(55, 8)
    c.pkt(False, "A", 50001, 1002)
    c.pkt(False, "PA", 50001, 1002, b"x" * 100)
    c.pkt(True, "A", 1002, 50101)
    c.pkt(False, "PA", 50001, 1002, b"x" * 100)                    # 2210052 (and 9221001)
    client_fin(56, 9).pkt(False, "A", 50001, 90000)                # 2210017
    for n, dt, pk in ((57, 10, ("A", 51000, 1002)), (58, 11, ("A", 50002, 90000))):
        c = server_fin(n, dt)
        c.pkt(True, "F", 1001, 0)  # both FINs, neither acked: CLOSING
        c.pkt(False, *pk)                                          # 2210018, 2210019
    for n, dt, pk in ((59, 12, ("A", 1500, 50002)), (60, 13, ("A", 1002, 90000))):
        c = client_fin(n, dt)
        c.pkt(False, "FA", 50001, 1002)  # LAST_ACK
        c.pkt(True, *pk)                                           # 2210039, 2210040
    for n, dt, pk in ((61, 14, ("A", 51000, 1002)), (62, 15, ("A", 50002, 90000))):
        c = server_fin(n, dt, True)
        c.pkt(True, "FA", 1001, 50002)  # TIME_WAIT
        c.pkt(False, *pk)                                          # 2210042, 2210043


def late_event_flows(out, t):
    """PAWS, data below last_ack, the base seq, the SYN/ACK queue, a signed RST."""
    def ts(c, tsval):
        c.out[-1][TCP].options = [("Timestamp", (tsval, 0))]
    c = conn(out, 70, t)  # timestamps on both SYNs, then a TSval that goes back
    c.pkt(True, "S", 1000, 0)
    ts(c, 100)
    c.pkt(False, "SA", 50000, 1001)
    ts(c, 900)
    c.pkt(True, "A", 1001, 50001)
    ts(c, 101)
    c.pkt(True, "PA", 1001, 50001, b"a" * 10)
    ts(c, 105)
    c.pkt(True, "PA", 1011, 50001, b"b" * 10)
    ts(c, 104)                                                     # 2210044
    c = opened_at(out, 71, t + 1)  # 100 bytes acked, then the first 50 again
    c.send(True, b"x" * 100)
    c.pkt(True, "PA", 1001, 50001, b"x" * 50)                      # 2210021 (and 9221001)
    c = opened_at(out, 72, t + 2)  # 100 bytes acked, then all of them again
    c.send(True, b"y" * 100)
    c.pkt(True, "PA", 1001, 50001, b"y" * 100)                     # 2210047 (and 9221001)
    c = conn(out, 73, t + 3)  # SYN/ACKs with 6 other seqs: the queue holds 5
    c.pkt(True, "S", 1000, 0)
    for k in range(7):
        c.pkt(False, "SA", 50000 + 1000 * k, 1001)                 # the 7th: 2210055
    c = opened_at(out, 74, t + 4)  # a TCP-MD5-signed RST from the server, then server data
    c.pkt(False, "RA", 50001, 1001)
    c.out[-1][TCP].options = [(19, b"\0" * 16)]
    c.pkt(False, "PA", 50001, 1001, b"still here")                 # 2210058


EXPECT = {2210004: 1, 2210064: 1, 2210002: 1, 2210010: 1, 2210011: 1, 2210012: 1, 2210013: 1, 2210025: 1,
          2210028: 1, 2210026: 1, 2210027: 1, 2210024: 1, 2210022: 1, 2210023: 1, 2210049: 1, 9221001: 5,
          2210037: 1,
          2210029: 1, 2210020: 1, 2210014: 1, 2210030: 1, 2210038: 1, 2210046: 1, 9221003: 1, 2210056: 1,
          2210031: 1, 2210032: 1, 2210033: 1, 2210034: 1, 2210035: 1, 2210036: 1, 2210016: 1, 2210015: 1,
          2210052: 1, 2210017: 1, 2210018: 1, 2210019: 1, 2210039: 1, 2210040: 1, 2210042: 1, 2210043: 1,
          2210045: 10,  # pkt_invalid_ack: with each of the ten *_invalid_ack above
          2210044: 1, 2210021: 1, 2210055: 1, 2210058: 1,
          # wholly old segments: flows 5 and 18 (twice) above and flow 72; not flow 71
          # (rejected below last_ack) nor 55 (closewait_pkt_before_last_ack)
          2210047: 4}


def second_run_flows(out, t):
    c = conn(out, 30, t)  # async one-sided: the client's ACK after its SYN with another seq, then the right one
    c.pkt(True, "S", 1000, 0)
    c.pkt(True, "A", 1005, 50001)                # 2210001
    c.pkt(True, "PA", 1001, 50001, b"one-sided")
    c = conn(out, 31, t + 1)  # 100 bytes each way past a depth of 64: once per direction
    c.open()
    for _ in range(2):
        c.send(True, b"a" * 50)
        c.send(False, b"b" * 50)
    c.close()


# Suricata's rules/stream-events.rules, (sid, name), commented-out rules included.
SURICATA_FILE = [
    (2210000, "3whs_ack_in_wrong_dir"), (2210001, "3whs_async_wrong_seq"),
    (2210002, "3whs_right_seq_wrong_ack_evasion"), (2210003, "3whs_synack_in_wrong_direction"),
    (2210004, "3whs_synack_resend_with_different_ack"), (2210005, "3whs_synack_resend_with_diff_seq"),
    (2210006, "3whs_synack_toserver_on_syn_recv"), (2210007, "3whs_synack_with_wrong_ack"),
    (2210055, "3whs_synack_flood"), (2210064, "3whs_synack_tfo_data_ignored"),
    (2210008, "3whs_syn_resend_diff_seq_on_syn_recv"), (2210009, "3whs_syn_toclient_on_syn_recv"),
    (2210010, "3whs_wrong_seq_wrong_ack"), (2210057, "3whs_ack_data_inject"),
    (2210011, "4whs_synack_with_wrong_ack"), (2210012, "4whs_synack_with_wrong_syn"),
    (2210013, "4whs_wrong_seq"), (2210014, "4whs_invalid_ack"), (2210015, "closewait_ack_out_of_window"),
    (2210016, "closewait_fin_out_of_window"), (2210017, "closewait_invalid_ack"),
    (2210018, "closing_ack_wrong_seq"), (2210019, "closing_invalid_ack"), (2210020, "est_packet_out_of_window"),
    (2210022, "est_synack_resend"), (2210023, "est_synack_resend_with_different_ack"),
    (2210024, "est_synack_resend_with_diff_seq"), (2210025, "est_synack_toserver"), (2210026, "est_syn_resend"),
    (2210027, "est_syn_resend_diff_seq"), (2210028, "est_syn_toclient"), (2210029, "est_invalid_ack"),
    (2210030, "fin_invalid_ack"), (2210031, "fin1_ack_wrong_seq"), (2210032, "fin1_fin_wrong_seq"),
    (2210033, "fin1_invalid_ack"), (2210034, "fin2_ack_wrong_seq"), (2210035, "fin2_fin_wrong_seq"),
    (2210036, "fin2_invalid_ack"), (2210037, "fin_but_no_session"), (2210038, "fin_out_of_window"),
    (2210039, "lastack_ack_wrong_seq"), (2210040, "lastack_invalid_ack"), (2210041, "rst_but_no_session"),
    (2210042, "timewait_ack_wrong_seq"), (2210043, "timewait_invalid_ack"), (2210044, "pkt_invalid_timestamp"),
    (2210045, "pkt_invalid_ack"), (2210051, "pkt_broken_ack"), (2210046, "rst_invalid_ack"),
    (2210049, "shutdown_syn_resend"), (2210048, "reassembly_seq_gap"),
    (2210050, "reassembly_overlap_different_data"), (2210056, "pkt_bad_window_update"),
    (2210058, "suspected_rst_inject"), (2210021, "est_pkt_before_last_ack"),
    (2210052, "closewait_pkt_before_last_ack"), (2210047, "reassembly_segment_before_base_seq"),
    (2210053, "pkt_retransmission"), (2210059, "wrong_thread"), (2210060, "fin_syn"),
]
# Refused at compile (docs/ARCHITECTURE.md, "Stream events"): none of this file's names.
UNSUPPORTED = set()


def suricata_rules():
    """The rule lines of stream-events.rules (the shared copy, uncommented, when present)."""
    path = os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "shared", "corpora", "rules", "et-open",
                        "stream-events.rules")
    if os.path.exists(path):
        with open(path) as f:
            lines = [ln.lstrip("#").strip() for ln in f if "stream-event:" in ln]
        return lines, "shared copy"
    return [rule(s, n) for s, n in SURICATA_FILE], "names and sids written out"


def main(check, dp, tmp):
    pkts = []
    handshake_flows(pkts, 100.0)
    established_flows(pkts, 200.0)
    validation_flows(pkts, 300.0)
    close_flows(pkts, 400.0)
    late_event_flows(pkts, 500.0)
    p, events = run_rules(dp, tmp, pkts, RULES, ["--workers", "1", "--strict"])
    check(p.returncode == 0, "run 1: spectre-dp exits 0 with every rule loaded (--strict)", p.stderr[-1500:])
    check_sid_counts(check, alert_sids(events), EXPECT, "run 1: no other stream event fired (IPS-only, async, depth)")

    pkts = []
    second_run_flows(pkts, 100.0)
    cfg = os.path.join(tmp, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write("stream: {depth: 64, async_oneside: true}\n")
    p, events = run_rules(dp, tmp, pkts, RULES, ["--workers", "1", "--strict", "--config", cfg])
    check(p.returncode == 0, "run 2: spectre-dp exits 0", p.stderr[-1500:])
    check_sid_counts(check, alert_sids(events), {2210001: 1, 9221002: 2}, "run 2: no other stream event fired")

    lines, src = suricata_rules()
    report = os.path.join(tmp, "report.txt")
    p, _ = run_rules(dp, tmp, [Ether() / IP() / TCP()], lines, ["--workers", "1", "--rules-report", report])
    names = [re.search(r"stream-event:\s*([a-z0-9_]+)", ln).group(1) for ln in lines]
    with open(report) as f:
        text = f.read()
    refused = set(re.findall(r"stream-event ([a-z0-9_]+): ", text))
    want = UNSUPPORTED & set(names)
    print("  stream-events.rules (%s): %d rules, %d refused" % (src, len(names), len(refused)))
    check(p.returncode == 0, "run 3: stream-events.rules loads", p.stderr[-800:])
    check(refused == want, "run 3: refused exactly the names listed as not raised", sorted(refused ^ want))
    check(all(re.search(r"stream-event %s: \S" % n, text) for n in want) and "does not raise" not in text,
          "run 3: each refusal gives its own reason", text[:800])
    m = re.search(r"(\d+) rejected at compile; (\d+) active", p.stderr)
    check(m is not None and int(m.group(1)) == len([n for n in names if n in want]) and
          int(m.group(2)) == len([n for n in names if n not in want]),
          "run 3: the rules line counts %d rejected, the rest active" % len(want), p.stderr[-800:])


if __name__ == "__main__":
    sys.exit(offline_main("sev", main))
