#!/usr/bin/python3
"""YARA over extracted files, end to end on spectre-dp (dataplane/yaramatch/).

  test_yara.py [SPECTRE_DP]   (or $SPECTRE_DP)

A generated capture (tests/gen: pcaplib frames through mail_ftp's flow
builder, http_evasion's gzip and chunked encoders) with one TCP flow per
case: HTTP responses plain, chunked, gzip-compressed and longer than the body
limit, a PUT upload, a multipart upload (the pattern in its second file), an
SMTP attachment (base64), an FTP RETR over a PASV data connection, and two
transfers without the pattern. Rules of our own (--yara and the yara: section
of a configuration): per case, exactly one alert gid 9300 per matching file
with rule, namespace, tags, meta and the string identifiers and offsets (the
offset is where the pattern sits in the decoded file); the file's fileinfo
event carries the same matches beside its md5; the clean transfers raise
nothing. SMB1/SMB2 file transfers of test_smb_files.py: reads answered out
of order and a write match, a pipe carrying the same bytes does not. A broken rule file exits 1 naming the file and line; --strict
refuses a file without rules.
Exit 0 all passed, 1 something failed, 77 skipped (no binary).
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dprun  # noqa: E402  (puts tests/gen and tests/live on the path)
import http_evasion  # noqa: E402
import mail_ftp  # noqa: E402
import pcaplib  # noqa: E402

CLI, SRV = "10.7.0.2", "10.7.0.80"
MARK = b"SPECTRE-YARA-MARK"
RULES = """rule SpectreMark : demo e2e
{
  meta:
    author = "spectre-e2e"
    severity = 1
    active = true
  strings:
    $m = "SPECTRE-YARA-MARK"
    $mz = { 4D 5A 90 00 }
  condition:
    $m and (#mz == 0 or $mz at 0)
}

rule NeverFires
{
  strings:
    $n = "SPECTRE-YARA-ABSENT-PATTERN"
  condition:
    $n
}
"""
BROKEN = """rule Good { strings: $a = "x" condition: $a }
rule Broken {
  strings: $a = "y"
  condition: $a and $undefined }
"""


def payload(n, at, mz=False):
    """n bytes with MARK at offset `at` (an MZ header first when mz)."""
    head = b"MZ\x90\x00" if mz else b""
    body = head + b"A" * (at - len(head)) + MARK
    return body + b"B" * (n - len(body))


def http_resp(body, headers=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + headers +
            (b"" if b"chunked" in headers else b"Content-Length: %d\r\n" % len(body)) + b"\r\n" + body)


def get(path):
    return ("c", b"GET " + path + b" HTTP/1.1\r\nHost: files.example\r\n\r\n")


def multipart(files):
    b = b"----yaraBoundary42"
    out = b""
    for name, data in files:
        out += (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"f\"; filename=\"" + name + b"\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    out += b"--" + b + b"--\r\n"
    return (b"POST /upload HTTP/1.1\r\nHost: up.example\r\nContent-Type: multipart/form-data; boundary=" + b +
            b"\r\nContent-Length: %d\r\n\r\n" % len(out) + out)


OK0 = ("s", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def cases():
    """(name, conv, dport, data flow or None, file bytes the rule fires on or None, its offset)."""
    big = payload(20000, 300)
    plain, mz = payload(2000, 700), payload(1500, 64, mz=True)
    chunky, gzbody = payload(3000, 1234), payload(5000, 4000)
    put, up2 = payload(900, 10), payload(600, 77)
    mail = payload(1200, 500)
    ftp = payload(3000, 2500)
    pasv = b"227 Entering Passive Mode (10,7,0,80,39,20).\r\n"
    return [
        ("http_plain", [get(b"/a.bin"), ("s", http_resp(plain))], 80, None, plain, 700),
        ("http_mz", [get(b"/b.exe"), ("s", http_resp(mz))], 80, None, mz, 64),
        ("http_chunked", [get(b"/c.bin"), ("s", http_resp(http_evasion.chunked(chunky, size=97),
                                                         b"Transfer-Encoding: chunked\r\n"))], 80, None, chunky, 1234),
        ("http_gzip", [get(b"/d.bin"), ("s", http_resp(http_evasion.gz(gzbody), b"Content-Encoding: gzip\r\n"))],
         80, None, gzbody, 4000),
        ("http_past_body_limit", [get(b"/e.bin"), ("s", http_resp(big))], 80, None, big, 300),
        ("http_put", [("c", b"PUT /up/f.bin HTTP/1.1\r\nHost: up.example\r\nContent-Length: %d\r\n\r\n" % len(put)
                       + put), OK0], 80, None, put, 10),
        ("http_multipart_second_file", [("c", multipart([(b"clean.txt", b"nothing here"), (b"x.bin", up2)])), OK0],
         80, None, up2, 77),
        ("smtp_attachment", mail_ftp.smtp_session(mail_ftp.mime([mail_ftp.att_b64(b"inv.exe", mail)])), 25, None,
         mail, 500),
        ("ftp_retr", mail_ftp.ftp_control([(b"USER a\r\n", b"331 ok\r\n"), (b"PASS b\r\n", b"230 ok\r\n"),
                                           (b"PASV\r\n", pasv), (b"RETR f.bin\r\n", b"150 ok\r\n226 done\r\n")]),
         21, (39 * 256 + 20, ftp), ftp, 2500),
        ("http_clean", [get(b"/clean.bin"), ("s", http_resp(b"C" * 4000))], 80, None, None, 0),
        ("http_gzip_clean", [get(b"/clean.gz"), ("s", http_resp(http_evasion.gz(b"D" * 4000),
                                                               b"Content-Encoding: gzip\r\n"))], 80, None, None, 0),
    ]


def write_capture(path):
    frames = []
    for i, (name, conv, dport, data, _, _) in enumerate(cases()):
        t = [1704067200 * 1_000_000 + i * 1_000_000]
        frames += mail_ftp.flow_frames(CLI, SRV, 31000 + i, dport, conv, False, t)
        if data:
            frames += mail_ftp.flow_frames(CLI, SRV, 32000 + i, data[0], [("s", data[1])], False, t)
    pcaplib.write_pcap(path, frames)


def check_case(check, i, name, want, off, events):
    ports = {31000 + i, 32000 + i}
    mine = [e for e in events if e.get("src_port") in ports or e.get("dest_port") in ports]
    al = [e for e in mine if e.get("event_type") == "alert" and e["alert"]["gid"] == 9300]
    fi = [e for e in mine if e.get("event_type") == "fileinfo" and "yara" in e["fileinfo"]]
    if want is None:
        check(not al and not fi, "%s: no YARA alert, no fileinfo matches" % name, [al, fi])
        return
    if not check(len(al) == 1, "%s: one YARA alert (gid 9300)" % name, [e["alert"] for e in al]):
        return
    y = al[0].get("yara", {})
    got = {s["id"]: s["offset"] for s in y.get("strings", [])}
    check(y.get("rule") == "SpectreMark" and y.get("namespace") == "e2e" and y.get("tags") == ["demo", "e2e"] and
          y.get("meta") == {"author": "spectre-e2e", "severity": 1, "active": True} and
          al[0]["alert"]["severity"] == 1 and al[0]["alert"]["signature"] == "YARA e2e:SpectreMark",
          "%s: rule, namespace, tags, meta, severity" % name, y)
    check(got.get("$m") == off and ("$mz" in got) == want.startswith(b"MZ\x90\x00"),
          "%s: $m at offset %d in the file" % (name, off), y.get("strings"))
    md5 = hashlib.md5(want).hexdigest()
    fim = [e for e in fi if [h["rule"] for h in e["fileinfo"]["yara"]] == ["SpectreMark"]]
    check(len(fim) == 1 and (fim[0]["fileinfo"].get("md5") == md5 or len(want) > 8192),
          "%s: its fileinfo carries the match (and md5 %s)" % (name, md5), [e["fileinfo"] for e in fi])


SMB_RULES = """rule SmbPe { strings: $s = "cannot be run in DOS mode" condition: $s }
rule SmbPdf { strings: $p = "%PDF-1.4" condition: $p at 0 }
"""


def smb_part(check, dp, tmp):
    """test_smb_files' SMB1/SMB2 transfers (reads out of order, a write, a pipe whose data looks like a PE)."""
    import test_smb_files
    pcap = os.path.join(tmp, "smb.pcap")
    pcaplib.write_pcap(pcap, test_smb_files.capture())
    rfile = os.path.join(tmp, "smb.yara")
    dprun.write_lines(rfile, [SMB_RULES])
    p, ev = dprun.run_offline(dp, pcap, os.path.join(tmp, "eve_smb.json"), None, ["-k", "none", "--yara", rfile])
    if not check(p.returncode == 0 and ev and "runtime error" not in p.stderr, "SMB: exit 0, EVE written",
                 p.stderr[-800:]):
        return
    got = sorted((e["src_port"] + e["dest_port"] - 445, e["yara"]["rule"], e["yara"]["strings"][0]["offset"])
                 for e in dprun.alerts(ev) if e["alert"]["gid"] == 9300)
    check(got == [(45001, "SmbPdf", 0), (45002, "SmbPe", 77), (45011, "SmbPdf", 0)],
          "SMB: the PDF read (SMB2 and SMB1) and the PE written match at their offsets; the pipe does not", got)
    fi = sorted(e["src_port"] + e["dest_port"] - 445 for e in ev
                if e.get("event_type") == "fileinfo" and e["fileinfo"].get("yara"))
    check(fi == [45001, 45002, 45011], "SMB: their fileinfo events carry the matches", fi)


def body(check, dp, tmp):
    pcap = os.path.join(tmp, "yara.pcap")
    write_capture(pcap)
    rfile = os.path.join(tmp, "e2e.yar")
    dprun.write_lines(rfile, [RULES])
    args = ["-k", "none", "--no-ml", "--strict", "--yara", rfile]
    p, ev = dprun.run_offline(dp, pcap, os.path.join(tmp, "eve.json"), None, args)
    if check(p.returncode == 0 and ev, "--yara FILE: exit 0, EVE written", p.stderr[-800:]):
        check("yara: 2 rule(s) from 1 file(s)" in p.stderr, "the start-up line counts the rules", p.stderr[-400:])
        check("runtime error" not in p.stderr and "Sanitizer" not in p.stderr, "no sanitizer report",
              p.stderr[-1500:])
        for i, (name, _, _, _, want, off) in enumerate(cases()):
            check_case(check, i, name, want, off, ev)
        check(sum(1 for e in dprun.alerts(ev) if e["alert"]["gid"] == 9300) == 9, "9 YARA alerts in all")
    # The yara: section of a configuration (a directory), same alerts.
    cfg = os.path.join(tmp, "spectre.yaml")
    dprun.write_lines(cfg, ["yara:", "  rules: [%s]" % tmp, "  max_file_size: 1000"])
    p, ev = dprun.run_offline(dp, pcap, os.path.join(tmp, "eve2.json"), None,
                              ["-k", "none", "--no-ml", "--config", cfg])
    if check(p.returncode == 0 and ev, "yara: {rules: [DIR]}: exit 0", p.stderr[-800:]):
        sids = [e["alert"]["signature_id"] for e in dprun.alerts(ev) if e["alert"]["gid"] == 9300]
        # max_file_size 1000: the marks ending past byte 1000 (chunked, gzip, ftp) are not scanned.
        check(len(sids) == 6 and len(set(sids)) == 1, "max_file_size 1000: 6 files match (mark before byte 1000)",
              sids)
    smb_part(check, dp, tmp)
    # A broken rule file: exit 1, file and line.
    bad = os.path.join(tmp, "broken.yar")
    dprun.write_lines(bad, [BROKEN])
    p, _ = dprun.run_offline(dp, pcap, os.path.join(tmp, "eve3.json"), None, ["-k", "none", "--yara", bad])
    check(p.returncode == 1 and "%s:4:" % bad in p.stderr and "undefined" in p.stderr,
          "a broken rule file: exit 1 with file:line", p.stderr[-600:])
    empty = os.path.join(tmp, "empty.yara")
    dprun.write_lines(empty, ["// no rules"])
    p, _ = dprun.run_offline(dp, pcap, os.path.join(tmp, "eve4.json"), None, ["-k", "none", "--yara", empty])
    check(p.returncode == 0 and "no YARA rule" in p.stderr, "no rule, not strict: runs, warns", p.stderr[-400:])
    p, _ = dprun.run_offline(dp, pcap, os.path.join(tmp, "eve5.json"), None,
                             ["-k", "none", "--strict", "--yara", empty])
    check(p.returncode == 1 and "no YARA rule" in p.stderr, "no rule, --strict: exit 1", p.stderr[-400:])


if __name__ == "__main__":
    sys.exit(dprun.offline_main("yara", body))
