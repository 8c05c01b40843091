#!/usr/bin/python3
"""End-to-end alert tests of spectre-dp's signature engine on traffic from
tests/gen/alerts.py (expected alerts from the generator's bookkeeping).

  test_alerts.py [SPECTRE_DP] [--seed N] [--random N]   (or $SPECTRE_DP)

Checks every scenario's alerts exactly (sid, count, addresses, action,
gid/rev/signature/category/severity, timestamp of the triggering packet,
http/dns/tls objects), flow.alerted and app_proto, fast.log, the stats
alert counter, --workers 2, several -S files and --rules-dir, each
scenario alone, random reassembly flows, and rule-file errors (file:line
of a syntax error, --strict, missing file).
Exit 0 all passed, 1 something failed, 77 skipped (no scapy, no binary, or
the binary has no signature engine yet: `--help` does not list -S); the
checks that need no binary run first. Last line: "N passed, N failed".
"""
import argparse
import collections
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import alertcheck as ac  # noqa: E402
import evecheck  # noqa: E402
import flowcheck  # noqa: E402
from flowcheck import run_problems  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402

GEN = os.path.join(os.path.dirname(HERE), "gen", "alerts.py")


def gen(outdir, *args):
    subprocess.run([sys.executable, GEN, outdir] + list(args), check=True,
                   stdout=subprocess.DEVNULL)
    return flowcheck.load_json(os.path.join(outdir, "expected.json"))


# ------------------------------------------------------- binary-free checks

def check_generator(scn, exp, rnd, rexp):
    probs = []
    frames = {}
    for sc in exp["scenarios"]:
        with open(os.path.join(scn, sc["pcap"]), "rb") as fh:
            frames[sc["name"]] = fh.read()[24:]
        if not set(a["sid"] for a in sc["alerts"]) <= set(sc["sids"]):
            probs.append("%s: expected sid not among its rules" % sc["name"])
    with open(os.path.join(scn, exp["pcap"]), "rb") as fh:
        whole = len(fh.read()) - 24
    if sum(len(v) for v in frames.values()) != whole:
        probs.append("per-scenario pcaps do not partition all.pcap")
    indep = ac.random_presence_from_pcap(rnd)
    want = {(p["sid"], p["src_ip"], p["src_port"], p["dest_ip"],
             p["dest_port"]) for p in rexp["present"]}
    if indep != want:
        probs.append("random: independent first-wins reassembly of "
                     "random.pcap disagrees with expected.json: %d only "
                     "in pcap, %d only in expected" % (len(indep - want),
                                                       len(want - indep)))
    if not want:
        probs.append("random: no rule expected to match at all")
    static = os.path.join(RULES_DIR, "scenarios.rules")
    if rule_lines(static) != rule_lines(os.path.join(scn, exp["rules"])):
        probs.append("%s differs from the generated alerts.rules: "
                     "regenerate it (see its header)" % static)
    return probs


# ------------------------------------------------------------ binary checks

def by_scenario(exp, alerts):
    """{scenario name: [alerts]} by flow; None: alerts of no scenario."""
    fmap = {}
    for sc in exp["scenarios"]:
        for f in sc["flows"]:
            fmap[ac.flow_of(f["src_ip"], f["src_port"], f["dest_ip"],
                            f["dest_port"], f["proto"])] = sc["name"]
    out = collections.defaultdict(list)
    for a in alerts:
        out[fmap.get(ac.flow_of(a.get("src_ip"), a.get("src_port"),
                                a.get("dest_ip"), a.get("dest_port"),
                                a.get("proto")))].append(a)
    return out


def outside(groups):
    return ["alert on a flow of no scenario: sid %s %s -> %s" % (
        (a.get("alert") or {}).get("signature_id"), a.get("src_ip"),
        a.get("dest_ip")) for a in groups.get(None, [])]


def all_scenarios_problems(exp, r, skip_per_worker=False):
    """Every scenario in one list (for variant runs)."""
    groups = by_scenario(exp, ac.alerts_of(r.events))
    probs = outside(groups)
    for sc in exp["scenarios"]:
        if skip_per_worker and sc["per_worker_state"]:
            continue
        probs += ["%s: %s" % (sc["name"], p) for p in ac.compare_alerts(
            sc["alerts"], groups.get(sc["name"], []))]
    return probs


