#!/usr/bin/python3
"""Kerberos 5 end to end on spectre-dp: nDPI's Kerberos captures and a generated one.

  test_krb5.py [SPECTRE_DP]   (or $SPECTRE_DP)

1. nDPI's kerberos.pcap, kerberos-login.pcap, kerberos-error.pcap and
   kerberos_fuzz.pcapng: rules in the form of Suricata's documented
   Kerberos keywords (krb5_msg_type, krb5_cname, krb5_sname, krb5_err_code,
   krb5.ticket_encryption, app-layer-event:krb5.weak_encryption,
   app-layer-protocol:krb5). Expected counts come from a reader here, written
   from RFC 4120 (not from spectre-dp's code): UDP datagrams and TCP streams
   (record marker framing) on port 88, each message read with a small
   recursive DER reader. Suricata's probe decides a flow (APPLICATION tag
   below 30, a SEQUENCE, pvno 5; over TCP a record marker of at most 16384).
   One `krb5` event per message; its fields are compared with the reader's.
   nDPI's own result (its "realm\\name" per Kerberos flow, ../result/*.out)
   is checked against the EVE records as an independent view. Skipped (with
   a message) without the corpus.
2. Generated: AS-REQ / KRB-ERROR / AS-REQ / AS-REP over UDP, a TGS exchange
   over TCP split inside its record markers, a record larger than the buffer,
   a cut message and a near miss (pvno 4): counted in the stats, no crash.
Skips (exit 77) without the binary.
"""
import collections
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import dprun  # noqa: E402
import refflow  # noqa: E402

FILES = ["kerberos.pcap", "kerberos-login.pcap", "kerberos-error.pcap", "kerberos_fuzz.pcapng"]
RULES = r"""
alert krb5 any any -> any any (msg:"Kerberos 5 AS-REQ message"; krb5_msg_type:10; sid:9716001; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 AS-REP message"; krb5_msg_type:11; sid:9716002; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 TGS-REQ message"; krb5_msg_type:12; sid:9716003; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 TGS-REP message"; krb5_msg_type:13; sid:9716004; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 ERROR message"; krb5_msg_type:30; sid:9716005; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 krbtgt server name"; krb5_sname; content:"krbtgt"; sid:9716006; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 client name with a dollar"; krb5_cname; content:"$"; sid:9716007; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 error PREAUTH_REQUIRED"; krb5_err_code:25; sid:9716008; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 weak ticket"; krb5.ticket_encryption: weak; sid:9716009; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 ticket aes256 or rc4"; krb5.ticket_encryption: aes256-cts-hmac-sha1-96, rc4-hmac; sid:9716010; rev:1;)
alert krb5 any any -> any any (msg:"SURICATA Kerberos 5 weak encryption parameters"; app-layer-event:krb5.weak_encryption; sid:9716011; rev:1;)
alert udp any any -> any any (msg:"Kerberos over UDP, any error"; app-layer-protocol:krb5; krb5_err_code:>0; sid:9716012; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 strong ticket"; krb5.ticket_encryption: !weak; sid:9716013; rev:1;)
alert krb5 any any -> any any (msg:"Kerberos 5 exact sname part"; krb5.sname; content:"krbtgt"; endswith; startswith; sid:9716014; rev:1;)
alert krb5 any any -> any any (msg:"SURICATA Kerberos 5 malformed request data"; flow:to_server; app-layer-event:krb5.malformed_data; classtype:protocol-command-decode; sid:9716015; rev:1;)
"""
STRONG = {17, 18, 19, 20, 25, 26}
ETYPES = {1: "des-cbc-crc", 3: "des-cbc-md5", 16: "des3-cbc-sha1-kd", 17: "aes128-cts-hmac-sha1-96",
          18: "aes256-cts-hmac-sha1-96", 23: "rc4-hmac", 24: "rc4-hmac-exp"}
MSG = {10: "KRB_AS_REQ", 11: "KRB_AS_REP", 12: "KRB_TGS_REQ", 13: "KRB_TGS_REP", 30: "KRB_ERROR"}


