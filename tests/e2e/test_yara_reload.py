#!/usr/bin/python3
"""Live YARA reloads (SIGHUP) on spectre-dp.

  test_yara_reload.py [SPECTRE_DP]     (or $SPECTRE_DP)

spectre-dp runs on DPDK net_af_packet in a network namespace (helpers from
tests/live/test_live.py) with a `yara:` rule file whose rule One matches
MARK-ONE. Each phase replays HTTP downloads carrying both MARK-ONE and
MARK-TWO (tests/gen: pcaplib frames through mail_ftp's flow builder), new
client ports per phase: (1) rule One alerts on every download; the file is
broken and SIGHUP is sent: the reload is refused with a message naming file
and line; (2) rule One still alerts on every download (the running set
stays); the file is replaced by rule Two and SIGHUP sent: "yara: reloaded";
(3) only rule Two alerts, on every download. Also: exit 0 on SIGINT, the
stats count 1 reload and 1 refused, no packet lost.
Needs root, iproute2 netns, tcpreplay: exits 77 (skip) otherwise.
Last line "N passed, N failed".
"""
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
import flowcheck  # noqa: E402
import mail_ftp  # noqa: E402
import pcaplib  # noqa: E402
import test_live as live  # noqa: E402  (netns helpers)
from checks import Checks  # noqa: E402

CLI, SRV = "198.18.230.2", "198.19.230.80"
N = 5  # downloads per phase
ONE = 'rule One { strings: $a = "SPECTRE-MARK-ONE" condition: $a }\n'
TWO = 'rule Two { strings: $b = "SPECTRE-MARK-TWO" condition: $b }\n'
BROKEN = 'rule Two {\n  strings: $b = "SPECTRE-MARK-TWO"\n  condition: $b and $gone }\n'


def capture(path, cport0):
    body = b"x" * 300 + b"SPECTRE-MARK-ONE" + b"y" * 300 + b"SPECTRE-MARK-TWO" + b"z" * 100
    conv = [("c", b"GET /f.bin HTTP/1.1\r\nHost: h.example\r\n\r\n"),
            ("s", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)]
    frames = []
    for i in range(N):
        t = [pcaplib.EPOCH_START_US + i * 100000]
        frames += mail_ftp.flow_frames(CLI, SRV, cport0 + i, 80, conv, False, t)
    pcaplib.write_pcap(path, frames)


def replay(tmp, phase):
    pcap = os.path.join(tmp, "phase%d.pcap" % phase)
    capture(pcap, 20000 + 1000 * phase)
    p = subprocess.run(["ip", "netns", "exec", live.NS_TX, "tcpreplay", "-i", live.IF_TX, "--pps", "200", pcap],
                       capture_output=True, text=True, timeout=60)
    time.sleep(1.0)
    return p.returncode == 0


def sighup_and_wait(p, err, word):
    """SIGHUP, then the first new stderr line containing `word` (15 s at most)."""
    err.seek(0)
    before = len(err.read())
    p.send_signal(signal.SIGHUP)
    deadline = time.time() + 15
    while time.time() < deadline:
        err.seek(0)
        line = next((ln for ln in err.read()[before:].splitlines() if word in ln), "")
        if line:
            return line
        time.sleep(0.1)
    return ""


def main():
    check = Checks()
    binary = flowcheck.find_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    why = live.unavailable() or (None if binary else "spectre-dp not found") or live.netns_or_why()
    if why:
        return check.skip(why)
    tmp = tempfile.mkdtemp(prefix="spectre-yara-reload-")
    try:
        rules = os.path.join(tmp, "live.yar")
        live.put(rules, ONE)
        cfg = os.path.join(tmp, "cfg.yaml")
        with open(cfg, "w") as fh:
            fh.write(live.BIG_TIMEOUTS + "yara:\n  rules: [live.yar]\n")
        p, eve, err = live.start_live(tmp, "yarareload", cfg, ["-k", "none", "--no-ml"], binary)
        check(replay(tmp, 1), "phase 1 replayed")
        live.put(rules, BROKEN)
        refused = sighup_and_wait(p, err, "refused")
        check("yara: %s:3: undefined string \"$gone\"" % rules in refused and "keeping" in refused,
              "a broken rule file on reload is refused naming file:line", refused)
        check(replay(tmp, 2), "phase 2 replayed")
        live.put(rules, TWO)
        check("1 rule(s) from 1 file(s)" in sighup_and_wait(p, err, "yara: reloaded"), "the new rule file reloaded")
        check(replay(tmp, 3), "phase 3 replayed")
        rc, text = live.stop_live(p, err)
        check(rc == 0, "exit 0 on SIGINT (%s)" % rc, text[-1500:])
        events, bad = flowcheck.parse_eve(eve)
        check(not bad, "EVE lines parse", "%r" % bad[:3])
        got = collections.Counter()
        for e in events:
            if e.get("event_type") == "alert" and e["alert"]["gid"] == 9300:
                got[(e["dest_port"] // 1000 - 20, e["yara"]["rule"])] += 1
        check(got == {(1, "One"): N, (2, "One"): N, (3, "Two"): N},
              "rule One alerts before and after the refused reload, rule Two after the good one, on every "
              "download", dict(got))
        st = flowcheck.stats_event(events) or {}
        check(flowcheck.get(st, "stats.reloads") == 1 and flowcheck.get(st, "stats.reload_errors") == 1,
              "stats: 1 reload, 1 refused", "%r %r" % (flowcheck.get(st, "stats.reloads"),
                                                       flowcheck.get(st, "stats.reload_errors")))
        check(flowcheck.get(st, "stats.yara.files") == 3 * N and flowcheck.get(st, "stats.yara.scanners") == 2,
              "stats.yara: %d files scanned, 2 scanners (one per rule set)" % (3 * N), flowcheck.get(st, "stats.yara"))
    finally:
        live.netns_down()
        check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
