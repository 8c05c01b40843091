#!/usr/bin/python3
"""Live rule reloads (SIGUSR2) under traffic.

  test_reload.py [SPECTRE_DP]     (or $SPECTRE_DP)

spectre-dp runs on DPDK net_af_packet in a network namespace (netns and
veth helpers from tests/live/test_live.py) with `-S live.rules --strict`;
tcpreplay sends a UDP capture in a loop for ~20 s while the rules file is
switched 20 times between two rule sets that share one rule, each switch
followed by SIGUSR2. Checks: the process survives and exits 0 on SIGINT;
stats count 20 reloads; no packet lost (decoder.pkts == sent, no port or
distributor drops); the shared rule alerted exactly once per matching
packet sent; both rule sets' own rules alerted (the switches took effect);
a broken file on reload is refused with a log line, and the previous
rules still alert afterwards.
Needs root, iproute2 netns, tcpreplay: exits 77 (skip) otherwise, and
when `spectre-dp --help` does not list -S. Last line "N passed, N failed".
"""
import collections
import os
import re
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
import alertcheck as ac  # noqa: E402
import flowcheck  # noqa: E402
import pcaplib  # noqa: E402
import test_live as live  # noqa: E402  (netns helpers; its main() unused)
from checks import Checks  # noqa: E402

RELOADS = 20
PPS, LOOPS = 1000, 200          # 100-packet capture: 20000 packets, 20 s
SRC, POST_SRC, DST = "198.18.210.1", "198.18.211.1", "198.19.210.1"
COMMON, ONLY_A, ONLY_B = 9910001, 9910002, 9910003


def rule(sid, content):
    return ('alert udp any any -> any 9900 (msg:"reload test %d"; '
            'content:"%s"; sid:%d; rev:1;)\n' % (sid, content, sid))


RULES_A = rule(COMMON, "RELOAD-COMMON-MARK") + rule(ONLY_A, "ONLY-A-MARK")
RULES_B = rule(COMMON, "RELOAD-COMMON-MARK") + rule(ONLY_B, "ONLY-B-MARK")
BROKEN = RULES_A + 'alert udp any any -> any 9900 (msg:"broken"; content:"x"\n'


def udp_frame(src, sport, payload):
    l4 = pcaplib.l4_udp(src, DST, sport, 9900, payload)
    et, l3 = pcaplib.ip_packet(src, DST, 17, l4)
    return pcaplib.ether(src, DST, et, l3)


def write_captures(tmp):
    """loop.pcap: 100 packets, 50 common, 10 A-only, 10 B-only, 30 other.
    post.pcap: 20 packets with both the common and the A-only marker."""
    kinds = ["RELOAD-COMMON-MARK"] * 50 + ["ONLY-A-MARK"] * 10 + \
        ["ONLY-B-MARK"] * 10 + ["benign"] * 30
    frames, t = [], pcaplib.EPOCH_START_US
    for n, k in enumerate(kinds[i] for i in
                          sorted(range(100), key=lambda i: (i * 37) % 100)):
        frames.append((t + n * 1000, udp_frame(SRC, 50000, b"%s %d" % (
            k.encode(), n))))
    loop = os.path.join(tmp, "loop.pcap")
    pcaplib.write_pcap(loop, frames)
    post = os.path.join(tmp, "post.pcap")
    pcaplib.write_pcap(post, [(t + n * 1000, udp_frame(
        POST_SRC, 50001, b"RELOAD-COMMON-MARK ONLY-A-MARK %d" % n))
        for n in range(20)])
    return loop, post, kinds.count("RELOAD-COMMON-MARK")


def start(binary, tmp, cfg, rules):
    return live.start_live(tmp, "reload", cfg, ["-S", rules, "--strict", "-k", "none"], binary)


def stderr_text(err):
    err.seek(0)
    return err.read()


def first(st, *paths):
    for p in paths:
        v = flowcheck.get(st or {}, p)
        if v is not None:
            return p, v
    return None, None


