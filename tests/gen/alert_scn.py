"""The alert scenarios of alerts.py. Every scenario has its own client and
server addresses (198.18.N.1 -> 198.19.N.1) and content markers no other
scenario's traffic contains, so one capture with all rules gives the union
of the per-scenario expectations. Payloads are laid out by hand so the
expected matches can be read off the code (offsets noted inline)."""
from alert_lib import Conn, dns_tcp, icmp_step, tcp_exchange, udp_step
import alert_tls

UA = "Mozilla/5.0 (X11; Linux x86_64) spectre-test"


def http_req(method, uri, host, headers=(), body=None, chunks=None):
    lines = ["%s %s HTTP/1.1" % (method, uri), "Host: " + host,
             "User-Agent: " + UA, "Accept: */*"]
    lines = [ln for ln in lines if not any(
        ln.split(":")[0] == h.split(":")[0] for h in headers)]
    lines += list(headers)
    if chunks is not None:
        lines.append("Transfer-Encoding: chunked")
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
        body += b"0\r\n\r\n"
    elif body is not None:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def http_resp(code=200, reason="OK", body=b"<html>ok</html>\n"):
    head = ("HTTP/1.1 %d %s\r\nServer: test-httpd\r\n"
            "Content-Type: text/html\r\nContent-Length: %d\r\n\r\n"
            % (code, reason, len(body)))
    return head.encode() + body


def H(host, url):
    return {"http": {"hostname": host, "url": url}}


def http_flow(scn, exchanges):
    """One keep-alive HTTP connection; exchanges: [(request bytes,
    response bytes)], each sent as one segment. Returns (flow,
    [(request Step, response Step)])."""
    ctx = scn.ctx
    cip, sip = ctx.hosts()
    s = scn.session()
    f = scn.flow(6, cip, sip, ctx.g.rng.randint(32768, 60999), 80,
                 app="http")
    c = Conn(scn.g, s, f)
    c.open()
    steps = []
    for rq, rs in exchanges:
        a = c.push("ts", rq)
        c.ack("tc")
        b = c.push("tc", rs)
        c.ack("ts")
        steps.append((a, b))
    c.close()
    return f, steps


