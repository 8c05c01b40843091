#!/usr/bin/python3
"""HTTP evasion suite and the rule-set policy, end to end on spectre-dp.

  test_http_evasion.py [SPECTRE_DP]   (or $SPECTRE_DP)

1. Evasion: tests/gen/http_evasion.py builds one connection per trick
   (compression, chunking, lengths, folding, HTTP/0.9, status lines,
   absolute and encoded URIs, uploads), each with its own rule; on every
   connection exactly the expected sids alert (the attack is still found,
   nothing fires elsewhere). The same again with every payload byte in its
   own segment. The decompression bomb is cut off and counted.
2. Rule-set policy: a rules file of which nothing loads still runs (exit 0,
   flow and http events in EVE, a warning naming the reasons); with --strict
   it exits 1 with a message naming the first bad rule.
Exit 0 all passed, 1 something failed, 77 skipped (no binary).
"""
import collections
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import flowcheck  # noqa: E402
from checks import Checks  # noqa: E402

GEN = os.path.join(os.path.dirname(HERE), "gen", "http_evasion.py")
# The decompression limit below the body limit, so the bomb meets it first.
CONFIG = ("behaviour: {enabled: false}\n"
          "app_layer: {http_body_limit: 65536, http_decompress_limit: 32768}\n")


def generate(outdir, *extra):
    subprocess.run([sys.executable, GEN, outdir] + list(extra), check=True,
                   timeout=300)
    return flowcheck.load_json(os.path.join(outdir, "expected.json"))


def run(binary, d, cfg, extra=()):
    return flowcheck.run_dp(binary, [os.path.join(d, "evasion.pcap")],
                            workers=1, config=cfg, timeout=300,
                            extra=["-k", "none", "--no-ml"] + list(extra))


def alerts_by_port(events):
    got = collections.defaultdict(list)
    for e in events:
        if e.get("event_type") != "alert":
            continue
        port = e.get("src_port") if e.get("dest_port") == 80 else e.get(
            "dest_port")
        got[port].append(e["alert"]["signature_id"])
    return got


def evasion(check, binary, d, exp, cfg, label):
    r = run(binary, d, cfg, ["-S", os.path.join(d, "evasion.rules")])
    if not check(r.rc == 0 and not r.bad_lines, label + ": exit 0, EVE parses",
                 r.describe()):
        return r
    got = alerts_by_port(r.events)
    ports = set()
    for c in exp["cases"]:
        ports.add(c["cport"])
        want = sorted(c["sids"])
        have = sorted(got.get(c["cport"], []))
        what = "fires once" if want else "does not fire"
        check(have == want, "%s: %s %s" % (label, c["name"], what),
              "alerts %s, want %s" % (have, want))
    stray = {p: s for p, s in got.items() if p not in ports}
    check(not stray, label + ": no alert outside the cases", stray)
    return r


def policy(check, binary, d, cfg, tmp):
    bad = os.path.join(tmp, "nothing-loads.rules")
    with open(bad, "w") as fh:
        fh.write('alert tcp any any -> any any (msg:"lua"; lua:x.lua; '
                 'sid:1;)\n'
                 'alert tcp any any -> any any (msg:"bad sid"; content:"a"; '
                 'sid:abc;)\n'
                 'alert tcp any any -> any any (msg:"pcre"; pcre:"/(/"; '
                 'sid:3;)\n')
    r = run(binary, d, cfg, ["-S", bad])
    flows = [e for e in r.events if e.get("event_type") == "flow"]
    https = [e for e in r.events if e.get("event_type") == "http"]
    check(r.rc == 0, "nothing loads: exit 0", r.describe())
    check(len(flows) > 10 and len(https) > 10,
          "nothing loads: EVE still has flow and http events",
          "%d flows, %d http" % (len(flows), len(https)))
    check("no rule is active" in r.stderr and "lua" in r.stderr
          and "nothing-loads.rules:2" in r.stderr,
          "nothing loads: stderr warns and names the reasons", r.describe())
    check(not [e for e in r.events if e.get("event_type") == "alert"],
          "nothing loads: no alert", "")
    r = run(binary, d, cfg, ["-S", bad, "--strict"])
    check(r.rc == 1 and "strict" in r.stderr
          and "nothing-loads.rules:1" in r.stderr,
          "nothing loads, --strict: exit 1 naming the first bad rule",
          r.describe())
    empty = os.path.join(tmp, "empty.rules")
    with open(empty, "w") as fh:
        fh.write("# no rules\n")
    r = run(binary, d, cfg, ["-S", empty])
    check(r.rc == 0 and any(e.get("event_type") == "flow" for e in r.events),
          "empty rules file: exit 0 with flows", r.describe())
    r = run(binary, d, cfg, ["-S", empty, "--strict"])
    check(r.rc == 1 and "no rule loaded" in r.stderr,
          "empty rules file, --strict: exit 1 with a message", r.describe())


def main():
    check = Checks()
    binary = flowcheck.find_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    if not binary:
        print("SKIP: spectre-dp not found (pass a path or set SPECTRE_DP)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="spectre-evasion-")
    cfg = os.path.join(tmp, "cfg.yaml")
    with open(cfg, "w") as fh:
        fh.write(CONFIG)
    whole, bytewise = os.path.join(tmp, "whole"), os.path.join(tmp, "bytes")
    exp = generate(whole)
    r = evasion(check, binary, whole, exp, cfg, "segments")
    st = flowcheck.stats_event(r.events) or {}
    app = (st.get("stats") or {}).get("app_layer") or {}
    check(app.get("http_decompress_cut", 0) >= 1,
          "the decompression bomb is cut off and counted",
          "stats.app_layer: %s" % app)
    bexp = generate(bytewise, "--bytewise")
    evasion(check, binary, bytewise, bexp, cfg, "1-byte segments")
    policy(check, binary, whole, cfg, tmp)
    check.cleanup(tmp)
    sys.exit(check.summary())


if __name__ == "__main__":
    main()