# ---------------------------------------------------------- a DER reader (RFC 4120 structures)

def tlv(b, at=0):
    """(class, constructed, tag, value bytes, end) of the element at b[at:], or None."""
    if at + 2 > len(b):
        return None
    ident = b[at]
    cls, cons, tag, i = ident >> 6, bool(ident & 0x20), ident & 0x1f, at + 1
    if tag == 0x1f:
        tag = 0
        while True:
            if i >= len(b):
                return None
            tag = tag << 7 | (b[i] & 0x7f)
            i += 1
            if not b[i - 1] & 0x80:
                break
    if i >= len(b):
        return None
    ln = b[i]
    i += 1
    if ln & 0x80:
        k = ln & 0x7f
        if k == 0 or k > 4 or i + k > len(b):
            return None
        ln = int.from_bytes(b[i:i + k], "big")
        i += k
    if i + ln > len(b):
        return None
    return cls, cons, tag, b[i:i + ln], i + ln


def fields(b):
    """{context tag: value of the element inside it} of a SEQUENCE's content."""
    out, at = {}, 0
    while at < len(b):
        t = tlv(b, at)
        if not t:
            raise ValueError("bad element")
        if t[0] == 2:
            inner = tlv(t[3])
            if not inner:
                raise ValueError("bad inner")
            out[t[2]] = inner
        at = t[4]
    return out


def integer(t):
    return int.from_bytes(t[3], "big", signed=True)


def name(t):
    f = fields(t[3])
    parts, at, s = [], 0, f[1][3]
    while at < len(s):
        e = tlv(s, at)
        parts.append(e[3].decode("latin-1"))
        at = e[4]
    return parts


def etype(t):
    return integer(fields(t[3])[0])


def ticket_etype(t):
    app = t  # [APPLICATION 1] SEQUENCE
    seq = tlv(app[3])
    f = fields(seq[3])
    return name(f[2]), etype(f[3])


def parse(m):
    """The keyword/EVE view of one message, or None when not a readable KDC message."""
    try:
        app = tlv(m)
        if not app or app[0] != 1 or app[2] not in (10, 11, 12, 13, 30):
            return None
        seq = tlv(app[3])
        f = fields(seq[3])
        r = {"type": app[2], "cname": None, "sname": None, "realm": None, "etype": None, "tkt": None, "error": None}
        if app[2] in (10, 12):
            body = fields(f[4][3])
            r["cname"] = name(body[1]) if 1 in body else None
            r["realm"] = body[2][3].decode("latin-1")
            r["sname"] = name(body[3]) if 3 in body else None
            if app[2] == 12 and 3 in f:
                pas, at = f[3][3], 0
                while at < len(pas):
                    pa = tlv(pas, at)
                    at = pa[4]
                    pf = fields(pa[3])
                    if integer(pf[1]) == 1:
                        ap = tlv(pf[2][3])
                        af = fields(tlv(ap[3])[3])
                        r["tkt"] = ticket_etype(af[3])[1]
                        break
        elif app[2] in (11, 13):
            r["realm"] = f[3][3].decode("latin-1")
            r["cname"] = name(f[4])
            r["sname"], r["tkt"] = ticket_etype(f[5])
            r["etype"] = etype(f[6])
        else:
            r["error"] = integer(f[6])
            r["realm"] = f[7][3].decode("latin-1") if 7 in f else None
            r["cname"] = name(f[8]) if 8 in f else None
            r["sname"] = name(f[10])
        return r
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def probe(m):
    """Suricata's Kerberos probe on a message: APPLICATION tag < 30, SEQUENCE, pvno 5."""
    if len(m) < 2 or m[0] >> 6 != 1 or not m[0] & 0x20:
        return False
    t = m[0] & 0x1f
    if t >= 30:
        return False
    i = 2 + (m[1] & 0x7f if m[1] & 0x80 else 0)
    if i >= len(m) or m[i] != 0x30:
        return False
    j = i + 2 + (m[i + 1] & 0x7f if i + 1 < len(m) and m[i + 1] & 0x80 else 0)
    return m[j:j + 1] in (b"\xa0", b"\xa1") and m[j + 1:j + 5] == b"\x03\x02\x01\x05"


