#!/usr/bin/python3
"""asn1 end to end: ET Open's asn1 rules load and fire as Suricata's keyword says.

  test_asn1.py [SPECTRE_DP]   (or $SPECTRE_DP)

ET Open's "GPL NETBIOS SMB-DS Session Setup NTMLSSP asn1 overflow attempt"
(sid 2102383: SMB Session Setup AndX, extended security, no NTLMSSP at the
blob, `asn1:double_overflow, bitstring_overflow, relative_offset 54,
oversize_length 2048`) on generated SMB sessions to port 445: a BIT STRING
whose unused-bit count exceeds its length, a decimal REAL longer than 256
bytes and a declared length over 2048 each fire; a well-formed blob and one
starting with NTLMSSP stay silent. The rule text is read from the ET Open copy
in ../shared when it is there, else a rule with the same options is used.
(test_etopen.py counts the ET rules that load: the 4 asn1 rules now do.)
Skips (exit 77) without the binary.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import dprun  # noqa: E402
from checks import Checks  # noqa: E402
from pcaplib import write_pcap  # noqa: E402

ET = os.path.join(dprun.ROOT, "..", "shared", "corpora", "rules", "et-open", "emerging-netbios.rules")
FALLBACK = ('alert tcp $EXTERNAL_NET any -> $HOME_NET 445 (msg:"asn1 overflow (ET 2102383 options)"; '
            'flow:established,to_server; content:"|00|"; depth:1; content:"|FF|SMBs"; within:5; distance:3; '
            'byte_test:1,!&,128,6,relative; byte_test:4,&,2147483648,48,relative,little; content:!"NTLMSSP"; '
            'within:7; distance:54; asn1:double_overflow, bitstring_overflow, relative_offset 54, '
            'oversize_length 2048; sid:2102383; rev:21;)')


def rule_text():
    if os.path.exists(ET):
        with open(ET) as f:
            for line in f:
                if re.search(r"\bsid:2102383;", line) and not line.startswith("#"):
                    return line.strip(), "ET Open copy"
    print("note: ET Open copy absent, using a rule with the same options")
    return FALLBACK, "fallback"


def smb_setup(blob):
    """NetBIOS + SMB1 Session Setup AndX (ASCII, extended security) whose 54th byte after "|FF|SMBs"
    starts `blob`: the offsets the rule's byte_tests and relative_offset 54 read."""
    hdr = b"\xffSMB" + b"s" + b"\0" * 4 + b"\x18" + b"\x01\x00"  # flags2 low byte 0x01: not unicode
    hdr += b"\0" * 20  # pid high, signature, reserved, tid, pid, uid, mid
    params = b"\x0c\xff\x00\x00\x00\x04\x11\x0a\x00\x00\x00\x00\x00\x00\x00" + struct.pack("<H", len(blob))
    params += b"\0\0\0\0" + struct.pack("<I", 0x800000d4)  # reserved, capabilities (extended security)
    body = hdr + params + struct.pack("<H", len(blob)) + blob
    return b"\x00" + len(body).to_bytes(3, "big") + body


def main():
    dp = dprun.binary_or_skip(sys.argv)
    check = Checks()
    import tempfile
    tmp = tempfile.mkdtemp(prefix="spectre-asn1-")
    text, src = rule_text()
    rfile = os.path.join(tmp, "asn1.rules")
    with open(rfile, "w") as f:
        f.write(text + "\n")
    real = b"\x09\x82\x01\x01" + b"\x05" * 257  # REAL, decimal form, 257 bytes
    cases = [  # name, blob, alerts
        ("bit string with 255 unused bits in 1 byte", b"\x03\x01\xff" + b"\0" * 8, 1),
        ("decimal REAL of 257 bytes", real, 1),
        ("declared length 4096 (over 2048)", b"\x04\x82\x10\x00" + b"A" * 4100, 1),
        ("well-formed SPNEGO-like blob", b"\x60\x08\x06\x06\x2b\x06\x01\x05\x05\x02" + b"\0" * 4, 0),
        ("NTLMSSP at the blob", b"NTLMSSP\0" + b"\x03\x01\xff", 0),
        ("bit string with 7 unused bits", b"\x03\x01\x07" + b"\0" * 8, 0),
    ]
    frames, t = [], 1700000000 * 10**6
    for i, (name, blob, n) in enumerate(cases):
        p = smb_setup(blob)
        assert p[4:9] == b"\xffSMBs" and p[9 + 54:9 + 54 + 3] == blob[:3], name
        assert p[9 + 48 + 3] & 0x80 and not p[9 + 6] & 0x80, name
        t = dprun.tcp_conversation(frames, t, "203.0.113.%d" % (10 + i), "192.168.50.%d" % (10 + i),
                                   42000 + i, 445, [(True, p)]) + 10000
    pcap = os.path.join(tmp, "asn1.pcap")
    write_pcap(pcap, frames)
    pr, ev = dprun.run_offline(dp, pcap, os.path.join(tmp, "eve.json"), rfile, ["-k", "none", "--no-ml", "--strict"])
    if check(pr.returncode == 0, "the %s rule loads (--strict) and the run exits 0" % src, pr.stderr[-600:]):
        for i, (name, blob, n) in enumerate(cases):
            got = sum(1 for e in dprun.alerts(ev) if 42000 + i in (e["src_port"], e["dest_port"]))
            check(got == n, "%s: %d alert(s)" % (name, n), got)
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
