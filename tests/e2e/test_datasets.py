#!/usr/bin/python3
"""dataset, datarep, filemd5 / filesha1 / filesha256 end to end on spectre-dp.

  test_datasets.py [SPECTRE_DP]   (or $SPECTRE_DP)

A generated capture (tests/gen/pcaplib, mail_ftp's flow builder) of HTTP
downloads, one connection each, in order, with chosen User-Agents, hosts and
response bodies. Set files are written next to the rules in the formats of
Suricata's datasets page (string sets base64 a line, datarep `value,rep`,
comments and blank lines) and its file-keywords page (md5sum output: the
hash, then the file name, ignored). The hash lists are built by hashing the
bodies here (hashlib); the rules follow the documented forms:

  http.user_agent; dataset:isset,NAME,type string,load FILE;
  http.user_agent; dataset:isnotset,NAME;            (set named by an earlier rule)
  http.user_agent; dataset:set,NAME,type string;     (fires once per new value)
  http.user_agent; dataset:unset,NAME,type string,load FILE;
  http.user_agent; to_lowercase; dataset:isset,...   (transform-aware)
  http.host; datarep:NAME,>,100,type string,load FILE;  and >=, ==, <
  filemd5:FILE; filemd5:!FILE; filesha1:FILE; filesha256:FILE;   (HTTP bodies, an SMTP attachment)
  ip.dst; dataset:isset,NAME,type ip,...; ip.src; dataset:isset,NAME,type ipv4,...

Near misses must not alert: a User-Agent with one more character or another
case, a host whose reputation equals the bound of '>', a body differing in
its last byte. Each expected count comes from a model of the cases (a set
as a Python set, evaluated in capture order). EVE fileinfo carries md5, sha1
and sha256 equal to hashlib's. Rules naming a missing or malformed set file
are refused (counted, with the file and line) and the rest still run.
Exit 0 all passed, 1 something failed, 77 skipped (no binary).
"""
import base64
import hashlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dprun  # noqa: E402  (puts tests/gen and tests/live on the path)
import mail_ftp  # noqa: E402
import pcaplib  # noqa: E402
from checks import Checks  # noqa: E402

CLI, SRV = "10.7.1.2", "10.8.1.80"
BAD = b"MZ\x90\x00malicious payload " + bytes(range(200))
NEAR = BAD[:-1] + b"\x00"          # one byte off: no hash list match
OTHER = b"%PDF-1.4 harmless " + b"y" * 300