def records(data):
    out, at = [], 0
    while at + 4 <= len(data):
        n = struct.unpack("!I", data[at:at + 4])[0]
        if at + 4 + n > len(data):
            break
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out


def udp_flows(path):
    """{(client, cport, server, sport): [(to_server, payload)]} of UDP/IPv4 on port 88 (first sender: client)."""
    flows = collections.OrderedDict()
    for _, lt, fr in refflow.read_frames(path, collections.Counter()):
        if lt != 1 or len(fr) < 14:
            continue
        off, et = 14, struct.unpack("!H", fr[12:14])[0]
        while et == 0x8100 and len(fr) >= off + 4:
            et, off = struct.unpack("!H", fr[off + 2:off + 4])[0], off + 4
        ip = fr[off:]
        if et != 0x0800 or len(ip) < 20 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        sp, dp, ln = struct.unpack("!HHH", ip[ihl:ihl + 6])
        if 88 not in (sp, dp):
            continue
        pay = ip[ihl + 8:ihl + ln]
        a, b = (ip[12:16], sp), (ip[16:20], dp)
        key = next((k for k in flows if {(k[0], k[1]), (k[2], k[3])} == {a, b}), None)
        if key is None:
            key = (a[0], a[1], b[0], b[1])
            flows[key] = []
        flows[key].append(((ip[12:16], sp) == (key[0], key[1]), pay))
    return flows


def expected_messages(path):
    """[(flow key, to_server, parsed message)] of the flows Suricata's probe takes for Kerberos."""
    out = []
    for key, dgs in udp_flows(path).items():
        if not any(probe(d) for _, d in dgs[:1]):
            continue
        for ts, d in dgs:
            r = parse(d)
            if r:
                r["udp"] = True
                out.append((key, ts, r))
    for (c, cp, s, sp), (cdata, sdata) in dprun.tcp_streams(path).items():
        if 88 not in (cp, sp):
            continue
        ok = False
        for d in (cdata, sdata):
            if len(d) >= 4 and 0 < struct.unpack("!I", d[:4])[0] <= 16384 and probe(d[4:]):
                ok = True
        if not ok:
            continue
        for ts, d in ((True, cdata), (False, sdata)):
            for m in records(d):
                r = parse(m)
                if r:
                    r["udp"] = False
                    out.append(((c, cp, s, sp), ts, r))
    return out


def want_sids(msgs):
    want = collections.Counter()
    for _, _, r in msgs:
        want[{10: 9716001, 11: 9716002, 12: 9716003, 13: 9716004, 30: 9716005}[r["type"]]] += 1
        want[9716006] += any("krbtgt" in p for p in (r["sname"] or []))
        want[9716007] += any("$" in p for p in (r["cname"] or []))
        want[9716008] += r["error"] == 25
        if r["tkt"] is not None:
            want[9716009] += r["tkt"] not in STRONG
            want[9716010] += r["tkt"] in (18, 23)
            want[9716013] += r["tkt"] in STRONG
        want[9716011] += r["etype"] is not None and r["etype"] not in STRONG
        want[9716014] += any(p == "krbtgt" for p in (r["sname"] or []))
        want[9716012] += r["udp"] and (r["error"] or 0) > 0
    return want


def eve_view(e):
    return (e["msg_type"], e["cname"], e["realm"], e["sname"], e.get("error_code"), e["encryption"])


def ref_view(r):
    enc = "<none>" if r["etype"] is None else ETYPES.get(r["etype"], "EncryptionType(%d)" % r["etype"])
    err = None
    if r["error"] is not None:
        err = {25: "KDC_ERR_PREAUTH_REQUIRED", 6: "KDC_ERR_C_PRINCIPAL_UNKNOWN", 7: "KDC_ERR_S_PRINCIPAL_UNKNOWN",
               24: "KDC_ERR_PREAUTH_FAILED", 14: "KDC_ERR_ETYPE_NOSUPP", 13: "KDC_ERR_BADOPTION",
               52: "KRB_ERR_RESPONSE_TOO_BIG"}.get(
                   r["error"], "code %d" % r["error"])
    join = lambda x: "<empty>" if not x else "/".join(x)  # noqa: E731
    return (MSG[r["type"]], join(r["cname"]), r["realm"] or "<empty>", join(r["sname"]), err, enc)


