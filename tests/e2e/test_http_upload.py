#!/usr/bin/python3
"""HTTP uploads in multipart/form-data end to end on spectre-dp.

  test_http_upload.py [SPECTRE_DP]   (or $SPECTRE_DP)

A generated capture (tests/gen/pcaplib, mail_ftp's flow builder) with POST
requests whose bodies are multipart/form-data, as libhtp splits them for
Suricata: each part with a filename is a file; file.data (to_server) is its
content (not the form fields, not the part headers); file.name / fileext /
filename see the part's filename; a `fileinfo` event per file (name, size,
md5, state CLOSED, or TRUNCATED when the final boundary is missing).
Cases: two files and a form field with the request cut across segments
inside the boundary and inside a file; a chunked body with chunk borders
inside the delimiters; a missing final boundary; a form without files
(its fields are http.request_body, never file.data).
Expected alert counts and fileinfo events are derived here from the cases.
Exit 0 all passed, 1 something failed, 77 skipped (no binary).
"""
import hashlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dprun  # noqa: E402  (puts tests/gen and tests/live on the path)
import mail_ftp  # noqa: E402
import pcaplib  # noqa: E402
from checks import Checks  # noqa: E402

CLI, SRV = "10.9.0.2", "10.9.0.80"
B = b"----WebKitFormBoundary7MA4YWxk"


class Part:
    def __init__(self, name, data, filename=None):
        self.name, self.data, self.filename = name, data, filename


class Case:
    """parts; final: the closing delimiter is sent; chunk: chunk size (0: Content-Length); cuts: segment borders."""

    def __init__(self, parts, final=True, chunk=0, cuts=()):
        self.parts, self.final, self.chunk, self.cuts = parts, final, chunk, cuts

    def body(self):
        out = b""
        for p in self.parts:
            disp = b'form-data; name="%s"' % p.name.encode()
            if p.filename is not None:
                disp += b'; filename="%s"' % p.filename.encode()
            out += b"--" + B + b"\r\nContent-Disposition: " + disp + b"\r\n"
            if p.filename is not None:
                out += b"Content-Type: application/octet-stream\r\n"
            out += b"\r\n" + p.data + b"\r\n"
        return out + (b"--" + B + b"--\r\n" if self.final else b"")

    def request(self):
        body = self.body()
        head = (b"POST /upload.php HTTP/1.1\r\nHost: up.example\r\nContent-Type: multipart/form-data; boundary=" +
                B + b"\r\n")
        if not self.chunk:
            return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        ch = b""
        for i in range(0, len(body), self.chunk):
            piece = body[i:i + self.chunk]
            ch += b"%x\r\n" % len(piece) + piece + b"\r\n"
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + ch + b"0\r\n\r\n"

    def conv(self):
        req = self.request()
        cuts = [0] + [c if c >= 0 else len(req) + c for c in self.cuts] + [len(req)]
        segs = [("c", req[a:b]) for a, b in zip(cuts, cuts[1:]) if b > a]
        return segs + [("s", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]  # no body: no response file

    def files(self):
        """(filename, data, closed) of each file part. A last file without a final
        boundary runs to the end of the body, the CRLF sent after it included
        (Suricata's HtpRequestBodyHandleMultipart: FILE_TRUNCATED with all data left)."""
        out = []
        for p in self.parts:
            if p.filename is None:
                continue
            closed = self.final or p is not self.parts[-1]
            out.append((p.filename, p.data if closed else p.data + b"\r\n", closed))
        return out


def cases():
    php = b"<?php system($_GET['cmd']); ?>"
    return [
        Case([Part("comment", b"hi"), Part("up", php, "shell.php"), Part("up2", b"hello world", "notes.txt")],
             cuts=(200, 230, -20)),
        Case([Part("f", b"MZ\x90\x00" + b"\x00" * 60 + b"This program", "evil.exe")], chunk=13),
        Case([Part("f", b"PARTIAL-UPLOAD-DATA", "trunc.bin")], final=False),
        Case([Part("q", b"<?php echo 1; ?>"), Part("r", b"plain")]),
    ]


# Rules and, per rule, a predicate on (case, [(filename, data, closed)]) -> alerts of that request.
RULES = [
    ('file.data; content:"<?php";', lambda c, fs: any(b"<?php" in d for _, d, _ in fs)),
    ('http.method; content:"POST"; file.data; content:"hello world";', lambda c, fs: any(d == b"hello world" for _, d, _ in fs)),
    ('file.data; content:"MZ"; depth:2;', lambda c, fs: any(d.startswith(b"MZ") for _, d, _ in fs)),
    ('file.data; content:"Content-Disposition";', lambda c, fs: False),  # part headers are not file data
    ('fileext:"php";', lambda c, fs: bool(fs) and fs[0][0].endswith(".php")),
    ('filename:"evil";', lambda c, fs: bool(fs) and "evil" in fs[0][0]),
    ('http.request_body; content:"<?php";', lambda c, fs: b"<?php" in c.body()),
]


def main():
    binary = dprun.binary_or_skip(sys.argv)
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-upload-")
    frames, t = [], [1704067200 * 1_000_000]
    cs = cases()
    for i, c in enumerate(cs):
        frames += mail_ftp.flow_frames(CLI, SRV, 33000 + i, 80, c.conv(), False, t)
    pcap = os.path.join(tmp, "upload.pcap")
    pcaplib.write_pcap(pcap, frames)
    rules, want = [], {}
    for k, (body, pred) in enumerate(RULES):
        sid = 9820000 + k
        rules.append('alert http any any -> any any (msg:"upload %d"; flow:to_server; %s sid:%d; rev:1;)' %
                     (sid, body, sid))
        want[sid] = sum(1 for c in cs if pred(c, c.files()))
    _, ev = dprun.check_rules_run(check, binary, tmp, pcap, rules, want,
                                  "spectre-dp runs with every upload rule loaded (--strict)")
    fi = [e for e in ev if e.get("event_type") == "fileinfo"]
    for i, c in enumerate(cs):
        port = 33000 + i
        got = [e["fileinfo"] for e in fi if port in (e.get("src_port"), e.get("dest_port"))]
        exp = []
        for name, data, closed in c.files():
            f = {"filename": name, "size": len(data), "state": "CLOSED" if closed else "TRUNCATED"}
            if closed:
                f["md5"] = hashlib.md5(data).hexdigest()
            exp.append(f)
        keys = ("filename", "size", "state", "md5")
        seen = [{k: g[k] for k in keys if k in g} for g in got]
        check(seen == exp, "request %d: fileinfo events %s" % (i, exp), seen)
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
