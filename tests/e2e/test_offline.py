#!/usr/bin/python3
"""Offline end-to-end tests of spectre-dp against generated traffic.

  test_offline.py [SPECTRE_DP] [--seed N]     (or set $SPECTRE_DP)

Exit 0 all passed, 1 something failed, 77 binary missing (the checks that
need no binary still run first). Last line: "N passed, N failed".
"""
import argparse
import collections
import importlib.util
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
import evecheck  # noqa: E402
import flowcheck  # noqa: E402
from flowcheck import run_problems  # noqa: E402
import pcaplib  # noqa: E402
import refflow  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402

GEN = os.path.join(os.path.dirname(HERE), "gen", "gen_traffic.py")
NO_TCP_STATE = tuple(f for f in flowcheck.FULL_FIELDS if f != "tcp_state")
MAX_LINES = 60
# Short enough that the interleaving leaves many flows idle past them.
SHORT_TIMEOUTS = {"tcp_new": 1, "tcp_established": 2, "tcp_closing": 1,
                  "tcp_closed": 1, "udp": 1, "icmp": 1, "other": 1}
# A flow idle at the end may be expired by the clock ("timeout") or at
# shutdown: both are fine, so reason is not compared there.
SHORT_FIELDS = tuple(f for f in NO_TCP_STATE if f != "reason")


def gen(outdir, *args):
    subprocess.run([sys.executable, GEN, outdir] + list(args), check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(outdir, "meta.json")) as fh:
        return json.load(fh)


def load(path):
    with open(path) as fh:
        return json.load(fh)


# ------------------------------------------------------- binary-free checks

def check_files(d, meta):
    """flows.pcap and flows.pcapng hold the same frames as meta says."""
    probs = []
    issues = collections.Counter()
    a = list(refflow.read_frames(os.path.join(d, "flows.pcap"), issues))
    b = list(refflow.read_frames(os.path.join(d, "flows.pcapng"), issues))
    del issues["snapped frame"]  # deliberate (trailer case)
    if issues:
        probs.append("reader issues: %s" % dict(issues))
    if len(a) != meta["frames"] or sum(len(f) for _, _, f in a) != \
            meta["bytes"]:
        probs.append("pcap totals differ from meta.json")
    if a != b:
        probs.append("pcap and pcapng frames/timestamps differ")
    ts = [t for t, _, _ in a]
    if ts != sorted(ts) or ts[0] != meta["first_us"] * 1000:
        probs.append("timestamps not increasing from --start")
    return probs


def check_ref(pcap, expected, config):
    """The independent reference computes exactly the expected flows."""
    with open(config) as fh:
        timeouts = refflow.parse_timeouts(fh.read())
    recs, _, issues = refflow.run([pcap], timeouts)
    probs = ["reference issue: %s x%d" % kv for kv in issues.items()
             if kv[0] != "snapped frame"]  # deliberate (trailer case)
    return probs + flowcheck.compare(expected, recs, NO_TCP_STATE,
                                     ("generator", "reference"))


# ------------------------------------------------------------ binary checks

def stats_problems(run, frames, nbytes, nflows):
    st = flowcheck.stats_event(run.events)
    if st is None:
        return ["no stats event"]
    probs = []
    for path, want in (("stats.decoder.pkts", frames),
                       ("stats.decoder.bytes", nbytes),
                       ("stats.flow.created", nflows),
                       ("stats.flow.ended", nflows)):
        got = flowcheck.get(st, path)
        if got != want:
            probs.append("stats: %s = %r, want %r" % (path, got, want))
    return probs


def flow_run(binary, pcaps, expected, config, workers, frames, nbytes,
             fields=flowcheck.FULL_FIELDS):
    run = flowcheck.run_dp(binary, pcaps, workers, config)
    probs = run_problems(run)
    if run.rc != 0:
        return probs  # comparing flows of a failed run only adds noise
    probs += flowcheck.schema_errors(run.events)[:20]
    probs += evecheck.problems(run.events, pcaps)[:20]
    flows = flowcheck.eve_flows(run.events)
    probs += flowcheck.compare(expected, flows, fields)
    probs += stats_problems(run, frames, nbytes, len(expected))
    return probs


