#!/usr/bin/python3
"""QUIC end to end on spectre-dp with nDPI's QUIC captures.

  test_quic.py [SPECTRE_DP]   (or $SPECTRE_DP)

1. Every nDPI QUIC/gQUIC capture runs (exit 0, EVE parses), malformed and
   undecryptable ones included (bad input is counted, not a crash).
2. For each flow nDPI reports with a version we read (v1, drafts 23-32:
   the Initial decrypted; Q043-Q046: the plaintext CHLO), our client `quic`
   event for that flow has nDPI's SNI, and, for IETF QUIC, the hash parts of
   nDPI's JA4 (nDPI's first part differs in the version digits for some
   hellos: reported, not failed).
3. Rules from Suricata's documented examples (quic.version, quic.cyu.string,
   quic.sni, ja3.hash / ja4.hash on QUIC, the documented quic.cyu.hash):
   exact alert counts per capture, expected from the captures read with
   scapy (the long-header version of each flow's first sender; the CYU of
   each gQUIC flow's CHLO tags) and from nDPI's SNI/JA3/JA4 for the flows.
Skips (exit 77) without the binary or the corpus (../shared).
"""
import collections
import hashlib
import ipaddress
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402
import dprun  # noqa: E402

NDPI = dprun.NDPI
FILES = """quic.pcap quic-23.pcap quic-24.pcap quic-27.pcap quic-28.pcap quic-29.pcap quic-33.pcapng quic-34.pcap
quic-forcing-vn-with-data.pcapng quic-fuzz-overflow.pcapng quic-mvfst-22.pcap quic-mvfst-22_decryption_error.pcap
quic-mvfst-27.pcapng quic-mvfst-exp.pcap quic-v2.pcapng quic046.pcap quic_0RTT.pcap quic_cc_ack.pcapng
quic_crypto_aes_auth_size.pcap quic_frags_ch_in_multiple_packets.pcapng
quic_frags_ch_out_of_order_same_packet_craziness.pcapng quic_frags_different_dcid.pcapng quic_interop_V.pcapng
quic_q39.pcap quic_q43.pcap quic_q46.pcap quic_q46_b.pcap quic_q50.pcap quic_sh.pcap quic_t50.pcap quic_t51.pcap
gquic.pcap gquic_only_from_server.pcap youtube_quic.pcap""".split()
FLOW_RE = re.compile(r"^\s*\d+\s+UDP\s+(\S+)\s+<?->?\s+(\S+)\s+\[proto:")
FIELD_RE = re.compile(r"\[(Hostname/SNI|QUIC ver|JA4|JA3C): ([^\]]+)\]")
RULES = r"""
alert quic any any -> any any (msg:"QUIC VERSION Q046"; flow:to_server; quic.version; content:"Q046"; sid:9712001; rev:1;)
alert quic any any -> any any (msg:"QUIC VERSION 1"; flow:to_server; quic.version; content:"|00 00 00 01|"; sid:9712002; rev:1;)
alert quic any any -> any any (msg:"QUIC CYU STRING"; quic.cyu.string; content:"46,PAD-SNI-"; startswith; sid:9712003; rev:1;)
alert quic any any -> any any (msg:"QUIC SNI"; quic.sni; content:"localhost"; bsize:9; sid:9712004; rev:1;)
alert quic any any -> any any (msg:"QUIC JA4"; ja4.hash; content:"_d55e91d5c3b2_cd318bf3b157"; endswith; sid:9712005; rev:1;)
alert quic any any -> any any (msg:"QUIC JA3"; ja3.hash; content:"b3e43d74f4b790abca2f5fe7dd06e7cf"; sid:9712006; rev:1;)
alert quic any any -> any any (msg:"QUIC CYU HASH (Suricata's example)"; quic.cyu.hash; content:"7b3ceb1adc974ad360cfa634e8d0a730"; sid:9712008; rev:1;)
alert tls any any -> any any (msg:"TLS SNI is not QUIC's"; tls.sni; content:"localhost"; sid:9712007; rev:1;)
"""
IETF = re.compile(r"^(V-1|V-2|Draft-(2[3-9]|3[0-2])|MVFST-(22|27|EXP))$")
GQUIC = re.compile(r"^Q04[3-6]$")


def ep(s):
    """'[::1]:443' or '1.2.3.4:443' -> (ip, port)."""
    host, port = s.rsplit(":", 1)
    return str(ipaddress.ip_address(host.strip("[]"))), int(port)


def ndpi_flows(name):
    """nDPI's UDP flows: {frozenset(endpoints): {field: value}}."""
    out = {}
    with open(os.path.join(NDPI, "result", name + ".out"), errors="replace") as fh:
        for line in fh:
            m = FLOW_RE.match(line)
            if m:
                out[frozenset([ep(m.group(1)), ep(m.group(2))])] = dict(FIELD_RE.findall(line))
    return out


def scapy_versions(path):
    """{flow: version bytes} of each UDP flow's first long header sent by its first sender,
    reserved versions (0x?a?a?a?a, which force version negotiation) and 0 skipped."""
    from scapy.all import IP, IPv6, UDP, PcapReader  # noqa: E402
    first, ver = {}, {}
    with PcapReader(path) as rd:
        for pkt in rd:
            if UDP not in pkt:
                continue
            ip = pkt[IP] if IP in pkt else pkt[IPv6] if IPv6 in pkt else None
            if ip is None:
                continue
            a = (str(ipaddress.ip_address(ip.src)), pkt[UDP].sport)
            b = (str(ipaddress.ip_address(ip.dst)), pkt[UDP].dport)
            k = frozenset([a, b])
            first.setdefault(k, a)
            p = bytes(pkt[UDP].payload)
            if first[k] != a or k in ver or len(p) < 13:
                continue
            if p[0] & 0x80:
                v = int.from_bytes(p[1:5], "big")
                if v and v & 0x0F0F0F0F != 0x0A0A0A0A:  # version negotiation, reserved (greased) versions
                    ver[k] = p[1:5]
            elif p[0] & 0x09 == 0x09 and p[9:10] == b"Q":
                ver[k] = p[9:13]
    return ver


