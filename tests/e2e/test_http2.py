#!/usr/bin/python3
"""HTTP/2 (cleartext) end to end on spectre-dp: nDPI's http2.pcapng, a
generated capture and, when nghttp2's tools are installed, real traffic.

  test_http2.py [SPECTRE_DP]   (or $SPECTRE_DP)

1. nDPI's http2.pcapng (prior knowledge, 5G SBI JSON): http keywords on
   HTTP/2 (http.method, http.uri, http.user_agent, http.host, http.stat_code,
   file.data), `alert http` rules matching HTTP/2 as Suricata's, the
   http2.* frame keywords, app-layer-protocol:http2. Expected counts come
   from a reader here: the TCP streams (dprun.tcp_streams) cut into frames
   by RFC 9113 and the header blocks decoded with the Python `hpack`
   package (independent of our decoder; that part skips without it).
2. Generated: two streams interleaved with a gzip DATA body, PRIORITY /
   WINDOW_UPDATE / RST_STREAM / GOAWAY frames, an h2c upgrade, a near miss,
   malformed frames and a bad HPACK index (counted in the stats, no crash).
3. Real traffic (nghttpd + nghttp on loopback, captured with tcpdump,
   bounded in time): Huffman and dynamic-table encodings of a real encoder.
   Skipped without the tools or without root.
Skips (exit 77) without the binary.
"""
import collections
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import dprun  # noqa: E402

RULES = r"""
alert http any any -> any any (msg:"H2 POST via an http rule"; http.method; content:"POST"; sid:9716001; rev:1;)
alert http2 any any -> any any (msg:"H2 uri"; http.uri; content:"/namf-comm/"; sid:9716002; rev:1;)
alert http2 any any -> any any (msg:"H2 user agent"; http.user_agent; content:"OpenAPI-Generator"; sid:9716003; rev:1;)
alert http2 any any -> any any (msg:"H2 host"; http.host; content:"127.0.0.1"; sid:9716004; rev:1;)
alert http2 any any -> any any (msg:"H2 201"; http.stat_code; content:"201"; sid:9716005; rev:1;)
alert http2 any any -> any any (msg:"H2 body"; file.data; content:"amfStatusUri"; sid:9716006; rev:1;)
alert http2 any any -> any any (msg:"H2 SETTINGS"; http2.frametype:SETTINGS; sid:9716007; rev:1;)
alert http2 any any -> any any (msg:"H2 window"; http2.window:>1000; sid:9716008; rev:1;)
alert tcp any any -> any any (msg:"H2 by app-layer-protocol"; app-layer-protocol:http2; http.method; content:"P"; sid:9716009; rev:1;)
alert http2 any any -> any any (msg:"H2 GOAWAY"; http2.frametype:GOAWAY; sid:9716010; rev:1;)
alert http2 any any -> any any (msg:"H2 RST CANCEL"; http2.errorcode:CANCEL; sid:9716011; rev:1;)
alert http2 any any -> any any (msg:"H2 priority"; http2.priority:>100; sid:9716012; rev:1;)
alert http2 any any -> any any (msg:"H2 gzip body"; file.data; content:"GZ-MARKER"; sid:9716013; rev:1;)
alert http2 any any -> any any (msg:"H2 max streams"; http2.settings:SETTINGS_MAX_CONCURRENT_STREAMS>50; sid:9716014; rev:1;)
alert http2 any any -> any any (msg:"H2 normalised uri"; http.uri; content:"/dir/A"; sid:9716015; rev:1;)
alert http any any -> any any (msg:"H2 404 via an http rule"; http.stat_code; content:"404"; sid:9716016; rev:1;)
alert http2 any any -> any any (msg:"H2 header name"; http2.header_name; content:"user-agent"; sid:9716017; rev:1;)
alert http2 any any -> any any (msg:"H2 pseudo-header name"; http2.header_name; content:":path"; sid:9716018; rev:1;)
alert http2 any any -> any any (msg:"H2 status name"; http2.header_name; content:":status"; sid:9716019; rev:1;)
alert http2 any any -> any any (msg:"H2 request body end"; http.request_body; content:"BODY-END"; sid:9716020; rev:1;)
"""

PRE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINDOW, CONT = range(10)


def frame(ftype, flags, sid, payload):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload


def lit(name, value, kind=0):
    """An HPACK literal with a new name (no Huffman): 0x00 without indexing, 0x40 with."""
    return bytes([kind, len(name)]) + name + bytes([len(value)]) + value


def settings(kv):
    return frame(SETTINGS, 0, 0, b"".join(k.to_bytes(2, "big") + v.to_bytes(4, "big") for k, v in kv))


# ---- the reference reader (RFC 9113 frames, hpack package) ----

def frames_of(data, client):
    """[(type, flags, sid, payload)] of one direction; stops at a truncated frame."""
    if client:
        if not data.startswith(PRE):
            return []
        data = data[len(PRE):]
    out, at = [], 0
    while at + 9 <= len(data):
        n = int.from_bytes(data[at:at + 3], "big")
        if at + 9 + n > len(data):
            break
        out.append((data[at + 3], data[at + 4], int.from_bytes(data[at + 5:at + 9], "big") & 0x7fffffff,
                    data[at + 9:at + 9 + n]))
        at += 9 + n
    return out


def strip(ftype, flags, p):
    pad = p[0] if flags & 8 else 0
    p = p[1:] if flags & 8 else p
    if ftype == HEADERS and flags & 0x20:
        p = p[5:]
    return p[:len(p) - pad]


def reference(path, hpack):
    """Per flow: requests and responses {sid: {headers, body}}, frame counts; None when not HTTP/2."""
    flows = []
    for key, (cdata, sdata) in dprun.tcp_streams(path).items():
        if not cdata.startswith(PRE):
            continue
        msgs, counts, windows = {}, collections.Counter(), []
        for d, data in ((0, cdata), (1, sdata)):
            dec, block, bsid = hpack.Decoder(), b"", 0
            for ftype, flags, sid, p in frames_of(data, d == 0):
                counts[ftype] += 1
                if ftype == WINDOW and len(p) == 4:
                    windows.append(int.from_bytes(p, "big") & 0x7fffffff)
                if ftype == SETTINGS and sid == 0:  # the last MAX_CONCURRENT_STREAMS of the frame
                    kv = dict((int.from_bytes(p[i:i + 2], "big"), int.from_bytes(p[i + 2:i + 6], "big"))
                              for i in range(0, len(p) - 5, 6))
                    counts["max_streams>50"] += kv.get(3, 0) > 50
                if ftype in (HEADERS, CONT):
                    if ftype == HEADERS:
                        block, bsid = strip(ftype, flags, p), sid
                    else:
                        block += p
                    if flags & 4:
                        hdrs = dict((k.decode(), v.decode()) for k, v in dec.decode(block, raw=True))
                        msgs.setdefault((bsid, d), {"h": hdrs, "body": b""})
                elif ftype == DATA and (sid, d) in msgs:
                    msgs[(sid, d)]["body"] += strip(ftype, flags, p)
        flows.append((msgs, counts, windows))
    return flows