def http_scenarios(ctx):
    hh = 'alert http any any -> any any'
    # --- http.uri (sticky), nocase, and a case-sensitive miss
    sc = ctx.scn("http-uri", "GET with a malicious URI: http.uri, nocase")
    url, host = "/evil/shell.php?cmd=id", "www.uri-test.test"
    f, st = http_flow(sc, [(http_req("GET", url, host), http_resp())])
    a = sc.rule(hh, 'flow:established,to_server; http.uri; '
                'content:"/evil/shell.php"; metadata: created_at 2024_01_01,'
                ' tag e2e;', classtype="web-application-attack", rev=3,
                msg='SPECTRE TEST "quoted" msg; with semicolon')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))
    a = sc.rule(hh, 'http.uri; content:"/EVIL/SHELL"; nocase;')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))
    sc.expect_none(sc.rule(hh, 'http.uri; content:"/EVIL/SHELL";'))

    # --- legacy content modifier form (content; http_uri;)
    sc = ctx.scn("http-uri-legacy", "legacy http_uri modifier, with nocase")
    url, host = "/Legacy/Path.cgi?x=1", "legacy.test"
    f, st = http_flow(sc, [(http_req("GET", url, host), http_resp())])
    a = sc.rule("alert tcp any any -> any any",
                'flow:to_server,established; content:"/Legacy/Path.cgi"; '
                'http_uri;', classtype="spectre-test-b")
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))
    a = sc.rule("alert tcp any any -> any any",
                'content:"/legacy/path"; nocase; http_uri;')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))

    # --- User-Agent, Host, header, cookie: one scenario each
    sc = ctx.scn("http-user-agent", "http.user_agent")
    url, host = "/index.html", "ua.test"
    ref = "http://ref.test/start?a=1"
    f, st = http_flow(sc, [(http_req(
        "GET", url, host, ["User-Agent: Mozilla/5.0 (compatible; "
                           "EvilBot/1.0)", "Referer: " + ref]), http_resp())])
    a = sc.rule(hh, 'http.user_agent; content:"EvilBot/1.0";',
                classtype="trojan-activity")
    app = H(host, url)
    app["http"]["http_refer"] = ref  # EVE http.http_refer
    sc.expect(a, f, "ts", [st[0][0]], app)

    sc = ctx.scn("http-host", "http.host")
    url, host = "/gate.php", "c2.bad-host.test"
    f, st = http_flow(sc, [(http_req("GET", url, host), http_resp())])
    a = sc.rule(hh, 'http.host; content:"c2.bad-host.test";', priority=1)
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))

    sc = ctx.scn("http-header", "http.header with a hex colon")
    url, host = "/hdr", "hdr.test"
    f, st = http_flow(sc, [(http_req("GET", url, host,
                                     ["X-Evil-Header: yes-please"]),
                            http_resp())])
    a = sc.rule(hh, 'http.header; content:"X-Evil-Header|3a 20|yes-please";')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))

    sc = ctx.scn("http-cookie", "http.cookie")
    url, host = "/account", "cookie.test"
    f, st = http_flow(sc, [(http_req(
        "GET", url, host, ["Cookie: theme=dark; session=evil-cookie-42"]),
        http_resp())])
    a = sc.rule(hh, 'http.cookie; content:"session=evil-cookie-42";')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))

    sc = ctx.scn("http-method-uri", "http.method + http.uri together")
    url, host = "/api/item/7", "api.test"
    f, st = http_flow(sc, [(http_req("DELETE", url, host), http_resp())])
    a = sc.rule(hh, 'http.method; content:"DELETE"; http.uri; '
                'content:"/api/item/";')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))
    sc.expect_none(sc.rule(hh, 'http.method; content:"GET"; http.uri; '
                           'content:"/api/item/";'))

    # --- request bodies: Content-Length, and chunked with the marker
    # split over the two chunks ("malicious-chu" | "nked-body")
    sc = ctx.scn("http-post-body", "http.request_body, Content-Length")
    url, host = "/upload", "post.test"
    f, st = http_flow(sc, [(http_req(
        "POST", url, host, ["Content-Type: application/x-www-form-urlencoded"],
        body=b"name=x&payload=malicious-cl-body&end=1"), http_resp())])
    a = sc.rule(hh, 'http.request_body; content:"malicious-cl-body";')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))

    sc = ctx.scn("http-post-chunked", "http.request_body, chunked, marker "
                 "across the chunk boundary")
    url, host = "/upload-chunked", "chunk.test"
    f, st = http_flow(sc, [(http_req(
        "POST", url, host, chunks=[b"a=1&malicious-chu", b"nked-body&z=1"]),
        http_resp())])
    a = sc.rule(hh, 'http.request_body; content:"malicious-chunked-body";')
    sc.expect(a, f, "ts", [st[0][0]], H(host, url))

    # --- response: status code and body (file_data)
    sc = ctx.scn("http-response", "http.stat_code 404 and file_data")
    url, host = "/missing.html", "resp.test"
    f, st = http_flow(sc, [(http_req("GET", url, host), http_resp(
        404, "Not Found", b"<html>secret-response-marker</html>\n"))])
    a = sc.rule(hh, 'flow:established,to_client; http.stat_code; '
                'content:"404";', classtype="bad-unknown")
    app = H(host, url)
    app["http"]["http_content_type"] = "text/html"  # the response's
    sc.expect(a, f, "tc", [st[0][1]], app)
    a = sc.rule(hh, 'flow:to_client; file_data; '
                'content:"secret-response-marker";')
    sc.expect(a, f, "tc", [st[0][1]], H(host, url))

    # --- two requests in one segment: two transactions, two alerts
    sc = ctx.scn("http-pipelined", "2 pipelined requests in one segment")
    host = "pipe.test"
    urls = ["/pipe-evil-1", "/pipe-evil-2"]
    f, st = http_flow(sc, [(http_req("GET", urls[0], host)
                            + http_req("GET", urls[1], host),
                            http_resp() + http_resp())])
    a = sc.rule(hh, 'http.uri; content:"/pipe-evil-";')
    sc.expect(a, f, "ts", [st[0][0]] * 2, [H(host, u) for u in urls])

    sc = ctx.scn("http-keepalive", "keep-alive: 2 requests, 2 segments")
    host = "keep.test"
    urls = ["/keepalive-evil-a", "/keepalive-evil-b"]
    f, st = http_flow(sc, [(http_req("GET", u, host), http_resp())
                           for u in urls])
    a = sc.rule(hh, 'http.uri; content:"/keepalive-evil-";')
    sc.expect(a, f, "ts", [st[0][0], st[1][0]], [H(host, u) for u in urls])


