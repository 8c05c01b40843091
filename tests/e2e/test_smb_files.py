#!/usr/bin/python3
"""SMB2 file transfers as files and DCERPC calls by call id, end to end on spectre-dp (and Suricata when installed).

  test_smb_files.py [SPECTRE_DP]   (or $SPECTRE_DP; suricata from $SURICATA or the PATH)

A generated capture (tests/gen/pcaplib through dprun): SMB2 sessions on
445 with a tree connect to a disk share, then
  - a READ download of a 6000-byte PDF in two READs answered out of order
    (the answers cut into 1448-byte TCP segments), CLOSE;
  - a WRITE upload of a small PE ("MZ", the DOS stub) in two WRITEs, CLOSE;
  - a 20000-byte download in 4 READs (larger than the kept part: file.data
    inspected early, logged CLOSED with its whole size and md5, streamed;
    its md5 is listed: filemd5 fires at CLOSE);
  - a download whose second READ is never answered, CLOSE: TRUNCATED;
  - SMB1: NT_CREATE_ANDX, two READ_ANDX answered out of order, CLOSE;
  - near misses: a READ on the IPC$ pipe tree (DCERPC, not a file), a
    directory opened and read (not a file).
and DCERPC over TCP 135 with two calls interleaved (call 2's fragments
around call 3, the responses out of order and fragmented): dcerpc.opnum
with dcerpc.stub_data apply to each call's own stub (near misses: the
other call's opnum).
Rules: filename, fileext, filemd5 (a list written here), file.data content,
filesize; the EVE fileinfo events (app_proto smb, filename, size, state,
md5 of files seen whole, any size). With Suricata (7+) the same capture and
rules run there too and its alerts and fileinfo records (filename, size,
state, md5) are compared; differences that are by design are pinned
(HOLE_WHY, DCE_WHY). Skips (exit 77) without spectre-dp.
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dprun  # noqa: E402
from test_smb import bind, bind_ack, le16, le32, nbss, request, response, smb2  # noqa: E402  (the SMB script's builders)

PDF = b"%PDF-1.4\n" + bytes((i * 7 + 3) % 251 for i in range(5991))
PE = b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode.\r\n" + bytes(range(256)) * 4
BIG = bytes((i * 13) % 256 for i in range(20000))
HOLE = b"H" * 8000
RULES = r"""
alert smb any any -> any any (msg:"SMB file name invoice.pdf"; filename:"invoice.pdf"; sid:9724001; rev:1;)
alert smb any any -> any any (msg:"SMB file ext exe"; fileext:"exe"; sid:9724002; rev:1;)
alert smb any any -> any any (msg:"SMB file md5 listed"; filemd5:smbfiles-md5.lst; sid:9724003; rev:1;)
alert smb any any -> any any (msg:"SMB file.data DOS stub"; file.data; content:"cannot be run in DOS mode"; sid:9724004; rev:1;)
alert smb any any -> any any (msg:"SMB file.data PDF head"; file.data; content:"%PDF-"; startswith; sid:9724005; rev:1;)
alert smb any any -> any any (msg:"SMB big file"; filesize:>10000; sid:9724006; rev:1;)
alert dcerpc any any -> any any (msg:"call 2 opnum 5 joined"; dcerpc.opnum:5; dcerpc.stub_data; content:"AAAABBBB"; sid:9724010; rev:1;)
alert dcerpc any any -> any any (msg:"call 3 opnum 7"; dcerpc.opnum:7; dcerpc.stub_data; content:"CC"; sid:9724011; rev:1;)
alert dcerpc any any -> any any (msg:"near miss: call 3 with 2's opnum"; dcerpc.opnum:5; dcerpc.stub_data; content:"CC"; sid:9724012; rev:1;)
alert dcerpc any any -> any any (msg:"call 3 response, its opnum"; dcerpc.opnum:7; dcerpc.stub_data; content:"r3ar3b"; sid:9724013; rev:1;)
alert dcerpc any any -> any any (msg:"near miss: call 3 response, 2's opnum"; dcerpc.opnum:5; dcerpc.stub_data; content:"r3a"; sid:9724014; rev:1;)
"""
# What spectre-dp logs differently from Suricata 7, by design (each pinned on both sides, so a change shows).
HOLE_WHY = ("a range never read before CLOSE: Suricata drops the out-of-order chunk after the hole and logs the "
            "bytes before it as a whole file (CLOSED, gaps false, their md5); spectre-dp logs the file TRUNCATED "
            "with the size seen (a hole is not a whole file)")
DCE_WHY = ("Suricata 7.0.10 makes a tx of these flows' first request PDU only (logged UNREPLIED; the later "
           "fragments, calls and responses make none): its alerts are a subset of spectre-dp's")
TREE = 5


def fid(n):
    return struct.pack("<QQ", 0x100000000 + n, 0xabc00000 + n)


def msg(cmd, resp, mid, body, status=0, tree=TREE):
    return nbss(smb2(cmd, resp, tree, body, status, mid))


def session(share, tree_type=1):
    path = share.encode("utf-16-le")
    return [(True, msg(0, False, 0, le16(36) + le16(1) + b"\0" * 32 + le16(0x302), tree=0)),
            (False, msg(0, True, 0, le16(65) + le16(1) + le16(0x302) + b"\0" * 58, tree=0)),
            (True, msg(3, False, 1, le16(9) + le16(0) + le16(64 + 8) + le16(len(path)) + path, tree=0)),
            (False, msg(3, True, 1, le16(16) + bytes([tree_type, 0]) + le32(0) + le32(0) + le32(0x1f01ff)))]


def create(mid, name, f, attrs=0x20):
    n = name.encode("utf-16-le")
    return [(True, msg(5, False, mid, le16(57) + b"\0" * 42 + le16(64 + 56) + le16(len(n)) + le32(0) + le32(0) + n)),
            (False, msg(5, True, mid, le16(89) + b"\0" * 54 + le32(attrs) + le32(0) + f + le32(0) + le32(0)))]


def read_req(mid, f, off, n):
    return msg(8, False, mid, le16(49) + b"\0\0" + le32(n) + struct.pack("<Q", off) + f + b"\0" * 17)


def read_resp(mid, data):
    return msg(8, True, mid, le16(17) + bytes([80, 0]) + le32(len(data)) + le32(0) + le32(0) + data)


def write_req(mid, f, off, data):
    return msg(9, False, mid, le16(49) + le16(64 + 48) + le32(len(data)) + struct.pack("<Q", off) + f + b"\0" * 16 + data)


def close(mid, f):
    return [(True, msg(6, False, mid, le16(24) + le16(0) + le32(0) + f)),
            (False, msg(6, True, mid, le16(60) + b"\0" * 58))]


def smb1(cmd, resp, mid, words, data=b""):
    h = (b"\xffSMB" + bytes([cmd]) + le32(0) + bytes([0x80 if resp else 0]) + le16(0) + le16(0) + b"\0" * 8 +
         le16(0) + le16(TREE) + le16(77) + le16(100) + le16(mid))
    return nbss(h + bytes([len(words) // 2]) + words + le16(len(data)) + data)


def smb1_flow(name, data):
    """SMB1: negotiate, tree connect, NT_CREATE_ANDX, two READ_ANDX answered out of order, CLOSE."""
    fidw, half = le16(0x4001), len(data) // 2
    andx = b"\xff\0" + le16(0)
    tc = b"\0" + ("\\\\fs1\\old").encode() + b"\0" + b"?????\0"
    out = [(True, smb1(0x72, False, 1, b"", b"\x02NT LM 0.12\0")),
           (False, smb1(0x72, True, 1, le16(0) + b"\0" * 32)),
           (True, smb1(0x75, False, 2, andx + le16(0) + le16(1), tc)),
           (False, smb1(0x75, True, 2, andx + le16(0), b"A:\0")),
           (True, smb1(0xa2, False, 3, andx + b"\0" + le16(len(name) + 1) + b"\0" * 41, name.encode() + b"\0")),
           (False, smb1(0xa2, True, 3, andx + b"\0" + fidw + b"\0" * 61))]
    reqs = b"".join(smb1(0x2e, False, 4 + i, andx + fidw + le32(off) + le16(n) + le16(0) + le32(0) + le16(0) + le32(0))
                    for i, (off, n) in enumerate(((0, half), (half, len(data) - half))))
    resp = [smb1(0x2e, True, 4 + i, andx + le16(0xffff) + le16(0) + le16(0) + le16(len(d)) + le16(59) + le16(0) +
                 b"\0" * 8, d) for i, d in enumerate((data[:half], data[half:]))]
    return out + [(True, reqs), (False, resp[1] + resp[0]), (True, smb1(0x04, False, 6, fidw + le32(0))),
                  (False, smb1(0x04, True, 6, b""))]


def segments(segs, mss=1448):
    """Each message in TCP segments of at most mss bytes (a real stack's)."""
    out = []
    for c2s, data in segs:
        out += [(c2s, data[i:i + mss]) for i in range(0, len(data), mss)]
    return out


def flows():
    """(name, client port, segments) of each conversation."""
    f1, f2, f3, f4, f5, f6, f7, f8 = (fid(i) for i in range(1, 9))
    pdf = session("\\\\fs1\\docs") + create(2, "finance\\invoice.pdf", f1) + [
        (True, read_req(3, f1, 0, 4096) + read_req(4, f1, 4096, 4096)),
        (False, read_resp(4, PDF[4096:])), (False, read_resp(3, PDF[:4096]))] + close(5, f1)
    pe = session("\\\\fs1\\drop") + create(2, "upload\\tool.exe", f2) + [
        (True, write_req(3, f2, 0, PE[:600])), (False, msg(9, True, 3, le16(17) + b"\0" * 14)),
        (True, write_req(4, f2, 600, PE[600:])), (False, msg(9, True, 4, le16(17) + b"\0" * 14))] + close(5, f2)
    big = session("\\\\fs1\\iso") + create(2, "images\\disk.img", f3)
    for i in range(4):
        big += [(True, read_req(3 + i, f3, 5000 * i, 5000)), (False, read_resp(3 + i, BIG[5000 * i:5000 * (i + 1)]))]
    big += close(9, f3)
    hole = session("\\\\fs1\\docs") + create(2, "notes.txt", f4) + [
        (True, read_req(3, f4, 0, 4000) + read_req(4, f4, 4000, 4000)),
        (False, read_resp(3, HOLE[:4000])), (False, msg(8, True, 4, le16(9) + b"\0" * 6, status=0xc0000185))] + close(5, f4)
    # near misses: a pipe (its data starts "MZ" but is pipe data) and a directory
    pipe = session("\\\\fs1\\IPC$", 2) + create(2, "srvsvc", f5) + [
        (True, read_req(3, f5, 0, 64)), (False, read_resp(3, b"MZ cannot be run in DOS mode"))] + close(4, f5)
    dirs = session("\\\\fs1\\docs") + create(2, "finance", f6, 0x10) + [
        (True, read_req(3, f6, 0, 16)), (False, read_resp(3, b"%PDF-not-a-file"))] + close(4, f6)
    gap = session("\\\\fs1\\docs") + create(2, "gap.bin", f7) + [
        (True, read_req(3, f7, 0, 4000) + read_req(4, f7, 8000, 2000)),
        (False, read_resp(3, HOLE[:4000])), (False, read_resp(4, HOLE[:2000]))] + close(5, f7)
    noclose = session("\\\\fs1\\docs") + create(2, "open.txt", f8) + [
        (True, read_req(3, f8, 0, 3000)), (False, read_resp(3, HOLE[:3000]))]
    # DCERPC over TCP 135, calls interleaved: call 2's fragments around call 3,
    # the responses out of order and fragmented (per call id, as Suricata's txs)
    dce = [(True, bind(1)), (False, bind_ack(1)),
           (True, request(2, 1, 5, b"AAAA") + request(3, 3, 7, b"CC")), (True, request(2, 2, 5, b"BBBB")),
           (False, response(3, b"r3a")[:3] + b"\x01" + response(3, b"r3a")[4:] + response(2, b"r2")),
           (False, response(3, b"r3b")[:3] + b"\x02" + response(3, b"r3b")[4:])]
    # the same calls with call 2 whole before call 3 (not interleaved), answered out of order
    dce_ooo = [(True, bind(1)), (False, bind_ack(1)),
               (True, request(2, 1, 5, b"AAAA")), (True, request(2, 2, 5, b"BBBB") + request(3, 3, 7, b"CC")),
               (False, response(3, b"r3a")[:3] + b"\x01" + response(3, b"r3a")[4:] + response(2, b"r2")),
               (False, response(3, b"r3b")[:3] + b"\x02" + response(3, b"r3b")[4:])]
    return [("SMB1 read, out of order", 45011, smb1_flow("old\\report.pdf", PDF)),
            ("DCERPC interleaved calls", 45009, dce), ("DCERPC calls answered out of order", 45010, dce_ooo),
            ("read, out of order", 45001, pdf), ("write", 45002, pe), ("large read", 45003, big),
            ("read with a failed READ", 45004, hole), ("pipe", 45005, pipe), ("directory", 45006, dirs),
            ("a hole (a range never read)", 45007, gap), ("no CLOSE before the flow ends", 45008, noclose)]


def capture():
    frames, t = [], 1700000000 * 10**6
    for i, (_, port, segs) in enumerate(flows()):
        t = dprun.tcp_conversation(frames, t, "10.33.0.%d" % (10 + i), "10.33.1.10", port,
                                   135 if port in (45009, 45010) else 445, segments(segs))
        t += 100000
    return frames


def expected_files():
    """port -> (filename, size, state, md5 or None); port -> sids."""
    md5 = lambda b: hashlib.md5(b).hexdigest()  # noqa: E731
    files = {45001: ("finance\\invoice.pdf", len(PDF), "CLOSED", md5(PDF)),
             45002: ("upload\\tool.exe", len(PE), "CLOSED", md5(PE)),
             45003: ("images\\disk.img", len(BIG), "CLOSED", md5(BIG)),
             45004: ("notes.txt", 4000, "CLOSED", md5(HOLE[:4000])),
             45006: ("finance", 15, "CLOSED", md5(b"%PDF-not-a-file")),
             45011: ("old\\report.pdf", len(PDF), "CLOSED", md5(PDF)),
             45007: ("gap.bin", 10000, "TRUNCATED", None),
             45008: ("open.txt", 3000, "TRUNCATED", None)}
    sids = {45001: {9724001: 1, 9724003: 1, 9724005: 1}, 45002: {9724002: 1, 9724003: 1, 9724004: 1},
            45003: {9724003: 1, 9724006: 1}, 45004: {}, 45005: {}, 45006: {9724005: 1}, 45007: {}, 45008: {},
            45011: {9724003: 1, 9724005: 1}, 45009: {9724010: 1, 9724011: 1, 9724013: 1}, 45010: {9724010: 1, 9724011: 1, 9724013: 1}}
    return files, sids


def by_port(ev, port):
    return [e for e in ev if port in (e.get("src_port"), e.get("dest_port"))]


def fileinfo(ev, port):
    return [(e["fileinfo"].get("filename"), e["fileinfo"].get("size"), e["fileinfo"].get("state"),
             e["fileinfo"].get("md5")) for e in by_port(ev, port) if e.get("event_type") == "fileinfo"]


def check_ours(check, ev):
    files, sids = expected_files()
    for name, port, _ in flows():
        mine = by_port(ev, port)
        got = dict(dprun.alert_sids(mine))
        check(got == sids[port], "%s: alerts exactly %s" % (name, sids[port]), got)
        fi = fileinfo(ev, port)
        want = [files[port]] if port in files else []
        check(fi == want, "%s: fileinfo %s" % (name, want), fi)
        if port == 45003:  # one smb event per READ answer (the early-inspected part makes none)
            reads = [e for e in mine if e.get("event_type") == "smb" and e["smb"].get("command") == "SMB2_COMMAND_READ"]
            check(len(reads) == 4, "%s: 4 smb READ events, one per answer" % name, len(reads))
        recs = [e for e in mine if e.get("event_type") == "fileinfo"]
        check(all(e.get("app_proto") == "smb" and "smb" in e for e in recs),
              "%s: fileinfo records carry app_proto smb and the smb object" % name, recs[:1])
    st = [e for e in ev if e.get("event_type") == "stats"]
    smb = st[-1]["stats"]["app_layer"].get("smb", {}) if st else {}
    check(smb.get("files") == 8 and smb.get("files_truncated") == 2, "stats: 8 smb files, 2 truncated", smb)


def suricata_yaml(tmp):
    lines = ["%YAML 1.1", "---", "default-rule-path: %s" % tmp,
             "vars:", "  address-groups:", '    HOME_NET: "any"', '    EXTERNAL_NET: "any"',
             "  port-groups:", '    HTTP_PORTS: "80"',
             "outputs:", "  - eve-log:", "      enabled: yes", "      filetype: regular", "      filename: eve.json",
             "      types:", "        - alert", "        - files:", "            force-hash: [md5]",
             "app-layer:", "  protocols:", "    smb:", "      enabled: yes", "      detection-ports:",
             "        dp: 139, 445", "    dcerpc:", "      enabled: yes",
             "stream:", "  midstream: false",
             "logging:", "  default-log-level: warning"]
    path = os.path.join(tmp, "suricata.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def suricata_part(check, tmp, pcap, rfile, ours):
    suri = os.environ.get("SURICATA") or shutil.which("suricata")
    if not suri:
        print("SKIP Suricata comparison: suricata not installed")
        return
    logdir = os.path.join(tmp, "suricata-log")
    os.makedirs(logdir, exist_ok=True)
    p = subprocess.run([suri, "-r", pcap, "-S", rfile, "-c", suricata_yaml(tmp), "-l", logdir, "--runmode", "single",
                        "-k", "none"], capture_output=True, text=True, timeout=300)
    ev = dprun.read_eve(os.path.join(logdir, "eve.json"))
    if not check(p.returncode == 0 and ev, "Suricata ran on the capture", p.stderr[-800:]):
        return
    files, _ = expected_files()
    for name, port, _ in flows():
        a, b = dict(dprun.alert_sids(by_port(ours, port))), dict(dprun.alert_sids(by_port(ev, port)))
        if port in (45009, 45010):  # see DCE_WHY
            check(all(a.get(k) == v for k, v in b.items()), "%s: Suricata's alerts are ours (%s)" % (name, DCE_WHY),
                  {"spectre-dp": a, "suricata": b})
            continue
        check(a == b, "%s: the same alerts as Suricata" % name, {"spectre-dp": a, "suricata": b})
        fo, fs = fileinfo(ours, port), fileinfo(ev, port)
        print("  %s: fileinfo spectre-dp %s, Suricata %s" % (name, fo, fs))
        if port == 45007:
            want_s = [("gap.bin", 4000, "CLOSED", hashlib.md5(HOLE[:4000]).hexdigest())]
            check(fo == [files[port]] and fs == want_s, "%s: known difference: %s" % (name, HOLE_WHY), (fo, fs))
            continue
        check(fo == fs, "%s: fileinfo (filename, size, state, md5) as Suricata's" % name, (fo, fs))


def main():
    def body(check, dp, tmp):
        with open(os.path.join(tmp, "smbfiles-md5.lst"), "w") as f:
            f.write("".join(hashlib.md5(b).hexdigest() + "\n" for b in (PDF, PE, BIG)))
        ev = dprun.run_generated(check, dp, tmp, "smbfiles", capture(), RULES)
        if ev is None:
            return
        check_ours(check, ev)
        suricata_part(check, tmp, os.path.join(tmp, "gen_smbfiles.pcap"), os.path.join(tmp, "gen.rules"), ev)
    return dprun.offline_main("smbfiles", body)


if __name__ == "__main__":
    sys.exit(main())
