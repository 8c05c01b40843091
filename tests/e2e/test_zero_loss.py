#!/usr/bin/python3
"""Zero loss under hot-swaps: 100 model swaps and 20 rule reloads under traffic.

  test_zero_loss.py [SPECTRE_DP] [--ml SPECTRE_ML] [--signals]
      (or $SPECTRE_DP, $SPECTRE_ML; $SPECTRE_CP and $SPECTRECTL for the control plane)

By default the swaps go through the operator's path: spectre-cp attached to
the data plane's channel and `spectrectl model load` / `spectrectl rules
reload` (the control plane validates each artifact, the data plane loads and
publishes it). With --signals (or without spectre-cp) they are done with the
config file and SIGHUP / SIGUSR2 instead.

spectre-dp runs live on DPDK net_af_packet in a network namespace (helpers in
tests/live/test_live.py) with `--model M.spm` named in its config and
`-S live.rules`. tcpreplay sends generated traffic that the model and the rules
alert on (tests/gen/ml_traffic.py) in a loop at a fixed rate while the model
file is switched 100 times between two versions (each switch followed by
SIGHUP: the config and its model are re-read and published through the RCU
snapshot) and the rules file 20 times (SIGUSR2: compiled in the background,
then published). Checks:
  - every packet sent was decoded (decoder.pkts == sent; no kernel,
    distributor or event drops): no packet lost because of a swap;
  - 100 config reloads and 20 rule reloads were published, none refused;
  - both model versions and both rule sets alerted (the swaps took effect);
  - worker loop iterations (busy part) over 128 us are at most 1e-4 of all;
    the maximum and the histogram are printed, and asserted <= 100 us with
    SPECTRE_LOOP_LIMIT_US=100 (on a shared machine a preempted worker thread
    shows up in the maximum).
Through the control plane, also: every event reached spectre-cp in sequence
(ring gaps == producer drops == 0; received == pushed), every alert is in
spectre-cp's EVE file, and the alert latency (packet arrival to EVE line,
p50/p99) is printed.
Needs root, iproute2 netns, tcpreplay: exits 77 (skip) otherwise. Last line
"N passed, N failed".
"""
import collections
import json
import re
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
import alertcheck as ac  # noqa: E402
import flowcheck  # noqa: E402
import test_live as live  # noqa: E402  (netns helpers; its main() unused)
from ml_traffic import build  # noqa: E402

MODEL_SWAPS = int(os.environ.get("SPECTRE_ZL_SWAPS", "100"))    # 0 and 0: a baseline run
RULE_RELOADS = int(os.environ.get("SPECTRE_ZL_RELOADS", "20"))
PPS, SECONDS = 4000, 15  # 100 swaps + 20 reloads spread over the run
# The busy part of a loop iteration includes time the OS ran something else on
# the worker's CPU; on a shared machine that dominates the maximum. So by
# default the test bounds the share of slow iterations and prints the maximum;
# SPECTRE_LOOP_LIMIT_US=100 also asserts the maximum (quiet, isolated cores).
STRICT = "SPECTRE_LOOP_LIMIT_US" in os.environ
LOOP_LIMIT_US = float(os.environ.get("SPECTRE_LOOP_LIMIT_US", "100"))
MODEL = os.path.join(ROOT, "ml", "models", "default.spm")
MODEL_JSON = os.path.join(ROOT, "ml", "models", "default.json")

check = live.Checks()


def rule(sid, content):
    return ('alert tcp any any -> any 80 (msg:"zero-loss %d"; flow:to_server; '
            'content:"%s"; sid:%d; rev:1;)\n' % (sid, content, sid))


RULES_A = rule(9920001, "GET /admin/") + rule(9920002, "Hydra")
RULES_B = rule(9920001, "GET /admin/") + rule(9920003, "Authorization: Basic")


