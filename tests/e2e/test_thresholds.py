#!/usr/bin/python3
"""Suricata's threshold.config end to end: spectre-dp -r on a capture made here
(scapy, UDP packets at chosen times) with --threshold-file; alerts per sid and
source against what Suricata's Global-Thresholds page documents:

* a sid-specific threshold replaces the rule's own threshold keyword;
* a gen_id wildcard applies only to rules without their own threshold;
* suppress by_src / by_either / no track (noalert); gen_id 0, sig_id 0 by source;
* rate_filter: more than `count` within `seconds` changes the action for
  `timeout` seconds (alert.action "would drop" here, an IDS), alerts stay;
* threshold/event_filter windows: an event at start+seconds is in the window;
* a malformed line is reported with file:line and skipped, the rest loads.

  test_thresholds.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import collections
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import need_scapy, offline_main, run_offline, write_lines  # noqa: E402

need_scapy()
from scapy.all import Ether, IP, UDP, Raw, wrpcap  # noqa: E402

DST = "198.19.0.1"

THRESHOLDS = """# threshold.config for the e2e test
threshold gen_id 1, sig_id 11, type limit, track by_src, count 1, seconds 15
threshold gen_id 5, sig_id 0, type limit, track by_src, count 1, seconds 60
suppress gen_id 1, sig_id 14, track by_src, ip 198.18.14.1
suppress gen_id 1, sig_id 15
suppress gen_id 1, sig_id 16, track by_either, ip [198.18.16.0/24, 198.19.16.0/24]
suppress gen_id 0, sig_id 0, track by_src, ip 198.18.99.9
rate_filter gen_id 1, sig_id 19, track by_src, count 3, seconds 60, \\
    new_action drop, timeout 10