def main_run(s, binary, scn, exp):
    rules = os.path.join(scn, exp["rules"])
    cfg = os.path.join(scn, exp["config"])
    pcap = os.path.join(scn, exp["pcap"])
    nrules = sum(len(sc["sids"]) for sc in exp["scenarios"])
    r, fast = ac.run(binary, [pcap], [rules], 1, cfg)
    probs = run_problems(r)
    sm = ac.summary(r.stderr)
    if sm != (nrules, 0, 0):
        probs.append("loader summary %r, want 'rules: %d loaded, 0 skipped,"
                     " 0 errors'" % (sm, nrules))
    s.report("all scenarios --workers 1: exit 0, every rule loaded", probs)
    if r.rc != 0:
        return
    alerts = ac.alerts_of(r.events)
    groups = by_scenario(exp, alerts)
    for sc in exp["scenarios"]:
        s.report("scenario %s (%s)" % (sc["name"], sc["desc"]),
                 ac.compare_alerts(sc["alerts"], groups.get(sc["name"], []),
                                   check_cnt=True)
                 + ac.flow_problems(sc["flows"], r.events))
    s.report("no alert outside the scenarios' flows", outside(groups))
    s.report("fast.log lines == EVE alerts (format, ts, sid, msg, class)",
             ac.fast_problems(fast, alerts))
    st = flowcheck.stats_event(r.events)
    got = flowcheck.get(st or {}, "stats.detect.alerts")
    s.report("stats.detect.alerts == %d" % exp["total_alerts"],
             [] if got == exp["total_alerts"] else
             ["stats.detect.alerts %r, want %d" % (got, exp["total_alerts"])])
    s.report("EVE schema (flow events, timestamps)",
             flowcheck.schema_errors(r.events)[:20])
    s.report("EVE pcap_cnt/ip_v/pkt_src/IPv6 form against the capture",
             evecheck.problems(r.events, [pcap])[:20])


def payload_run(s, binary, scn, exp, tmp):
    """eve.alert payload/packet (Suricata's payload: yes / packet: yes)."""
    cfg = os.path.join(tmp, "payload.yaml")
    with open(cfg, "w") as fh:
        fh.write(open(os.path.join(scn, exp["config"])).read() +
                 "eve:\n  alert:\n    payload: true\n    packet: true\n")
    pcap = os.path.join(scn, exp["pcap"])
    r, _ = ac.run(binary, [pcap], [os.path.join(scn, exp["rules"])], 1, cfg,
                  fast=False)
    probs = run_problems(r)
    if not probs:
        probs, npk, npl = evecheck.payload_problems(r.events, [pcap])
        n = sum("pcap_cnt" in a for a in ac.alerts_of(r.events))
        if npk != n:
            probs.append("%d of %d packet-raised alerts have a packet"
                         % (npk, n))
        if not npl:
            probs.append("no alert has a payload")
        print("  payload run: %d alerts, %d with packet, %d with payload"
              % (n, npk, npl))
    s.report("eve.alert payload/packet: base64 bytes of the capture", probs)


def variant_runs(s, binary, scn, exp, tmp):
    rules = os.path.join(scn, exp["rules"])
    cfg = os.path.join(scn, exp["config"])
    pcap = os.path.join(scn, exp["pcap"])
    r, _ = ac.run(binary, [pcap], [rules], 2, cfg)
    s.report("all scenarios --workers 2 (threshold scenarios excluded)",
             run_problems(r) or all_scenarios_problems(exp, r, True))
    # the same rules in two files: two -S, then --rules-dir
    d = os.path.join(tmp, "rules-dir")
    os.makedirs(d, exist_ok=True)
    with open(rules) as fh:
        lines = fh.readlines()
    half = len(lines) // 2
    parts = [os.path.join(d, "part-a.rules"), os.path.join(d, "part-b.rules")]
    for p, chunk in zip(parts, (lines[:half], lines[half:])):
        with open(p, "w") as fh:
            fh.writelines(chunk)
    r, _ = ac.run(binary, [pcap], parts, 1, cfg, fast=False)
    s.report("rules split over two -S files: same alerts",
             run_problems(r) or all_scenarios_problems(exp, r))
    r, _ = ac.run(binary, [pcap], [], 1, cfg, fast=False, rules_dir=d)
    s.report("--rules-dir with the two files: same alerts",
             run_problems(r) or all_scenarios_problems(exp, r))


def isolated_runs(s, binary, scn, exp):
    """Each scenario's own pcap with only its own rules."""
    cfg = os.path.join(scn, exp["config"])
    for sc in exp["scenarios"]:
        r, _ = ac.run(binary, [os.path.join(scn, sc["pcap"])],
                      [os.path.join(scn, "rules", sc["name"] + ".rules")], 1,
                      cfg, fast=False)
        probs = run_problems(r)
        if not probs:
            al = ac.alerts_of(r.events)
            probs = ac.compare_alerts(sc["alerts"], al) + \
                ac.flow_problems(sc["flows"], r.events)
        s.report("alone: %s" % sc["name"], probs)


