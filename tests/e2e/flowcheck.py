#!/usr/bin/python3
"""Run spectre-dp on pcaps and compare its EVE flow records to expectations.

Library: find_binary, run_dp, run_problems, parse_eve, eve_flows, schema_errors,
compare, stats_event, get. CLI:

  flowcheck.py --pcap F [--pcap F2] --expected E.json [--config C.yaml]
               [--workers N] [--bin PATH]

Binary: --bin, else $SPECTRE_DP, else build/dataplane/spectre-dp.
Exit 0 when every flow matches, 1 otherwise.
"""
import argparse
import collections
import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join(ROOT, "build", "dataplane", "spectre-dp")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                   "ERROR: UndefinedBehaviorSanitizer")
FULL_FIELDS = ("pkts_toserver", "pkts_toclient", "bytes_toserver",
               "bytes_toclient", "state", "reason", "tcp_flags_ts",
               "tcp_flags_tc", "tcp_state", "icmp_type", "icmp_code",
               "start", "end")
COUNT_FIELDS = FULL_FIELDS[:4]
PROTO_NUM = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPV6-ICMP": 58, "ICMPV6": 58,
             "GRE": 47, "IPIP": 4, "IPV4": 4, "IPENCAP": 4, "IPV6": 41,
             "ESP": 50, "AH": 51, "SCTP": 132, "IGMP": 2, "OSPF": 89,
             "OSPFIGP": 89, "PIM": 103, "VRRP": 112}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}$")
