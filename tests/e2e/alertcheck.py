#!/usr/bin/python3
"""Helpers for the alert end-to-end tests: running spectre-dp with rules,
reading EVE alerts and fast.log, comparing them to alerts.py's
expected.json, and an independent first-wins TCP reassembler that checks
the generator's random-mode bookkeeping from the pcap alone.

CLI (one run, one expected.json):
  alertcheck.py OUTDIR [--bin PATH] [--workers N]
"""
import argparse
import collections
import ipaddress
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flowcheck  # noqa: E402

SUMMARY_RE = re.compile(r"rules: (\d+) loaded, (\d+) skipped(?: \([^)]*\))?, "
                        r"(\d+) errors?")
FAST_RE = re.compile(
    r"^(\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\.\d{6})  (?:\[(?:wDrop|Drop)\] )?"
    r"\[\*\*\] \[(\d+):(\d+):(\d+)\] (.*) \[\*\*\] "
    r"\[Classification: (.*)\] \[Priority: (\d+)\] \{(\S+)\} "
    r"(\S+?)(?::(\d+))? -> (\S+?)(?::(\d+))?$")
APP_OF = {"http": "http", "dns_rrname": "dns", "tls_sni": "tls"}


def rules_supported(binary):
    """True when `spectre-dp --help` lists -S (the signature engine)."""
    try:
        cp = subprocess.run([binary, "--help"], capture_output=True,
                            timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    out = (cp.stdout + cp.stderr).decode("utf-8", "replace")
    return re.search(r"(^|[\s,\[])-S\b", out, re.M) is not None


def run(binary, pcaps, rules=(), workers=1, config=None, extra=(),
        fast=True, rules_dir=None):
    """spectre-dp -r ... -S ... -k none --eve --fast; returns (Run, fast
    lines or None)."""
    args = ["-k", "none"]
    for r in rules:
        args += ["-S", r]
    if rules_dir:
        args += ["--rules-dir", rules_dir]
    fpath = None
    if fast:
        fd, fpath = tempfile.mkstemp(suffix=".log", prefix="fast-")
        os.close(fd)
        args += ["--fast", fpath]
    r = flowcheck.run_dp(binary, pcaps, workers, config,
                         extra=args + list(extra))
    lines = None
    if fpath:
        with open(fpath, encoding="utf-8", errors="replace") as fh:
            lines = [ln.rstrip("\n") for ln in fh if ln.strip()]
        os.unlink(fpath)
    return r, lines


def alerts_of(events):
    return [e for e in events if e.get("event_type") == "alert"]


def summary(stderr):
    """(loaded, skipped, errors) from the loader's line, or None."""
    m = SUMMARY_RE.search(stderr)
    return tuple(int(x) for x in m.groups()) if m else None


def _ip(a):
    try:
        return ipaddress.ip_address(a).compressed
    except (ValueError, TypeError):
        return a


def akey(sid, src, sp, dst, dp, proto):
    if str(proto).upper() not in ("TCP", "UDP"):
        sp = dp = None  # ICMP: no ports
    return (sid, _ip(src), sp, _ip(dst), dp)


def alert_key(a):
    al = a.get("alert") or {}
    return akey(al.get("signature_id"), a.get("src_ip"), a.get("src_port"),
                a.get("dest_ip"), a.get("dest_port"), a.get("proto"))


def flow_of(src, sp, dst, dp, proto):
    """Direction-free flow identity."""
    p = str(proto).upper()
    if p not in ("TCP", "UDP"):
        sp = dp = None
    return (p, frozenset([(_ip(src), sp), (_ip(dst), dp)]))


def _strings(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj.rstrip(".")


def _find_rrname(obj, want):
    """Suricata's alert dns object moved between versions (query[] /
    queries[]): any string in it equal to the name will do."""
    return want in set(_strings(obj))


def _app_fields(a, ev):
    """Problems with the app-layer object of alert `a` for expected
    event `ev`."""
    probs = []
    if "http" in ev:
        h = a.get("http")
        if not isinstance(h, dict):
            return ["no http object"]
        for k, v in ev["http"].items():
            if h.get(k) != v:
                probs.append("http.%s %r, want %r" % (k, h.get(k), v))
    if "dns_rrname" in ev and not _find_rrname(a.get("dns"),
                                               ev["dns_rrname"]):
        probs.append("dns object %r lacks rrname %r" % (
            a.get("dns"), ev["dns_rrname"]))
    if "tls_sni" in ev:
        sni = (a.get("tls") or {}).get("sni")
        if sni != ev["tls_sni"]:
            probs.append("tls.sni %r, want %r" % (sni, ev["tls_sni"]))
    for k, app in APP_OF.items():
        if k in ev and a.get("app_proto") != app:
            probs.append("app_proto %r, want %r" % (a.get("app_proto"), app))
    return probs


def compare_alerts(exp_alerts, got, check_ts=True, check_cnt=False):
    """exp_alerts: expected.json alert groups of one or more scenarios;
    got: EVE alert events for the same flows. Exact: counts per (sid,
    src, sport, dst, dport), rule fields, timestamps, app objects;
    check_cnt: pcap_cnt == the trigger frame's number (run on all.pcap)."""
    probs = []
    eg = {akey(e["sid"], e["src_ip"], e["src_port"], e["dest_ip"],
               e["dest_port"], e["proto"]): e for e in exp_alerts}
    ga = collections.defaultdict(list)
    for a in got:
        ga[alert_key(a)].append(a)
    for k in sorted(set(eg) | set(ga), key=str):
        e, acts = eg.get(k), ga.get(k, [])
        where = "sid %s %s:%s -> %s:%s" % (k[0], k[1], k[2], k[3], k[4])
        if e is None:
            probs.append("%s: %d unexpected alert(s) (%s)" % (
                where, len(acts), acts[0].get("alert", {}).get("signature")))
            continue
        if len(acts) != e["count"]:
            probs.append("%s: %d alert(s), want %d" % (where, len(acts),
                                                        e["count"]))
            if not acts:
                continue
        bad = set()
        for a in acts:
            al = a.get("alert") or {}
            for f, v in (("gid", e["gid"]), ("rev", e["rev"]),
                         ("signature", e["signature"]),
                         ("severity", e["severity"]),
                         ("action", e["action"])):
                if al.get(f) != v:
                    bad.add("alert.%s %r, want %r" % (f, al.get(f), v))
            if al.get("category", "") != e["category"]:
                bad.add("alert.category %r, want %r" % (al.get("category"),
                                                        e["category"]))
            if str(a.get("proto")).upper() != e["proto"]:
                bad.add("proto %r, want %r" % (a.get("proto"), e["proto"]))
            if "direction" in a and a["direction"] != e["direction"]:
                bad.add("direction %r, want %r" % (a["direction"],
                                                   e["direction"]))
            if not isinstance(a.get("flow_id"), int):
                bad.add("flow_id missing")
        probs += ["%s: %s" % (where, b) for b in sorted(bad)]
        # events: pair by timestamp order (ties: any pairing that fits)
        acts = sorted(acts, key=lambda a: str(a.get("timestamp")))
        if check_ts:
            tg = [a.get("timestamp") for a in acts]
            te = [ev["timestamp"] for ev in e["events"]]
            if len(tg) == len(te) and tg != te:
                probs.append("%s: timestamps %s, want %s (the packet that "
                             "completes the match)" % (where, tg, te))
        if check_cnt:
            cg = sorted(a.get("pcap_cnt", 0) for a in acts)
            ce = sorted(ev["pcap_cnt"] for ev in e["events"])
            if len(cg) == len(ce) and cg != ce:
                probs.append("%s: pcap_cnt %s, want %s (the trigger "
                             "frame's number in the capture)" % (where, cg,
                                                                  ce))
        left = list(acts)
        for ev in e["events"]:
            if not left:
                break
            errs = [(_app_fields(a, ev), i) for i, a in enumerate(left)]
            best = min(errs, key=lambda x: len(x[0]))
            probs += ["%s: %s" % (where, p) for p in best[0]]
            left.pop(best[1])
    return probs


def flow_problems(exp_flows, events):
    """flow.alerted and app_proto of each expected flow."""
    probs = []
    got = {}
    for e in events:
        if e.get("event_type") == "flow":
            got.setdefault(flow_of(e.get("src_ip"), e.get("src_port"),
                                   e.get("dest_ip"), e.get("dest_port"),
                                   e.get("proto")), []).append(e)
    for f in exp_flows:
        k = flow_of(f["src_ip"], f["src_port"], f["dest_ip"], f["dest_port"],
                    f["proto"])
        where = "flow %s %s:%s -> %s:%s" % (f["proto"], f["src_ip"],
                                            f["src_port"], f["dest_ip"],
                                            f["dest_port"])
        evs = got.get(k, [])
        if len(evs) != 1:
            probs.append("%s: %d flow events, want 1" % (where, len(evs)))
            if not evs:
                continue
        e = evs[0]
        al = (e.get("flow") or {}).get("alerted")
        if al is not f["alerted"]:
            probs.append("%s: flow.alerted %r, want %r" % (where, al,
                                                           f["alerted"]))
        ap = e.get("app_proto")
        if f["app_proto"] and ap != f["app_proto"]:
            probs.append("%s: app_proto %r, want %r" % (where, ap,
                                                        f["app_proto"]))
        if not f["app_proto"] and ap not in (None, "unknown", "failed"):
            probs.append("%s: app_proto %r, want none" % (where, ap))
    return probs


def fast_ts(eve_ts):
    """2024-01-01T00:00:00.123456+0000 -> 01/01/2024-00:00:00.123456"""
    d, t = eve_ts[:10], eve_ts[11:26]
    return "%s/%s/%s-%s" % (d[5:7], d[8:10], d[:4], t)


def fast_problems(lines, alerts):
    """Every fast.log line parses and the lines are the EVE alerts."""
    if lines is None:
        return ["no fast.log written"]
    probs, got = [], collections.Counter()
    for ln in lines:
        m = FAST_RE.match(ln)
        if not m:
            probs.append("bad fast.log line: %r" % ln[:200])
            continue
        ts, gid, sid, rev, msg, cls, prio, proto, src, sp, dst, dp = \
            m.groups()
        icmp = proto.upper() not in ("TCP", "UDP")
        got[(ts, int(gid), int(sid), int(rev), msg, cls, int(prio),
             proto.upper(), _ip(src), None if icmp else int(sp or -1),
             _ip(dst), None if icmp else int(dp or -1))] += 1
    want = collections.Counter()
    for a in alerts:
        al = a.get("alert") or {}
        icmp = str(a.get("proto")).upper() not in ("TCP", "UDP")
        want[(fast_ts(str(a.get("timestamp"))), al.get("gid"),
              al.get("signature_id"), al.get("rev"), al.get("signature"),
              al.get("category") or "(null)", al.get("severity"),
              str(a.get("proto")).upper(), _ip(a.get("src_ip")),
              None if icmp else a.get("src_port"), _ip(a.get("dest_ip")),
              None if icmp else a.get("dest_port"))] += 1
    if len(lines) != len(alerts):
        probs.append("fast.log has %d lines, EVE %d alerts" % (len(lines),
                                                               len(alerts)))
    for k in list((want - got).keys())[:10]:
        probs.append("in EVE, not in fast.log: %s" % (k,))
    for k in list((got - want).keys())[:10]:
        probs.append("in fast.log, not in EVE: %s" % (k,))
    return probs


# ------------------------------------------------ random mode (independent)

def first_wins_streams(pcap):
    """{(src, sport, dst, dport): stream bytes} rebuilt from the capture
    alone: ISN from SYN / SYN+ACK, each byte from the first segment in
    capture order that carries it. Plain Ethernet/IPv4/TCP only."""
    with open(pcap, "rb") as fh:
        data = fh.read()
    off, isn, bytes_of = 24, {}, collections.defaultdict(dict)
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        fr = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if struct.unpack("!H", fr[12:14])[0] != 0x0800 or fr[23] != 6:
            continue
        ihl = (fr[14] & 15) * 4
        tcp = fr[14 + ihl:]
        tot = struct.unpack("!H", fr[16:18])[0]
        sp, dp, seq = struct.unpack("!HHI", tcp[:8])
        flags, doff = tcp[13], (tcp[12] >> 4) * 4
        payload = tcp[doff:tot - ihl]
        k = (_ip(".".join(map(str, fr[26:30]))), sp,
             _ip(".".join(map(str, fr[30:34]))), dp)
        if flags & 2:
            isn[k] = seq
            continue
        if k not in isn or not payload:
            continue
        base = (seq - isn[k] - 1) & 0xFFFFFFFF
        d = bytes_of[k]
        for i, b in enumerate(payload):
            d.setdefault(base + i, b)
    out = {}
    for k, d in bytes_of.items():
        n = max(d) + 1 if d else 0
        assert len(d) == n, "hole in %s" % (k,)
        out[k] = bytes(d[i] for i in range(n))
    return out


def random_rules(rules_path):
    out = []
    with open(rules_path) as fh:
        for ln in fh:
            m = re.search(r'content:"([^"]*)"; sid:(\d+)', ln)
            if m:
                out.append((int(m.group(2)), m.group(1).encode()))
    return out


def random_presence_from_pcap(outdir):
    """The (sid, src, sport, dst, dport) set computed independently."""
    streams = first_wins_streams(os.path.join(outdir, "random.pcap"))
    rules = random_rules(os.path.join(outdir, "alerts.rules"))
    return {(sid, *k) for sid, c in rules for k, st in streams.items()
            if c in st}


def random_problems(exp, alerts):
    want = {(p["sid"], _ip(p["src_ip"]), p["src_port"], _ip(p["dest_ip"]),
             p["dest_port"]) for p in exp["present"]}
    got = {alert_key(a) for a in alerts}
    probs = ["missing (content in first-wins stream, no alert): sid %s "
             "%s:%s -> %s:%s" % k for k in sorted(want - got)]
    probs += ["unexpected (content not in first-wins stream): sid %s "
              "%s:%s -> %s:%s" % k for k in sorted(got - want, key=str)]
    return probs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--bin")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    binary = flowcheck.find_binary(a.bin)
    if not binary:
        sys.exit("alertcheck: spectre-dp not found")
    exp = flowcheck.load_json(os.path.join(a.outdir, "expected.json"))
    r, fast = run(binary, [os.path.join(a.outdir, exp["pcap"])],
                  [os.path.join(a.outdir, "alerts.rules")], a.workers,
                  os.path.join(a.outdir, "config.yaml"))
    al = alerts_of(r.events)
    if exp["mode"] == "random":
        probs = random_problems(exp, al)
    else:
        probs = compare_alerts([x for s in exp["scenarios"]
                                for x in s["alerts"]], al)
    probs += fast_problems(fast, al)
    for p in probs:
        print("MISMATCH " + p)
    print("rc %s, %d alerts, %d problems" % (r.rc, len(al), len(probs)))
    sys.exit(1 if probs or r.rc != 0 else 0)


if __name__ == "__main__":
    main()
