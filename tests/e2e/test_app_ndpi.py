#!/usr/bin/python3
"""App-layer protocol per flow (EVE flow "app_proto") vs nDPI's expectations
on nDPI's own HTTP / TLS / DNS test captures.

  test_app_ndpi.py [SPECTRE_DP] [--corpus DIR] [--all] [--eve-dir DIR]
                   [--min-agreement 0.85]

For each capture, nDPI's result file (../result/<name>.out) lists every flow
with its protocol ("[proto: 91.126/TLS.ntop]") and confidence. Flows nDPI
classified by DPI are compared with our flow records, matched on protocol
and the unordered address/port pair:
  nDPI HTTP, HTTP_Proxy, HTTP_Connect   -> "http"
  nDPI TLS, DoH_DoT                     -> "tls"
  nDPI DNS, MDNS, LLMNR (DNS wire format) -> "dns"
  nDPI SSH                              -> "ssh"
  DNScrypt, AVASTSecureDNS (DNS-format certificate queries, then
  encrypted DNS, on port 443)          -> "dns" or "other" both accepted
  anything else                          -> "other"
and ours: "http" | "tls" | "dns" | "ssh", anything else ("failed", "unknown",
absent) -> "other". A file passes when the agreement (equal labels / flows
compared) is at least --min-agreement. Flows nDPI only guessed (by port or
IP) are not compared.

--eve-dir DIR reads DIR/<capture>.json instead of running spectre-dp (to
check EVE files produced elsewhere).
Exit 0 pass, 1 fail, 77 skip (no corpus, no binary, or a binary whose flow
events carry no app_proto yet). Last line: "N passed, N failed".
"""
import argparse
import collections
import ipaddress
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flowcheck  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402

CORPUS = os.path.join(os.path.dirname(flowcheck.ROOT), "shared", "corpora",
                      "pcaps", "ndpi", "tests", "cfgs", "default", "pcap")
# Chosen for variety: plain HTTP (IPv4/IPv6, CONNECT, lines split over
# packets, a reply first), TLS (1.2/1.3, reassembled hellos, alerts, port 80,
# unidirectional), DNS (UDP/TCP, long names, malformed), mixed captures.
FILES = """
http_ipv6.pcap http_connect.pcap http-lines-split.pcap http_auth.pcap
http-manipulated.pcap http_starting_with_reply.pcapng
http_ua_splitted_in_two_pkts.pcapng windowsupdate_over_http.pcap
tls_change_cipher.pcap tls_2_reasms.pcapng tls_port_80.pcapng
tls_1.2_unidirectional_client.pcapng tls_missing_ch_frag.pcap
ssl-cert-name-mismatch.pcap google_ssl.pcap
dns_long_domainname.pcap malformed_dns.pcap dns_ambiguous_names.pcap
dns_dot.pcap 1kxun.pcap ssh.pcap ssh_unidirectional.pcap
""".split()
NAME_RE = re.compile(r"http|tls|ssl|dns|ssh", re.I)
FLOW_RE = re.compile(r"^\s*\d+\s+(TCP|UDP)\s+(\S+)\s+<?->?\s+(\S+)\s+"
                     r"\[proto:\s*([^\]]+)\]")
CONF_RE = re.compile(r"\[Confidence:\s*([^\]]+)\]")
NDPI_MAP = {"HTTP": "http", "HTTP_Proxy": "http", "HTTP_Connect": "http",
            "TLS": "tls", "DoH_DoT": "tls",
            "DNS": "dns", "MDNS": "dns", "LLMNR": "dns",
            "DNScrypt": "dns|other", "AVASTSecureDNS": "dns|other",
            "SSH": "ssh"}
OURS = ("http", "tls", "dns", "ssh")


def endpoint(s):
    """'1.2.3.4:80' or '[2001:db8::1]:443' -> (normalized ip, port)."""
    if s.startswith("["):
        ip, _, port = s[1:].partition("]:")
    else:
        ip, _, port = s.rpartition(":")
    return str(ipaddress.ip_address(ip)), int(port)


def flow_key(proto, a, b):
    return (proto.upper(),) + tuple(sorted([a, b]))


def ndpi_label(proto_field):
    """'91.126/TLS.ntop' -> 'tls'; '7/HTTP' -> 'http'; '0/Unknown' -> 'other'."""
    _, _, names = proto_field.strip().partition("/")
    return NDPI_MAP.get(names.split(".")[0], "other")


def read_ndpi(path):
    """Returns {key: [label, ...]} for flows classified by DPI, and the
    number of flows skipped (guessed by port/IP or unknown)."""
    flows, skipped = collections.defaultdict(list), 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for ln in fh:
            m = FLOW_RE.match(ln)
            if not m:
                continue
            conf = CONF_RE.search(ln)
            if not conf or not conf.group(1).startswith("DPI"):
                skipped += 1
                continue
            try:
                key = flow_key(m.group(1), endpoint(m.group(2)),
                               endpoint(m.group(3)))
            except ValueError:
                skipped += 1
                continue
            flows[key].append(ndpi_label(m.group(4)))
    return flows, skipped


