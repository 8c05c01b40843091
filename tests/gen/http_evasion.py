#!/usr/bin/python3
"""HTTP evasion captures: one TCP connection per case, each hiding an attack
marker behind a trick libhtp (Suricata's HTTP parser) sees through:
compression (gzip, x-gzip, zlib and raw deflate, layered, mislabelled),
chunking tricks, length tricks, folded headers, HTTP/0.9, odd status lines,
absolute and percent-encoded URIs, uploads.

  http_evasion.py OUTDIR [--bytewise]

Writes OUTDIR/evasion.pcap, OUTDIR/evasion.rules and OUTDIR/expected.json
({"cases": [{"name", "cport", "sids"}]}: the sids that must alert on the
connection from client port cport, and nothing else). --bytewise sends
every payload byte in its own segment (cases marked big are left out).
Each case has its own rule (sid) and marker, so a rule firing on the wrong
case shows as an alert on the wrong connection.
"""
import gzip
import json
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcaplib  # noqa: E402  (raw frames: scapy is too slow for 1-byte segments)

CLI, SRV = "10.1.0.2", "10.2.0.80"
SID0 = 9600000
FLAGS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}


def gz(b):
    return gzip.compress(b, mtime=0)


def zl(b):
    return zlib.compress(b)


def raw_deflate(b):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()


def chunked(body, size=7, ext=b""):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x" % len(part) + ext + b"\r\n" + part + b"\r\n"
    return out + b"0\r\n\r\n"


def page(marker):
    return (b"<html><body>" + b"filler " * 40 + marker + b" and more " * 20
            + b"</body></html>")


def resp(headers, body, status=b"HTTP/1.1 200 OK"):
    return status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + \
        b"\r\n" + body


def get(uri=b"/page.html", proto=b" HTTP/1.1", extra=b""):
    return b"GET " + uri + proto + b"\r\nHost: example.com\r\n" + extra + b"\r\n"


class Case:
    def __init__(self, name, req, rsp, rule, fires=True, big=False):
        self.name, self.req, self.rsp, self.rule = name, req, rsp, rule
        self.fires, self.big = fires, big


def body_case(name, rsp, marker, fires=True, big=False, req=None):
    rule = 'flow:to_client; file.data; content:"%s";' % marker.decode()
    return Case(name, req or get(), rsp, rule, fires, big)