def random_runs(s, binary, rnd, rexp):
    for w in (1, 2):
        r, fast = ac.run(binary, [os.path.join(rnd, rexp["pcap"])],
                         [os.path.join(rnd, "alerts.rules")], w,
                         os.path.join(rnd, "config.yaml"))
        probs = run_problems(r)
        if not probs:
            al = ac.alerts_of(r.events)
            probs = ac.random_problems(rexp, al) + ac.fast_problems(fast, al)
            probs += evecheck.problems(
                r.events, [os.path.join(rnd, rexp["pcap"])])[:20]
        s.report("random %d flows, %d rules (%d expected hits, %d rules "
                 "only in losing retransmitted bytes) --workers %d" % (
                     rexp["flows"], rexp["rules"], len(rexp["present"]),
                     rexp["rules_only_in_losing_bytes"], w), probs)


RULES_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "rules",
                         "tests")
BAD_RULES = os.path.join(RULES_DIR, "syntax-error.rules")  # line 4 broken
UNSUPPORTED = os.path.join(RULES_DIR, "unsupported.rules")  # lua keyword


def rule_lines(path):
    with open(path) as fh:
        return [ln.rstrip("\n") for ln in fh
                if ln.strip() and not ln.startswith("#")]


def sid_counts(r):
    return collections.Counter((a.get("alert") or {}).get("signature_id")
                               for a in ac.alerts_of(r.events))


def error_cases(s, binary, scn, exp, tmp):
    cfg = os.path.join(scn, exp["config"])
    pcap = os.path.join(scn, "pcaps", "tcp-split.pcap")
    r, _ = ac.run(binary, [pcap], [BAD_RULES], 1, cfg, fast=False)
    probs = run_problems(r)
    if "syntax-error.rules:4" not in r.stderr:
        probs.append("stderr does not name syntax-error.rules:4:\n"
                     + r.describe())
    sm = ac.summary(r.stderr)
    if sm != (3, 0, 1):
        probs.append("loader summary %r, want (3 loaded, 0 skipped, 1 "
                     "error)" % (sm,))
    got = sid_counts(r)
    if got != {9900001: 1, 9900002: 1, 9900004: 1}:
        probs.append("alerts per sid %s, want 9900001, 9900002, 9900004 "
                     "once each" % dict(got))
    s.report("-S file with a syntax error on line 4: named, others alert",
             probs)

    uns = UNSUPPORTED
    r, _ = ac.run(binary, [pcap], [uns], 1, cfg, fast=False)
    probs = run_problems(r)
    sm = ac.summary(r.stderr)
    if not sm or sm[0] != 1 or sm[1] + sm[2] != 1:
        probs.append("loader summary %r, want 1 loaded and 1 skipped or "
                     "error" % (sm,))
    if sid_counts(r) != {9900011: 1}:
        probs.append("alerts per sid %s, want 9900011 once" %
                     dict(sid_counts(r)))
    s.report("unsupported keyword (lua) without --strict: rule skipped, "
             "exit 0", probs)
    r, _ = ac.run(binary, [pcap], [uns], 1, cfg, fast=False,
                  extra=["--strict"])
    probs = run_problems(r, want_rc=1)
    if r.rc == 1 and not r.stderr.strip():
        probs.append("exit 1 without a message")
    s.report("unsupported keyword with --strict: exit 1 with a message",
             probs)

    missing = os.path.join(tmp, "no-such-dir", "missing.rules")
    r, _ = ac.run(binary, [pcap], [missing], 1, cfg, fast=False)
    probs = run_problems(r, want_rc=1)
    if "missing.rules" not in r.stderr:
        probs.append("stderr does not name missing.rules:\n" + r.describe())
    s.report("missing -S file: exit 1 naming the file", probs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, default=150, metavar="N",
                    help="flows in the random-mode capture")
    args = ap.parse_args()
    s = Checks()
    if importlib.util.find_spec("scapy") is None:
        sys.exit(s.skip("scapy missing for %s (apt-get install python3-scapy)"
                        % sys.executable))
    tmp = tempfile.mkdtemp(prefix="spectre-alerts-")
    scn, rnd = os.path.join(tmp, "scn"), os.path.join(tmp, "rnd")
    exp = gen(scn, "--seed", str(args.seed))
    rexp = gen(rnd, "--random", str(args.random), "--seed", str(args.seed))
    s.report("generator: pcaps, sids, random bookkeeping == independent "
             "first-wins reassembly", check_generator(scn, exp, rnd, rexp))

    binary = flowcheck.find_binary(args.binary)
    skip = None
    if not binary:
        skip = "spectre-dp not found (pass a path or set SPECTRE_DP)"
    elif not ac.rules_supported(binary):
        skip = ("%s --help does not list -S: signature engine not wired "
                "yet; alert checks not run" % binary)
    if skip:
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(s.skip(skip))
    print("binary: %s" % binary)
    main_run(s, binary, scn, exp)
    variant_runs(s, binary, scn, exp, tmp)
    payload_run(s, binary, scn, exp, tmp)
    isolated_runs(s, binary, scn, exp)
    random_runs(s, binary, rnd, rexp)
    error_cases(s, binary, scn, exp, tmp)
    s.cleanup(tmp)
    sys.exit(s.summary())


if __name__ == "__main__":
    main()