def our_flows(events):
    """Returns ({key: [label, ...]}, any_app_proto_field_seen)."""
    flows, seen = collections.defaultdict(list), False
    for e in events:
        if e.get("event_type") != "flow":
            continue
        proto = str(e.get("proto", "")).upper()
        if proto not in ("TCP", "UDP"):
            continue
        if "app_proto" in e:
            seen = True
        try:
            key = flow_key(proto, endpoint_of(e, "src"), endpoint_of(e, "dest"))
        except (TypeError, ValueError):
            continue
        ap = e.get("app_proto")
        flows[key].append(ap if ap in OURS else "other")
    return flows, seen


def endpoint_of(e, side):
    return str(ipaddress.ip_address(e[side + "_ip"])), int(e[side + "_port"])


def same(want, got):
    return got in want.split("|")


def compare(ndpi, ours):
    """Returns (agree, compared, mismatch lines, missing)."""
    agree = compared = missing = 0
    lines = []
    for key, want in sorted(ndpi.items()):
        got = ours.get(key)
        if not got:
            missing += len(want)
            lines.append("no flow record for %s %s:%d <-> %s:%d (nDPI %s)"
                         % ((key[0],) + key[1] + key[2] + (want[0],)))
            continue
        if len(got) != len(want):  # port reuse seen differently: by label sets
            left = list(got)
            n = 0
            for w in want:
                hit = next((g for g in left if same(w, g)), None)
                if hit is not None:
                    left.remove(hit)
                    n += 1
            agree += n
            compared += len(want)
            if n < len(want):
                lines.append("%s %s:%d <-> %s:%d nDPI %s ours %s"
                             % ((key[0],) + key[1] + key[2] + (want, got)))
            continue
        for w, g in zip(want, got):
            compared += 1
            if same(w, g):
                agree += 1
            else:
                lines.append("%s %s:%d <-> %s:%d nDPI %s ours %s"
                             % ((key[0],) + key[1] + key[2] + (w, g)))
    return agree, compared, lines, missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--all", action="store_true",
                    help="every capture whose name contains http/tls/ssl/dns")
    ap.add_argument("--eve-dir", help="read <capture>.json from here")
    ap.add_argument("--min-agreement", type=float, default=0.85)
    ap.add_argument("--max-lines", type=int, default=15)
    a = ap.parse_args()
    check = Checks()
    if not os.path.isdir(a.corpus):
        sys.exit(check.skip("corpus not found at %s" % a.corpus))
    binary = None
    if not a.eve_dir:
        binary = flowcheck.find_binary(a.binary)
        if not binary:
            sys.exit(check.skip("spectre-dp not found (pass a path or set SPECTRE_DP)"))
    result_dir = os.path.join(os.path.dirname(a.corpus.rstrip("/")), "result")
    files = FILES
    if a.all:
        files = sorted(f for f in os.listdir(a.corpus) if NAME_RE.search(f))
    tot_agree = tot_compared = 0
    app_proto_seen = False
    for name in files:
        pcap = os.path.join(a.corpus, name)
        out = os.path.join(result_dir, name + ".out")
        if not (os.path.exists(pcap) and os.path.exists(out)):
            print("SKIP %s (capture or nDPI result missing)" % name)
            continue
        ndpi, guessed = read_ndpi(out)
        if a.eve_dir:
            path = os.path.join(a.eve_dir, name + ".json")
            if not os.path.exists(path):
                print("SKIP %s (no %s)" % (name, path))
                continue
            events, bad = flowcheck.parse_eve(path)
        else:
            run = flowcheck.run_dp(binary, [pcap], 1)
            if run.rc != 0 or run.crashed():
                check(False, "%s: run failed" % name, run.describe())
                continue
            events, bad = run.events, run.bad_lines
        ours, seen = our_flows(events)
        app_proto_seen |= seen
        if not app_proto_seen and binary and ours:
            sys.exit(check.skip("%s writes flow events without \"app_proto\" (app layer not "
                                "wired into spectre-dp yet)" % binary))
        agree, compared, lines, missing = compare(ndpi, ours)
        tot_agree += agree
        tot_compared += compared
        rate = agree / compared if compared else 1.0
        check(rate >= a.min_agreement and not bad,
              "%s: %d/%d flows agree (%.0f%%), %d not compared (nDPI guessed), %d without a record%s"
              % (name, agree, compared, 100 * rate, guessed, missing,
                 ", %d bad EVE lines" % len(bad) if bad else ""))
        for ln in lines[:a.max_lines]:
            print("  " + ln)
        if len(lines) > a.max_lines:
            print("  ... %d more" % (len(lines) - a.max_lines))
        sys.stdout.flush()
    if tot_compared:
        print("overall agreement: %d/%d flows (%.1f%%)" % (tot_agree, tot_compared,
                                                          100.0 * tot_agree / tot_compared))
    rc = check.summary()
    sys.exit(rc if check.passed or check.failed else 77)  # no capture compared: a skip


if __name__ == "__main__":
    main()