# (user agent, host, response body) per connection, in capture order.
CASES = [
    ("EvilBot/1.0", "bad.example", BAD),
    ("EvilBot/1.01", "mid.example", NEAR),      # one more character: not the listed value
    ("evilbot/1.0", "rep.example", OTHER),      # other case: only the to_lowercase rule
    ("GoodBrowser/2.0", "good.example", OTHER),
    ("NewAgent/3", "bad.example", NEAR),
    ("NewAgent/3", "rep.example", BAD),         # already seen: dataset:set does not fire
    ("EvilBot/1.0", "mid.example", OTHER),      # after unset: the unset rule does not fire
]
REP = {"bad.example": 200, "mid.example": 100, "rep.example": 50}
ATTACH = b"MZ attachment " + bytes(range(256)) * 2   # one SMTP attachment (base64 in the mail)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def http_conv(ua, host, body):
    req = b"GET /f HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n" % (host.encode(), ua.encode())
    return [("c", req), ("s", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def set_files(d):
    write(os.path.join(d, "ua-bad.lst"), "# bad agents (base64)\n\n%s\n" % b64("EvilBot/1.0"))
    write(os.path.join(d, "ua-lower.lst"), "%s\n" % b64("evilbot/1.0"))
    write(os.path.join(d, "host.rep"), "".join("%s,%d\n" % (b64(h), r) for h, r in REP.items()))
    write(os.path.join(d, "md5.lst"), "%s  bad.exe\n" % hashlib.md5(BAD).hexdigest())
    write(os.path.join(d, "sha1.lst"), "%s\n" % hashlib.sha1(OTHER).hexdigest())
    write(os.path.join(d, "sha256.lst"), "# sha256sum output\n%s  bad.exe\n" % hashlib.sha256(BAD).hexdigest())
    write(os.path.join(d, "broken.lst"), "%s\nnot base64!\n" % b64("x"))
    write(os.path.join(d, "ips.lst"), "# type ip: IPv6 and IPv4\n2001:db8::1\n%s\n" % SRV)
    write(os.path.join(d, "near-ips.lst"), "10.8.1.81\n10.8.1.8\n%s\n" % CLI)
    write(os.path.join(d, "cli.lst"), "%s\n" % CLI)
    write(os.path.join(d, "both.lst"), "%s\n%s\n" % (CLI, SRV))
    write(os.path.join(d, "att.sha256"), "%s  a.bin\n" % hashlib.sha256(ATTACH).hexdigest().upper())


def model():
    """Expected alerts per sid, evaluating the cases in order."""
    seen, bad2 = set(), {"EvilBot/1.0"}
    want = {s: 0 for s in range(101, 123)}
    for ua, host, body in CASES:
        want[101] += ua == "EvilBot/1.0"
        want[102] += ua != "EvilBot/1.0"
        if ua not in seen:
            want[103] += 1
            seen.add(ua)
        if ua in bad2:
            want[104] += 1
            bad2.discard(ua)
        want[105] += ua.lower() == "evilbot/1.0"
        r = REP.get(host)
        want[106] += r is not None and r > 100
        want[107] += r is not None and r >= 100
        want[108] += r is not None and r == 50
        want[109] += r is not None and r < 100
        want[110] += body == BAD
        want[111] += body != BAD
        want[112] += body == BAD
        want[113] += body == OTHER
        want[116] += ua == "NewAgent/3"  # ip.dst (the server) is listed
        want[118] += 1                   # every request's ip.src (the client) is listed
    want[119] = 2 * len(CASES)           # ip.src alone in an http rule: once per transaction, both directions
    want[120] = want[121] = 1            # the SMTP attachment: in att.sha256, not in md5.lst
    want[122] = 0                        # the attachment is no HTTP body: sha256.lst lists BAD only
    return want


RULES = [
    (101, "http.user_agent; dataset:isset,ua-bad,type string,load ua-bad.lst;"),
    (102, "http.user_agent; dataset:isnotset,ua-bad;"),
    (103, "http.user_agent; dataset:set,ua-seen, type string;"),
    (104, "http.user_agent; dataset:unset,ua-bad2, type string, load ua-bad.lst;"),
    (105, "http.user_agent; to_lowercase; dataset:isset,ua-lower,type string,load ua-lower.lst;"),
    (106, "http.host; datarep:host-rep, >, 100, type string, load host.rep;"),
    (107, "http.host; datarep:host-rep, >=, 100;"),
    (108, "http.host; datarep:host-rep, ==, 50;"),
    (109, "http.host; datarep:host-rep, <, 100;"),
    (110, "filemd5:md5.lst;"),
    (111, "filemd5:!md5.lst;"),
    (112, "filesha256:sha256.lst;"),
    (113, "filesha1:sha1.lst;"),
    (116, "ip.dst; dataset:isset,bad-ips,type ip,load ips.lst; http.user_agent; content:\"NewAgent\";"),
    (117, "flow:to_server; ip.dst; dataset:isset,near-ips,type ip,load near-ips.lst;"),  # near misses only
    (118, "flow:to_server; ip.src; dataset:isset,cli,type ipv4,load cli.lst; http.method; content:\"GET\";"),
    (119, "ip.src; dataset:isset,any-end,type ip,load both.lst;"),
    (120, "filesha256:att.sha256;", "smtp"),
    (121, "filemd5:!md5.lst;", "smtp"),
    (122, "filesha256:sha256.lst;", "smtp"),
    # refused: the set file is missing / has a malformed line
    (114, "http.user_agent; dataset:isset,nofile,type string,load missing.lst;"),
    (115, "http.user_agent; dataset:isset,broken,type string,load broken.lst;"),
]


def main():
    binary = dprun.binary_or_skip(sys.argv)
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-datasets-")
    frames, t = [], [1704067200 * 1_000_000]
    for i, (ua, host, body) in enumerate(CASES):
        frames += mail_ftp.flow_frames(CLI, SRV, 33000 + i, 80, http_conv(ua, host, body), False, t)
    mail = mail_ftp.mime([mail_ftp.att_b64(b"a.bin", ATTACH)])
    frames += mail_ftp.flow_frames(CLI, SRV, 34000, 25, mail_ftp.smtp_session(mail), False, t)
    pcap = os.path.join(tmp, "sets.pcap")
    pcaplib.write_pcap(pcap, frames)
    set_files(tmp)
    rules = ['alert %s any any -> any any (msg:"set %d"; %s sid:%d; rev:1;)'
             % (r[2] if len(r) > 2 else "http", r[0], r[1], r[0]) for r in RULES]
    want = model()
    want[114] = want[115] = 0
    p, ev = dprun.check_rules_run(check, binary, tmp, pcap, rules, want,
                                  "spectre-dp runs; the rules with bad set files are refused, the rest load", args=())
    out = p.stdout + p.stderr
    check("20 loaded, 2 skipped" in out, "the report counts 20 loaded and 2 skipped", out[-800:])
    check("missing.lst" in out and "no such file" in out, "the missing set file is named", out[-800:])
    check("broken.lst:2:" in out and "not base64" in out, "the malformed line is named (file:line, reason)",
          out[-800:])
    fi = [e["fileinfo"] for e in ev if e.get("event_type") == "fileinfo"]
    check(len(fi) == len(CASES) + 1, "one fileinfo per download (%d) and the attachment" % len(CASES), len(fi))
    by_md5 = {hashlib.md5(b).hexdigest(): b for b in (BAD, NEAR, OTHER, ATTACH)}
    ok = True
    for f in fi:
        b = by_md5.get(f.get("md5"))
        ok &= b is not None and (f.get("sha1"), f.get("sha256")) == (hashlib.sha1(b).hexdigest(),
                                                                      hashlib.sha256(b).hexdigest())
    check(ok and fi, "fileinfo md5, sha1 and sha256 equal hashlib's", fi[:2])
    # Without a filesha rule, fileinfo has md5 only (sha1/sha256 are computed on demand).
    r2 = os.path.join(tmp, "plain.rules")
    write(r2, 'alert http any any -> any any (msg:"ua"; http.user_agent; content:"Evil"; sid:1; rev:1;)\n')
    p2, ev2 = dprun.run_offline(binary, pcap, os.path.join(tmp, "eve2.json"), rules=r2)
    fi2 = [e["fileinfo"] for e in ev2 if e.get("event_type") == "fileinfo"]
    check(p2.returncode == 0 and fi2 and all("md5" in f and "sha1" not in f and "sha256" not in f for f in fi2),
          "no filesha rule: fileinfo has md5 but no sha1/sha256", fi2[:1])
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