def ndpi_names(name):
    """nDPI's "realm\\name" of each Kerberos flow in its result file (lowercased), or None."""
    p = os.path.join(dprun.NDPI, "result", name + ".out")
    if not os.path.exists(p):
        return None
    out = set()
    with open(p, errors="replace") as f:
        for line in f:
            m = re.search(r"\[proto: 111/Kerberos\].*?\]\[([^\[\]\\]+)\\([^\[\]]+)\]", line)
            if m and "Confidence: DPI" in line:
                out.add((m.group(1).lower(), m.group(2).lower()))
    return out


def ndpi_part(check, dp, tmp, rfile):
    total = 0
    for name, pcap, ev in dprun.ndpi_runs(check, dp, tmp, rfile, FILES):
        msgs = expected_messages(pcap)
        kev = [e for e in ev if e.get("event_type") == "krb5"]
        check(len(kev) == len(msgs), "%s: %d krb5 events (one per message)" % (name, len(msgs)), len(kev))
        got_views = collections.Counter(eve_view(e["krb5"]) for e in kev)
        # error codes beyond the few named here compare by presence only
        ref = collections.Counter(ref_view(r) for _, _, r in msgs)
        same = all(v[4] is None or not v[4].startswith("code ") for v in ref)
        if same:
            check(got_views == ref, "%s: krb5 events' msg_type, cname, realm, sname, error_code, encryption" % name,
                  (sorted(got_views.items())[:3], sorted(ref.items())[:3]))
        want = want_sids(msgs)
        sids = {s: n for s, n in want.items() if n}
        total += sum(sids.values())
        print("  %s: %d messages; expected per sid: %s" % (name, len(msgs), dict(sorted(sids.items()))))
        dprun.check_sid_counts(check, dprun.alert_sids(ev), sids, "%s: no other sid fired" % name)
        al = dprun.alerts(ev)
        check(all(a.get("app_proto") == "krb5" and "krb5" in a for a in al),
              "%s: alerts carry app_proto krb5 and the krb5 object" % name)
        nd = ndpi_names(name)
        if nd:
            # nDPI prints the realm and the client name's last component without a trailing '$'
            mine = {(e["krb5"]["realm"].lower(), e["krb5"]["cname"].lower().split("/")[-1].rstrip("$"))
                    for e in kev}
            missing = [x for x in nd if x not in mine]
            check(not missing, "%s: every realm\\name nDPI reports is in a krb5 event (%d)" % (name, len(nd)),
                  missing[:4])
    return total


# ---------------------------------------------------------- generated capture

def d_tlv(ident, v):
    n = len(v)
    ln = bytes([n]) if n < 128 else (b"\x81" + bytes([n]) if n < 256 else b"\x82" + n.to_bytes(2, "big"))
    return bytes([ident]) + ln + v


def d_ctx(k, v):
    return d_tlv(0xa0 | k, v)


def d_int(v):
    b = v.to_bytes(4, "big", signed=True)
    while len(b) > 1 and ((b[0] == 0 and b[1] < 0x80) or (b[0] == 0xff and b[1] >= 0x80)):
        b = b[1:]
    return d_tlv(0x02, b)


def d_seq(v):
    return d_tlv(0x30, v)


def d_name(t, parts):
    return d_seq(d_ctx(0, d_int(t)) + d_ctx(1, d_seq(b"".join(d_tlv(0x1b, p) for p in parts))))


def d_enc(et):
    return d_seq(d_ctx(0, d_int(et)) + d_ctx(2, d_tlv(0x04, b"cipher")))


