#!/usr/bin/python3
"""Per-flow pkts/bytes of spectre-dp vs the independent reference (refflow)
on a fixed list of small real-world pcaps (nDPI test corpus).

  test_corpus_diff.py [SPECTRE_DP] [--workers 1,2] [--corpus DIR] [--all]

Timeouts are set to 1e9 s, so flows only end by TCP reuse or shutdown.
Files the reference is not confident about (issues such as bad IPv4
checksums, non-Ethernet link types, overlapping fragments) are skipped.
Exit 0 pass, 1 fail, 77 skip (no corpus or no binary).
"""
import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flowcheck  # noqa: E402
import refflow  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402

CORPUS = os.path.join(os.path.dirname(flowcheck.ROOT), "shared", "corpora",
                      "pcaps", "ndpi", "tests", "cfgs", "default", "pcap")
BIG = 1000000000
TIMEOUTS = dict.fromkeys(("tcp_new", "tcp_established", "tcp_closing",
                          "tcp_closed", "udp", "icmp", "other"), BIG)
# Chosen for variety: IPv6, VLAN/QinQ, IPv4/IPv6 fragments, tunnels
# (IPIP, 6in4, GRE, VXLAN), ICMP/ICMPv6, IGMP, VRRP, truncated-IP frames,
# many-flow captures, pcapng.
FILES = """
1kxun.pcap 4in4tunnel.pcap 4in6tunnel.pcap 6in4tunnel.pcap 6in6tunnel.pcap
ajp.pcap alexa-app.pcapng android.pcap anyconnect-vpn.pcap bfd.pcap
capwap_data.pcapng coap_mqtt.pcap dns_fragmented.pcap dtls.pcap
false_positives.pcapng gre.pcapng hsrp2_ipv6.pcapng http_ipv6.pcap
iphone.pcap tumblr.pcap kcp.pcap lru_ipv6_caches.pcapng
malformed_icmp.pcap netbios.pcap pinterest.pcap ptpv2.pcap
quic_frags_ch_out_of_order_same_packet_craziness.pcapng
quic_interop_V.pcapng reddit.pcap rtmp.pcap smb_frags.pcap snmp.pcap
stun.pcap telegram_videocall.pcapng telnet.pcap
tls_certificate_too_long.pcap ultrasurf.pcap viber.pcap vrrp3.pcapng
vxlan.pcap wechat.pcap whatsapp_login_call.pcap whois.pcapng zoom.pcap
""".split()


def check_file(binary, path, config, workers, ignore=()):
    """Returns (status, lines): status is 'pass', 'fail' or 'skip'."""
    try:
        ref, st, issues = refflow.run([path], TIMEOUTS)
    except (refflow.RefError, OSError) as e:
        return "skip", ["reference cannot read it: %s" % e]
    issues = {k: v for k, v in issues.items()
              if not any(i in k for i in ignore)}
    if issues:
        return "skip", ["reference not confident: %s" % dict(issues)]
    out = []
    for w in workers:
        run = flowcheck.run_dp(binary, [path], w, config)
        tag = "--workers %d: " % w
        if run.rc != 0 or run.sanitizer_lines() or run.bad_lines:
            out.append(tag + "run failed\n" + run.describe())
            continue
        got = flowcheck.eve_flows(run.events)
        out += [tag + m for m in flowcheck.compare(
            ref, got, flowcheck.COUNT_FIELDS, ("reference", "spectre-dp"))]
        pkts = flowcheck.get(flowcheck.stats_event(run.events) or {},
                             "stats.decoder.pkts")
        if pkts != st["frames"]:
            out.append(tag + "stats.decoder.pkts %r, frames in file %d"
                       % (pkts, st["frames"]))
    return ("fail" if out else "pass"), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--workers", default="1,2",
                    help="comma-separated worker counts to run (1,2)")
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--all", action="store_true",
                    help="every capture under --corpus, not the fixed list")
    ap.add_argument("--ignore-issue", action="append", default=[],
                    metavar="TEXT", help="compare even when the reference "
                    "reports an issue containing TEXT (exploration)")
    ap.add_argument("--max-lines", type=int, default=40,
                    help="mismatch lines shown per file")
    a = ap.parse_args()
    binary = flowcheck.corpus_and_binary_or_skip(a.corpus, a.binary)
    workers = [int(w) for w in a.workers.split(",")]
    fd, config = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as fh:
        fh.write("flow:\n  timeouts: {%s}\n" % ", ".join(
            "%s: %d" % kv for kv in TIMEOUTS.items()))
    files = FILES
    if a.all:
        files = sorted(os.path.relpath(os.path.join(d, f), a.corpus)
                       for d, _, fs in os.walk(a.corpus) for f in fs
                       if f.endswith((".pcap", ".pcapng", ".cap")))
    check, skipped = Checks(a.max_lines), 0
    try:
        for name in files:
            path = os.path.join(a.corpus, name)
            if not os.path.exists(path):
                status, lines = "skip", ["file missing"]
            else:
                status, lines = check_file(binary, path, config, workers,
                                           a.ignore_issue)
            if status != "skip":
                check.report(name, lines)
                continue
            skipped += 1
            print("SKIP %s\n  %s" % (name, "\n  ".join(lines)))
    finally:
        os.unlink(config)
    print("%d captures skipped" % skipped)
    rc = check.summary()
    sys.exit(rc if check.passed or check.failed else 77)  # nothing compared: a skip


if __name__ == "__main__":
    main()
