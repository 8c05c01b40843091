#!/usr/bin/python3
"""Stream options operators set, end to end (spectre-dp -r on scapy captures):

* stream.midstream / --midstream / --no-midstream: a TCP session whose
  handshake was not captured is picked up (on: it is established and its
  stream inspected) or not (off: no session, its data not reassembled but
  each packet's payload inspected, and never established: flow:established
  does not match, as in Suricata 7 checked with suricata -r), as Suricata's
  stream.midstream; a flow seen from the SYN-ACK on is picked up only with
  midstream or async_oneside (Suricata's StreamTcpPacketStateNone);
* stream.async_oneside / --async-oneside: a handshake seen from one side
  only (client: SYN then data; server: SYN-ACK then data) establishes the
  session, so `flow:established` rules fire on one-sided captures; off (the
  default, as Suricata) they do not.

  test_stream_options.py [SPECTRE_DP]   (or $SPECTRE_DP)
Exit 0 pass, 1 fail, 77 skip (no scapy or no binary). Last line "N passed, N failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dprun import alert_sids, need_scapy, offline_main, run_offline, write_lines  # noqa: E402

need_scapy()
from scapy.all import Ether, IP, TCP, Raw, wrpcap  # noqa: E402

RULES = [
    # midstream session (no handshake), port 8080
    'alert tcp any any -> any 8080 (msg:"mid est"; flow:established,to_server; content:"MIDSTREAM-REQ"; sid:301;)',
    'alert tcp any any -> any 8080 (msg:"mid not est"; flow:not_established; dsize:>0; sid:302;)',
    'alert tcp any 8080 -> any any (msg:"mid resp stream"; content:"MIDSTREAM-RESP"; sid:303;)',
    'alert tcp any 8080 -> any any (msg:"mid resp est"; flow:established,to_client; content:"MIDSTREAM-RESP"; sid:305;)',
    # seen from the SYN-ACK on (the client's SYN not captured), port 8084
    'alert tcp any 8084 -> any any (msg:"synack est"; flow:established,to_client; content:"SYNACK-RESP"; sid:306;)',
    # control: full handshake, port 8082
    'alert tcp any any -> any 8082 (msg:"full"; flow:established,to_server; content:"FULL-HS"; sid:304;)',
    # one-sided: client side only (8081), server side only (8083)
    'alert tcp any any -> any 8081 (msg:"client only"; flow:established,to_server; content:"ONESIDE-REQ"; sid:311;)',
    'alert tcp any 8083 -> any any (msg:"server only"; flow:established,to_client; content:"ONESIDE-RESP"; sid:312;)',
]

# sid -> alerts per run (default, --no-midstream, --async-oneside, config file midstream off + async on)
EXPECT = {
    301: (1, 0, 1, 0),
    302: (0, 1, 0, 1),
    303: (1, 1, 1, 1),  # off: the server's packet, both sides seen, payload inspected as a packet
    304: (1, 1, 1, 1),
    305: (1, 0, 1, 0),  # off: not established even with both sides seen (Suricata 7 alike)
    306: (1, 0, 1, 1),  # off: a SYN-ACK starts no session unless async-oneside (Suricata 7 alike)
    311: (0, 0, 1, 1),
    312: (0, 0, 1, 1),
}


def build(path):
    pk = []
    t = [100.0]

    def add(src, dst, sp, dp, flags, seq, ack, data=b""):
        p = Ether() / IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack)
        if data:
            p = p / Raw(data)
        t[0] += 0.01
        p.time = t[0]
        pk.append(p)

    c, s = "198.18.30.1", "198.19.30.1"
    # midstream: data both ways, no SYN
    add(c, s, 40030, 8080, "PA", 5000, 9000, b"GET /x MIDSTREAM-REQ\r\n\r\n")
    add(s, c, 8080, 40030, "A", 9000, 5024)
    add(s, c, 8080, 40030, "PA", 9000, 5024, b"HTTP/1.1 200 MIDSTREAM-RESP\r\n\r\n")
    add(c, s, 40030, 8080, "A", 5024, 9031)
    # SYN-ACK, the client's ACK, server data (no SYN)
    add(s, c, 8084, 40034, "SA", 1000, 401)
    add(c, s, 40034, 8084, "A", 401, 1001)
    add(s, c, 8084, 40034, "PA", 1001, 401, b"SYNACK-RESP data")
    add(c, s, 40034, 8084, "A", 401, 1017)
    # full handshake
    add(c, s, 40032, 8082, "S", 100, 0)
    add(s, c, 8082, 40032, "SA", 700, 101)
    add(c, s, 40032, 8082, "A", 101, 701)
    add(c, s, 40032, 8082, "PA", 101, 701, b"FULL-HS request")
    add(s, c, 8082, 40032, "A", 701, 116)
    # client side only: SYN, ACK, data (the server's packets were not captured)
    add(c, s, 40031, 8081, "S", 200, 0)
    add(c, s, 40031, 8081, "A", 201, 801)
    add(c, s, 40031, 8081, "PA", 201, 801, b"ONESIDE-REQ data")
    add(c, s, 40031, 8081, "PA", 217, 801, b"more")
    # server side only: SYN-ACK, data
    add(s, c, 8083, 40033, "SA", 900, 301)
    add(s, c, 8083, 40033, "PA", 901, 301, b"ONESIDE-RESP data")
    add(s, c, 8083, 40033, "PA", 918, 301, b"more")
    wrpcap(path, pk)


def run(dp, pcap, rfile, eve, extra):
    p, events = run_offline(dp, pcap, eve, rfile, ["--strict"] + extra)
    return p, alert_sids(events)


def main(check, dp, tmp):
    pcap, rfile, eve, cfg = (os.path.join(tmp, n) for n in ("t.pcap", "t.rules", "eve.json", "s.yaml"))
    build(pcap)
    write_lines(rfile, RULES)
    with open(cfg, "w") as f:
        f.write("stream: {midstream: false, async_oneside: true}\nexception-policy: auto\n")
    runs = [("default", []), ("--no-midstream", ["--no-midstream"]), ("--async-oneside", ["--async-oneside"]),
            ("config midstream off, async_oneside on", ["--config", cfg])]
    for i, (name, extra) in enumerate(runs):
        p, got = run(dp, pcap, rfile, eve, extra)
        check(p.returncode == 0, "%s: exits 0" % name, p.stderr[-1000:])
        for sid in sorted(EXPECT):
            want = EXPECT[sid][i]
            check(got[sid] == want, "%s: sid %d %d alert(s)" % (name, sid, want), "got %d" % got[sid])
    # The command line wins over the file: --midstream over midstream: false.
    p, got = run(dp, pcap, rfile, eve, ["--config", cfg, "--midstream", "--no-async-oneside"])
    check(got[301] == 1 and got[311] == 0, "--midstream --no-async-oneside over the file", dict(got))


if __name__ == "__main__":
    sys.exit(offline_main("stream", main))