def ndpi_part(check, dp, tmp, rfile):
    pcap = dprun.ndpi_pcap("http2.pcapng")
    if not pcap:
        return 0
    p, ev = dprun.run_offline(dp, pcap, os.path.join(tmp, "ndpi.json"), rfile, ["-k", "none", "--no-ml", "--strict"])
    if not check(p.returncode == 0 and ev, "http2.pcapng: exit 0, EVE written, every rule loaded", p.stderr[-800:]):
        return 0
    flows = [e for e in ev if e.get("event_type") == "flow"]
    check([f.get("app_proto") for f in flows] == ["http2"], "http2.pcapng: one flow, app_proto http2",
          [f.get("app_proto") for f in flows])
    st = [e for e in ev if e.get("event_type") == "stats"]
    h2 = st[-1]["stats"]["app_layer"].get("http2", {}) if st else {}
    check(h2.get("malformed") == 0 and h2.get("hpack_errors") == 0, "http2.pcapng: no malformed frame, no HPACK error", h2)
    try:
        import hpack
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-hpack
        try:
            import hpack
        except ImportError:
            print("SKIP http2.pcapng expected counts: the Python hpack package is absent")
            return 0
    want = collections.Counter()
    nreq = 0
    for msgs, counts, windows in reference(pcap, hpack):
        for (sid, d), m in msgs.items():
            h, body = m["h"], m["body"]
            if d == 0:
                nreq += 1
                want[9716001] += h.get(":method") == "POST"
                want[9716002] += "/namf-comm/" in h.get(":path", "")
                want[9716003] += "OpenAPI-Generator" in h.get("user-agent", "")
                want[9716004] += "127.0.0.1" in h.get(":authority", "")
                want[9716009] += "P" in h.get(":method", "")
            else:
                want[9716005] += h.get(":status") == "201"
                want[9716016] += h.get(":status") == "404"
            want[9716006] += b"amfStatusUri" in body
            want[9716017] += any("user-agent" in k for k in h)
            want[9716018] += any(":path" in k for k in h)  # pseudo-headers are header names too
            want[9716019] += any(":status" in k for k in h)
        want[9716007] += counts[SETTINGS]
        want[9716008] += sum(1 for w in windows if w > 1000)
        want[9716010] += counts[GOAWAY]
        want[9716014] += counts["max_streams>50"]
    sids = {s: n for s, n in want.items() if n}
    print("  http2.pcapng expected per sid: %s" % dict(sorted(sids.items())))
    dprun.check_sid_counts(check, dprun.alert_sids(ev), sids, "http2.pcapng: no other sid fired")
    http = [e["http"] for e in ev if e.get("event_type") == "http"]
    check(len(http) == nreq and all(h.get("version") == "2" and h.get("protocol") == "HTTP/2" for h in http),
          "http2.pcapng: one `http` event per stream, version 2", http)
    # Each event's request_headers against the reference reader's decoded request heads.
    heads = sorted(sorted((k, v) for k, v in m["h"].items()) for msgs, _, _ in reference(pcap, hpack)
                   for (sid, d), m in msgs.items() if d == 0)
    ours = sorted(sorted((x["name"], x["value"]) for x in h.get("request_headers", []) if "name" in x) for h in http)
    check(ours == heads, "http2.pcapng: EVE request_headers are the decoded request heads (names and values)",
          (ours[:1], heads[:1]))
    al = dprun.alerts(ev)
    check(al and all(a.get("app_proto") == "http2" for a in al), "http2.pcapng: alerts carry app_proto http2")
    return sum(sids.values())


def gz(b):
    return gzip.compress(b, mtime=0)


