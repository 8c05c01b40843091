#!/usr/bin/python3
"""SIP (UDP) end to end on spectre-dp with nDPI's SIP captures.

  test_sip.py [SPECTRE_DP]   (or $SPECTRE_DP)

Rules in the form of Suricata's documented examples (sip.method, sip.uri,
sip.protocol, sip.stat_code, sip.stat_msg, sip.request_line,
sip.response_line) run over nDPI's SIP captures; the expected count of each
is the number of datagrams whose first line matches, read with scapy (a SIP
start line in a UDP flow, from the flow's first request naming a SIP URI or
SIP/2.0 response on: sip_hello.pcapng starts with keep-alives). The flows nDPI calls
SIP are `sip` in our flow records, and each start line gives a `sip` event.
http_on_sip_port.pcap (HTTP over TCP port 5060) has no sip flow and no alert.
Skips (exit 77) without the binary or the corpus (../shared).
"""
import collections
import ipaddress
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402
from dprun import alerts, run_offline  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
NDPI = os.path.join(os.path.dirname(ROOT), "shared", "corpora", "pcaps", "ndpi", "tests", "cfgs", "default")
FILES = ["sip.pcap", "sip_hello.pcapng", "FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", "http_on_sip_port.pcap"]
RULES = r"""
alert sip any any -> any any (msg:"SIP REGISTER"; sip.method; content:"REGISTER"; bsize:8; sid:9713001; rev:1;)
alert sip any any -> any any (msg:"SIP INVITE"; sip.method; content:"INVITE"; bsize:6; sid:9713002; rev:1;)
alert sip any any -> any any (msg:"SIP URI"; sip.uri; content:"sip:"; startswith; sid:9713003; rev:1;)
alert sip any any -> any any (msg:"SIP 401"; sip.stat_code; content:"401"; sid:9713004; rev:1;)
alert sip any any -> any any (msg:"SIP OK"; sip.stat_msg; content:"OK"; bsize:2; sid:9713005; rev:1;)
alert sip any any -> any any (msg:"SIP protocol"; sip.protocol; content:"SIP/2.0"; bsize:7; sid:9713006; rev:1;)
alert sip any any -> any any (msg:"SIP request line"; sip.request_line; content:" SIP/2.0"; endswith; sid:9713007; rev:1;)
alert sip any any -> any any (msg:"SIP 1xx"; sip.response_line; content:"SIP/2.0 1"; startswith; sid:9713008; rev:1;)
"""
TOKEN = re.compile(rb"^[A-Za-z0-9.!%*_+`'~-]+$")


def start(p):
    """(kind, a, b, c) of a SIP start line, or None (the parser's rules, restated)."""
    i = p.find(b"\n")
    if i < 0 or i >= 1024:
        return None
    line = p[:i - 1] if i and p[i - 1:i] == b"\r" else p[:i]
    parts = line.split(b" ", 2)
    if len(parts) < 3 or not parts[0]:
        return None
    a, b, c = parts
    if a.startswith(b"SIP/") and len(a) >= 7:
        if len(b) == 3 and b.isdigit() and int(b) >= 100:
            return ("resp", a, b, c)
        return None
    if TOKEN.match(a) and b and c.startswith(b"SIP/") and len(c) >= 5:
        return ("req", a, b, c)
    return None


def candidate(p):
    s = start(p)
    if not s:
        return False
    if s[0] == "resp":
        return p.startswith(b"SIP/2.0 ")
    return s[2].startswith((b"sip:", b"tel:", b"sips:"))


def expected(path):
    from scapy.all import IP, IPv6, UDP, PcapReader  # noqa: E402
    sip_flow, want = {}, collections.Counter()
    with PcapReader(path) as rd:
        for pkt in rd:
            if UDP not in pkt or not (IP in pkt or IPv6 in pkt):
                continue
            ip = pkt[IP] if IP in pkt else pkt[IPv6]
            k = frozenset([(ip.src, pkt[UDP].sport), (ip.dst, pkt[UDP].dport)])
            p = bytes(pkt[UDP].payload)
            if not sip_flow.get(k):  # SIP from the flow's first datagram with a SIP start line on
                sip_flow[k] = candidate(p)
            s = start(p) if sip_flow[k] else None
            if not s:
                continue
            kind, a, b, c = s
            if kind == "req":
                want[9713001] += a == b"REGISTER"
                want[9713002] += a == b"INVITE"
                want[9713003] += b.startswith(b"sip:")
                want[9713006] += c == b"SIP/2.0"
                want[9713007] += c == b"SIP/2.0"
            else:
                want[9713004] += b == b"401"
                want[9713005] += c == b"OK"
                want[9713006] += a == b"SIP/2.0"
                want[9713008] += (a + b" " + b).startswith(b"SIP/2.0 1")
            want["events"] += 1
    return want, sum(1 for v in sip_flow.values() if v)


def main():
    dp = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPECTRE_DP", os.path.join(ROOT, "build", "spectre-dp"))
    if not os.path.exists(dp):
        print("SKIP: no spectre-dp at %s" % dp)
        return 77
    if not os.path.isdir(NDPI):
        print("SKIP: nDPI corpus absent (%s)" % NDPI)
        return 77
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-sip-")
    rfile = os.path.join(tmp, "sip.rules")
    with open(rfile, "w") as fh:
        fh.write(RULES)
    total = 0
    for name in FILES:
        pcap = os.path.join(NDPI, "pcap", name)
        if not os.path.exists(pcap):
            print("SKIP %s: absent" % name)
            continue
        p, events = run_offline(dp, pcap, os.path.join(tmp, name + ".json"), rfile,
                                ["-k", "none", "--no-ml", "--strict"])
        if not check(p.returncode == 0 and events, "%s: exit 0, EVE written" % name, p.stderr[-800:]):
            continue
        want, nflows = expected(pcap)
        flows = sum(1 for e in events if e.get("event_type") == "flow" and e.get("app_proto") == "sip")
        check(flows == nflows, "%s: %d sip flows" % (name, nflows), "got %d" % flows)
        n_ev = sum(1 for e in events if e.get("event_type") == "sip")
        check(n_ev == want["events"], "%s: %d sip events (one per start line)" % (name, want["events"]),
              "got %d" % n_ev)
        got = collections.Counter(a["alert"]["signature_id"] for a in alerts(events))
        for sid in range(9713001, 9713009):
            total += want[sid]
            check(got[sid] == want[sid], "%s: sid %d fires %d time(s)" % (name, sid, want[sid]), "got %d" % got[sid])
    check(total > 50, "more than 50 expected alerts over the captures", total)
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
