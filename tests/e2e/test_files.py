#!/usr/bin/python3
"""File keywords and HTTP fileinfo end to end on spectre-dp.

  test_files.py [SPECTRE_DP]   (or $SPECTRE_DP)

A generated capture (tests/gen/pcaplib, mail_ftp's flow builder) with HTTP
downloads named by the URI path or by Content-Disposition, a PUT upload, a
POST form (file.data but no file), a body larger than the body limit, and an
SMTP attachment. The rules are the examples of Suricata's file-keywords page
(filename, fileext, filesize with its four forms, filestore) and near misses
(fileext:"pd" must not match ".pdf"). Each rule's expected count is computed
here from the cases: one alert per file tx whose name/size satisfies it.
A 100 KB download (12 times the body limit) is hashed whole, streamed:
filemd5 / filesha256 lists holding its digests fire once, at the file's end;
so do the same file as a gzip body (hashed decompressed, as Suricata) and
plain again, both in 1448-byte segments each acknowledged (BIG_FLOWS). With
Suricata (7+, libhtp body limits 0 = unlimited: it then hashes whole files)
the capture runs there too: on the BIG_FLOWS the same hash alerts and
fileinfo (filename, size, state, md5, sha256).
EVE: one `fileinfo` per HTTP file (filename, magic, size, md5 and sha256 of
the whole file, any size (sha256 as a filesha256 rule is loaded), state
CLOSED, stored false, tx_id, the http object) next to the `http` event of
each response; the SMTP attachment's fileinfo as before.
The expected magic is what `file -b -` (the same libmagic) says of the
file's first 4096 bytes (skipped when `file` is absent).
Exit 0 all passed, 1 something failed, 77 skipped (no binary).
"""
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dprun  # noqa: E402  (puts tests/gen and tests/live on the path)
import evecheck  # noqa: E402
import mail_ftp  # noqa: E402
import pcaplib  # noqa: E402
from checks import Checks  # noqa: E402

CLI, SRV = "10.7.0.2", "10.8.0.80"


class Case:
    def __init__(self, method, uri, body, disposition=None, name=None, is_file=True):
        self.method, self.uri, self.body, self.disp = method, uri, body, disposition
        self.name = name          # the file name we expect (None: not a file)
        self.is_file = is_file


# A zip local file header ("a.txt", stored, 5 bytes), then filler: 20000 bytes in all.
BIG = bytes((i * 31 + (i >> 10)) % 256 for i in range(100 * 1024))  # 100 KB: its digests are listed
ZIP = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0x3610A686, 5, 5, 5, 0) + b"a.txt" + b"hello"


def cases():
    pdf = b"%PDF-1.4\n" + b"x" * 141                      # 150 bytes
    return [
        Case("GET", "/docs/SECRET-plan.pdf?v=2", pdf, name="/docs/SECRET-plan.pdf"),
        Case("GET", "/get?id=7", b"R" * 100, disposition='attachment; filename="Report.PDF"', name="Report.PDF"),
        Case("GET", "/img/logo.png", b"\x89PNG" + b"\0" * 96, name="/img/logo.png"),
        Case("PUT", "/upload/shell.php", b"<?php system($_GET[c]); ?>", name="/upload/shell.php"),
        Case("POST", "/form.pdf", b"a=1&b=2", is_file=False),
        Case("GET", "/big/archive.zip", (ZIP + b"Z" * 20000)[:20000], name="/big/archive.zip"),
        Case("GET", "/big/payload.bin", BIG, name="/big/payload.bin"),
    ]