def tcp_scn(ctx, name, desc, port):
    sc = ctx.scn(name, desc)
    cip, sip = ctx.hosts()
    s = sc.session()
    f = sc.flow(6, cip, sip, ctx.g.rng.randint(32768, 60999), port)
    c = Conn(sc.g, s, f)
    c.open()
    return sc, f, c


def tcp_scenarios(ctx):
    # Content split over two in-order segments; alert on the second.
    sc, f, c = tcp_scn(ctx, "tcp-split", "content across 2 segments", 9001)
    c.push("ts", b"hello there SPLIT-")
    s2 = c.push("ts", b"MARK-7Q and the rest\n")
    c.ack("tc")
    c.push("tc", b"fine\n")
    c.close()
    a = sc.rule("alert tcp any any -> any 9001", 'content:"SPLIT-MARK-7Q";')
    sc.expect(a, f, "ts", [s2])

    # Same, second segment first: the first one fills the hole and
    # delivers both, so it triggers both rules.
    sc, f, c = tcp_scn(ctx, "tcp-ooo", "segments out of order", 9002)
    p1, p2 = b"abc OOO-MA", b"RK-3Z xyz OOO-SECOND-Y end\n"
    c.at("ts", len(p1), p2)
    s1 = c.at("ts", 0, p1)
    c.ack("tc")
    c.close()
    a = sc.rule("alert tcp any any -> any 9002", 'content:"OOO-MARK-3Z";')
    sc.expect(a, f, "ts", [s1])
    a = sc.rule("alert tcp any any -> any 9002", 'content:"OOO-SECOND-Y";')
    sc.expect(a, f, "ts", [s1])

    # Retransmissions with other bytes: the first version wins, both for
    # delivered data and for buffered out-of-order data.
    sc, f, c = tcp_scn(ctx, "tcp-retrans-diff",
                       "overlapping retransmission, different bytes", 9003)
    s1 = c.at("ts", 0, b"RTX-FIRST-AAAA ")        # offsets 0..14
    c.at("ts", 0, b"RTX-SECND-BBBB ")             # same range, other bytes
    c.at("ts", 40, b"RTX2-ORIG-CCC\n")            # 40..53, buffered
    c.at("ts", 40, b"RTX2-EVIL-DDD\n")            # same range, other bytes
    s3 = c.at("ts", 15, b"-" * 25)                # 15..39 fills the hole
    c.ack("tc")
    c.close()
    a = sc.rule("alert tcp any any -> any 9003", 'content:"RTX-FIRST";')
    sc.expect(a, f, "ts", [s1])
    sc.expect_none(sc.rule("alert tcp any any -> any 9003",
                           'content:"RTX-SECND";'))
    a = sc.rule("alert tcp any any -> any 9003", 'content:"RTX2-ORIG";')
    sc.expect(a, f, "ts", [s3])
    sc.expect_none(sc.rule("alert tcp any any -> any 9003",
                           'content:"RTX2-EVIL";'))

    # offset/depth/distance/within on a single segment (stream offset 0):
    # OFFDEP-MARK at [2,13), 10 bytes, WITHIN-MARK at [23,34).
    sc, f, c = tcp_scn(ctx, "tcp-modifiers",
                       "offset, depth, distance, within", 9004)
    s1 = c.push("ts", b"ab" + b"OFFDEP-MARK" + b"0123456789"
                + b"WITHIN-MARK" + b"zz\n")
    c.ack("tc")
    c.close()
    h = "alert tcp any any -> any 9004"
    a = sc.rule(h, 'content:"OFFDEP-MARK"; offset:2; depth:11; '
                'content:"WITHIN-MARK"; distance:10; within:21;')
    sc.expect(a, f, "ts", [s1])
    sc.expect_none(sc.rule(h, 'content:"OFFDEP-MARK"; offset:3;'))
    sc.expect_none(sc.rule(h, 'content:"OFFDEP-MARK"; depth:12;'))
    sc.expect_none(sc.rule(h, 'content:"OFFDEP-MARK"; '
                           'content:"WITHIN-MARK"; distance:0; within:20;'))
    sc.expect_none(sc.rule(h, 'content:"OFFDEP-MARK"; '
                           'content:"WITHIN-MARK"; distance:11;'))

    # pcre: case-insensitive hit, case-sensitive miss, relative anchor.
    sc, f, c = tcp_scn(ctx, "tcp-pcre", "pcre", 9005)
    s1 = c.push("ts", b"login USER=rootadmin42 ok\n")
    c.ack("tc")
    c.close()
    h = "alert tcp any any -> any 9005"
    a = sc.rule(h, r'content:"USER="; nocase; '
                r'pcre:"/user=[a-z]{3,8}admin\d+/i";')
    sc.expect(a, f, "ts", [s1])
    sc.expect_none(sc.rule(h, r'content:"USER="; '
                           r'pcre:"/user=[a-z]{3,8}admin\d+/";'))
    a = sc.rule(h, 'content:"login "; pcre:"/^USER=root/R";')
    sc.expect(a, f, "ts", [s1])

    # isdataat: 20 bytes follow the marker (away from the edge cases).
    sc, f, c = tcp_scn(ctx, "tcp-isdataat", "isdataat", 9006)
    s1 = c.push("ts", b"ISDATA-MARK" + b"x" * 20)
    c.ack("tc")
    c.close()
    h = "alert tcp any any -> any 9006"
    a = sc.rule(h, 'content:"ISDATA-MARK"; isdataat:10,relative;')
    sc.expect(a, f, "ts", [s1])
    sc.expect_none(sc.rule(h, 'content:"ISDATA-MARK"; isdataat:40,relative;'))
    a = sc.rule(h, 'content:"ISDATA-MARK"; isdataat:!40,relative;')
    sc.expect(a, f, "ts", [s1])

    # Negated content: two flows, only the one without "forbidden" alerts.
    sc = ctx.scn("tcp-negated", "negated content")
    cip, sip = ctx.hosts()
    a = sc.rule("alert tcp any any -> any 9007",
                'content:"NEGTEST-"; content:!"forbidden";')
    f, s1, _ = tcp_exchange(sc, cip, sip, 40001, 9007,
                            b"NEGTEST-allowed-body\n", b"ok\n")
    sc.expect(a, f, "ts", [s1])
    tcp_exchange(sc, cip, sip, 40002, 9007, b"NEGTEST-forbidden-body\n",
                 b"ok\n")

    # dsize: the marker is in the 50- and the 123-byte segment.
    sc, f, c = tcp_scn(ctx, "tcp-dsize", "dsize on a packet", 9008)
    c.push("ts", b"DSZMARK" + b"." * 43)
    s2 = c.push("ts", b"DSZMARK" + b"," * 116)
    c.push("ts", b";" * 60)
    c.ack("tc")
    c.close()
    a = sc.rule("alert tcp any any -> any 9008", 'dsize:123; '
                'content:"DSZMARK";')
    sc.expect(a, f, "ts", [s2])


