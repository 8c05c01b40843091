#!/usr/bin/python3
"""SIP end to end on spectre-dp: nDPI's SIP captures (UDP) and generated ones
(TCP and UDP).

  test_sip.py [SPECTRE_DP]   (or $SPECTRE_DP)

1. nDPI's captures: rules in the form of Suricata's documented examples
   (sip.method, sip.uri, sip.protocol, sip.stat_code, sip.stat_msg,
   sip.request_line, sip.response_line, and Suricata 8's header buffers
   sip.from, sip.to, sip.via, sip.user_agent, sip.content_type,
   sip.content_length); the expected count of each is the number of
   datagrams whose first line / headers match, read with scapy (a SIP start
   line in a UDP flow, from the flow's first request naming a SIP URI or
   SIP/2.0 response on: sip_hello.pcapng starts with keep-alives). The flows
   nDPI calls SIP are `sip` in our flow records, and each start line gives a
   `sip` event. http_on_sip_port.pcap (HTTP over TCP port 5060) has no sip
   flow and no alert. Skipped (with a message) without the corpus.
2. Generated: SIP over TCP (Content-Length framing, pipelined messages, a
   header split across segments, detection by probing off port 5060),
   compact header names, near misses that are not SIP, and malformed
   messages (counted in the stats, no crash); exact alerts per sid and one
   `sip` event per message.
Skips (exit 77) without the binary.
"""
import collections
import ipaddress
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import dprun  # noqa: E402
from pcaplib import write_pcap  # noqa: E402 (dprun put tests/gen on the path)

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
alert sip any any -> any any (msg:"SIP From"; sip.from; content:"sip:"; sid:9713009; rev:1;)
alert sip any any -> any any (msg:"SIP To"; sip.to; content:"<sip:"; sid:9713010; rev:1;)
alert sip any any -> any any (msg:"SIP Via UDP"; sip.via; content:"SIP/2.0/UDP"; startswith; sid:9713011; rev:1;)
alert sip any any -> any any (msg:"SIP UA"; sip.user_agent; pcre:"/^[A-Za-z]/"; sid:9713012; rev:1;)
alert sip any any -> any any (msg:"SIP SDP"; sip.content_type; content:"application/sdp"; bsize:15; sid:9713013; rev:1;)
alert sip any any -> any any (msg:"SIP no body"; sip.content_length; content:"0"; bsize:1; sid:9713014; rev:1;)
"""
NSIDS = 14
COMPACT = {b"f": b"from", b"t": b"to", b"v": b"via", b"c": b"content-type", b"l": b"content-length"}


def headers(p):
    """{name: [values]} of the head after the start line (names lowercased,
    compact forms expanded; values trimmed), as the parser reads them."""
    out = collections.defaultdict(list)
    head = p.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\n")[1:129]:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t") or b":" not in line:
            continue
        name, value = line.split(b":", 1)
        name = name.rstrip(b" \t").lower()
        out[COMPACT.get(name, name)].append(value.strip(b" \t"))
    return out
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
            h = headers(p)
            first = {k: v[0] for k, v in h.items()}
            want[9713009] += b"sip:" in first.get(b"from", b"")
            want[9713010] += b"<sip:" in first.get(b"to", b"")
            want[9713011] += any(v.startswith(b"SIP/2.0/UDP") for v in h.get(b"via", [])[:16])
            want[9713012] += bool(re.match(rb"[A-Za-z]", first.get(b"user-agent", b"")))
            want[9713013] += first.get(b"content-type") == b"application/sdp"
            want[9713014] += first.get(b"content-length") == b"0"
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


def ndpi_part(check, dp, tmp, rfile):
    total = 0
    for name, pcap, events in dprun.ndpi_runs(check, dp, tmp, rfile, FILES):
        want, nflows = expected(pcap)
        flows = sum(1 for e in events if e.get("event_type") == "flow" and e.get("app_proto") == "sip")
        check(flows == nflows, "%s: %d sip flows" % (name, nflows), "got %d" % flows)
        n_ev = sum(1 for e in events if e.get("event_type") == "sip")
        check(n_ev == want["events"], "%s: %d sip events (one per start line)" % (name, want["events"]),
              "got %d" % n_ev)
        sids = {sid: want[sid] for sid in range(9713001, 9713001 + NSIDS) if want[sid]}
        total += sum(sids.values())
        print("  %s expected per sid: %s" % (name, sids))
        dprun.check_sid_counts(check, dprun.alert_sids(events), sids,
                               "%s: no other sid fired" % name)
    return total


INVITE = (b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
          b"Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b43\r\n"
          b"Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK2\r\n"
          b"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
          b"Call-ID: 3848276298220188511@atlanta.example.com\r\nCSeq: 1 INVITE\r\nUser-Agent: Asterisk PBX 16.2\r\n"
          b"Content-Type: application/sdp\r\nContent-Length: 14\r\n\r\nv=0\r\no=- 1 1\r\n")
TRYING = b"SIP/2.0 100 Trying\r\nVia: SIP/2.0/TCP client.atlanta.example.com:5060\r\nContent-Length: 0\r\n\r\n"
OK = (b"SIP/2.0 200 OK\r\nv: SIP/2.0/TCP client.atlanta.example.com:5060\r\nf: <sip:alice@atlanta.example.com>\r\n"
      b"t: <sip:bob@biloxi.example.com>;tag=8321234356\r\nc: application/sdp\r\nl: 5\r\n\r\nv=0\r\n")
REGISTER = (b"REGISTER sip:registrar.example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.5:5060\r\n"
            b"From: <sip:carol@example.com>\r\nTo: <sip:carol@example.com>\r\nUser-Agent: EvilDialer 0.1\r\n"
            b"Content-Length: 0\r\n\r\n")
GEN_RULES = r"""
alert sip any any -> any any (msg:"G INVITE"; sip.method; content:"INVITE"; sid:9714001; rev:1;)
alert sip any any -> any any (msg:"G from alice"; sip.from; content:"alice@atlanta"; sid:9714002; rev:1;)
alert sip any any -> any any (msg:"G to bob"; sip.to; content:"bob@biloxi"; sid:9714003; rev:1;)
alert sip any any -> any any (msg:"G via proxy"; sip.via; content:"proxy.example.com"; sid:9714004; rev:1;)
alert sip any any -> any any (msg:"G UA Asterisk"; sip.user_agent; content:"Asterisk"; sid:9714005; rev:1;)
alert sip any any -> any any (msg:"G SDP"; sip.content_type; content:"application/sdp"; sid:9714006; rev:1;)
alert sip any any -> any any (msg:"G CL 14"; sip.content_length; content:"14"; bsize:2; sid:9714007; rev:1;)
alert sip any any -> any any (msg:"G 200"; sip.stat_code; content:"200"; sid:9714008; rev:1;)
alert sip any any -> any any (msg:"G UA split"; sip.user_agent; content:"EvilDialer"; startswith; sid:9714009; rev:1;)
alert tcp any any -> any any (msg:"G payload and sip buffer"; sip.method; content:"REGISTER"; sid:9714010; rev:1;)
alert sip any any -> any any (msg:"G 100"; sip.stat_code; content:"100"; sid:9714011; rev:1;)
"""


def generated_part(check, dp, tmp):
    """Generated flows, each (name, proto, port, messages, sip events, {sid: count}); one capture."""
    frames, t = [], 1700000000 * 10**6
    split = REGISTER.index(b"User-Agent") + 4  # "User" | "-Agent: EvilDi" | "aler ..."
    cases = [
        ("tcp 5060: INVITE, 100 + 200 in one segment", "tcp", 5060,
         [(True, INVITE), (False, TRYING + OK)], 3,
         {9714001: 1, 9714002: 2, 9714003: 2, 9714004: 1, 9714005: 1, 9714006: 2, 9714007: 1, 9714008: 1, 9714011: 1}),
        ("tcp 7070 (probing): a header split across three segments, keep-alive CRLFs", "tcp", 7070,
         [(True, REGISTER[:split]), (True, REGISTER[split:split + 10]), (True, REGISTER[split + 10:] + b"\r\n\r\n")],
         1, {9714009: 1, 9714010: 1}),
        ("tcp 5060: two pipelined INVITEs in one segment", "tcp", 5060, [(True, INVITE + INVITE)], 2,
         {9714001: 2, 9714002: 2, 9714003: 2, 9714004: 2, 9714005: 2, 9714006: 2, 9714007: 2}),
        ("udp 5060: compact names", "udp", 5060, [(False, OK)], 1,
         {9714002: 1, 9714003: 1, 9714006: 1, 9714008: 1}),
        ("near miss: HTTP OPTIONS on tcp 5060", "tcp", 5060, [(True, b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")], 0, {}),
        ("near miss: INVITE with an http URI", "tcp", 7071, [(True, b"INVITE http://x/ SIP/2.0\r\nl: 0\r\n\r\n")], 0, {}),
        ("near miss: SIP/3.0 status", "tcp", 5060, [(False, b"SIP/3.0 200 OK\r\nl: 0\r\n\r\n")], 0, {}),
        ("malformed: a message that is not SIP after a REGISTER (counted, stream stops)", "tcp", 5060,
         [(True, REGISTER + b"HELLO WORLD\r\n\r\n" + INVITE)], 1, {9714009: 1, 9714010: 1}),
        ("malformed: a head larger than the buffer (counted, no event)", "tcp", 5060,
         [(True, b"INVITE sip:b@x SIP/2.0\r\nSubject: " + b"a" * 20000 + b"\r\n\r\n")], 0, {}),
        ("malformed: a bad datagram in a SIP flow (counted)", "udp", 5060,
         [(True, REGISTER), (True, b"\x00\xffgarbage\r\n")], 1, {9714009: 1}),
    ]
    for i, (name, proto, port, segs, nev, sids) in enumerate(cases):
        cli, srv = "10.20.0.%d" % (10 + i), "10.20.1.%d" % (10 + i)
        if proto == "tcp":
            t = dprun.tcp_conversation(frames, t, cli, srv, 42000 + i, port, segs)
        else:
            t = dprun.udp_datagrams(frames, t, cli, srv, 42000 + i, port, segs)
        t += 10000
    pcap = os.path.join(tmp, "gen_sip.pcap")
    write_pcap(pcap, frames)
    rfile = os.path.join(tmp, "gen.rules")
    with open(rfile, "w") as fh:
        fh.write(GEN_RULES)
    p, events = dprun.run_offline(dp, pcap, os.path.join(tmp, "gen.json"), rfile, ["-k", "none", "--no-ml", "--strict"])
    if not check(p.returncode == 0 and events, "generated: exit 0, EVE written", p.stderr[-800:]):
        return
    for i, (name, proto, port, segs, nev, sids) in enumerate(cases):
        cport = 42000 + i
        mine = [e for e in events if cport in (e.get("src_port"), e.get("dest_port"))]
        n = sum(1 for e in mine if e.get("event_type") == "sip")
        check(n == nev, "%s: %d sip event(s)" % (name, nev), n)
        got = dprun.alert_sids(mine)
        check(dict(got) == sids, "%s: alerts exactly %s" % (name, sids), dict(got))
        fl = [e for e in mine if e.get("event_type") == "flow"]
        want_app = "sip" if nev or name.startswith("malformed") else None
        if want_app:
            check(fl and fl[0].get("app_proto") == "sip", "%s: flow app_proto sip" % name,
                  [f.get("app_proto") for f in fl])
        else:
            check(not fl or fl[0].get("app_proto") != "sip", "%s: not a sip flow" % name, [f.get("app_proto") for f in fl])
    # EVE sip events of a TCP message carry Suricata's fields.
    inv = [e["sip"] for e in events if e.get("event_type") == "sip" and e.get("dest_port") == 5060
           and e["sip"].get("method") == "INVITE"]
    check(inv and inv[0] == {"method": "INVITE", "uri": "sip:bob@biloxi.example.com", "version": "SIP/2.0",
                             "request_line": "INVITE sip:bob@biloxi.example.com SIP/2.0"},
          "EVE sip over TCP: method, uri, version, request_line", inv[:1])
    alert = [e for e in dprun.alerts(events) if e["alert"]["signature_id"] == 9714008]
    check(alert and alert[0].get("app_proto") == "sip" and alert[0].get("sip", {}).get("code") == "200",
          "an alert on a SIP/TCP response carries app_proto and the sip object", alert[:1])
    st = [e for e in events if e.get("event_type") == "stats"]
    al = st[-1]["stats"]["app_layer"] if st else {}
    check(al.get("parse_errors", 0) >= 3, "malformed messages are counted (stats app_layer.parse_errors >= 3)",
          al.get("parse_errors"))
    check(al.get("sip", {}).get("requests", 0) >= 5, "stats sip.requests counts TCP and UDP requests", al.get("sip"))


def main():
    return dprun.app_script("sip", RULES, ndpi_part, generated_part, 50)


if __name__ == "__main__":
    sys.exit(main())
