#!/usr/bin/python3
"""SMTP and FTP captures with known commands and attachments, for the SMTP
and FTP parsers end to end.

  mail_ftp.py OUTDIR [--bytewise]

Writes OUTDIR/mail_ftp.pcap, OUTDIR/mail_ftp.rules and OUTDIR/expected.json
({"cases": [{"name", "cport", "sids"}]}: the sids that must alert on the
connection from client port cport, nothing else). Each case has its own
marker and rule; near misses (the marker outside the inspected buffer, or
split by an encoding the parser must undo) have rules that must not fire.
--bytewise sends every payload byte in its own segment.
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcaplib  # noqa: E402

CLI, SRV = "10.3.0.2", "10.4.0.25"
SID0 = 9700000
FLAGS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}


def b64lines(data):
    enc = base64.b64encode(data)
    return b"".join(enc[i:i + 76] + b"\r\n" for i in range(0, len(enc), 76))


def smtp_session(msg, helo=b"client.example.com", mail=b"<alice@example.org>",
                 rcpts=(b"<bob@example.net>",)):
    conv = [("s", b"220 mx.example.org ESMTP ready\r\n"),
            ("c", b"EHLO " + helo + b"\r\n"),
            ("s", b"250-mx.example.org\r\n250 PIPELINING\r\n"),
            ("c", b"MAIL FROM:" + mail + b"\r\n"), ("s", b"250 Ok\r\n")]
    for r in rcpts:
        conv += [("c", b"RCPT TO:" + r + b"\r\n"), ("s", b"250 Ok\r\n")]
    conv += [("c", b"DATA\r\n"), ("s", b"354 go ahead\r\n"),
             ("c", msg + b".\r\n"), ("s", b"250 Ok: queued\r\n"),
             ("c", b"QUIT\r\n"), ("s", b"221 Bye\r\n")]
    return conv


def mime(parts, subject=b"hello"):
    out = (b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
           b"Subject: " + subject + b"\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n"
           b"This is a multi-part message.\r\n")
    for headers, body in parts:
        out += b"--XyZ\r\n" + headers + b"\r\n" + body
    return out + b"--XyZ--\r\n"


def att_b64(name, data):
    return (b"Content-Type: application/octet-stream; name=\"" + name + b"\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"" + name + b"\"\r\n",
            b64lines(data))


def att_qp(name, qp_body):
    return (b"Content-Type: text/plain; name=" + name + b"\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n", qp_body)


def ftp_control(cmds):
    conv = [("s", b"220 (vsFTPd 3.0.3)\r\n")]
    for c, r in cmds:
        conv += [("c", c), ("s", r)]
    return conv


class Case:
    def __init__(self, name, conv, rules, sport=None, dport=25, data=None):
        self.name, self.conv, self.rules, self.dport = name, conv, rules, dport
        self.data = data  # (port, direction, bytes): an ftp-data connection after the control one
        self.sport = sport


def cases():
    out = []
    mz = b"MZ\x90\x00" + b"SPECTRE-ATTACH-MARK-B64" + bytes(range(256))
    out.append(Case("smtp_b64_attachment", smtp_session(mime([att_b64(b"invoice.exe", mz)])), [
        ('alert smtp any any -> any any (msg:"attachment b64"; file.data; content:"SPECTRE-ATTACH-MARK-B64"; ', True),
        # The raw stream carries only base64: a payload rule for the marker must not fire.
        ('alert tcp any any -> any 25 (msg:"raw marker"; content:"SPECTRE-ATTACH-MARK-B64"; ', False),
        ('alert smtp any any -> any any (msg:"file.data startswith MZ"; file.data; content:"MZ"; startswith; ', True),
    ]))
    qp = b"SPECTRE-=\r\nQP-MARK =3D done\r\n"
    out.append(Case("smtp_qp_attachment", smtp_session(mime([att_qp(b"notes.txt", qp)])), [
        ('alert smtp any any -> any any (msg:"qp soft break"; file.data; content:"SPECTRE-QP-MARK = done"; ', True),
        ('alert smtp any any -> any any (msg:"qp raw form"; file.data; content:"QP-MARK =3D"; ', False),
    ]))
    body_only = mime([(b"Content-Type: text/plain\r\n", b"SPECTRE-BODY-NOT-FILE\r\n")])
    out.append(Case("smtp_body_is_not_a_file", smtp_session(body_only), [
        ('alert smtp any any -> any any (msg:"body as file"; file.data; content:"SPECTRE-BODY-NOT-FILE"; ', False),
        ('alert smtp any any -> any any (msg:"body on stream"; content:"SPECTRE-BODY-NOT-FILE"; ', True),
    ]))
    out.append(Case("smtp_envelope", smtp_session(mime([]), helo=b"evil-helo.example",
                                                  mail=b"<spectre-sender@bad.example>",
                                                  rcpts=(b"<one@x.example>", b"<spectre-rcpt2@x.example>")), [
        ('alert smtp any any -> any any (msg:"helo"; smtp.helo; content:"evil-helo"; ', True),
        ('alert smtp any any -> any any (msg:"mail from"; smtp.mail_from; content:"spectre-sender@"; ', True),
        ('alert smtp any any -> any any (msg:"second rcpt"; smtp.rcpt_to; content:"spectre-rcpt2"; ', True),
        ('alert smtp any any -> any any (msg:"helo is not mail_from"; smtp.mail_from; content:"evil-helo"; ', False),
        ('alert tcp any any -> any any (msg:"app-layer-protocol smtp"; app-layer-protocol:smtp; '
         'flow:to_server; content:"EHLO evil-helo"; ', True),
    ], dport=587))
    out.append(Case("ftp_commands", ftp_control([
        (b"USER spectre-ftp-user\r\n", b"331 Please specify the password.\r\n"),
        (b"PASS secret\r\n", b"230 Login successful.\r\n"),
        (b"SITE EXEC /bin/sh\r\n", b"500 Unknown SITE command.\r\n"),
        (b"QUIT\r\n", b"221 Goodbye.\r\n")]), [
        ('alert ftp any any -> any any (msg:"ftp user"; ftp.command; content:"USER"; '
         'ftp.command_data; content:"spectre-ftp-user"; ', True),
        ('alert ftp any any -> any any (msg:"site exec"; ftp.command; content:"SITE"; bsize:4; ', True),
        ('alert ftp any any -> any any (msg:"command data is not command"; ftp.command; content:"spectre"; ', False),
        ('alert ftp any any -> any any (msg:"ftp payload"; flow:to_server; content:"EXEC /bin/sh"; ', True),
    ], dport=21))
    ftpfile = b"%PDF-1.4 SPECTRE-FTP-DATA-MARK " + b"x" * 3000
    out.append(Case("ftp_pasv_retr", ftp_control([
        (b"USER anonymous\r\n", b"331 ok\r\n"), (b"PASS a@\r\n", b"230 ok\r\n"),
        (b"PASV\r\n", b"227 Entering Passive Mode (10,4,0,25,39,16).\r\n"),
        (b"RETR doc.pdf\r\n", b"150 Opening BINARY mode data connection\r\n226 Transfer complete\r\n")]), [
        ('alert ftp-data any any -> any any (msg:"ftp-data file"; file.data; content:"SPECTRE-FTP-DATA-MARK"; ', True),
        ('alert ftp any any -> any any (msg:"ftp rule on data"; content:"SPECTRE-FTP-DATA-MARK"; ', False),
    ], dport=21, data=(39 * 256 + 16, "s", ftpfile)))
    # A real MIME encoder (Python's email package) and the PostScript of an ET
    # Open rule (sid 2026088, Ghostscript .bindnow) as an attachment; the same
    # text as a plain body must not count as a file. Local rules: none (the
    # e2e test runs the ET rule itself).
    out.append(Case("smtp_et_ghostscript_attachment", smtp_session(library_mime(GHOSTSCRIPT, True)), []))
    out.append(Case("smtp_et_ghostscript_body", smtp_session(library_mime(GHOSTSCRIPT, False)), []))
    return out


GHOSTSCRIPT = (b"%!PS\n/a { legal } def\n{ null restore } stopped\n"
               b"{ (/tmp/x) unlink( } stopped pop\n{ .bindnow } stopped pop\nshowpage\n")


def library_mime(ps, attach):
    import email.message
    import email.policy
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = "Mallory <mallory@example.com>"
    m["To"] = "victim@example.org"
    m["Subject"] = "print this"
    if attach:
        m.set_content("see attached\n")
        m.add_attachment(ps, maintype="application", subtype="postscript", filename="job.ps")
    else:
        m.set_content(ps.decode(), cte="7bit")
    m.set_boundary("spectre-fixed-boundary") if m.is_multipart() else None  # a reproducible capture
    raw = m.as_bytes()
    # DATA dot-stuffing of lines starting with "."
    return b"\r\n".join((b"." + l if l.startswith(b".") else l) for l in raw.split(b"\r\n"))


def segments(data, bytewise, mss=1200):
    step = 1 if bytewise else mss
    return [data[i:i + step] for i in range(0, len(data), step)]


def flow_frames(cli, srv, cport, sport, conv, bytewise, t):
    frames = []
    seq = {"c": 1000, "s": 500000}

    def pkt(d, flags, payload=b""):
        src, dst, sp, dp = ((cli, srv, cport, sport) if d == "c" else (srv, cli, sport, cport))
        o = "s" if d == "c" else "c"
        fl = sum(FLAGS[ch] for ch in flags)
        l4 = pcaplib.l4_tcp(src, dst, sp, dp, seq[d], seq[o] if "A" in flags else 0, fl, payload)
        et, l3 = pcaplib.ip_packet(src, dst, 6, l4)
        seq[d] += len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        t[0] += 100
        frames.append((t[0], pcaplib.ether(src, dst, et, l3)))

    pkt("c", "S")
    pkt("s", "SA")
    pkt("c", "A")
    for d, data in conv:
        for s in segments(data, bytewise):
            pkt(d, "PA", s)
        pkt("s" if d == "c" else "c", "A")
    pkt("c", "FA")
    pkt("s", "FA")
    pkt("c", "A")
    return frames


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bytewise = "--bytewise" in sys.argv
    if len(args) != 1:
        sys.exit(__doc__)
    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    frames, rules, exp = [], [], []
    sid = SID0
    for i, c in enumerate(cases()):
        cport = 30000 + i
        t = [1704067200 * 1_000_000 + i * 1_000_000]
        want = []
        for text, fires in c.rules:
            rules.append(text + "sid:%d; rev:1;)" % sid)
            if fires:
                want.append(sid)
            sid += 1
        # The data connection opens while the control connection is still up:
        # control up to the RETR reply, then the data flow, then the rest.
        frames += flow_frames(CLI, SRV, cport, c.dport, c.conv, bytewise, t)
        if c.data:
            port, d, data = c.data
            frames += flow_frames(CLI, SRV, cport + 1000, port, [(d, data)], bytewise, t)
        exp.append({"name": c.name, "cport": cport, "sids": want,
                    "data_cport": cport + 1000 if c.data else None})
    pcaplib.write_pcap(os.path.join(outdir, "mail_ftp.pcap"), frames)
    with open(os.path.join(outdir, "mail_ftp.rules"), "w") as fh:
        fh.write("\n".join(rules) + "\n")
    with open(os.path.join(outdir, "expected.json"), "w") as fh:
        json.dump({"cases": exp}, fh, indent=1)


if __name__ == "__main__":
    main()