def dns_tls_scenarios(ctx):
    dns = ctx.g.S["dns"]
    name = "malware.bad-domain.test"
    # UDP query and answer; dns.query inspects the query (Suricata).
    sc = ctx.scn("dns-udp", "dns.query over UDP")
    cip, sip = ctx.hosts()
    s = sc.session()
    f = sc.flow(17, cip, sip, 53001, 53, app="dns")
    q = udp_step(sc, s, f, "ts", dns.DNS(id=0x4242, rd=1,
                                         qd=dns.DNSQR(qname=name)))
    udp_step(sc, s, f, "tc", dns.DNS(
        id=0x4242, qr=1, rd=1, ra=1, qd=dns.DNSQR(qname=name),
        an=dns.DNSRR(rrname=name, rdata="198.19.250.250")))
    a = sc.rule("alert dns any any -> any any",
                'dns.query; content:"bad-domain.test"; nocase;',
                classtype="trojan-activity")
    sc.expect(a, f, "ts", [q], {"dns_rrname": name})

    sc = ctx.scn("dns-tcp", "dns.query over TCP")
    cip, sip = ctx.hosts()
    name2 = "tcp.bad-domain2.test"
    qm = bytes(dns.DNS(id=0x4343, rd=1, qd=dns.DNSQR(qname=name2)))
    rm = bytes(dns.DNS(id=0x4343, qr=1, rd=1, ra=1,
                       qd=dns.DNSQR(qname=name2),
                       an=dns.DNSRR(rrname=name2, rdata="198.19.250.251")))
    f, q, _ = tcp_exchange(sc, cip, sip, 53002, 53, dns_tcp(qm),
                           dns_tcp(rm), app="dns")
    a = sc.rule("alert dns any any -> any any",
                'dns.query; content:"bad-domain2.test";')
    sc.expect(a, f, "ts", [q], {"dns_rrname": name2})

    sc = ctx.scn("tls-sni-ja3", "tls.sni and ja3.hash of a ClientHello")
    cip, sip = ctx.hosts()
    sni = "evil-sni.example.test"
    ch, ja3, md5 = alert_tls.client_hello(sni, ctx.g.rng)
    f, h, _ = tcp_exchange(sc, cip, sip, 44301, 443, ch,
                           alert_tls.server_hello(ctx.g.rng), app="tls")
    tls = {"tls_sni": sni}
    a = sc.rule("alert tls any any -> any any",
                'tls.sni; content:"evil-sni.example.test";')
    sc.expect(a, f, "ts", [h], tls)
    a = sc.rule("alert tls any any -> any any",
                'ja3.hash; content:"%s";' % md5)
    sc.expect(a, f, "ts", [h], tls)
    sc.ja3 = (ja3, md5)