def split_capture(path, at, tmp):
    """The capture's frames in two files: [0, at) and [at, end)."""
    issues = collections.Counter()
    frames = [(ts // 1000, fr) for ts, _, fr in
              refflow.read_frames(path, issues)]
    out = [os.path.join(tmp, "part%d.pcap" % i) for i in (1, 2)]
    pcaplib.write_pcap(out[0], frames[:at])
    pcaplib.write_pcap(out[1], frames[at:])
    return out


def app_event_problems(binary, pcap, config, tmp):
    """With app-layer events on, every http/dns/tls event names the packet
    that completed it. Cut the capture in two -r inputs just before the
    last event's packet: pcap_cnt must count on over the second input, so
    the (type, pcap_cnt) pairs stay those of the whole capture."""
    cfg = os.path.join(tmp, "app-events.yaml")
    with open(cfg, "w") as fh:
        fh.write(open(config).read() + "eve:\n  app_events: true\n")

    def app_run(pcaps, workers):
        run = flowcheck.run_dp(binary, pcaps, workers, cfg)
        probs = run_problems(run)
        if run.rc == 0:
            probs += evecheck.problems(run.events, pcaps)[:20]
        apps = [e for e in run.events
                if e.get("event_type") in ("http", "dns", "tls")]
        if any("pcap_cnt" not in e for e in apps):
            probs.append("%d of %d app events lack pcap_cnt" % (
                sum("pcap_cnt" not in e for e in apps), len(apps)))
        return probs, sorted((e["event_type"], e.get("pcap_cnt", 0))
                             for e in apps)

    probs, whole = app_run([pcap], 1)
    if probs or not whole:
        return probs or ["no app-layer events to check"]
    last = max(c for _, c in whole)
    probs, split = app_run(split_capture(pcap, last - 1, tmp), 2)
    if split != whole:
        probs.append("split capture: (type, pcap_cnt) %s, whole: %s" % (
            split[:10], whole[:10]))
    return probs


def exit_problems(run, what):
    """Failure must be a clean non-zero exit with a message."""
    if run.rc is None:
        return ["%s: timed out" % what]
    if run.crashed():
        return ["%s: killed by signal %d\n%s" % (what, -run.rc,
                                                 run.describe())]
    probs = ["sanitizer: " + ln for ln in run.sanitizer_lines()]
    if run.rc == 0:
        probs.append("%s: exit code 0, want non-zero" % what)
    elif not run.stderr.strip():
        probs.append("%s: exit code %d but nothing on stderr" % (what,
                                                                 run.rc))
    return probs


def pcap_cut_points(path):
    """(offset inside the 101st record header, offset inside its data)."""
    with open(path, "rb") as fh:
        data = fh.read()
    off = 24
    for _ in range(100):
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
    return data, off + 9, off + 16 + 10


def truncated_problems(binary, path, complete, what):
    """Cut input: clean exit either way; if 0, the complete frames count."""
    run = flowcheck.run_dp(binary, [path], 1)
    probs = run_problems(run, want_rc=None)
    if probs or run.rc is None or run.crashed():
        return ["%s: %s" % (what, p) for p in probs]
    if run.rc != 0:
        if not run.stderr.strip():
            probs.append("%s: exit %d without message" % (what, run.rc))
        return probs
    got = flowcheck.get(flowcheck.stats_event(run.events) or {},
                        "stats.decoder.pkts")
    if complete is not None and got != complete:
        probs.append("%s: exit 0, stats.decoder.pkts %r, want %d complete "
                     "frames" % (what, got, complete))
    return probs


def write_variants(scn, tmp):
    """The scenario frames in other capture-file encodings."""
    frames = [(ts // 1000, data) for ts, _, data in refflow.read_frames(
        os.path.join(scn, "flows.pcap"), collections.Counter())]
    out = []
    for name, fn, kw in (
            ("nanosecond pcap", pcaplib.write_pcap, {"nsec": True}),
            ("big-endian pcap", pcaplib.write_pcap, {"endian": ">"}),
            ("big-endian usec pcapng", pcaplib.write_pcapng,
             {"endian": ">", "tsresol": None})):
        path = os.path.join(tmp, name.replace(" ", "-") + (
            ".pcapng" if "pcapng" in name else ".pcap"))
        fn(path, frames, **kw)
        out.append((name, path))
    path = os.path.join(tmp, "two-interfaces.pcapng")
    pcaplib.write_pcapng_multi(path, frames)
    out.append(("pcapng with 2 interfaces, comments, NRB, ISB", path))
    return out


def balance_problems(binary, pcap, cfg):
    """Flows hash evenly, so with 2 workers neither may get < 25% of the
    packets. Per-worker counts are not in the contract: this reads
    stats.workers (a list of packet counts) when it is there."""
    run = flowcheck.run_dp(binary, [pcap], 2, cfg)
    probs = run_problems(run)
    if probs:
        return probs
    counts = flowcheck.get(flowcheck.stats_event(run.events) or {},
                           "stats.workers")
    if not (isinstance(counts, list) and len(counts) == 2
            and all(isinstance(c, int) for c in counts)):
        print("  note: no stats.workers list of 2 counts; not checked")
        return []
    if min(counts) < 0.25 * sum(counts):
        return ["packets per worker %s: load is not spread (flow hash "
                "looks constant modulo 2?)" % counts]
    return []


def error_cases(s, binary, tmp, scn):
    run = flowcheck.run_dp(binary, [os.path.join(tmp, "does-not-exist.pcap")])
    s.report("error: nonexistent file", exit_problems(run, "nonexistent"))

    garbage = os.path.join(tmp, "garbage.pcap")
    with open(garbage, "wb") as fh:
        fh.write(random.Random(7).randbytes(4096))
    run = flowcheck.run_dp(binary, [garbage])
    s.report("error: garbage file", exit_problems(run, "garbage"))

    data, in_hdr, in_data = pcap_cut_points(os.path.join(scn, "flows.pcap"))
    probs = []
    for name, cut in (("record header", in_hdr), ("packet data", in_data)):
        p = os.path.join(tmp, "cut-%d.pcap" % cut)
        with open(p, "wb") as fh:
            fh.write(data[:cut])
        probs += truncated_problems(binary, p, 100, "cut in " + name)
    with open(os.path.join(scn, "flows.pcapng"), "rb") as fh:
        ng = fh.read()
    p = os.path.join(tmp, "cut.pcapng")
    with open(p, "wb") as fh:
        fh.write(ng[:len(ng) // 2 + 3])
    probs += truncated_problems(binary, p, None, "cut pcapng")
    s.report("error: truncated capture files", probs)

    empty = os.path.join(tmp, "empty.pcap")
    with open(empty, "wb") as fh:
        fh.write(data[:24])
    run = flowcheck.run_dp(binary, [empty], 1)
    probs = run_problems(run)
    if not probs:
        probs += ["unexpected flow event"] * len(flowcheck.eve_flows(
            run.events))
        probs += stats_problems(run, 0, 0, 0)
    s.report("header-only pcap: exit 0, no flows", probs)

    zero = os.path.join(tmp, "zero-bytes.pcap")
    open(zero, "wb").close()
    run = flowcheck.run_dp(binary, [zero], 1)
    probs = run_problems(run, want_rc=None)
    if run.rc not in (0, None) and not run.stderr.strip():
        probs.append("exit %d without message" % run.rc)
    s.report("zero-byte file: no crash", probs)

    try:
        cp = subprocess.run([binary, "-r"], capture_output=True, timeout=60)
        out = (cp.stdout + cp.stderr).decode("utf-8", "replace")
        probs = []
        if cp.returncode <= 0:
            probs.append("exit code %d, want > 0" % cp.returncode)
        if "usage" not in out.lower():
            probs.append("no usage message; output: %r" % out[:300])
    except subprocess.TimeoutExpired:
        probs = ["`spectre-dp -r` hangs"]
    s.report("error: -r without argument", probs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--seed", type=int, default=1,
                    help="generator seed (other seeds: other interleavings)")
    args = ap.parse_args()
    if importlib.util.find_spec("scapy") is None:  # the generator needs it
        sys.exit(Checks().skip("scapy missing for %s (apt-get install python3-scapy)"
                               % sys.executable))
    s = Checks(MAX_LINES)
    tmp = tempfile.mkdtemp(prefix="spectre-e2e-")
    scn, many, many2 = (os.path.join(tmp, n) for n in ("scn", "many",
                                                         "many2"))
    meta = gen(scn, "--seed", str(args.seed))
    mmeta = gen(many, "--many", "3000", "--seed", str(args.seed + 2))
    exp = load(os.path.join(scn, "expected.json"))
    mexp = load(os.path.join(many, "expected.json"))
    cfg = os.path.join(scn, "config.yaml")

    s.report("generator: pcap/pcapng files consistent", check_files(scn, meta))
    s.report("reference agrees with generator (scenarios)",
             check_ref(os.path.join(scn, "flows.pcap"), exp, cfg))
    s.report("reference agrees with generator (--many)",
             check_ref(os.path.join(many, "flows.pcap"), mexp, cfg))
    # a second config: udp timeout 1000 s merges the idle UDP flow
    cfg2 = os.path.join(tmp, "udp1000.yaml")
    with open(cfg2, "w") as fh:
        fh.write(open(cfg).read().replace("udp: 300", "udp: 1000"))
    exp2, _, _ = refflow.run([os.path.join(scn, "flows.pcap")],
                             refflow.parse_timeouts(open(cfg2).read()))
    n_timeout = sum(r["reason"] == "timeout" for r in exp)
    if len(exp2) != len(exp) - n_timeout:
        s.report("udp1000 config merges the timed-out flows",
                 ["reference gives %d flows, want %d" % (
                     len(exp2), len(exp) - n_timeout)])
    # short timeouts: the reference decides where flows split
    cfg3 = os.path.join(tmp, "short.yaml")
    with open(cfg3, "w") as fh:
        fh.write(pcaplib.config_yaml(SHORT_TIMEOUTS))
    exp3, _, _ = refflow.run([os.path.join(scn, "flows.pcap")],
                             SHORT_TIMEOUTS)
    variants = write_variants(scn, tmp)

    binary = flowcheck.find_binary(args.binary)
    if not binary:
        sys.exit(s.skip("spectre-dp not found (pass a path or set SPECTRE_DP)"))
    print("binary: %s" % binary)

    for fmt in ("pcap", "pcapng"):
        for w in (1, 2):
            s.report("scenarios %s --workers %d" % (fmt, w),
                     flow_run(binary, [os.path.join(scn, "flows." + fmt)],
                              exp, cfg, w, meta["frames"], meta["bytes"]))
    for name, path in variants:
        s.report("scenarios as %s --workers 1" % name,
                 flow_run(binary, [path], exp, cfg, 1, meta["frames"],
                          meta["bytes"]))
    s.report("scenarios with udp timeout 1000 (no timeouts)",
             flow_run(binary, [os.path.join(scn, "flows.pcap")], exp2, cfg2,
                      1, meta["frames"], meta["bytes"], NO_TCP_STATE))
    for w in (1, 2):
        s.report("scenarios with short timeouts (%d flows) --workers %d"
                 % (len(exp3), w),
                 flow_run(binary, [os.path.join(scn, "flows.pcap")], exp3,
                          cfg3, w, meta["frames"], meta["bytes"],
                          SHORT_FIELDS))
    for w in (1, 2):
        s.report("--many 3000 --workers %d" % w,
                 flow_run(binary, [os.path.join(many, "flows.pcap")], mexp,
                          cfg, w, mmeta["frames"], mmeta["bytes"]))
    s.report("--many 3000 --workers 2 spreads packets over workers",
             balance_problems(binary, os.path.join(many, "flows.pcap"), cfg))
    # Two -r inputs form one stream: the second starts 1 s after the first.
    start = (meta["last_us"] - meta["first_us"]) / 1e6 + 1
    m2 = gen(many2, "--many", "200", "--seed", str(args.seed + 3),
             "--start", str(start))
    s.report("two -r inputs (pcapng then pcap) --workers 2",
             flow_run(binary, [os.path.join(scn, "flows.pcapng"),
                               os.path.join(many2, "flows.pcap")],
                      exp + load(os.path.join(many2, "expected.json")), cfg,
                      2, meta["frames"] + m2["frames"],
                      meta["bytes"] + m2["bytes"]))
    # A second input that starts before the first one ends (another capture,
    # not a continuation; here 10,000 s earlier, past every timeout): the
    # first input's flows end with it, so the run gives the flows of two
    # separate runs, whatever the burst timing (twice).
    many3 = os.path.join(tmp, "many3")
    m3 = gen(many3, "--many", "200", "--seed", str(args.seed + 4),
             "--start", "10000")
    for attempt in (1, 2):
        s.report("two -r inputs, the second starting earlier --workers 2 "
                 "(run %d)" % attempt,
                 flow_run(binary, [os.path.join(many3, "flows.pcap"),
                                   os.path.join(scn, "flows.pcap")],
                          load(os.path.join(many3, "expected.json")) + exp,
                          cfg, 2, meta["frames"] + m3["frames"],
                          meta["bytes"] + m3["bytes"]))
    s.report("app events, the capture cut in two -r inputs --workers 2: "
             "same pcap_cnt as whole, ip_v, IPv6 form",
             app_event_problems(binary, os.path.join(scn, "flows.pcap"),
                                cfg, tmp))
    error_cases(s, binary, tmp, scn)

    s.cleanup(tmp)
    sys.exit(s.summary())


if __name__ == "__main__":
    main()