def scapy_cyu(path):
    """{flow: CYU md5} of each Q043-Q046 flow's first CHLO (its tags read here with scapy)."""
    from scapy.all import IP, IPv6, UDP, PcapReader  # noqa: E402
    out, first = {}, {}
    with PcapReader(path) as rd:
        for pkt in rd:
            if UDP not in pkt or not (IP in pkt or IPv6 in pkt):
                continue
            ip = pkt[IP] if IP in pkt else pkt[IPv6]
            a = (str(ipaddress.ip_address(ip.src)), pkt[UDP].sport)
            k = frozenset([a, (str(ipaddress.ip_address(ip.dst)), pkt[UDP].dport)])
            first.setdefault(k, a)
            p = bytes(pkt[UDP].payload)
            v = p[1:5] if len(p) > 5 and p[0] & 0x80 else p[9:13]
            i = p.find(b"CHLO")
            if k in out or first[k] != a or v not in (b"Q043", b"Q044", b"Q045", b"Q046") or i < 0:
                continue
            n = int.from_bytes(p[i + 4:i + 6], "little")
            tags = [p[i + 8 + 8 * t:i + 12 + 8 * t].rstrip(b"\0").decode() for t in range(n)]
            ver = {b"Q043": "43", b"Q046": "46"}.get(v, "44")
            out[k] = hashlib.md5(("%s,%s" % (ver, "-".join(tags))).encode()).hexdigest()
    return out


def main():
    dp = dprun.binary_or_skip(sys.argv)
    if not os.path.isdir(NDPI):
        print("SKIP: nDPI corpus absent (%s)" % NDPI)
        return 77
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-quic-")
    rfile = os.path.join(tmp, "quic.rules")
    with open(rfile, "w") as fh:
        fh.write(RULES)
    totals = collections.Counter()
    for name in FILES:
        pcap = dprun.ndpi_pcap(name)
        if not pcap:
            continue
        p, events = dprun.run_offline(dp, pcap, os.path.join(tmp, name + ".json"), rfile, ["-k", "none", "--no-ml"])
        if not check(p.returncode == 0 and events, "%s: exit 0, EVE written" % name, p.stderr[-800:]):
            continue
        quic = {}
        for e in events:
            if e.get("event_type") == "quic" and "quic" in e:
                k = frozenset([(str(ipaddress.ip_address(e["src_ip"])), e["src_port"]),
                               (str(ipaddress.ip_address(e["dest_ip"])), e["dest_port"])])
                if e["quic"].get("sni") or e["quic"].get("ja4") or k not in quic:
                    quic[k] = e["quic"]
        # 2. SNI / JA4 against nDPI, for the versions we read.
        for k, f in ndpi_flows(name).items():
            v = f.get("QUIC ver", "")
            if not (IETF.match(v) or GQUIC.match(v)):
                continue
            ours = quic.get(k, {})
            totals["flows"] += 1
            ok = ours.get("sni") == f.get("Hostname/SNI")
            if IETF.match(v) and "JA4" in f:
                ok = ok and ours.get("ja4", "").split("_")[1:] == f["JA4"].split("_")[1:]
                if ours.get("ja4", "")[:10] != f["JA4"][:10]:
                    print("  note %s %s: JA4_a ours %s, nDPI %s" % (name, v, ours.get("ja4", "")[:10], f["JA4"][:10]))
            totals["agree"] += ok
            check(ok, "%s %s: sni %s, ja4 parts b,c as nDPI" % (name, v, f.get("Hostname/SNI")), (ours, f))
        # 3. Rule counts.
        vers = scapy_versions(pcap)
        nd = ndpi_flows(name)
        want = {
            9712001: sum(1 for v in vers.values() if v == b"Q046"),
            9712002: sum(1 for v in vers.values() if v == b"\x00\x00\x00\x01"),
            9712003: sum(1 for k, f in nd.items() if f.get("QUIC ver") == "Q046" and vers.get(k) == b"Q046"),
            9712004: sum(1 for f in nd.values() if f.get("Hostname/SNI") == "localhost" and IETF.match(f.get("QUIC ver", ""))),
            9712005: sum(1 for f in nd.values() if f.get("JA4", "").endswith("_d55e91d5c3b2_cd318bf3b157")
                         and IETF.match(f.get("QUIC ver", ""))),
            9712006: sum(1 for f in nd.values() if f.get("JA3C") == "b3e43d74f4b790abca2f5fe7dd06e7cf"),
            9712007: 0,
            9712008: sum(1 for h in scapy_cyu(pcap).values() if h == "7b3ceb1adc974ad360cfa634e8d0a730"),
        }
        totals["alerts"] += sum(want.values())
        dprun.check_sid_counts(check, dprun.alert_sids(events), {s: n for s, n in want.items() if n},
                               "%s: no other sid fired (zero-count sids: %s)" % (
                                   name, sorted(s for s, n in want.items() if not n)))
    print("nDPI flows compared: %d, agreeing: %d; expected alerts: %d" % (totals["flows"], totals["agree"],
                                                                          totals["alerts"]))
    check(totals["flows"] >= 15, "at least 15 nDPI flows of readable versions compared", totals)
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