def flowbit_scenarios(ctx):
    sc = ctx.scn("flowbits", "flowbits set (noalert) / isset / isnotset")
    cip, sip = ctx.hosts()
    sc.rule("alert tcp any any -> any 9200", 'flow:to_server; '
            'content:"FBSET-LOGIN"; flowbits:set,fb.login; flowbits:noalert;')
    b = sc.rule("alert tcp any 9200 -> any any", 'flow:to_client; '
                'content:"FBCHECK-OK"; flowbits:isset,fb.login;')
    n = sc.rule("alert tcp any 9200 -> any any", 'flow:to_client; '
                'content:"FBCHECK-OK"; flowbits:isnotset,fb.login;')
    f1, _, r1 = tcp_exchange(sc, cip, sip, 41001, 9200,
                             b"FBSET-LOGIN user=bob\n", b"FBCHECK-OK 1\n")
    f2, _, r2 = tcp_exchange(sc, cip, sip, 41002, 9200, b"hello user=eve\n",
                             b"FBCHECK-OK 2\n")
    sc.expect(b, f1, "tc", [r1])
    sc.expect(n, f2, "tc", [r2])


def threshold_scenarios(ctx):
    """UDP packets, one flow (one source) per rule."""
    cases = [("limit", "threshold: type limit, track by_src, count 1, "
              "seconds 60;", 5, [0]),
             ("threshold", "threshold: type threshold, track by_src, count 3,"
              " seconds 60;", 7, [2, 5]),
             ("both", "threshold: type both, track by_src, count 3, "
              "seconds 60;", 7, [2]),
             ("detection-filter", "detection_filter: track by_src, count 2, "
              "seconds 60;", 5, [2, 3, 4])]
    for n, (name, opt, npk, hits) in enumerate(cases):
        sc = ctx.scn("threshold-" + name, "%s: %d matching packets -> %d "
                     "alerts" % (opt, npk, len(hits)), per_worker=True)
        cip, sip = ctx.hosts()
        s = sc.session()
        port = 9300 + n
        f = sc.flow(17, cip, sip, 45000 + n, port)
        mark = "THR-%s-MARK" % name.upper()
        steps = [udp_step(sc, s, f, "ts", ("%s #%d\n" % (mark, i)).encode())
                 for i in range(npk)]
        udp_step(sc, s, f, "tc", b"ack\n")
        a = sc.rule("alert udp any any -> any %d" % port,
                    'content:"%s"; %s' % (mark, opt))
        sc.expect(a, f, "ts", [steps[i] for i in hits])