def cases():
    out = []
    m = lambda n: b"ATTACK-" + n.upper().encode() + b"!"  # noqa: E731

    # Compression (response bodies): file.data sees the decompressed body.
    for name, ce, enc in [
            ("gzip", b"gzip", gz), ("x_gzip", b"x-gzip", gz),
            ("gzip_case", b"GZip", gz), ("deflate_zlib", b"deflate", zl),
            ("deflate_raw", b"deflate", raw_deflate),
            ("x_deflate", b"x-deflate", zl),
            ("mislabel_deflate_is_gzip", b"deflate", gz),
            ("mislabel_gzip_is_zlib", b"gzip", zl)]:
        body = enc(page(m(name)))
        out.append(body_case("ce_" + name, resp(
            [b"Content-Encoding: " + ce, b"Content-Length: %d" % len(body)],
            body), m(name)))
    # Layered: "gzip, deflate" = gzip applied first, then deflate.
    b = zl(gz(page(m("layered"))))
    out.append(body_case("ce_layered", resp(
        [b"Content-Encoding: gzip, deflate", b"Content-Length: %d" % len(b)], b),
        m("layered")))
    b = gz(gz(page(m("two_headers"))))
    out.append(body_case("ce_two_headers", resp(
        [b"Content-Encoding: gzip", b"Content-Encoding: gzip",
         b"Content-Length: %d" % len(b)], b), m("two_headers")))
    b = gz(page(m("gz_chunked")))
    out.append(body_case("ce_gzip_chunked", resp(
        [b"Content-Encoding: gzip", b"Transfer-Encoding: chunked"],
        chunked(b, 5)), m("gz_chunked")))
    b = gz(page(m("folded_ce")))
    out.append(body_case("ce_folded", resp(
        [b"Content-Encoding:", b"\tgzip", b"Content-Length: %d" % len(b)], b),
        m("folded_ce")))
    b = gz(page(m("until_close")))
    out.append(body_case("ce_gzip_until_close", resp(
        [b"Content-Encoding: gzip", b"Connection: close"], b), m("until_close")))
    # A bomb: 4 MiB of zeros then the marker; the decompression limit cuts it
    # off before the marker (the cut is counted), so this one must not fire.
    b = gz(b"\0" * (4 << 20) + m("bomb"))
    out.append(body_case("ce_bomb", resp(
        [b"Content-Encoding: gzip", b"Content-Length: %d" % len(b)], b),
        m("bomb"), fires=False, big=True))

    # Chunking tricks.
    for name, body in [
            ("ch_ext", chunked(page(m("ch_ext")), 9, b";foo=bar")),
            ("ch_junk", chunked(page(m("ch_junk")), 9, b" junk")),
            ("ch_zeros", chunked(page(m("ch_zeros")), 9).replace(
                b"9\r\n", b"00009\r\n")),
            ("ch_upper", chunked(page(m("ch_upper")), 26))]:
        out.append(body_case(name, resp([b"Transfer-Encoding: chunked"], body),
                             m(name)))
    out.append(body_case("te_case", resp(
        [b"Transfer-Encoding: ChUnKeD"], chunked(page(m("te_case")))),
        m("te_case")))
    out.append(body_case("te_list", resp(
        [b"Transfer-Encoding: identity, chunked"], chunked(page(m("te_list")))),
        m("te_list")))
    out.append(body_case("te_folded", resp(
        [b"Transfer-Encoding:", b" chunked"], chunked(page(m("te_folded")))),
        m("te_folded")))
    out.append(body_case("te_and_cl", resp(
        [b"Content-Length: 5", b"Transfer-Encoding: chunked"],
        chunked(page(m("te_and_cl")))), m("te_and_cl")))
    # An invalid chunk size: libhtp reads the rest as the body.
    out.append(body_case("ch_bad_size", resp(
        [b"Transfer-Encoding: chunked"], b"zz\r\n" + page(m("ch_bad_size"))),
        m("ch_bad_size")))

    # Length tricks.
    p = page(m("cl_dup"))
    out.append(body_case("cl_dup", resp(
        [b"Content-Length: %d" % len(p)] * 2, p), m("cl_dup")))
    p = page(m("cl_list"))
    out.append(body_case("cl_list", resp(
        [b"Content-Length: %d, %d" % (len(p), len(p))], p), m("cl_list")))
    p = page(m("cl_ws"))
    out.append(body_case("cl_ws", resp(
        [b"Content-Length:    %d   " % len(p)], p), m("cl_ws")))
    out.append(body_case("cl_none", resp([b"Connection: close"],
                                         page(m("cl_none"))), m("cl_none")))

    # Status lines and bodiless replies.
    p = page(m("st_nomsg"))
    out.append(body_case("st_nomsg", resp([b"Content-Length: %d" % len(p)], p,
                                          b"HTTP/1.1 200"), m("st_nomsg")))
    p = page(m("st_lower"))
    out.append(body_case("st_lower", resp([b"Content-Length: %d" % len(p)], p,
                                          b"http/1.1 200 OK"), m("st_lower")))
    p = page(m("st_badcode"))
    out.append(body_case("st_badcode", resp([b"Content-Length: %d" % len(p)],
                                            p, b"HTTP/1.1 2OO OK"),
                         m("st_badcode")))
    p = page(m("st_100"))
    out.append(body_case("st_100", b"HTTP/1.1 100 Continue\r\n\r\n" + resp(
        [b"Content-Length: %d" % len(p)], p), m("st_100"),
        req=get(extra=b"Expect: 100-continue\r\n")))
    for code in (b"204 No Content", b"304 Not Modified"):
        p = page(m("st_" + code[:3].decode()))
        # No body after 204/304 even with a Content-Length: the next response
        # on the connection carries the marker.
        out.append(Case("st_" + code[:3].decode(), get() + get(b"/next.html"),
                        resp([b"Content-Length: 40"], b"", b"HTTP/1.1 " + code)
                        + resp([b"Content-Length: %d" % len(p)], p),
                        'flow:to_client; file.data; content:"%s";'
                        % m("st_" + code[:3].decode()).decode()))
    # HTTP/0.9: a request line without a version; the reply has no head.
    out.append(Case("v09_response", b"GET /old.html\r\n",
                    page(m("v09_response")),
                    'flow:to_client; file.data; content:"%s";'
                    % m("v09_response").decode()))

    # URIs: http.uri normalised as libhtp's defaults, http.uri.raw raw.
    def uri_case(name, line_uri, want, proto=b" HTTP/1.1"):
        r = ('flow:to_server; http.uri; content:"%s";' % want)
        return Case(name, get(line_uri, proto), resp([b"Content-Length: 0"],
                                                     b""), r)
    out.append(uri_case("u_pct", b"/%65vil/%70ct.php", "/evil/pct.php"))
    out.append(uri_case("u_pct_lower", b"/evil/pct%2elow.php",
                        "/evil/pct.low.php"))
    out.append(uri_case("u_dot", b"/a/b/../../evil/./dot.php",
                        "/evil/dot.php"))
    out.append(uri_case("u_dot_enc", b"/x/%2e%2e/evil/dotenc.php",
                        "/evil/dotenc.php"))
    out.append(uri_case("u_slashes", b"//evil///slashes.php",
                        "/evil/slashes.php"))
    out.append(uri_case("u_abs", b"http://example.com/evil/abs.php",
                        "/evil/abs.php"))
    out.append(uri_case("u_space", b"/evil/sp ace.php", "/evil/sp ace.php"))
    out.append(uri_case("u_v09", b"/evil/v09.php", "/evil/v09.php", b""))
    # Raw stays raw: an encoded URI does not match its decoded form raw.
    c = uri_case("u_raw_stays_raw", b"/%65vil/raw.php", "/evil/raw.php")
    c.rule = 'flow:to_server; http.uri.raw; content:"/evil/raw.php";'
    c.fires = False
    out.append(c)
    c = uri_case("u_raw_matches_raw", b"/%65vil/raw2.php", "")
    c.rule = 'flow:to_server; http.uri.raw; content:"/%65vil/raw2.php";'
    out.append(c)

    # Suricata's documented examples (userguide rules/http-keywords.rst):
    # "GET //index.html" normalised to "/index.html" (bsize 11), the raw
    # buffer keeps "//index.html"; %20 normalised to a space; file.data on a
    # response without Content-Length ("Server response body").
    doc_req = (b"GET //index.html HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\n"
               b"Host: suricata.io\r\n\r\n")
    ok = resp([b"Content-Length: 0"], b"")
    out.append(Case("doc_uri_normalised", doc_req, ok,
                    'flow:established,to_server; http.uri; '
                    'content:"/index.html"; bsize:11;'))
    out.append(Case("doc_uri_raw", doc_req.replace(b"index", b"rawdx"), ok,
                    'flow:established,to_server; http.uri.raw; '
                    'content:"//rawdx.html"; bsize:12;'))
    out.append(Case("doc_uri_pct20", get(b"/doc%20space.html"), ok,
                    'flow:established,to_server; http.uri; '
                    'content:"/doc space.html"; bsize:15;'))
    out.append(Case("doc_file_data", get(b"/doc.html"), resp(
        [b"Content-Type: text/html", b"Server: nginx/0.8.54"],
        b"Server response body"),
        'flow:established,to_client; file.data; '
        'content:"Server response body";'))

    # Request bodies (uploads): file.data on requests too.
    p = page(m("upload"))
    out.append(Case("rq_upload", b"POST /up HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(p) + p,
                    resp([b"Content-Length: 0"], b""),
                    'flow:to_server; file.data; content:"%s";'
                    % m("upload").decode()))
    p = page(m("upload_chunked"))
    out.append(Case("rq_upload_chunked", b"POST /up HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + chunked(p, 11),
                    resp([b"Content-Length: 0"], b""),
                    'flow:to_server; file.data; content:"%s";'
                    % m("upload_chunked").decode()))
    p = page(m("upload_folded_cl"))
    out.append(Case("rq_folded_cl", b"POST /up HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length:\r\n %d\r\n\r\n" % len(p) + p,
                    resp([b"Content-Length: 0"], b""),
                    'flow:to_server; http.request_body; content:"%s";'
                    % m("upload_folded_cl").decode()))
    return out