def http_conv(c):
    host = b"Host: files.example\r\n"
    if c.method == "GET":
        req = b"GET " + c.uri.encode() + b" HTTP/1.1\r\n" + host + b"\r\n"
        hdr = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(c.body)
        if c.disp:
            hdr += b"Content-Disposition: " + c.disp.encode() + b"\r\n"
        return [("c", req), ("s", hdr + b"\r\n" + c.body)]
    req = (c.method.encode() + b" " + c.uri.encode() + b" HTTP/1.1\r\n" + host +
           b"Content-Length: %d\r\n\r\n" % len(c.body) + c.body)
    return [("c", req), ("s", b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")]


SMTP_NAME = "invoice.EXE"
SMTP_DATA = b"MZ" + b"\x90" * 298


def smtp_conv():
    msg = mail_ftp.mime([mail_ftp.att_b64(SMTP_NAME.encode(), SMTP_DATA)])
    return mail_ftp.smtp_session(msg)


# Rules (Suricata's file-keywords examples and near misses) and, per rule, a
# predicate on (name, size) of each HTTP file and of the SMTP attachment.
RULES = [
    ('http', 'filename:"secret";', lambda n, s: "secret" in n.lower()),
    ('http', 'file.name; content:"examplefilename";', lambda n, s: "examplefilename" in n),
    ('http', 'file.name; content:"SECRET";', lambda n, s: "SECRET" in n),  # case-sensitive here
    ('http', 'fileext:"pdf";', lambda n, s: n.lower().endswith(".pdf")),
    ('http', 'fileext:"pd";', lambda n, s: n.lower().endswith(".pd")),
    ('http', 'file.name; content:".pd";', lambda n, s: ".pd" in n),
    ('http', 'fileext:"php"; filestore;', lambda n, s: n.lower().endswith(".php")),
    ('http', 'filesize:100;', lambda n, s: s == 100),
    ('http', 'filesize:100<>200;', lambda n, s: 100 < s < 200),
    ('http', 'filesize:>100MB;', lambda n, s: s > 100 << 20),
    ('http', 'filesize:<100MB; fileext:"png";', lambda n, s: s < 100 << 20 and n.lower().endswith(".png")),
    ('smtp', 'fileext:"exe";', None),
    ('smtp', 'filename:"invoice"; filesize:300;', None),
]
# filemagic (nocase) and file.magic: predicates on libmagic's description.
MAGIC_RULES = [
    ('http', 'filemagic:"pdf document";', lambda m: "pdf document" in m.lower()),
    ('http', 'file.magic; content:"PNG";', lambda m: "PNG" in m),
    ('http', 'file.magic; content:"Zip archive";', lambda m: "Zip archive" in m),
]


def file_magic(data):
    """libmagic's description of data's first 4096 bytes, as spectre-dp computes it, or None."""
    try:
        p = subprocess.run(["file", "-b", "-"], input=data[:4096], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.decode(errors="replace").strip()[:95] if p.returncode == 0 else None


def big_flows():
    """port -> (uri, response): BIG plain and gzip-encoded, answered in acknowledged 1448-byte segments."""
    z = gzip.compress(BIG, mtime=0)
    return {33001: (b"/big/acked.bin", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG) + BIG),
            33002: (b"/gz/payload.bin", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                    % len(z) + z)}


def add_big_flows(frames, t):
    for port, (uri, resp) in big_flows().items():
        segs = [(True, b"GET " + uri + b" HTTP/1.1\r\nHost: files.example\r\n\r\n")]
        for i in range(0, len(resp), 1448):  # Suricata reassembles what the receiver acknowledged
            segs += [(False, resp[i:i + 1448]), (True, b"")]
        t = dprun.tcp_conversation(frames, t, CLI, SRV, port, 80, segs) + 100000
    return t


def fileinfos(ev, port):
    return [tuple(e["fileinfo"].get(k) for k in ("filename", "size", "state", "md5", "sha256"))
            for e in ev if e.get("event_type") == "fileinfo" and port in (e.get("src_port"), e.get("dest_port"))]


def suricata_part(check, tmp, pcap, rfile, ours, hash_sids):
    suri = os.environ.get("SURICATA") or shutil.which("suricata")
    if not suri:
        print("SKIP Suricata comparison: suricata not installed")
        return
    yaml = os.path.join(tmp, "suricata.yaml")
    dprun.write_lines(yaml, [
        "%YAML 1.1", "---", "default-rule-path: %s" % tmp, "vars:", "  address-groups:", '    HOME_NET: "any"',
        '    EXTERNAL_NET: "any"', "  port-groups:", '    HTTP_PORTS: "80"', "outputs:", "  - eve-log:",
        "      enabled: yes", "      filetype: regular", "      filename: eve.json", "      types:", "        - alert",
        "        - files:", "            force-hash: [md5, sha256]", "app-layer:", "  protocols:", "    http:",
        "      enabled: yes", "      libhtp:", "        default-config:", "          request-body-limit: 0",
        "          response-body-limit: 0", "logging:", "  default-log-level: warning"])
    logdir = os.path.join(tmp, "suricata-log")
    os.makedirs(logdir, exist_ok=True)
    p = subprocess.run([suri, "-r", pcap, "-S", rfile, "-c", yaml, "-l", logdir, "--runmode", "single", "-k", "none"],
                       capture_output=True, text=True, timeout=300)
    ev = dprun.read_eve(os.path.join(logdir, "eve.json"))
    if not check(p.returncode == 0 and ev, "Suricata ran on the capture", p.stderr[-800:]):
        return
    def hash_alerts(events, port):
        on = [e for e in events if port in (e.get("src_port"), e.get("dest_port"))]
        return {k: v for k, v in dprun.alert_sids(on).items() if k in hash_sids}
    for port in big_flows():
        a, b = hash_alerts(ours, port), hash_alerts(ev, port)
        check(a == b and a, "port %d: the same filemd5/filesha256 alerts as Suricata" % port,
              {"spectre-dp": a, "suricata": b})
        fo, fs = fileinfos(ours, port), fileinfos(ev, port)
        check(fo == fs and len(fo) == 1, "port %d: fileinfo (filename, size, state, md5, sha256) as Suricata's" % port,
              {"spectre-dp": fo, "suricata": fs})


def main():
    binary = dprun.binary_or_skip(sys.argv)
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-files-")
    frames, t = [], [1704067200 * 1_000_000]
    cs = cases()
    for i, c in enumerate(cs):
        frames += mail_ftp.flow_frames(CLI, SRV, 31000 + i, 80, http_conv(c), False, t)
    frames += mail_ftp.flow_frames(CLI, SRV, 32000, 25, smtp_conv(), False, t)
    add_big_flows(frames, t[0] + 100000)
    pcap = os.path.join(tmp, "files.pcap")
    pcaplib.write_pcap(pcap, frames)
    rules, want = [], {}
    limit = 8192  # default response/request body limit: larger bodies are inspected at the limit
    for k, (proto, body, pred) in enumerate(RULES):
        sid = 9810000 + k
        rules.append('alert %s any any -> any any (msg:"file %d"; %s sid:%d; rev:1;)' % (proto, sid, body, sid))
        if proto == "smtp":
            want[sid] = 1
        else:
            want[sid] = sum(1 for c in cs if c.is_file and pred(c.name, min(len(c.body), limit)))
    # filemd5 / filesha256 (Suricata's file-keywords): lists with BIG's digests (and one other value).
    for kind, h in (("md5", hashlib.md5), ("sha256", hashlib.sha256)):
        with open(os.path.join(tmp, "files-%s.lst" % kind), "w") as f:
            f.write("%s\n%s\n" % (h(b"not in the capture").hexdigest(), h(BIG).hexdigest()))
        sid = 9812000 + len(kind)
        rules.append('alert http any any -> any any (msg:"listed %s"; file%s:files-%s.lst; sid:%d; rev:1;)' %
                     (kind, kind, kind, sid))
        want[sid] = 1 + len(big_flows())
    magics = {i: file_magic(c.body) for i, c in enumerate(cs)}
    have_file = all(m is not None for m in magics.values())
    if have_file:
        for k, (proto, body, pred) in enumerate(MAGIC_RULES):
            sid = 9811000 + k
            rules.append('alert %s any any -> any any (msg:"magic %d"; %s sid:%d; rev:1;)' % (proto, sid, body, sid))
            want[sid] = sum(1 for i, c in enumerate(cs) if c.is_file and pred(magics[i]))
    else:
        print("  (file(1) not found: magic checks skipped)")
    _, ev = dprun.check_rules_run(check, binary, tmp, pcap, rules, want,
                                  "spectre-dp runs with every file rule loaded (--strict)")
    probs = evecheck.problems(ev, [pcap])
    check(not probs, "EVE contract (addresses, pcap_cnt)", probs[:5])
    fi = [e for e in ev if e.get("event_type") == "fileinfo"]
    http_fi = {e["src_port"] if e["src_port"] != 80 else e["dest_port"]: e for e in fi if "http" in e}
    for i, c in enumerate(cs):
        e = http_fi.get(31000 + i)
        if not c.is_file:
            check(e is None, "%s %s: no fileinfo (not a file)" % (c.method, c.uri), e)
            continue
        if not check(e is not None, "%s %s: a fileinfo event" % (c.method, c.uri), [x.get("fileinfo") for x in fi]):
            continue
        f = e["fileinfo"]
        exp = {"filename": c.name, "size": len(c.body), "state": "CLOSED", "stored": False, "gaps": False, "tx_id": 0,
               "md5": hashlib.md5(c.body).hexdigest(), "sha256": hashlib.sha256(c.body).hexdigest()}
        if have_file and magics[i]:
            exp["magic"] = magics[i]
        elif not have_file:
            f.pop("magic", None)
        check(f == exp, "%s %s: fileinfo %s" % (c.method, c.uri, exp), f)
        check(e["http"].get("url") == c.uri, "%s %s: the fileinfo carries the http object" % (c.method, c.uri),
              e.get("http"))
    nhttp = sum(1 for e in ev if e.get("event_type") == "http")
    check(nhttp == len(cs) + len(big_flows()), "one http event per response (%d), files or not" %
          (len(cs) + len(big_flows())), nhttp)
    smtp_fi = [e["fileinfo"] for e in fi if "http" not in e]
    check(len(smtp_fi) == 1 and smtp_fi[0].get("filename") == SMTP_NAME and smtp_fi[0].get("size") == len(SMTP_DATA)
          and smtp_fi[0].get("md5") == hashlib.md5(SMTP_DATA).hexdigest(),
          "the SMTP attachment's fileinfo (name, size, md5)", smtp_fi)
    for port, (uri, _) in big_flows().items():
        want_fi = [(uri.decode(), len(BIG), "CLOSED", hashlib.md5(BIG).hexdigest(), hashlib.sha256(BIG).hexdigest())]
        check(fileinfos(ev, port) == want_fi, "%s: fileinfo %s (of the decoded file)" % (uri.decode(), want_fi[0][:3]),
              fileinfos(ev, port))
    suricata_part(check, tmp, pcap, os.path.join(tmp, "run.rules"), ev, {9812003, 9812006})
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