def action_scenarios(ctx):
    # pass on one host beats the alert rule; another host still alerts
    sc = ctx.scn("pass", "pass rule for one host suppresses an alert rule")
    cip, sip = ctx.hosts()
    other = cip[:-1] + "2"
    sc.rule("pass tcp %s any -> any 9400" % cip, 'content:"PASSME-MARK";',
            action="pass")
    a = sc.rule("alert tcp any any -> any 9400", 'content:"PASSME-MARK";')
    tcp_exchange(sc, cip, sip, 42001, 9400, b"PASSME-MARK one\n", b"ok\n")
    f, s1, _ = tcp_exchange(sc, other, sip, 42002, 9400,
                            b"PASSME-MARK two\n", b"ok\n")
    sc.expect(a, f, "ts", [s1])

    sc = ctx.scn("drop-reject", "drop and reject rules: action would drop")
    cip, sip = ctx.hosts()
    d = sc.rule("drop tcp any any -> any 9401", 'content:"DROPME-MARK";',
                action="drop")
    f, s1, _ = tcp_exchange(sc, cip, sip, 42101, 9401, b"DROPME-MARK\n",
                            b"ok\n")
    sc.expect(d, f, "ts", [s1])
    r = sc.rule("reject udp any any -> any 9402", 'content:"REJECTME-MARK";',
                action="reject")
    s = sc.session()
    fu = sc.flow(17, cip, sip, 42102, 9402)
    u = udp_step(sc, s, fu, "ts", b"REJECTME-MARK\n")
    sc.expect(r, fu, "ts", [u])

    # variables from the config (HOME_NET 198.18.0.0/15, EXTERNAL_NET
    # !$HOME_NET, port var SPECTRE_TEST_PORTS [9500,9501]), address groups
    sc = ctx.scn("vars", "address/port variables and address groups")
    cip, sip = ctx.hosts()
    f, s1, _ = tcp_exchange(sc, cip, sip, 42201, 9500, b"VARS-MARK\n",
                            b"ok\n")
    a = sc.rule("alert tcp $HOME_NET any -> $HOME_NET $SPECTRE_TEST_PORTS",
                'content:"VARS-MARK";')
    sc.expect(a, f, "ts", [s1])
    sc.expect_none(sc.rule("alert tcp $EXTERNAL_NET any -> $HOME_NET any",
                           'content:"VARS-MARK";'))
    sc.expect_none(sc.rule("alert tcp any any -> !$HOME_NET any",
                           'content:"VARS-MARK";'))
    net = cip.rsplit(".", 1)[0]
    sc.expect_none(sc.rule("alert tcp [%s.0/24,!%s] any -> any any"
                           % (net, cip), 'content:"VARS-MARK";'))
    a = sc.rule("alert tcp [%s.0/24,!%s.2] any -> any [9000:9999,!9501]"
                % (net, net), 'content:"VARS-MARK";')
    sc.expect(a, f, "ts", [s1])

    # bidirectional: both directions alert; the -> twin only to the server
    sc = ctx.scn("bidir", "<> rule matches both directions")
    cip, sip = ctx.hosts()
    f, s1, s2 = tcp_exchange(sc, cip, sip, 42301, 9600,
                             b"BIDIR-MARK request\n", b"BIDIR-MARK reply\n")
    a = sc.rule("alert tcp %s any <> %s 9600" % (cip, sip),
                'content:"BIDIR-MARK";')
    sc.expect(a, f, "ts", [s1])
    sc.expect(a, f, "tc", [s2])
    a = sc.rule("alert tcp %s any -> %s 9600" % (cip, sip),
                'content:"BIDIR-MARK";')
    sc.expect(a, f, "ts", [s1])

    sc = ctx.scn("port-negation", "!port and [range,!port]")
    cip, sip = ctx.hosts()
    f0, a0, _ = tcp_exchange(sc, cip, sip, 42401, 9700, b"PORTNEG-MARK\n",
                             b"ok\n")
    f1, a1, _ = tcp_exchange(sc, cip, sip, 42402, 9701, b"PORTNEG-MARK\n",
                             b"ok\n")
    a = sc.rule("alert tcp any any -> any !9701", 'content:"PORTNEG-MARK";')
    sc.expect(a, f0, "ts", [a0])
    a = sc.rule("alert tcp any any -> any [9700:9710,!9700]",
                'content:"PORTNEG-MARK";')
    sc.expect(a, f1, "ts", [a1])