def d_ticket(realm, sname, et):
    return d_tlv(0x61, d_seq(d_ctx(0, d_int(5)) + d_ctx(1, d_tlv(0x1b, realm)) + d_ctx(2, sname) +
                             d_ctx(3, d_enc(et))))


def d_req(t, cname, realm, sname, padata=b"", pvno=5):
    body = d_ctx(0, d_tlv(0x03, b"\0\x40\x81\0\x10"))
    if cname:
        body += d_ctx(1, cname)
    body += d_ctx(2, d_tlv(0x1b, realm)) + d_ctx(3, sname) + d_ctx(5, d_tlv(0x18, b"20370913024805Z"))
    body += d_ctx(7, d_int(4242)) + d_ctx(8, d_seq(d_int(18) + d_int(23)))
    m = d_ctx(1, d_int(pvno)) + d_ctx(2, d_int(t)) + (d_ctx(3, d_seq(padata)) if padata else b"")
    return d_tlv(0x60 | t, d_seq(m + d_ctx(4, d_seq(body))))


def d_rep(t, realm, cname, tkt, et):
    return d_tlv(0x60 | t, d_seq(d_ctx(0, d_int(5)) + d_ctx(1, d_int(t)) + d_ctx(3, d_tlv(0x1b, realm)) +
                                 d_ctx(4, cname) + d_ctx(5, tkt) + d_ctx(6, d_enc(et))))


def d_err(code, realm, sname):
    return d_tlv(0x7e, d_seq(d_ctx(0, d_int(5)) + d_ctx(1, d_int(30)) + d_ctx(4, d_tlv(0x18, b"20230101000000Z")) +
                             d_ctx(5, d_int(1)) + d_ctx(6, d_int(code)) + d_ctx(9, d_tlv(0x1b, realm)) +
                             d_ctx(10, sname)))


def rec(m):
    return struct.pack("!I", len(m)) + m


R = b"CORP.EXAMPLE"
TGT = d_name(2, [b"krbtgt", R])
AS_REQ = d_req(10, d_name(1, [b"WS01$"]), R, TGT)
AS_ERR = d_err(25, R, TGT)
AS_REP = d_rep(11, R, d_name(1, [b"WS01$"]), d_ticket(R, TGT, 18), 23)
TGS_REQ = d_req(12, b"", R, d_name(2, [b"cifs", b"fs1.corp.example"]),
                d_seq(d_ctx(1, d_int(1)) + d_ctx(2, d_tlv(0x04, d_tlv(0x6e, d_seq(
                    d_ctx(0, d_int(5)) + d_ctx(1, d_int(14)) + d_ctx(2, d_tlv(0x03, b"\0" * 5)) +
                    d_ctx(3, d_ticket(R, TGT, 18)) + d_ctx(4, d_enc(18))))))))
TGS_REP = d_rep(13, R, d_name(1, [b"WS01$"]), d_ticket(R, d_name(2, [b"cifs", b"fs1.corp.example"]), 23), 18)