def segments(data, bytewise, mss=1200):
    step = 1 if bytewise else mss
    return [data[i:i + step] for i in range(0, len(data), step)]


def flow_frames(cport, case, bytewise, t0):
    frames = []
    seq = {"c": 1000, "s": 500000}
    t = [t0]

    def pkt(d, flags, payload=b""):
        src, dst, sp, dp = ((CLI, SRV, cport, 80) if d == "c"
                            else (SRV, CLI, 80, cport))
        o = "s" if d == "c" else "c"
        fl = sum(FLAGS[ch] for ch in flags)
        l4 = pcaplib.l4_tcp(src, dst, sp, dp, seq[d],
                            seq[o] if "A" in flags else 0, fl, payload)
        et, l3 = pcaplib.ip_packet(src, dst, 6, l4)
        seq[d] += len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        t[0] += 100
        frames.append((t[0], pcaplib.ether(src, dst, et, l3)))

    pkt("c", "S")
    pkt("s", "SA")
    pkt("c", "A")
    for s in segments(case.req, bytewise):
        pkt("c", "PA", s)
    pkt("s", "A")
    for s in segments(case.rsp, bytewise):
        pkt("s", "PA", s)
    pkt("c", "A")
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
    t0 = 1704067200 * 1_000_000
    for i, c in enumerate(cases()):
        sid = SID0 + i
        rules.append('alert http any any -> any any (msg:"evasion %s"; %s '
                     'sid:%d; rev:1;)' % (c.name, c.rule, sid))
        if bytewise and c.big:
            continue
        cport = 20000 + i
        frames += flow_frames(cport, c, bytewise, t0 + i * 1_000_000)
        exp.append({"name": c.name, "cport": cport,
                    "sids": [sid] if c.fires else []})
    pcaplib.write_pcap(os.path.join(outdir, "evasion.pcap"), frames)
    with open(os.path.join(outdir, "evasion.rules"), "w") as fh:
        fh.write("\n".join(rules) + "\n")
    with open(os.path.join(outdir, "expected.json"), "w") as fh:
        json.dump({"cases": exp}, fh, indent=1)


if __name__ == "__main__":
    main()