def udp_icmp_scenarios(ctx):
    sc = ctx.scn("udp-payload", "UDP payload rule, per packet")
    cip, sip = ctx.hosts()
    s = sc.session()
    f = sc.flow(17, cip, sip, 46001, 9800)
    p1 = udp_step(sc, s, f, "ts", b"UDP-EVIL-MARK a\n")
    udp_step(sc, s, f, "ts", b"benign\n")
    p3 = udp_step(sc, s, f, "ts", b"xx UDP-EVIL-MARK\n")
    udp_step(sc, s, f, "tc", b"UDP-EVIL-MARK echoed\n")
    a = sc.rule("alert udp any any -> any 9800", 'content:"UDP-EVIL-MARK";')
    sc.expect(a, f, "ts", [p1, p3])

    sc = ctx.scn("icmp-payload", "ICMP echo payload rule, both directions")
    cip, sip = ctx.hosts()
    s = sc.session()
    f = sc.flow(1, cip, sip)
    pay = b"ICMP-EVIL-MARK" + bytes(range(32))
    q = icmp_step(sc, s, f, "ts", 8, 0x77, 1, pay)
    r = icmp_step(sc, s, f, "tc", 0, 0x77, 1, pay)
    a = sc.rule("alert icmp any any -> any any", 'content:"ICMP-EVIL-MARK";')
    sc.expect(a, f, "ts", [q])
    sc.expect(a, f, "tc", [r])


def build_all(ctx):
    http_scenarios(ctx)
    tcp_scenarios(ctx)
    dns_tls_scenarios(ctx)
    flowbit_scenarios(ctx)
    threshold_scenarios(ctx)
    action_scenarios(ctx)
    udp_icmp_scenarios(ctx)
