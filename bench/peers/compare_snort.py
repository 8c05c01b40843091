#!/usr/bin/python3
"""The same Snort 3 rules on the same captures in spectre-dp and in Snort 3: per-sid alert counts side by side.

  compare_snort.py [CAPTURE|DIR ...] [--rules FILE] [--spectre-dp BIN] [--snort BIN] [--profile minimal|http]
                   [--spectre-opt=ARG ...] [--no-relink] [--batch N] [--json OUT] [--keep DIR] [--timeout S] [--quiet]

Both run on one core with HOME_NET, EXTERNAL_NET and every server group `any` and the same port groups
(Snort 3.11's snort_defaults.lua values, written into both configurations). spectre-dp: SPECTRE_CONFIG=none,
--workers 1, a configuration with only these variables (behaviour detectors and app events off). Snort:
-z 1 -k none and profile `minimal` = stream, stream_tcp, stream_udp, stream_ip, search_engine (Hyperscan),
ips with the rules and the variables, classifications/references from snort_defaults.lua, an event queue
that logs every matching rule of a packet (default is 3), and alert_json; profile `http` adds the wizard,
a binder and http_inspect (Snort's HTTP buffers, service detection). Only gid 1 alerts of sids in the rule
file are counted. Captures are processed `--batch` per process (default 1: one process per capture; with
more, flow state carries across the files of a batch in both). A capture whose link type Snort 3's core does not
decode (Linux cooked, BSD loopback, PPP, Cisco HDLC, PPI: relink.py) is re-framed in Ethernet and the copy given
to both (--no-relink: as it is, and Snort sees no packet of it).

Prints: per sid both fired, with the counts and their difference; sids only one side fired (with
spectre-dp's load verdict for the rule when it did not load). --json writes all of it (plus per sid the
first packet numbers of each side per batch) for tools. Exit 0 when the comparison ran, 77 when a peer,
the rules or the captures are absent (message on stdout), 1 on a failed run.
"""
import argparse
import collections
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

import relink

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
DEFAULT_RULES = os.path.join(SHARED, "corpora", "rules", "snort3-community", "snort3-community.rules")
DEFAULT_SNORT = "/opt/snort3-peer/bin/snort"

# Snort 3.11 lua/snort_defaults.lua port groups, given to both so that port matching agrees by construction.
HTTP_PORTS = ("80 81 311 383 591 593 901 1220 1414 1741 1830 2301 2381 2809 3037 3128 3702 4343 4848 5250 "
              "6988 7000 7001 7144 7145 7510 7777 7779 8000 8008 8014 8028 8080 8085 8088 8090 8118 8123 "
              "8180 8181 8243 8280 8300 8800 8888 8899 9000 9060 9080 9090 9091 9443 9999 11371 34443 "
              "34444 41080 50002 55555").split()
PORTS = {"HTTP_PORTS": HTTP_PORTS, "FTP_PORTS": ["21", "2100", "3535"], "MAIL_PORTS": ["110", "143"],
         "ORACLE_PORTS": ["1024:"], "SIP_PORTS": ["5060", "5061", "5600"], "SSH_PORTS": ["22"],
         "FILE_DATA_PORTS": HTTP_PORTS + ["110", "143"]}
NETS = ["HOME_NET", "EXTERNAL_NET", "DNS_SERVERS", "FTP_SERVERS", "HTTP_SERVERS", "SIP_SERVERS",
        "SMTP_SERVERS", "SQL_SERVERS", "SSH_SERVERS", "TELNET_SERVERS"]

from peercommon import (EXTS, SKIP, PKTS_KEPT, count_eve as count_spectre, find_captures, load_verdicts,  # noqa: E402,F401
                        main, print_counts, rule_index, run, skip, summarise_counts)


def relink_captures(caps, tmp):
    """Captures in a link type Snort 3's core cannot decode, re-framed in Ethernet (relink.py), for both
    engines; returns (the captures to read, {read path: original path} of those re-framed)."""
    out, renamed = [], {}
    for i, c in enumerate(caps):
        try:
            keep = not relink.needs_relink(c)
        except (ValueError, struct.error):  # not a capture relink.py reads: given as it is
            keep = True
        if keep:
            out.append(c)
            continue
        dst = os.path.join(tmp, "relinked", "%04d-%s.pcap" % (i, os.path.basename(c)))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        relink.relink(c, dst)
        out.append(dst)
        renamed[dst] = c
    return out, renamed