TCP_BITS = {"fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 0x10}


def corpus_and_binary_or_skip(corpus, explicit):
    """The binary to test; exits 77 (skip) when the corpus or the binary is absent."""
    if not os.path.isdir(corpus):
        print("SKIP: corpus not found at %s" % corpus)
        sys.exit(77)
    binary = find_binary(explicit)
    if not binary:
        print("SKIP: spectre-dp not found (pass a path or set SPECTRE_DP)")
        sys.exit(77)
    return binary


def find_binary(explicit=None):
    for p in (explicit, os.environ.get("SPECTRE_DP"), DEFAULT_BIN):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


class Run:
    """Result of one spectre-dp invocation. rc < 0 means killed by signal;
    rc None means it did not finish within the timeout."""

    def __init__(self, cmd, rc, stdout, stderr, events, bad_lines):
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr
        self.events, self.bad_lines = events, bad_lines

    def crashed(self):
        return self.rc is not None and self.rc < 0

    def sanitizer_lines(self):
        return [ln for ln in self.stderr.splitlines()
                if any(m in ln for m in SANITIZER_MARKS)]

    def describe(self):
        tail = "\n".join(self.stderr.strip().splitlines()[-15:])
        return "cmd: %s\nrc: %s\nstderr tail:\n%s" % (
            " ".join(self.cmd), self.rc, tail)


def run_dp(binary, pcaps, workers=None, config=None, eve=None, timeout=600,
           extra=()):
    """Runs spectre-dp; EVE goes to `eve` (temp file if None)."""
    tmp = None
    if eve is None:
        fd, eve = tempfile.mkstemp(suffix=".json", prefix="eve-")
        os.close(fd)
        os.unlink(eve)
        tmp = eve
    cmd = [binary]
    for p in pcaps:
        cmd += ["-r", p]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    cmd += ["--eve", eve]
    if config:
        cmd += ["--config", config]
    cmd += list(extra)
    try:
        cp = subprocess.run(cmd, capture_output=True, timeout=timeout)
        rc, out, err = cp.returncode, cp.stdout, cp.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, e.stdout or b"", e.stderr or b""
    events, bad = parse_eve(eve) if os.path.exists(eve) else ([], [])
    if tmp and os.path.exists(tmp):
        os.unlink(tmp)
    return Run(cmd, rc, out.decode("utf-8", "replace"),
               err.decode("utf-8", "replace"), events, bad)


def run_problems(run, want_rc=0):
    """Why a Run is not a clean run: timeout, signal, exit code other than
    `want_rc` (None: any), sanitizer reports, unparsable EVE lines ([] if fine)."""
    probs = []
    if run.rc is None:
        probs.append("timed out\n" + run.describe())
    elif run.crashed():
        probs.append("killed by signal %d\n%s" % (-run.rc, run.describe()))
    elif want_rc is not None and run.rc != want_rc:
        probs.append("exit code %d, want %d\n%s" % (run.rc, want_rc,
                                                    run.describe()))
    probs += ["sanitizer: " + ln for ln in run.sanitizer_lines()]
    probs += ["unparsable EVE line: " + ln for ln in run.bad_lines]
    return probs


def parse_eve(path):
    """Returns (events, unparsable lines)."""
    events, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for ln in fh:
            if not ln.strip():
                continue
            try:
                ev = json.loads(ln)
                if not isinstance(ev, dict):
                    raise ValueError("not an object")
                events.append(ev)
            except ValueError:
                bad.append(ln.rstrip("\n")[:200])
    return events, bad


def get(d, dotted, default=None):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return default
        d = d[part]
    return d


def stats_event(events):
    """The last stats event (final counters), or None."""
    st = [e for e in events if e.get("event_type") == "stats"]
    return st[-1] if st else None


def eve_flows(events):
    """EVE flow events -> records in expected.json's shape."""
    out = []
    for e in events:
        if e.get("event_type") != "flow":
            continue
        fl, tcp = e.get("flow", {}), e.get("tcp") or {}
        out.append({
            "src_ip": e.get("src_ip"), "src_port": e.get("src_port"),
            "dest_ip": e.get("dest_ip"), "dest_port": e.get("dest_port"),
            "proto": e.get("proto"), "vlan": e.get("vlan"),
            "pkts_toserver": fl.get("pkts_toserver"),
            "pkts_toclient": fl.get("pkts_toclient"),
            "bytes_toserver": fl.get("bytes_toserver"),
            "bytes_toclient": fl.get("bytes_toclient"),
            "state": fl.get("state"), "reason": fl.get("reason"),
            "tcp_flags_ts": tcp.get("tcp_flags_ts"),
            "tcp_flags_tc": tcp.get("tcp_flags_tc"),
            "tcp_state": tcp.get("state"),
            "icmp_type": e.get("icmp_type"), "icmp_code": e.get("icmp_code"),
            "start": fl.get("start"), "end": fl.get("end"),
            "flow_id": e.get("flow_id")})
    return out


def schema_errors(events):
    """Contract checks on EVE lines that do not need expectations."""
    errs = []
    ids = collections.Counter(e.get("flow_id") for e in events
                              if e.get("event_type") == "flow")
    errs += ["flow_id %r used by %d flow events" % (i, c)
             for i, c in ids.items() if c > 1][:10]
    for n, e in enumerate(events):
        where = "event #%d (%s)" % (n, e.get("event_type"))
        if not TS_RE.match(str(e.get("timestamp", ""))):
            errs.append("%s: bad timestamp %r" % (where, e.get("timestamp")))
        if e.get("event_type") != "flow":
            continue
        where += " %s" % _fmt_ev(e)
        if not isinstance(e.get("flow_id"), int):
            errs.append("%s: flow_id not an integer" % where)
        fl = e.get("flow")
        if not isinstance(fl, dict):
            errs.append("%s: no flow object" % where)
            continue
        for k in ("pkts_toserver", "pkts_toclient", "bytes_toserver",
                  "bytes_toclient", "age"):
            if not isinstance(fl.get(k), int):
                errs.append("%s: flow.%s missing/not int" % (where, k))
        for k in ("start", "end"):
            if not TS_RE.match(str(fl.get(k, ""))):
                errs.append("%s: bad flow.%s %r" % (where, k, fl.get(k)))
        span = _span(fl.get("start"), fl.get("end"))
        if span is not None and span < 0:
            errs.append("%s: flow.start after flow.end" % where)
        elif span is not None and isinstance(fl.get("age"), int) and \
                abs(fl["age"] - span) > 1:
            errs.append("%s: flow.age %d but end-start is %.1f s" % (
                where, fl["age"], span))
        if fl.get("reason") not in ("timeout", "forced", "shutdown"):
            errs.append("%s: bad flow.reason %r" % (where, fl.get("reason")))
        if not isinstance(fl.get("alerted"), bool):
            errs.append("%s: flow.alerted missing/not bool" % where)
        proto = e.get("proto")
        ported = proto in ("TCP", "UDP") or "src_port" in e
        if proto in ("ICMP", "IPv6-ICMP"):
            if "src_port" in e or "dest_port" in e:
                errs.append("%s: ICMP flow has ports" % where)
            if "icmp_type" not in e or "icmp_code" not in e:
                errs.append("%s: ICMP flow lacks icmp_type/code" % where)
        elif ported and ("src_port" not in e or "dest_port" not in e):
            errs.append("%s: missing ports" % where)
        if proto == "TCP":
            errs += ["%s: %s" % (where, m) for m in _tcp_errors(e.get("tcp"))]
    return errs


def _span(start, end):
    try:
        fmt = "%Y-%m-%dT%H:%M:%S.%f%z"
        return (datetime.datetime.strptime(end, fmt) -
                datetime.datetime.strptime(start, fmt)).total_seconds()
    except (TypeError, ValueError):
        return None


def _tcp_errors(tcp):
    if not isinstance(tcp, dict):
        return ["TCP flow without tcp object"]
    errs = []
    try:
        ts = int(tcp.get("tcp_flags_ts"), 16)
        tc = int(tcp.get("tcp_flags_tc"), 16)
        both = int(tcp.get("tcp_flags"), 16)
    except (TypeError, ValueError):
        return ["tcp_flags* missing or not hex: %r" % tcp]
    if both != ts | tc:
        errs.append("tcp_flags %02x != ts|tc %02x" % (both, ts | tc))
    for name, bit in TCP_BITS.items():
        if both & bit and tcp.get(name) is not True:
            errs.append("tcp.%s should be true (flags %02x)" % (name, both))
        if not both & bit and name in tcp:
            errs.append("tcp.%s present but flag unseen" % name)
    if "state" not in tcp:
        errs.append("tcp.state missing")
    return errs


# ------------------------------------------------------------- comparison

def _ip(a):
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return str(a)


def _proto(p):
    s = str(p).upper()
    return int(s) if s.isdigit() else PROTO_NUM.get(s, s)


def flow_key(r):
    vlan = tuple(r["vlan"]) if r.get("vlan") else None
    return (_ip(r["src_ip"]), r.get("src_port"), _ip(r["dest_ip"]),
            r.get("dest_port"), _proto(r["proto"]), vlan)


def _fmt_key(k):
    src = k[0] if k[1] is None else "%s:%s" % (k[0], k[1])
    dst = k[2] if k[3] is None else "%s:%s" % (k[2], k[3])
    vlan = " vlan=%s" % list(k[5]) if k[5] else ""
    return "%s %s -> %s%s" % (PROTO_NAME_BY_NUM.get(k[4], k[4]), src, dst,
                              vlan)


PROTO_NAME_BY_NUM = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP"}


def _fmt_ev(e):
    return _fmt_key(flow_key({**e, "proto": e.get("proto", "?")})) \
        if "src_ip" in e and "dest_ip" in e else "(no addresses)"


def _same(field, a, b):
    if field.startswith("tcp_flags"):
        try:
            return int(str(a), 16) == int(str(b), 16)
        except ValueError:
            return False
    return a == b


def _counts(r):
    return "ts %s pkts/%s B, tc %s pkts/%s B" % (
        r.get("pkts_toserver"), r.get("bytes_toserver"),
        r.get("pkts_toclient"), r.get("bytes_toclient"))


def compare(expected, actual, fields=FULL_FIELDS, names=("expected", "got")):
    """Multiset comparison keyed on (5-tuple, vlan, ordinal by start).
    A field whose expected value is None (or absent) is not checked.
    Returns a list of human-readable mismatch descriptions."""
    def group(recs):
        g = collections.defaultdict(list)
        for i, r in enumerate(recs):
            g[flow_key(r)].append((str(r.get("start") or ""), i, r))
        for v in g.values():
            v.sort(key=lambda x: (x[0], x[1]))
        return g

    ge, ga = group(expected), group(actual)
    out, missing, extra = [], [], []
    for key in sorted(set(ge) | set(ga), key=str):
        le, la = ge.get(key, []), ga.get(key, [])
        for n in range(max(len(le), len(la))):
            label = "%s #%d" % (_fmt_key(key), n)
            if n >= len(la):
                missing.append((key, n, le[n][2]))
                continue
            if n >= len(le):
                extra.append((key, n, la[n][2]))
                continue
            e, a = le[n][2], la[n][2]
            diffs = ["%s: %s %r, %s %r" % (f, names[0], e.get(f), names[1],
                                           a.get(f))
                     for f in fields
                     if e.get(f) is not None and not _same(f, e.get(f),
                                                           a.get(f))]
            if diffs:
                note = " [%s]" % e["note"] if e.get("note") else ""
                out.append("%s%s\n    %s" % (label, note,
                                             "\n    ".join(diffs)))
    # a flow reported with the opposite direction shows up as missing+extra
    rev = {}
    for key, n, r in extra:
        rk = (key[2], key[3], key[0], key[1], key[4], key[5])
        rev.setdefault(rk, []).append((n, r))
    explained = set()
    for key, n, r in missing:
        note = " [%s]" % r["note"] if r.get("note") else ""
        hint = ""
        if rev.get(key):
            _, a = rev[key].pop(0)
            explained.add(id(a))
            hint = "\n    %s has it reversed (src<->dest): %s" % (
                names[1], _counts(a))
        out.append("%s #%d%s: missing in %s (%s: %s)%s" % (
            _fmt_key(key), n, note, names[1], names[0], _counts(r), hint))
    for key, n, r in extra:
        if id(r) in explained:
            continue
        out.append("%s #%d: unexpected in %s (%s)" % (
            _fmt_key(key), n, names[1], _counts(r)))
    if len(expected) != len(actual):
        out.append("flow count: %s %d, %s %d" % (names[0], len(expected),
                                                  names[1], len(actual)))
    return out


def load_json(path):
    with open(path) as fh:
        return json.load(fh)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", action="append", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--config")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--bin")
    ap.add_argument("--counts-only", action="store_true",
                    help="compare only per-direction pkts/bytes")
    ap.add_argument("bin_pos", nargs="?", help="binary (same as --bin)")
    a = ap.parse_args()
    binary = find_binary(a.bin or a.bin_pos)
    if not binary:
        sys.exit("flowcheck: spectre-dp not found (use --bin or SPECTRE_DP)")
    r = run_dp(binary, a.pcap, a.workers, a.config)
    problems = []
    if r.rc != 0:
        problems.append("spectre-dp failed\n" + r.describe())
    problems += ["unparsable EVE line: %s" % b for b in r.bad_lines]
    problems += schema_errors(r.events)
    problems += compare(load_json(a.expected), eve_flows(r.events),
                        COUNT_FIELDS if a.counts_only else FULL_FIELDS)
    for p in problems:
        print("MISMATCH " + p)
    print("%d flow events, %d problems" % (
        len(eve_flows(r.events)), len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
