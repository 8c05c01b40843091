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
  IPS-only events (3whs_ack_in_wrong_dir, 3whs_ack_data_inject) load and
  never fire, as Suricata in IDS mode.
Second run (stream.async_oneside on, stream.depth 64): a one-sided ACK with the
wrong seq after the SYN; depth reached once per direction.
Third run: every stream-event name of Suricata's rules/stream-events.rules
loads except the names docs/ARCHITECTURE.md lists as not raised, each refused
with its reason (../shared/corpora/rules/et-open/stream-events.rules is used
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


def established_flows(out, t):
    def opened(n, dt):
        c = conn(out, n, t + dt)
        c.open()  # client ISN 1000, server ISN 50000
        return c
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


EXPECT = {2210004: 1, 2210064: 1, 2210002: 1, 2210010: 1, 2210011: 1, 2210012: 1, 2210013: 1, 2210025: 1,
          2210028: 1, 2210026: 1, 2210027: 1, 2210024: 1, 2210022: 1, 2210023: 1, 2210049: 1, 9221001: 1,
          2210037: 1}


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
# Not raised here (docs/ARCHITECTURE.md, "Stream events"): refused at compile.
UNSUPPORTED = {
    "3whs_synack_resend_with_diff_seq", "3whs_synack_flood", "4whs_invalid_ack", "closewait_ack_out_of_window",
    "closewait_fin_out_of_window", "closewait_invalid_ack", "closing_ack_wrong_seq", "closing_invalid_ack",
    "est_packet_out_of_window", "est_invalid_ack", "fin_invalid_ack", "fin1_ack_wrong_seq", "fin1_fin_wrong_seq",
    "fin1_invalid_ack", "fin2_ack_wrong_seq", "fin2_fin_wrong_seq", "fin2_invalid_ack", "fin_out_of_window",
    "lastack_ack_wrong_seq", "lastack_invalid_ack", "timewait_ack_wrong_seq", "timewait_invalid_ack",
    "pkt_invalid_timestamp", "pkt_invalid_ack", "rst_invalid_ack", "pkt_bad_window_update", "suspected_rst_inject",
    "est_pkt_before_last_ack", "closewait_pkt_before_last_ack", "reassembly_segment_before_base_seq",
    "wrong_thread",
}


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
