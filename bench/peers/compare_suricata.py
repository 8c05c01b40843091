#!/usr/bin/python3
"""The same rules on the same captures in spectre-dp and in Suricata: per-sid alert counts side by side.

  compare_suricata.py [CAPTURE|DIR ...] [--rules FILE ...] [--spectre-dp BIN] [--suricata BIN] [--midstream]
                      [--first-pass | --no-first-pass] [--sids N,M,...] [--flows] [--json OUT] [--keep DIR]
                      [--timeout S] [--quiet]

Rules: the given files (default: every *.rules of ../shared/corpora/rules/et-open), their active lines
written into one file. Both engines get the same variables: every address group `any` and Suricata 7's
default port groups. Only sids that BOTH engines load are compared (the numbers are reported).

Suricata: a generated minimal suricata.yaml (vars, ET's classification.config, the default app-layer
parsers, EVE alerts only, packet-alert-max 64), `suricata -r CAPTURE -S RULES -c YAML -l DIR --runmode single
-k none`. spectre-dp: SPECTRE_CONFIG=none, `--config` with the same variables, `-S RULES --workers 1 -k none`,
`--no-midstream` (Suricata's stream.midstream default is false; --midstream sets it true on both).

Steps: (1) a first pass with the whole rule set, one process per side over all captures (Suricata reads a
folder of copies of them), to learn which rules each engine loads and which sids fire anywhere; (2) one process
per capture and side with only the rules both load that fired in (1) on either side, plus the rules that set
the flowbits they check (setters are often noalert). --no-first-pass runs (2) with all rules (slow: Suricata compiles them per
capture); the second pass reads only the captures the first alerted on, unless --all-captures; --sids restricts (2) to those sids (plus their flowbit setters) and skips (1).

Exit 0 when the comparison ran, 77 when a peer, the rules or the captures are absent, 1 on a failed run.
"""
import argparse
import calendar
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from peercommon import (SKIP, count_eve, find_captures, load_verdicts, main, print_counts, rule_index, run, skip,
                        summarise_counts)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
ET_DIR = os.path.join(SHARED, "corpora", "rules", "et-open")
NETS = ["HOME_NET", "EXTERNAL_NET", "HTTP_SERVERS", "SMTP_SERVERS", "SQL_SERVERS", "DNS_SERVERS",
        "TELNET_SERVERS", "AIM_SERVERS", "DC_SERVERS", "DNP3_SERVER", "DNP3_CLIENT", "MODBUS_CLIENT",
        "MODBUS_SERVER", "ENIP_CLIENT", "ENIP_SERVER"]
# Suricata 7.0 suricata.yaml port groups (FILE_DATA_PORTS expanded).
PORTS = {"HTTP_PORTS": "80", "SHELLCODE_PORTS": "!80", "ORACLE_PORTS": "1521", "SSH_PORTS": "22",
         "DNP3_PORTS": "20000", "MODBUS_PORTS": "502", "FILE_DATA_PORTS": "[80,110,143]", "FTP_PORTS": "21",
         "GENEVE_PORTS": "6081", "VXLAN_PORTS": "4789", "TEREDO_PORTS": "3544"}
# Parsers suricata.yaml 7.0 enables (pgsql, modbus, dnp3, enip off as there).
APP_LAYER = ["telnet", "rfb", "mqtt", "krb5", "bittorrent-dht", "snmp", "ike", "tls", "dcerpc", "ftp", "rdp",
             "http2", "smtp", "imap", "smb", "nfs", "tftp", "http", "ntp", "quic", "dhcp", "sip", "ssh"]


def merge_rules(files, out):
    """Active rule lines of `files` into `out`; returns sid -> full rule text."""
    seen, text = set(), {}
    with open(out, "w") as o:
        for fn in files:
            for line in open(fn, encoding="utf-8", errors="replace"):
                if not re.match(r"\s*(alert|drop|reject|pass)\s", line):
                    continue
                m = re.search(r"[(;]\s*sid\s*:\s*(\d+)", line)
                if not m or int(m.group(1)) in seen:
                    continue
                seen.add(int(m.group(1)))
                text[int(m.group(1))] = line.rstrip("\n")
                o.write(line.rstrip("\n") + "\n")
    return text