event_filter gen_id 1, sig_id 20, type both, track by_dst, count 2, seconds 10
this line is not valid
threshold gen_id 0, sig_id 21, type limit, track by_src, count 1, seconds 1
"""
BAD_LINES = (11, 12)


def build(path):
    """Writes the capture; returns the rules and {(sid, src): expected alerts}, [(sid, t, action)]."""
    pk, rules, exp, actions = [], [], collections.Counter(), []

    def send(sid, t, src, dst=DST):
        p = Ether() / IP(src=src, dst=dst) / UDP(sport=40000 + sid, dport=9000) / Raw(b"M%d:" % sid)
        p.time = 1000.0 * sid + t
        pk.append(p)

    def rule(sid, extra="", gid=""):
        rules.append('alert udp any any -> any any (msg:"t%d"; content:"M%d:"; %s%ssid:%d; rev:1;)'
                     % (sid, sid, extra, "gid:%s; " % gid if gid else "", sid))

    # 11: the rule says threshold 10 per 60 s; the file's limit 1 per 15 s replaces it.
    rule(11, "threshold: type threshold, track by_src, count 10, seconds 60; ")
    for t in range(30):
        send(11, t, "198.18.11.1")   # windows [0,15] and [16,31]: alerts at 0 and 16
    for t in range(3):
        send(11, t, "198.18.11.2")
    exp[(11, "198.18.11.1")] = 2
    exp[(11, "198.18.11.2")] = 1
    # 12 and 13 (gid 5): the gid wildcard applies to 13 only; 12 keeps its own threshold.
    rule(12, "threshold: type threshold, track by_src, count 3, seconds 60; ", gid=5)
    rule(13, "", gid=5)
    for t in range(7):
        send(12, t, "198.18.12.1")   # every 3rd: 2 alerts
        send(13, t, "198.18.13.1")   # limit 1: 1 alert
    exp[(12, "198.18.12.1")] = 2
    exp[(13, "198.18.13.1")] = 1
    # 14: suppressed for one source only.
    rule(14)
    for t in range(3):
        send(14, t, "198.18.14.1")
        send(14, t + 0.5, "198.18.14.2")
    exp[(14, "198.18.14.2")] = 3
    # 15: suppress without track = noalert.
    rule(15)
    for t in range(3):
        send(15, t, "198.18.15.1")
    # 16: by_either: source or destination in the list.
    rule(16)
    send(16, 0, "198.18.16.7")
    send(16, 1, "198.18.1.1", "198.19.16.9")
    send(16, 2, "198.18.1.1")
    exp[(16, "198.18.1.1")] = 1
    # 18: gen_id 0, sig_id 0 suppression of one source for every rule.
    rule(18)
    send(18, 0, "198.18.99.9")
    send(18, 1, "198.18.18.1")
    exp[(18, "198.18.18.1")] = 1
    # 19: rate_filter, more than 3 in 60 s -> drop for 10 s (inclusive); the match at
    # +10.5 s finds it expired; 100 s later a new window.
    rule(19)
    times = [0, 1, 2, 3, 4, 13, 13.5, 100, 101, 102, 103]
    want = "AAADDDAAAAD"
    for t, a in zip(times, want):
        send(19, t, "198.18.19.1")
        actions.append((1000.0 * 19 + t, "would drop" if a == "D" else "allowed"))
    exp[(19, "198.18.19.1")] = len(times)
    # 20: both, by_dst, 2 per 10 s: the 2nd in each window; t=10 is still in the first.
    rule(20)
    for i, t in enumerate([0, 10, 10, 10.5, 11, 12]):
        send(20, t, "198.18.20.%d" % (i + 1))
    exp[(20, "198.18.20.2")] = 1
    exp[(20, "198.18.20.5")] = 1
    # 21: its line is invalid (gen_id 0 with a sig_id): skipped, so every match alerts.
    rule(21)
    for t in range(3):
        send(21, t, "198.18.21.1")
    exp[(21, "198.18.21.1")] = 3
    pk.sort(key=lambda p: float(p.time))
    wrpcap(path, pk)
    return rules, exp, actions


def main(check, dp, tmp):
    pcap, rfile, tfile, eve = (os.path.join(tmp, n) for n in ("t.pcap", "t.rules", "threshold.config", "eve.json"))
    rules, exp, actions = build(pcap)
    write_lines(rfile, rules)
    with open(tfile, "w") as f:
        f.write(THRESHOLDS)
    env = dict(os.environ, SPECTRE_CONFIG="none")
    p, events = run_offline(dp, pcap, eve, rfile, ["--threshold-file", tfile])
    check(p.returncode == 0, "spectre-dp exits 0 with a threshold file holding bad lines", p.stderr[-1500:])
    for ln in BAD_LINES:
        check("threshold.config:%d:" % ln in p.stderr, "bad line %d reported with file:line" % ln, p.stderr[-800:])
    check("thresholds: 8 entries" in p.stderr, "8 entries loaded, bad lines skipped", p.stderr[-800:])
    got, acts, stats = collections.Counter(), {}, None
    for ev in events:
        if ev.get("event_type") == "alert":
            got[(ev["alert"]["signature_id"], ev["src_ip"])] += 1
            if ev["alert"]["signature_id"] == 19:
                acts[ev["timestamp"]] = ev["alert"]["action"]
        if ev.get("event_type") == "stats":
            stats = ev["stats"]
    for key in sorted(exp):
        check(got[key] == exp[key], "sid %d from %s: %d alert(s)" % (key[0], key[1], exp[key]), "got %d" % got[key])
    extra = sorted(set(got) - set(exp))
    check(not extra, "no alerts beyond the expected (sid, source) pairs", extra)
    seq = [acts[k] for k in sorted(acts)]
    check(seq == [a for _, a in actions], "sid 19 rate_filter actions in order", seq)
    if stats:
        d = stats.get("detect", {})
        check(d.get("rate_filtered") == 4, "stats.detect.rate_filtered = 4", d)
        check(d.get("suppressed_config") == 3 + 2 + 1, "stats.detect.suppressed_config = 6", d)
    else:
        check(False, "a stats event at exit")
    # Unreadable threshold file: fatal, like an unreadable rule file.
    p = subprocess.run([dp, "-r", pcap, "-S", rfile, "--threshold-file", os.path.join(tmp, "missing")],
                       env=env, capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "cannot read threshold file" in p.stderr, "missing threshold file: exit 1",
          p.stderr[-500:])
    # --strict refuses a file with a bad line.
    p = subprocess.run([dp, "-r", pcap, "-S", rfile, "--threshold-file", tfile, "--strict"],
                       env=env, capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "threshold.config:11" in p.stderr, "--strict: a bad threshold line is fatal",
          p.stderr[-500:])


if __name__ == "__main__":
    sys.exit(offline_main("thr", main))