def main():
    args = [a for a in sys.argv[1:]]
    signals = "--signals" in args
    if signals:
        args.remove("--signals")
    mlb = os.environ.get("SPECTRE_ML")
    if "--ml" in args:
        i = args.index("--ml")
        mlb = args[i + 1]
        del args[i:i + 2]
    dp = flowcheck.find_binary(args[0] if args else None)
    build_dir = os.path.dirname(os.path.dirname(dp or ""))
    mlb = mlb or os.path.join(build_dir, "ml", "spectre-ml")
    cpx = os.environ.get("SPECTRE_CP") or os.path.join(build_dir, "ctrlplane", "spectre-cp")
    ctlx = os.environ.get("SPECTRECTL") or os.path.join(build_dir, "ctrlplane", "spectrectl")
    via_cp = not signals and os.path.exists(cpx) and os.path.exists(ctlx)
    why = live.unavailable() or (None if dp and os.path.exists(mlb) else "spectre-dp or spectre-ml not found") \
        or live.netns_or_why()
    if why:
        return check.skip(why)
    tmp = tempfile.mkdtemp(prefix="spectre-zl-")
    p = tx = cp = None  # the data plane, tcpreplay and spectre-cp, killed in `finally` when a check or timeout ends the run early
    try:
        names = subprocess.run([mlb, "schema", "--csv"], capture_output=True, text=True).stdout.strip()
        classes = [ln.split(": ", 1)[1] for ln in subprocess.run(
            [mlb, "inspect", MODEL], capture_output=True, text=True).stdout.splitlines()
            if ln.startswith("classes: ")][0]
        # Two versions of the shipped classifier without its guard and with threshold 0, so
        # that every flow alerts whatever the shipped model detects: swaps show in the alerts.
        m8, m9 = os.path.join(tmp, "v8.spm"), os.path.join(tmp, "v9.spm")
        for m, v in ((m8, 8), (m9, 9)):
            r = subprocess.run([mlb, "compile", MODEL_JSON, "-o", m, "--features", names, "--classes", classes,
                                "--threshold", "0", "--metric", "version=%d" % v], capture_output=True, text=True)
            check(r.returncode == 0, "model version %d compiled" % v, r.stderr[-500:])
        with open(m8, "rb") as fh:
            v_a = fh.read()
        with open(m9, "rb") as fh:
            v_b = fh.read()
        model = os.path.join(tmp, "active.spm")
        live.put(model, v_a, "wb")
        rules = os.path.join(tmp, "live.rules")
        live.put(rules, RULES_A)
        cfg = os.path.join(tmp, "cfg.yaml")
        with open(cfg, "w") as fh:
            fh.write(live.BIG_TIMEOUTS + "ml: {model: %s}\n" % model)
        pcap = os.path.join(tmp, "traffic.pcap")
        build(3, True).write(pcap)
        per_loop = int(subprocess.run(["tcpdump", "-r", pcap, "-qn"], capture_output=True,
                                      text=True).stdout.count("\n"))
        loops = max(1, PPS * SECONDS // per_loop)
        instance = "zl%d" % os.getpid()
        p, eve, err = live.start_live(tmp, "zl", cfg, extra=("-S", rules) + (
            ("--instance", instance) if via_cp else ()))
        cp_log = cp = None
        sock = os.path.join(tmp, "cp.sock")
        cp_eve = os.path.join(tmp, "cp-eve.json")

        def ctl(*a):
            return subprocess.run([ctlx, "--socket", sock] + list(a), capture_output=True, text=True, timeout=60)
        if via_cp:
            cp_log = open(os.path.join(tmp, "cp.log"), "w+")
            cp = subprocess.Popen([cpx, "--foreground", "--instance", instance, "--socket", sock,
                                   "--registry", os.path.join(tmp, "reg"), "--audit", os.path.join(tmp, "audit.log"),
                                   "--eve", cp_eve], stdout=cp_log, stderr=cp_log)
            deadline = time.time() + 20
            while time.time() < deadline and ctl("status").returncode != 0:
                time.sleep(0.2)
            check(ctl("status").returncode == 0, "spectre-cp attached to the data plane")
            with open(os.path.join(tmp, "a.spm"), "wb") as fh:
                fh.write(v_a)

        tx = live.replay_bg(pcap, PPS, loops)
        span = per_loop * loops / PPS
        time.sleep(0.5)
        steps = MODEL_SWAPS + RULE_RELOADS
        every = max(1, MODEL_SWAPS // max(1, RULE_RELOADS))
        swaps = reloads = cmd_fail = 0
        swap_ms = []
        t0 = time.time()
        for k in range(steps):
            if reloads < RULE_RELOADS and k % (every + 1) == every:
                reloads += 1
                live.put(rules, RULES_B if reloads % 2 else RULES_A)
                if via_cp:
                    r = ctl("rules", "reload")
                    cmd_fail += r.returncode != 0
                else:
                    p.send_signal(signal.SIGUSR2)
            else:
                swaps += 1
                if via_cp:
                    t1 = time.time()
                    r = ctl("model", "load", m9 if swaps % 2 else os.path.join(tmp, "a.spm"))
                    swap_ms.append((time.time() - t1) * 1e3)
                    cmd_fail += r.returncode != 0
                else:
                    live.put(model, v_b if swaps % 2 else v_a, "wb")
                    p.send_signal(signal.SIGHUP)
            time.sleep(max(0.0, (span - 3.0) / steps))
        swap_s = time.time() - t0
        sent, terr = live.sent_by(tx, span + 120)
        check(sent == per_loop * loops, "tcpreplay sent %d packets at %d pps (want %d)" % (
            sent, PPS, per_loop * loops), terr.strip()[-500:])
        time.sleep(1.5)
        check(p.poll() is None, "spectre-dp alive after %d model swaps and %d rule reloads in %.1f s" % (
            swaps, reloads, swap_s))
        channel = {}
        if via_cp:
            check(cmd_fail == 0, "%d spectrectl commands, %d failed" % (swaps + reloads, cmd_fail))
            r = ctl("stats", "--json", "--interval", "0")
            try:
                channel = json.loads(r.stdout).get("result", {}).get("channel", {})
            except ValueError:
                channel = {}
        rc, text = live.stop_live(p, err)
        check(rc == 0, "exit 0 on SIGINT (%s)" % rc, text[-1500:])
        if via_cp:
            time.sleep(1.0)  # spectre-cp drains the last records (final stats)
            cp.send_signal(signal.SIGTERM)
            cp.wait(timeout=20)
            eve = cp_eve  # everything went through the control plane
            own = [ln for ln in open(os.path.join(tmp, "zl.json")) if '"event_type":"alert"' in ln]
            check(not own, "spectre-dp wrote no alert locally while spectre-cp read (%d)" % len(own))
            rings = [x for x in channel.get("rings", []) if x.get("ring", "").startswith("event")]
            gaps = sum(x.get("gaps", 0) for x in rings)
            drops = sum(x.get("producer_drops", 0) for x in rings)
            recv = sum(x.get("received", 0) for x in rings)
            pushed = sum(x.get("pushed", 0) for x in rings)
            check(rings and gaps == drops == 0 and recv == pushed,
                  "every event reached spectre-cp in sequence: received %d of %d pushed, gaps %d, drops %d" % (
                      recv, pushed, gaps, drops))
            lat = channel.get("alert_latency_us", {})
            swap_ms.sort()
            print("alert latency packet -> EVE line: p50 %.0f us, p99 %.0f us, max %.0f us over %d alerts" % (
                lat.get("p50", -1), lat.get("p99", -1), lat.get("max", -1), lat.get("alerts", 0)))
            if swap_ms:
                print("spectrectl model load (validate, registry, data-plane load + publish): median %.1f ms, "
                      "max %.1f ms over %d swaps" % (swap_ms[len(swap_ms) // 2], swap_ms[-1], len(swap_ms)))
            # The data plane's part, from its log lines "... published in X ms".
            dp_ms = sorted(float(x) for x in re.findall(r"published in ([0-9.]+) ms", text))
            if dp_ms:
                print("  of which the data plane (load, checks, self-test, publish): median %.1f ms, max %.1f ms" % (
                    dp_ms[len(dp_ms) // 2], dp_ms[-1]))

        events, bad = flowcheck.parse_eve(eve)
        check(not bad, "EVE lines parse", "%r" % bad[:3])
        st = flowcheck.stats_event(events) or {}
        g = lambda k: flowcheck.get(st, k)  # noqa: E731
        check(g("stats.reloads") == swaps and g("stats.rule_reloads") == reloads and
              g("stats.reload_errors") == 0,
              "published: %r config/model reloads (want %d), %r rule reloads (want %d), %r refused" % (
                  g("stats.reloads"), swaps, g("stats.rule_reloads"), reloads, g("stats.reload_errors")))
        pk = g("stats.decoder.pkts")
        check(pk == sent, "no packet lost: decoder.pkts %r == sent %d" % (pk, sent))
        drops = {k: g("stats.capture." + k) for k in ("kernel_drops", "dist_ring_full", "rx_nombuf")}
        drops["events.dropped"] = g("stats.events.dropped")
        drops["detect.alerts_dropped"] = g("stats.detect.alerts_dropped")
        check(all(v == 0 for v in drops.values()), "no drops anywhere %r" % drops)
        vers = collections.Counter((a.get("ml") or {}).get("version") for a in ac.alerts_of(events)
                                   if "ml" in a)
        check(vers.get("8", 0) > 0 and vers.get("9", 0) > 0,
              "both model versions alerted (version: alerts %r)" % dict(vers))
        sids = collections.Counter((a.get("alert") or {}).get("signature_id") for a in ac.alerts_of(events))
        check(sids[9920002] > 0 and sids[9920003] > 0 and sids[9920001] > 0,
              "both rule sets alerted (%r)" % {k: sids[k] for k in (9920001, 9920002, 9920003)})
        loop = g("stats.loop") or {}
        hist = loop.get("hist_log2_us", [])
        desc = ", ".join("<%dus:%d" % (1 << i, n) for i, n in enumerate(hist) if n)
        # Iterations of >= 128 us for sure (bucket 8 on); bucket 7 is 64-128 us.
        total = sum(hist)
        over = sum(hist[8:])
        print("loop: %d iterations, max %.1f us, histogram %s" % (total, loop.get("max_us", -1), desc))
        check(total > 0 and over <= total * 1e-4,
              "worker loop iterations over 128 us: %d of %d (<= 1e-4)" % (over, total))
        if STRICT:
            check(loop.get("max_us", 1e9) <= LOOP_LIMIT_US,
                  "longest worker loop iteration %.1f us <= %.0f us" % (loop.get("max_us", -1), LOOP_LIMIT_US))
    finally:
        # A timeout must not leave the poll-mode data plane spinning on both cores.
        for proc in (tx, p):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if via_cp and cp is not None and cp.poll() is None:
            cp.kill()
        live.netns_down()
        check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