def spectre_config(path):
    lines = ["vars:", "  address:"]
    lines += ["    %s: any" % n for n in NETS]
    lines += ["  port:"]
    lines += ['    %s: "[%s]"' % (k, ",".join(v)) for k, v in PORTS.items()]
    lines += ["behaviour: {enabled: false}", "eve: {app_events: false}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def snort_config(path, rules, profile):
    nets = ",\n".join("    %s = 'any'" % n for n in NETS)
    ports = ",\n".join("    %s = '%s'" % (k, " ".join(v)) for k, v in PORTS.items())
    text = """-- written by bench/peers/compare_snort.py (profile %(profile)s)
HOME_NET = 'any'
EXTERNAL_NET = 'any'
include(os.getenv('SNORT_LUA_PATH') .. '/snort_defaults.lua')
classifications = default_classifications
references = default_references
stream = { }
stream_tcp = { }
stream_udp = { }
stream_ip = { }
search_engine = { search_method = 'hyperscan' }
event_queue = { max_queue = 64, log = 64 }
ips = {
  include = '%(rules)s',
  variables = { nets = {
%(nets)s
  }, ports = {
%(ports)s
  } }
}
alert_json = { file = true, fields = 'gid sid rev pkt_num dir src_ap dst_ap' }
""" % {"profile": profile, "rules": rules, "nets": nets, "ports": ports}
    if profile == "http":
        text += """wizard = default_wizard
http_inspect = { }
binder = { { when = { service = 'http' }, use = { type = 'http_inspect' } }, { use = { type = 'wizard' } } }
"""
    with open(path, "w") as f:
        f.write(text)


def snort_env(snort):
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(snort)))
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(prefix, "lib") + (":" + env["LD_LIBRARY_PATH"]
                                                            if env.get("LD_LIBRARY_PATH") else "")
    env["SNORT_LUA_PATH"] = os.path.join(prefix, "etc", "snort")
    env["LUA_PATH"] = os.path.join(prefix, "include", "snort", "lua", "?.lua") + ";;"
    return env


def count_snort(path, sids, counts, pkts):
    if not os.path.exists(path):
        return
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line:
            continue
        ev = json.loads(line)
        if ev.get("gid") != 1 or ev.get("sid") not in sids:
            continue
        counts[ev["sid"]] += 1
        if len(pkts[ev["sid"]]) < PKTS_KEPT:
            pkts[ev["sid"]].append(ev.get("pkt_num", 0))


def run_batch(a, caps, tmp, sids, res):
    """One spectre-dp and one Snort process over `caps`; adds to res['ours'] / res['snort']."""
    eve = os.path.join(tmp, "eve.json")
    env = dict(os.environ, SPECTRE_CONFIG="none")
    cmd = [a.spectre_dp, "--config", os.path.join(tmp, "spectre.yaml"), "-S", a.rules, "--workers", "1",
           "--eve", eve, "--rules-report", os.path.join(tmp, "rules-report.txt"), "--no-progress"]
    cmd += a.spectre_opt
    for c in caps:
        cmd += ["-r", c]
    if os.path.exists(eve):
        os.unlink(eve)
    run(cmd, env, a.timeout, "spectre-dp")
    ours, snort = collections.Counter(), collections.Counter()
    opk, spk = collections.defaultdict(list), collections.defaultdict(list)
    count_spectre(eve, sids, ours, opk)
    logdir = os.path.join(tmp, "snort-log")
    os.makedirs(logdir, exist_ok=True)
    alerts = os.path.join(logdir, "alert_json.txt")
    if os.path.exists(alerts):
        os.unlink(alerts)
    daqdir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(a.snort))), "lib", "daq")
    cmd = [a.snort, "-c", os.path.join(tmp, "snort.lua"), "-z", "1", "-k", "none", "-q", "-l", logdir,
           "--daq-dir", daqdir]
    if len(caps) == 1:
        cmd += ["-r", caps[0]]
    else:
        lst = os.path.join(tmp, "pcap-list.txt")
        with open(lst, "w") as f:
            f.write("\n".join(caps) + "\n")
        cmd += ["--pcap-file", lst]
    p = run(cmd, snort_env(a.snort), a.timeout, "snort")
    if b"No codec for DAQ base protocol" in p.stderr:  # exits 0 having read no packet
        res["snort_undecoded"] += [res["renamed"].get(c, c) for c in caps]
    count_snort(alerts, sids, snort, spk)
    res["ours"].update(ours)
    res["snort"].update(snort)
    first = res["renamed"].get(caps[0], caps[0])
    name = first if len(caps) == 1 else "%s (+%d)" % (first, len(caps) - 1)
    for sid in set(ours) | set(snort):
        res["per_batch"][sid].append({"captures": name, "ours": ours[sid], "snort": snort[sid],
                                      "ours_pkts": opk[sid], "snort_pkts": spk[sid]})