def generated_cases():
    req1 = b"\x82\x86" + lit(b":path", b"/dir/./x/../%41?q") + lit(b":authority", b"Gen.Example:8080") + \
        lit(b"user-agent", b"gen-h2/1", 0x40)
    req3 = b"\x83\x86" + lit(b":path", b"/upload") + lit(b":authority", b"gen.example") + b"\xbe"  # ua from the table
    body = gz(b"z" * 3000 + b"GZ-MARKER")
    resp1 = b"\x88" + lit(b"content-encoding", b"gzip") + lit(b"content-type", b"text/plain")
    resp3 = b"\x8d"  # 404
    prio = b"\x80\x00\x00\x00\xc8"  # exclusive on stream 0, weight 200
    multi = [
        (True, PRE + settings([(3, 100), (4, 65535)]) + frame(HEADERS, 0x25, 1, prio + req1)),
        (False, settings([(3, 128)]) + frame(SETTINGS, 1, 0, b"")),
        (True, frame(SETTINGS, 1, 0, b"") + frame(HEADERS, 4, 3, req3) + frame(DATA, 0, 3, b"part")),
        (False, frame(HEADERS, 4, 1, resp1) + frame(DATA, 0, 1, body[:20]) + frame(WINDOW, 0, 0, b"\x00\x01\x00\x00")),
        (True, frame(RST, 0, 3, b"\x00\x00\x00\x08")),  # CANCEL: the upload is handed on cut
        (False, frame(HEADERS, 5, 3, resp3) + frame(DATA, 1, 1, body[20:])),
        (True, frame(GOAWAY, 0, 0, b"\x00\x00\x00\x03\x00\x00\x00\x00")),
    ]
    upgrade = [
        (True, b"GET /up HTTP/1.1\r\nHost: up.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
        (False, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" +
         settings([(3, 100)]) + frame(HEADERS, 4, 1, b"\x8d")),
        (True, PRE + settings([(3, 100)]) + frame(SETTINGS, 1, 0, b"")),
        (False, frame(DATA, 1, 1, b"upgraded GZ-MARKER")),
    ]
    malformed = [
        (True, PRE + settings([(3, 10)]) + frame(PING, 0, 1, b"\0" * 8) + frame(WINDOW, 0, 0, b"\0\0\1") +
         frame(HEADERS, 5, 1, b"\xbf") + frame(HEADERS, 5, 3, b"\x83\x86\x84")),
    ]
    near = [(True, b"PRI * HTTP/1.0\r\n\r\nSM\r\n\r\n")]
    # 40 streams open at once (the old per-flow bound was 16): every request's
    # body, sent after all the heads, is inspected whole; then the responses.
    many_ids = [2 * i + 1 for i in range(40)]
    many = [(True, PRE + settings([(3, 100)]) + b"".join(
        frame(HEADERS, 4, s, b"\x83\x86" + lit(b":path", b"/m%d" % s) + lit(b":authority", b"m")) for s in many_ids)),
            (True, b"".join(frame(DATA, 1, s, b"x" * 10 + b"BODY-END") for s in many_ids)),
            (False, settings([(3, 100)]) + b"".join(frame(HEADERS, 5, s, b"\x88") for s in many_ids))]
    # name, segments, {sid: alerts}, flow app_proto, http events
    return [
        ("two interleaved streams, gzip DATA, control frames", multi,
         {9716001: 1, 9716007: 4, 9716008: 1, 9716010: 1, 9716011: 1, 9716012: 1, 9716013: 1, 9716014: 2,
          9716015: 1, 9716016: 1, 9716009: 1, 9716017: 2, 9716018: 2, 9716019: 2}, "http2", 2),
        ("h2c upgrade (stream 1's response as HTTP/2)", upgrade,
         {9716007: 3, 9716013: 1, 9716014: 2, 9716016: 1, 9716019: 1}, "http2", 1),
        ("malformed frames and a bad HPACK index", malformed, {9716007: 1}, "http2", 0),
        ("near miss: PRI * HTTP/1.0", near, {}, "failed", 0),
        ("40 concurrent streams", many,
         {9716001: 40, 9716009: 40, 9716007: 2, 9716014: 2, 9716018: 40, 9716019: 40, 9716020: 40}, "http2", 40),
    ]


def generated_part(check, dp, tmp):
    frames, t = [], 1700000000 * 10**6
    cases = generated_cases()
    for i, (name, segs, sids, proto, nhttp) in enumerate(cases):
        t = dprun.tcp_conversation(frames, t, "10.31.0.%d" % (10 + i), "10.31.1.%d" % (10 + i), 44000 + i, 8080, segs)
        t += 10000
    ev = dprun.run_generated(check, dp, tmp, "http2", frames, RULES)
    if ev is None:
        return
    for i, (name, segs, sids, proto, nhttp) in enumerate(cases):
        mine = [e for e in ev if 44000 + i in (e.get("src_port"), e.get("dest_port"))]
        got = dict(dprun.alert_sids(mine))
        check(got == sids, "%s: alerts exactly %s" % (name, sids), got)
        fl = [e.get("app_proto") for e in mine if e.get("event_type") == "flow"]
        check(fl == [proto], "%s: flow app_proto %s" % (name, proto), fl)
        n = sum(1 for e in mine if e.get("event_type") == "http" and e["http"].get("version") == "2")
        check(n == nhttp, "%s: %d HTTP/2 http event(s)" % (name, nhttp), n)
    h = [e["http"] for e in ev if e.get("event_type") == "http" and e.get("src_port") == 44000]
    check(len(h) == 2 and h[0]["status"] == 404 and h[0]["url"] == "/upload" and h[0]["http2"]["stream_id"] == 3 and
          h[1]["status"] == 200 and h[1]["url"] == "/dir/./x/../%41?q" and h[1]["hostname"] == "gen.example" and
          h[1]["http_user_agent"] == "gen-h2/1",
          "EVE http events: each response with its own stream's request (stream 3 ends first)", h)
    # Suricata's http2 logger: every decoded header of each head, pseudo-headers too, in wire order.
    want1 = {"request_headers": [{"name": ":method", "value": "GET"}, {"name": ":scheme", "value": "http"},
                                 {"name": ":path", "value": "/dir/./x/../%41?q"},
                                 {"name": ":authority", "value": "Gen.Example:8080"},
                                 {"name": "user-agent", "value": "gen-h2/1"}],
             "response_headers": [{"name": ":status", "value": "200"}, {"name": "content-encoding", "value": "gzip"},
                                  {"name": "content-type", "value": "text/plain"}]}
    check(len(h) == 2 and all(h[1].get(k) == v for k, v in want1.items()) and
          h[0].get("request_headers", [])[-1:] == [{"name": "user-agent", "value": "gen-h2/1"}] and
          h[0].get("response_headers") == [{"name": ":status", "value": "404"}],
          "EVE request_headers / response_headers in wire order (stream 3's user-agent from the dynamic table)",
          h)
    st = [e for e in ev if e.get("event_type") == "stats"]
    m = st[-1]["stats"]["app_layer"].get("http2", {}) if st else {}
    check(m.get("malformed") == 2 and m.get("hpack_errors") == 1 and m.get("flows") == 4,
          "stats: 2 malformed frames (PING on a stream, 3-byte WINDOW_UPDATE), 1 HPACK error, 4 flows", m)
    check(m.get("streams_evicted") == 0 and m.get("streams_refused") == 0,
          "stats: no stream finished early or refused (40 open in one flow)", m)


def real_part(check, dp, tmp):
    """nghttpd + nghttp on loopback (Huffman, dynamic table): 3 requests, one 404."""
    tools = [shutil.which(x) for x in ("nghttpd", "nghttp", "tcpdump")]
    if not all(tools) or os.geteuid() != 0:
        print("SKIP real traffic: nghttpd/nghttp/tcpdump absent or not root")
        return
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "index.html"), "w") as fh:
        fh.write("<html>" + "y" * 5000 + "REAL-MARKER</html>")
    port = 18000 + os.getpid() % 1000
    pcap = os.path.join(tmp, "real.pcap")
    cap = subprocess.Popen([tools[2], "-i", "lo", "-U", "-w", pcap, "tcp port %d" % port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = None
    try:
        time.sleep(1)
        srv = subprocess.Popen([tools[0], "--no-tls", "-d", www, str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        base = "http://127.0.0.1:%d" % port
        subprocess.run([tools[1], "-n", base + "/index.html", base + "/dir/./%41"], timeout=10, capture_output=True)
        subprocess.run([tools[1], "-n", "-d", "/etc/hostname", base + "/post"], timeout=10, capture_output=True)
        time.sleep(0.5)
    finally:
        if srv:
            srv.terminate()
            srv.wait(timeout=5)
        cap.send_signal(signal.SIGINT)
        cap.wait(timeout=5)
    rules = os.path.join(tmp, "real.rules")
    with open(rules, "w") as fh:
        fh.write('alert http2 any any -> any any (msg:"real body"; file.data; content:"REAL-MARKER"; sid:1; rev:1;)\n'
                 'alert http any any -> any any (msg:"real 404"; http.stat_code; content:"404"; sid:2; rev:1;)\n'
                 'alert http2 any any -> any any (msg:"real ua"; flow:to_server; http.user_agent; '
                 'content:"nghttp2/"; sid:3; rev:1;)\n'
                 'alert http2 any any -> any any (msg:"real uri"; http.uri; content:"/dir/A"; sid:4; rev:1;)\n'
                 'alert http2 any any -> any any (msg:"real POST"; http.method; content:"POST"; sid:5; rev:1;)\n')
    p, ev = dprun.run_offline(dp, pcap, os.path.join(tmp, "real.json"), rules, ["-k", "none", "--no-ml", "--strict"])
    if not check(p.returncode == 0 and ev, "real traffic: exit 0, EVE written", p.stderr[-800:]):
        return
    # /dir/A and /post are 404s; http.uri and http.method are request buffers.
    dprun.check_sid_counts(check, dprun.alert_sids(ev), {1: 1, 2: 2, 3: 3, 4: 1, 5: 1}, "real traffic: no other sid")
    st = [e for e in ev if e.get("event_type") == "stats"]
    m = st[-1]["stats"]["app_layer"].get("http2", {}) if st else {}
    check(m.get("flows") == 2 and m.get("malformed") == 0 and m.get("hpack_errors") == 0,
          "real traffic: 2 http2 flows, nothing malformed", m)


def main():
    def generated(check, dp, tmp):
        generated_part(check, dp, tmp)
        real_part(check, dp, tmp)
    return dprun.app_script("http2", RULES, ndpi_part, generated, 10)


if __name__ == "__main__":
    sys.exit(main())