def flowbit_names(rule, ops):
    names = set()
    for m in re.finditer(r"(?:flowbits|xbits)\s*:\s*(\w+)\s*(?:,\s*([^;]+))?;", rule, re.I):
        if m.group(1).lower() in ops and m.group(2):
            names |= {n.strip() for n in re.split(r"[|&,]", m.group(2).split(",")[0])}
    return names


def write_subset(text, sids, out):
    """The rules of `sids` plus, transitively, the rules that set a flowbit one of them checks."""
    keep, want = set(s for s in sids if s in text), set()
    while True:
        for s in keep:
            want |= flowbit_names(text[s], ("isset", "isnotset"))
        more = {s for s in text if s not in keep and flowbit_names(text[s], ("set", "toggle", "unset")) & want}
        if not more:
            break
        keep |= more
    with open(out, "w") as o:
        o.write("".join(text[s] + "\n" for s in sorted(keep)))


def spectre_config(path, midstream):
    lines = ["vars:", "  address:"] + ["    %s: any" % n for n in NETS] + ["  port:"]
    lines += ['    %s: "%s"' % (k, v) for k, v in PORTS.items()]
    lines += ["behaviour: {enabled: false}", "eve: {app_events: false}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def suricata_config(path, classification, midstream):
    lines = ["%YAML 1.1", "---", "# written by bench/peers/compare_suricata.py", "vars:", "  address-groups:"]
    lines += ['    %s: "any"' % n for n in NETS] + ["  port-groups:"]
    lines += ['    %s: "%s"' % (k, v) for k, v in PORTS.items()]
    lines += ["classification-file: %s" % classification]
    if os.path.exists("/etc/suricata/reference.config"):
        lines += ["reference-config-file: /etc/suricata/reference.config"]
    lines += ["packet-alert-max: 64", "stream:", "  midstream: %s" % ("true" if midstream else "false"),
              "outputs:", "  - eve-log:", "      enabled: yes", "      filetype: regular",
              "      filename: eve.json", "      pcap-file: true", "      types:", "        - alert",
              "logging:", "  default-log-level: notice", "  outputs:", "    - console:", "        enabled: yes",
              "app-layer:", "  protocols:"]
    for p in APP_LAYER:
        lines += ["    %s:" % p, "      enabled: yes"]
    lines += ["    dns:", "      tcp:", "        enabled: yes", "      udp:", "        enabled: yes"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def suricata_rejects(stderr, idx):
    """sids whose rule Suricata did not load, from its 'error parsing signature ... at line N' messages."""
    by_line = {n: sid for sid, (n, _) in idx.items()}
    out = {}
    for line in stderr.splitlines():
        m = re.search(r"error parsing signature .* at line (\d+)", line)
        if m and int(m.group(1)) in by_line:
            out[by_line[int(m.group(1))]] = "rejected by Suricata"
    return out


def run_pair(a, caps, rules, tmp, sids, res=None):
    """spectre-dp and Suricata over `caps` (a folder of copies when several); returns (ours, suri, stderr)."""
    eve = os.path.join(tmp, "eve.json")
    if os.path.exists(eve):
        os.unlink(eve)
    cmd = [a.spectre_dp, "--config", os.path.join(tmp, "spectre.yaml"), "-S", rules, "--workers", "1",
           "-k", "none", "--eve", eve, "--rules-report", os.path.join(tmp, "rules-report.txt"), "--no-progress",
           "--midstream" if a.midstream else "--no-midstream", "--no-ml", "--no-incidents"]
    for c in caps:
        cmd += ["-r", c]
    run(cmd, dict(os.environ, SPECTRE_CONFIG="none"), a.timeout, "spectre-dp")
    ours, suri = collections.Counter(), collections.Counter()
    opk, spk = collections.defaultdict(list), collections.defaultdict(list)
    of, sf = collections.Counter(), collections.Counter()
    count_eve(eve, sids, ours, opk, of)
    logdir = os.path.join(tmp, "suricata-log")
    subprocess.run(["rm", "-rf", logdir])
    os.makedirs(logdir)
    src = caps[0]
    if len(caps) > 1:
        src = os.path.join(tmp, "captures")
        subprocess.run(["rm", "-rf", src])
        os.makedirs(src)
        for i, c in enumerate(caps):
            # Suricata's folder mode reads regular files only (symbolic links: "read 0 files").
            dst = os.path.join(src, "%05d-%s" % (i, os.path.basename(c)))
            try:
                os.link(c, dst)
            except OSError:
                shutil.copyfile(c, dst)
    cmd = [a.suricata, "-r", src, "-S", rules, "-c", os.path.join(tmp, "suricata.yaml"), "-l", logdir,
           "--runmode", "single", "-k", "none"]
    p = run(cmd, dict(os.environ), a.timeout, "suricata")
    count_eve(os.path.join(logdir, "eve.json"), sids, suri, spk, sf)
    if res is not None:
        res["ours"].update(ours)
        res["suricata"].update(suri)
        res["ours_flows"].update(of)
        res["suricata_flows"].update(sf)
        for sid in set(ours) | set(suri):
            res["per_capture"][sid].append({"capture": os.path.basename(caps[0]), "ours": ours[sid],
                                            "suricata": suri[sid], "ours_pkts": opk[sid],
                                            "suricata_pkts": spk[sid]})
    return ours, suri, p.stderr.decode(errors="replace")


def time_range(cap):
    """(first, last) packet time of a capture in epoch seconds, via tcpdump; None when unreadable."""
    p = subprocess.run(["tcpdump", "-r", cap, "-tt", "-n", "-q"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    ts = [float(line.split(b" ", 1)[0]) for line in p.stdout.splitlines() if line[:1].isdigit()]
    return (min(ts), max(ts)) if ts else None


def alerting_captures(tmp, caps):
    """Captures on which the first pass alerted: Suricata names them (pcap_filename); spectre-dp's alerts
    are placed by packet time in each capture's time range (an overlap only adds a capture)."""
    out = set()
    links = {os.path.join(tmp, "captures", "%05d-%s" % (i, os.path.basename(c))): c for i, c in enumerate(caps)}
    times = []
    for name, side in ((os.path.join(tmp, "suricata-log", "eve.json"), "suricata"),
                       (os.path.join(tmp, "eve.json"), "ours")):
        for line in open(name, encoding="utf-8", errors="replace") if os.path.exists(name) else []:
            if '"alert"' not in line:
                continue
            ev = json.loads(line)
            if ev.get("pcap_filename") in links:
                out.add(links[ev["pcap_filename"]])
            elif side == "ours":
                ts = ev["timestamp"]
                times.append(calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + float(ts[19:26]))
    for c in caps:
        r = time_range(c) if times and c not in out else None
        if r and any(r[0] - 1 <= t <= r[1] + 1 for t in times):
            out.add(c)
    return sorted(out)


def flow_agreement(res):
    """(flows alerted by both with equal counts, flows only one side alerted) over (sid, flow) keys."""
    o, s = res["ours_flows"], res["suricata_flows"]
    keys = set(o) | set(s)
    return {"sid_flows": len(keys), "sid_flows_equal": sum(1 for k in keys if o[k] == s[k]),
            "sid_flows_only_suricata": sum(1 for k in keys if not o[k]),
            "sid_flows_only_ours": sum(1 for k in keys if not s[k])}


def print_report(s):
    if s.get("sids_given"):
        print("rules: %d active, %d sids given (loading not checked)" % (s["rules_active"], s["sids_given"]))
    else:
        print("rules: %d active, %d loaded by both (Suricata rejects %d, spectre-dp skips %d)"
              % (s["rules_active"], s["rules_both_load"], s["rules_suricata_rejects"], s["rules_spectre_skips"]))
    if "flows" in s:
        print("(sid, flow) pairs: %(sid_flows)d, equal counts %(sid_flows_equal)d, only Suricata "
              "%(sid_flows_only_suricata)d, only spectre-dp %(sid_flows_only_ours)d" % s["flows"])
    print_counts(s, "suricata", "Suricata")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("captures", nargs="*")
    ap.add_argument("--rules", action="append", help="rule file (repeatable; default: ET Open)")
    ap.add_argument("--spectre-dp", default=os.environ.get("SPECTRE_DP",
                                                           os.path.join(ROOT, "build", "dataplane", "spectre-dp")))
    ap.add_argument("--suricata", default=os.environ.get("SURICATA", "/usr/bin/suricata"))
    ap.add_argument("--midstream", action="store_true", help="stream.midstream true on both (default false)")
    ap.add_argument("--first-pass", dest="first_pass", action="store_true", default=True)
    ap.add_argument("--no-first-pass", dest="first_pass", action="store_false")
    ap.add_argument("--all-captures", action="store_true",
                    help="second pass on every capture, not only those the first pass alerted on")
    ap.add_argument("--sids", help="compare only these sids (comma-separated); no first pass")
    ap.add_argument("--flows", action="store_true", help="also compare per (sid, flow)")
    ap.add_argument("--json", help="write the comparison as JSON to this file")
    ap.add_argument("--keep", help="work directory to keep (configurations, rule files, EVE)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    ap.add_argument("--quiet", action="store_true", help="totals only")
    return ap.parse_args(argv)


def compare(a):
    """Runs the comparison; returns the summary dict or exits 77 when something is absent."""
    files = a.rules or sorted(glob.glob(os.path.join(ET_DIR, "*.rules")))
    if not files or not all(os.path.isfile(f) for f in files):
        skip("no rule files (%s; ../shared absent?)" % (", ".join(files) or ET_DIR))
    if not os.access(a.suricata, os.X_OK):
        skip("no Suricata at %s (apt-get install suricata)" % a.suricata)
    if not os.access(a.spectre_dp, os.X_OK):
        skip("no spectre-dp at %s" % a.spectre_dp)
    caps = find_captures(a.captures)
    if not caps:
        skip("no captures given")
    tmp = a.keep or tempfile.mkdtemp(prefix="compare-suricata-")
    os.makedirs(tmp, exist_ok=True)
    classification = os.path.join(os.path.dirname(os.path.abspath(files[0])), "classification.config")
    if not os.path.exists(classification):
        classification = "/etc/suricata/classification.config"
    spectre_config(os.path.join(tmp, "spectre.yaml"), a.midstream)
    suricata_config(os.path.join(tmp, "suricata.yaml"), classification, a.midstream)
    all_rules = os.path.join(tmp, "all.rules")
    text = merge_rules(files, all_rules)
    idx = rule_index(all_rules)
    out = {"rules_active": len(idx), "captures": caps}
    if a.sids:
        chosen = {int(x) for x in a.sids.split(",")}
        rej, skipped = {}, {}
        out["sids_given"] = len(chosen)
    else:
        chosen = set(idx)
        if a.first_pass:
            ours, suri, err = run_pair(a, caps, all_rules, tmp, set(idx))
            chosen = set(ours) | set(suri)
            if not a.all_captures:
                caps = alerting_captures(tmp, caps)
            out["first_pass"] = {"ours": dict(ours), "suricata": dict(suri)}
        else:
            _, _, err = run_pair(a, caps[:1], all_rules, tmp, set(idx))
        rej = suricata_rejects(err, idx)
        skipped = load_verdicts(os.path.join(tmp, "rules-report.txt"), idx)
    loaded = set(idx) - set(rej) - set(skipped)
    out["captures_compared"] = caps
    out.update({"rules_both_load": len(loaded), "rules_suricata_rejects": len(rej),
                "rules_spectre_skips": len(skipped), "suricata_rejects": sorted(rej)})
    subset = os.path.join(tmp, "subset.rules")
    write_subset(text, chosen & loaded, subset)
    res = {"ours": collections.Counter(), "suricata": collections.Counter(), "ours_flows": collections.Counter(),
           "suricata_flows": collections.Counter(), "per_capture": collections.defaultdict(list)}
    for c in caps:
        run_pair(a, [c], subset, tmp, chosen & loaded, res)
    s = summarise_counts(res["ours"], res["suricata"], idx, "suricata")
    s.update(out)
    if a.flows:
        s["flows"] = flow_agreement(res)
    s["per_capture"] = {str(k): v for k, v in sorted(res["per_capture"].items())}
    if not a.keep:
        subprocess.run(["rm", "-rf", tmp])
    return s


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], parse_args, compare, print_report, "suricata"))