def main():
    check = Checks()
    binary = flowcheck.find_binary(sys.argv[1] if len(sys.argv) > 1
                                   else None)
    if live.unavailable():
        return check.skip("reload test: " + live.unavailable())
    if not binary:
        return check.skip("spectre-dp not found (pass a path or set SPECTRE_DP)")
    if not ac.rules_supported(binary):
        return check.skip("%s --help does not list -S: signature engine not "
                          "wired yet" % binary)
    why = live.netns_or_why()
    if why:
        return check.skip(why)
    tmp = tempfile.mkdtemp(prefix="spectre-reload-")
    try:
        cfg = os.path.join(tmp, "cfg.yaml")
        with open(cfg, "w") as fh:
            fh.write(live.BIG_TIMEOUTS)
        rules = os.path.join(tmp, "live.rules")
        live.put(rules, RULES_A)
        loop, post, common_per_loop = write_captures(tmp)
        p, eve, err = start(binary, tmp, cfg, rules)

        tx = live.replay_bg(loop, PPS, LOOPS)
        span = 100 * LOOPS / PPS
        time.sleep(0.5)
        for i in range(1, RELOADS + 1):
            live.put(rules, RULES_B if i % 2 else RULES_A)
            p.send_signal(signal.SIGUSR2)
            time.sleep((span - 2.0) / RELOADS)
        sent, terr = live.sent_by(tx, timeout=span + 120)
        check(sent == 100 * LOOPS, "tcpreplay sent %d packets (want %d)" % (
            sent, 100 * LOOPS), terr.strip()[-500:])
        time.sleep(1.0)
        alive = p.poll() is None
        check(alive, "spectre-dp alive after %d SIGUSR2 reloads" % RELOADS,
              stderr_text(err)[-2000:])

        # broken file: refused (--strict), old rules (set A) kept
        live.put(rules, BROKEN)
        before = stderr_text(err)
        if alive:
            p.send_signal(signal.SIGUSR2)
        refused = False
        deadline = time.time() + 15
        while alive and time.time() < deadline and not refused:
            new = stderr_text(err)[len(before):]
            refused = any(re.search(r"refus|fail|keeping", ln, re.I)
                          for ln in new.splitlines())
            time.sleep(0.2)
        check(refused, "reload of a broken rules file refused with a log "
              "line", stderr_text(err)[len(before):][-1000:])
        r = subprocess.run(["ip", "netns", "exec", live.NS_TX, "tcpreplay",
                            "-i", live.IF_TX, "--pps", "500", post],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Actual: (\d+) packets", r.stdout)
        sent2 = int(m.group(1)) if m else -1
        time.sleep(1.0)
        rc, text = live.stop_live(p, err, timeout=60)
        check(rc == 0, "exit 0 on SIGINT (%s)" % rc, text[-1500:])

        events, bad = flowcheck.parse_eve(eve)
        check(not bad, "EVE lines parse", "%r" % bad[:3])
        st = flowcheck.stats_event(events)
        path, n = first(st, "stats.detect.reloads", "stats.detect.rule_reloads",
                        "stats.rule_reloads", "stats.reloads")
        check(n == RELOADS, "stats: %d reloads (%s = %r)" % (RELOADS, path, n))
        path, n = first(st, "stats.detect.reload_errors",
                        "stats.rule_reload_errors", "stats.reload_errors")
        check(n == 1, "stats: 1 refused reload (%s = %r)" % (path, n))
        pk = flowcheck.get(st or {}, "stats.decoder.pkts")
        check(pk == sent + sent2, "no packet lost: decoder.pkts %r == sent "
              "%d" % (pk, sent + sent2))
        drops = [flowcheck.get(st or {}, "stats.capture." + k)
                 for k in ("kernel_drops", "dist_ring_full")]
        check(drops == [0, 0], "no port/distributor drops %r" % drops)
        ev_drop = flowcheck.get(st or {}, "stats.events.dropped")
        check(ev_drop == 0, "no EVE events dropped (%r)" % ev_drop)

        cnt = collections.Counter()
        for a in ac.alerts_of(events):
            cnt[((a.get("alert") or {}).get("signature_id"),
                 a.get("src_ip"))] += 1
        want = common_per_loop * LOOPS
        check(cnt[(COMMON, SRC)] == want, "shared rule alerted once per "
              "matching packet across reloads: %d, want %d" % (
                  cnt[(COMMON, SRC)], want))
        check(cnt[(ONLY_A, SRC)] > 0 and cnt[(ONLY_B, SRC)] > 0,
              "both rule sets were live (A-only %d, B-only %d alerts)" % (
                  cnt[(ONLY_A, SRC)], cnt[(ONLY_B, SRC)]))
        check(cnt[(ONLY_A, POST_SRC)] == sent2 and
              cnt[(COMMON, POST_SRC)] == sent2 and
              cnt[(ONLY_B, POST_SRC)] == 0,
              "after the refused reload the last good rules (set A) still "
              "alert: A-only %d, common %d, B-only %d of %d packets" % (
                  cnt[(ONLY_A, POST_SRC)], cnt[(COMMON, POST_SRC)],
                  cnt[(ONLY_B, POST_SRC)], sent2))
        san = [ln for ln in text.splitlines()
               if any(mk in ln for mk in flowcheck.SANITIZER_MARKS)]
        check(not san, "no sanitizer reports", "\n".join(san[:5]))
    finally:
        live.netns_down()
        check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