def print_report(s):
    if s.get("relinked"):
        print("re-framed in Ethernet for both (a link type Snort 3 does not decode): %d captures: %s" % (
            len(s["relinked"]), " ".join(os.path.basename(c) for c in s["relinked"])))
    if s.get("snort_undecoded"):
        print("Snort decoded no packet (\"No codec for DAQ base protocol\") of: %s" % " ".join(
            os.path.basename(c) for c in s["snort_undecoded"]))
    print_counts(s, "snort", "Snort", "msg [spectre-dp load]",
                 lambda r: "" if r["spectre_load"] == "loaded" else "  [%s]" % r["spectre_load"])


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("captures", nargs="*")
    ap.add_argument("--rules", default=DEFAULT_RULES)
    ap.add_argument("--spectre-dp", default=os.environ.get("SPECTRE_DP",
                                                           os.path.join(ROOT, "build", "dataplane", "spectre-dp")))
    ap.add_argument("--snort", default=os.environ.get("SNORT", DEFAULT_SNORT))
    ap.add_argument("--profile", choices=["minimal", "http"], default="minimal")
    ap.add_argument("--spectre-opt", action="append", default=[],
                    help="extra spectre-dp argument, repeatable (e.g. --spectre-opt=--no-midstream)")
    ap.add_argument("--no-relink", dest="relink", action="store_false",
                    help="give both engines the captures as they are, also those in a link type Snort 3 cannot "
                         "decode (by default these are re-framed in Ethernet for both, see relink.py)")
    ap.add_argument("--batch", type=int, default=1, help="captures per process (default 1)")
    ap.add_argument("--json", help="write the comparison as JSON to this file")
    ap.add_argument("--keep", help="work directory to keep (configurations, EVE, Snort's alerts)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    ap.add_argument("--quiet", action="store_true", help="totals only")
    return ap.parse_args(argv)


def compare(a):
    """Runs the comparison; returns the summary dict (see summarise_counts) or exits 77 when something is absent."""
    if not os.path.isfile(a.rules):
        skip("no rule file at %s (../shared absent?)" % a.rules)
    if not os.access(a.snort, os.X_OK):
        skip("no Snort 3 peer at %s (build it with ../shared/peers/build-snort3.sh)" % a.snort)
    if not os.access(a.spectre_dp, os.X_OK):
        skip("no spectre-dp at %s" % a.spectre_dp)
    caps = find_captures(a.captures)
    if not caps:
        skip("no captures given")
    a.rules = os.path.abspath(a.rules)
    tmp = a.keep or tempfile.mkdtemp(prefix="compare-snort-")
    os.makedirs(tmp, exist_ok=True)
    spectre_config(os.path.join(tmp, "spectre.yaml"))
    snort_config(os.path.join(tmp, "snort.lua"), a.rules, a.profile)
    idx = rule_index(a.rules)
    sids = set(idx)
    res = {"ours": collections.Counter(), "snort": collections.Counter(), "per_batch": collections.defaultdict(list),
           "renamed": {}, "snort_undecoded": []}
    if a.relink:
        caps, res["renamed"] = relink_captures(caps, tmp)
    step = max(1, a.batch)
    for i in range(0, len(caps), step):
        run_batch(a, caps[i:i + step], tmp, sids, res)
    verdicts = load_verdicts(os.path.join(tmp, "rules-report.txt"), idx)
    s = summarise_counts(res["ours"], res["snort"], idx, "snort",
                         lambda sid: {"spectre_load": verdicts.get(sid, "loaded")})
    s.update({"captures": [res["renamed"].get(c, c) for c in caps], "relinked": sorted(res["renamed"].values()),
              "snort_undecoded": res["snort_undecoded"],
              "profile": a.profile, "rules": a.rules, "rules_active": len(sids),
              "per_batch": {str(k): v for k, v in sorted(res["per_batch"].items())}})
    if not a.keep:
        subprocess.run(["rm", "-rf", tmp])
    return s


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], parse_args, compare, print_report, "snort"))