def generated_part(check, dp, tmp):
    frames, t = [], 1700000000 * 10**6
    t = dprun.udp_datagrams(frames, t, "10.40.0.10", "10.40.1.1", 41000, 88,
                            [(True, AS_REQ), (False, AS_ERR), (True, AS_REQ), (False, AS_REP)])
    tgs = rec(TGS_REQ)
    t = dprun.tcp_conversation(frames, t + 10000, "10.40.0.11", "10.40.1.1", 41001, 88,
                               [(True, tgs[:2]), (True, tgs[2:30]), (True, tgs[30:]), (False, rec(TGS_REP))])
    big = d_req(10, d_name(1, [b"x" * 40000]), R, TGT)
    t = dprun.tcp_conversation(frames, t + 10000, "10.40.0.12", "10.40.1.1", 41002, 88,
                               [(True, rec(AS_REQ)), (True, rec(big) + rec(AS_REQ)),
                                (False, rec(AS_REP[:-5]) + rec(AS_REP))])
    t = dprun.udp_datagrams(frames, t + 10000, "10.40.0.13", "10.40.1.1", 41003, 88,
                            [(True, d_req(10, d_name(1, [b"old"]), R, TGT, pvno=4))])
    # krb5.malformed_data: a datagram whose outer DER header is cut (one byte)
    # after a request; a request cut inside its content raises nothing.
    t = dprun.udp_datagrams(frames, t + 10000, "10.40.0.14", "10.40.1.1", 41004, 88,
                            [(True, AS_REQ), (True, b"\x6a"), (True, AS_REQ[:-5])])
    ev = dprun.run_generated(check, dp, tmp, "krb5", frames, RULES)
    if ev is None:
        return
    cases = [  # port, krb5 events, {sid: count}, flow app_proto
        (41000, 4, {9716001: 2, 9716002: 1, 9716005: 1, 9716006: 4, 9716007: 3, 9716008: 1, 9716011: 1,
                    9716012: 1, 9716010: 1, 9716013: 1, 9716014: 4}, "krb5"),
        (41001, 2, {9716003: 1, 9716004: 1, 9716009: 1, 9716010: 2, 9716013: 1, 9716007: 1}, "krb5"),
        (41002, 3, {9716001: 2, 9716002: 1, 9716006: 3, 9716007: 3, 9716010: 1, 9716011: 1, 9716013: 1,
                    9716014: 3}, "krb5"),
        (41003, 0, {}, None),
        (41004, 1, {9716001: 1, 9716006: 1, 9716007: 1, 9716014: 1, 9716015: 1}, "krb5"),
    ]
    for port, nev, sids, proto in cases:
        mine = [e for e in ev if port in (e.get("src_port"), e.get("dest_port"))]
        n = sum(1 for e in mine if e.get("event_type") == "krb5")
        check(n == nev, "port %d: %d krb5 event(s)" % (port, nev), n)
        got = dict(dprun.alert_sids(mine))
        check(got == sids, "port %d: alerts exactly %s" % (port, sids), got)
        fl = [e.get("app_proto") for e in mine if e.get("event_type") == "flow"]
        check((fl == ["krb5"]) == (proto == "krb5"), "port %d: flow app_proto %s" % (port, proto), fl)
    k = [e["krb5"] for e in ev if e.get("event_type") == "krb5" and 41000 in (e["src_port"], e["dest_port"])]
    check(len(k) == 4 and k[1] == {"msg_type": "KRB_ERROR", "failed_request": "KRB_AS_REQ",
                                   "error_code": "KDC_ERR_PREAUTH_REQUIRED", "cname": "<empty>",
                                   "realm": "<empty>", "sname": "krbtgt/CORP.EXAMPLE", "encryption": "<none>",
                                   "weak_encryption": False},
          "EVE KRB_ERROR object as Suricata writes it", k[1:2])
    check(len(k) == 4 and k[3] == {"msg_type": "KRB_AS_REP", "cname": "WS01$", "realm": "CORP.EXAMPLE",
                                   "sname": "krbtgt/CORP.EXAMPLE", "encryption": "rc4-hmac",
                                   "weak_encryption": True, "ticket_encryption": "aes256-cts-hmac-sha1-96",
                                   "ticket_weak_encryption": False},
          "EVE KRB_AS_REP object (weak reply, strong ticket)", k[3:])
    al = [e for e in dprun.alerts(ev) if e["alert"]["signature_id"] == 9716011]
    check(al and al[0].get("krb5", {}).get("encryption") == "rc4-hmac", "weak-encryption alert carries the krb5 object",
          al[:1])
    st = [e for e in ev if e.get("event_type") == "stats"]
    m = st[-1]["stats"]["app_layer"].get("krb5", {}) if st else {}
    check(m.get("malformed") == 3 and m.get("too_large") == 1 and m.get("messages") == 10 and
          m.get("malformed_data_events") == 1,
          "stats: 10 messages, 3 malformed (cut AS-REP, 1-byte datagram, cut AS-REQ), 1 record over the buffer, "
          "1 malformed_data event", m)


def main():
    return dprun.app_script("krb5", RULES, ndpi_part, generated_part, 20)


if __name__ == "__main__":
    sys.exit(main())
