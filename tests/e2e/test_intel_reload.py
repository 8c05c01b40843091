#!/usr/bin/python3
"""Live threat-intel reloads (SIGHUP) under traffic.

  test_intel_reload.py [SPECTRE_DP]     (or $SPECTRE_DP)

spectre-dp runs on DPDK net_af_packet in a network namespace (helpers from
tests/live/test_live.py) with an `intel:` feed (a plain address list).
tcpreplay sends 2000 UDP packets, each its own flow, to a listed-A, a
listed-B and an unlisted address while the feed is switched 10 times between
listing A and listing B, each switch followed by SIGHUP. Checks: the process
survives and exits 0 on SIGINT; 10 reloads counted; no packet lost; both
feed versions alerted (the switches took effect) and never more than once
per packet; the unlisted address never alerts; a broken feed on reload is
refused with a message naming file and line, and the last good set still
alerts on every packet afterwards; a SIGUSR2 rule reload (the path of
`spectrectl rules reload`) re-reads the feeds too.
Needs root, iproute2 netns, tcpreplay: exits 77 (skip) otherwise.
Last line "N passed, N failed".
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
import flowcheck  # noqa: E402
import pcaplib  # noqa: E402
import test_live as live  # noqa: E402  (netns helpers)
from checks import Checks  # noqa: E402

RELOADS, PPS, N = 10, 200, 2000
SRC, A, B, C = "198.18.220.1", "198.19.220.1", "198.19.220.2", "198.19.220.3"


def capture(path, dsts, n, sport0):
    frames, t = [], pcaplib.EPOCH_START_US
    for i in range(n):
        d = dsts[i % len(dsts)]
        l4 = pcaplib.l4_udp(SRC, d, sport0 + i, 7000, b"intel reload %d" % i)
        et, l3 = pcaplib.ip_packet(SRC, d, 17, l4)
        frames.append((t + i * 1000, pcaplib.ether(SRC, d, et, l3)))
    pcaplib.write_pcap(path, frames)


def replay(pps, pcap):
    return subprocess.Popen(["ip", "netns", "exec", live.NS_TX, "tcpreplay", "-i", live.IF_TX, "--pps", str(pps), pcap],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sent_of(out):
    m = re.search(r"Actual: (\d+) packets", out)
    return int(m.group(1)) if m else -1


def main():
    check = Checks()
    binary = flowcheck.find_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    why = live.unavailable() or (None if binary else "spectre-dp not found") or live.netns_or_why()
    if why:
        return check.skip(why)
    tmp = tempfile.mkdtemp(prefix="spectre-intel-reload-")
    try:
        feed = os.path.join(tmp, "feed.txt")
        live.put(feed, A + "\n")
        cfg = os.path.join(tmp, "cfg.yaml")
        with open(cfg, "w") as fh:
            fh.write(live.BIG_TIMEOUTS + "intel:\n  feeds:\n    - {name: lab, path: feed.txt, format: plain, type: ip}\n")
        loop = os.path.join(tmp, "loop.pcap")
        capture(loop, [A, B, C], N, 10000)
        p, eve, err = live.start_live(tmp, "intelreload", cfg, ["-k", "none"], binary)
        tx = replay(PPS, loop)
        span = N / PPS
        time.sleep(0.5)
        last = A
        for i in range(1, RELOADS + 1):
            last = B if i % 2 else A
            live.put(feed, "# version %d\n%s\n" % (i, last))
            p.send_signal(signal.SIGHUP)
            time.sleep((span - 2.0) / RELOADS)
        out, terr = tx.communicate(timeout=span + 120)
        sent = sent_of(out)
        check(sent == N, "tcpreplay sent %d packets (want %d)" % (sent, N), terr[-500:])
        time.sleep(1.0)
        alive = p.poll() is None
        check(alive, "spectre-dp alive after %d SIGHUP reloads" % RELOADS)

        live.put(feed, "300.1.2.3\n")
        err.seek(0)
        before = len(err.read())
        if alive:
            p.send_signal(signal.SIGHUP)
        refused, deadline = "", time.time() + 15
        while alive and time.time() < deadline and not refused:
            err.seek(0)
            new = err.read()[before:]
            refused = next((ln for ln in new.splitlines() if "refused" in ln), "")
            time.sleep(0.2)
        check("feed.txt:1: bad IP address or CIDR '300.1.2.3'" in refused and "keeping" in refused,
              "a broken feed on reload is refused naming file:line, the running set stays", refused)
        post = os.path.join(tmp, "post.pcap")
        capture(post, [last], 50, 30000)
        r = replay(100, post)
        out2, _ = r.communicate(timeout=60)
        sent2 = sent_of(out2)
        time.sleep(1.0)
        # The rule-reload path (SIGUSR2, as `spectrectl rules reload`) re-reads the feeds too.
        live.put(feed, C + "\n")
        err.seek(0)
        before = len(err.read())
        p.send_signal(signal.SIGUSR2)
        reloaded, deadline = "", time.time() + 30
        while time.time() < deadline and not reloaded:
            err.seek(0)
            reloaded = next((ln for ln in err.read()[before:].splitlines() if "rules reload" in ln), "")
            time.sleep(0.2)
        check("rules reloaded" in reloaded and "intel 1 indicators" in reloaded,
              "SIGUSR2 (rules reload) re-reads the feeds", reloaded)
        post3 = os.path.join(tmp, "post3.pcap")
        capture(post3, [C], 20, 40000)
        out3, _ = replay(100, post3).communicate(timeout=60)
        sent3 = sent_of(out3)
        time.sleep(1.0)
        rc, text = live.stop_live(p, err)
        check(rc == 0, "exit 0 on SIGINT (%s)" % rc, text[-1500:])

        events, bad = flowcheck.parse_eve(eve)
        check(not bad, "EVE lines parse", "%r" % bad[:3])
        st = flowcheck.stats_event(events) or {}
        check(flowcheck.get(st, "stats.reloads") == RELOADS and flowcheck.get(st, "stats.reload_errors") == 1,
              "stats: %d reloads, 1 refused" % RELOADS, "%r %r" % (flowcheck.get(st, "stats.reloads"),
                                                                   flowcheck.get(st, "stats.reload_errors")))
        pk = flowcheck.get(st, "stats.decoder.pkts")
        check(pk == sent + sent2 + sent3, "no packet lost: decoder.pkts %r == sent %d" % (pk, sent + sent2 + sent3))
        drops = [flowcheck.get(st, "stats.capture." + k) for k in ("kernel_drops", "dist_ring_full")]
        check(drops == [0, 0], "no port/distributor drops %r" % drops)
        cnt = collections.Counter()
        per_flow = collections.Counter()
        for e in events:
            if e.get("event_type") == "alert" and "intel" in e:
                cnt[(e["dest_ip"], e["src_port"] >= 30000)] += 1
                cnt["after_usr2"] += e["src_port"] >= 40000
                per_flow[e["flow_id"]] += 1
        to_ab = sum(1 for i in range(N) if i % 3 != 2)
        check(cnt[(A, False)] > 0 and cnt[(B, False)] > 0 and cnt[(A, False)] + cnt[(B, False)] <= to_ab,
              "both feed versions alerted under traffic (A %d, B %d of %d packets to A/B)" % (
                  cnt[(A, False)], cnt[(B, False)], to_ab))
        check(cnt["after_usr2"] == sent3 == 20 and cnt[(C, True)] == sent3,
              "after the rule reload the new feed (C) alerts on all %d packets: %d" % (sent3, cnt["after_usr2"]))
        check(cnt[(C, False)] == 0 and max(per_flow.values() or [0]) == 1,
              "the unlisted address never alerts; at most one alert per flow")
        check(cnt[(last, True)] == sent2 == 50,
              "after the refused reload the last good set (%s) alerts on all %d packets: %d" % (last, sent2,
                                                                                               cnt[(last, True)]))
        check(flowcheck.get(st, "stats.intel.feeds.lab.loaded") == 1, "stats.intel.feeds.lab.loaded == 1")
    finally:
        live.netns_down()
        check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
