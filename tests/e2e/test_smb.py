#!/usr/bin/python3
"""SMB and DCERPC end to end on spectre-dp: nDPI's captures and a generated one.

  test_smb.py [SPECTRE_DP]   (or $SPECTRE_DP)

1. nDPI's smbv1.pcap, smb_deletefile.pcap, smb_frags.pcap (SMB over TCP
   445) and dcerpc.pcap (connectionless DCERPC over UDP): rules with
   Suricata's smb.version, smb.named_pipe, smb.share, dcerpc.iface,
   dcerpc.opnum, dcerpc.stub_data. Expected counts come from a reader here,
   written from the specs ([MS-SMB], [MS-SMB2], DCE 1.1 RPC): NetBIOS
   messages cut into SMB1 messages / SMB2 commands (compounds split), the
   tree connects' paths and service / share types, the connectionless
   headers (interface, opnum, fragment number). The smbv1 tree connect's
   EVE `smb` event is compared field by field. Skipped (with a message)
   without the corpus.
2. Generated (tests/live/pcaplib, no corpus needed): SMB2 negotiate, session
   setup with NTLMSSP (user, domain), tree connect to IPC$, create, DCERPC
   bind / bind_ack / request (opnum 15) / response over the pipe (write,
   read, ioctl); DCERPC over TCP 135 with a request in two fragments (stub
   joined); near misses (HTTP on 445, a file write starting with no PDU);
   malformed PDUs counted in the stats, no crash. EVE smb / dcerpc objects.
   Snort 3's dce_iface / dce_opnum / dce_stub_data with byte_test ... dce
   (the byte order from the PDU's data representation).
Skips (exit 77) without the binary.
"""
import collections
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import dprun  # noqa: E402
import refflow  # noqa: E402

FILES = ["smbv1.pcap", "smb_deletefile.pcap", "smb_frags.pcap", "dcerpc.pcap"]
# The interface of dcerpc.pcap's first calls (read from the capture: the
# connectionless header's interface UUID, big-endian data representation).
UDP_IF = "dea00001-6c97-11d1-8271-00a02442df7d"
RULES = r"""
alert smb any any -> any any (msg:"SMB v1"; smb.version:1; sid:9723001; rev:1;)
alert smb any any -> any any (msg:"SMB v2"; smb.version:2; sid:9723002; rev:1;)
alert smb any any -> any any (msg:"SMB IPC$ pipe"; smb.named_pipe; content:"IPC$"; endswith; sid:9723003; rev:1;)
alert smb any any -> any any (msg:"SMB share"; smb.share; content:"\\"; sid:9723004; rev:1;)
alert dcerpc any any -> any any (msg:"DCERPC iface"; dcerpc.iface:%s; sid:9723005; rev:1;)
alert dcerpc any any -> any any (msg:"DCERPC opnum 0-5"; dcerpc.opnum:0-5; sid:9723006; rev:1;)
alert dcerpc any any -> any any (msg:"DCERPC iface any_frag v>0"; dcerpc.iface:%s,>0,any_frag; sid:9723007; rev:1;)
alert smb any any -> any any (msg:"SMB ntlmssp user"; smb.ntlmssp_user; content:"alice"; sid:9723008; rev:1;)
alert smb any any -> any any (msg:"SMB ntlmssp domain"; smb.ntlmssp_domain; content:"CORP"; endswith; sid:9723009; rev:1;)
alert dcerpc any any -> any any (msg:"DCERPC stub"; dcerpc.stub_data; content:"SECRETSTUB"; sid:9723010; rev:1;)
alert dcerpc any any -> any any (msg:"DCERPC svcctl opnum 15"; dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003; dcerpc.opnum:12,15-16; sid:9723011; rev:1;)
alert tcp any any -> any any (msg:"app-layer-protocol dcerpc"; app-layer-protocol:dcerpc; dcerpc.stub_data; content:"JOINED"; sid:9723012; rev:1;)
alert tcp any any -> any any (msg:"Snort 3 byte_test dce"; dce_iface:uuid 367abb81-9844-35f1-ad32-98f038001003; dce_opnum:"9"; dce_stub_data; byte_test:4,=,512,0,dce; sid:9723013; rev:1;)
""" % (UDP_IF, UDP_IF)


# ---- reader (from the specs) -------------------------------------------

def nb_messages(data):
    """NetBIOS session messages (type 0) of a stream."""
    out, at = [], 0
    while at + 4 <= len(data):
        t, n = data[at], int.from_bytes(data[at + 1:at + 4], "big")
        if t == 0:
            out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out


def utf16(b):
    return b.decode("utf-16-le", "replace").rstrip("\0")


def smb_txs(cdata, sdata):
    """[(to_server, version for smb.version, tree connect (path, pipe) or None)]."""
    txs, neg1, path = [], False, None
    for ts, data in ((True, cdata), (False, sdata)):
        for m in nb_messages(data):
            if m[:4] == b"\xffSMB" and len(m) >= 33:
                cmd, resp, uni = m[4], m[9] & 0x80, struct.unpack("<H", m[10:12])[0] & 0x8000
                wc = m[32]
                bo = 33 + 2 * wc + 2
                tc = None
                if cmd == 0x72 and not resp:
                    neg1 = True
                if cmd == 0x75 and not resp:
                    plen = struct.unpack("<H", m[33 + 6:33 + 8])[0]
                    at = bo + plen
                    at += at & 1 if uni else 0
                    end = m.find(b"\0\0", at) if uni else m.find(b"\0", at)
                    while uni and end > 0 and (end - at) % 2:
                        end = m.find(b"\0\0", end + 1)
                    path = utf16(m[at:end]) if uni else m[at:end].decode("latin-1")
                    tc = (path, path.upper().endswith("IPC$"))
                elif cmd == 0x75 and resp and path is not None:
                    tc = (path, m[bo:bo + 3] == b"IPC")
                txs.append((ts, 1, tc))
            elif m[:4] == b"\xfeSMB":
                at = 0
                while at + 64 <= len(m) and m[at:at + 4] == b"\xfeSMB":
                    cmd, flags, nxt = struct.unpack("<HI", m[at + 12:at + 14] + m[at + 16:at + 20]) + \
                        (struct.unpack("<I", m[at + 20:at + 24])[0],)
                    resp = flags & 1
                    tc = None
                    if cmd == 3 and not resp:
                        off, ln = struct.unpack("<HH", m[at + 68:at + 72])
                        path = utf16(m[at + off:at + off + ln])
                        tc = (path, path.upper().endswith("IPC$"))
                    elif cmd == 3 and resp and path is not None:
                        tc = (path, m[at + 66] == 2)
                    v1 = cmd == 0 and resp and neg1  # Suricata: the first SMB2 answer to an SMB1 negotiate
                    neg1 = neg1 and not v1
                    status = struct.unpack("<I", m[at + 8:at + 12])[0]
                    if not (resp and status == 0x103):  # an interim STATUS_PENDING answer: no tx (Suricata)
                        txs.append((ts, 1 if v1 else 2, tc))
                    if not nxt:
                        break
                    at += nxt
    return txs


def udp_pdus(path):
    """Connectionless DCERPC headers of a capture: (interface, version, opnum, fragnum, type)."""
    out = []
    for _, lt, fr in refflow.read_frames(path, collections.Counter()):
        ip = fr[14:] if lt == 1 else fr
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        p = ip[(ip[0] & 15) * 4 + 8:]
        if len(p) < 80 or p[0] != 4 or p[1] > 10:
            continue
        e = "<" if p[4] & 0x10 else ">"
        u = p[24:40]
        if e == "<":
            u = u[3::-1] + u[5:3:-1] + u[7:5:-1] + u[8:]
        uid = "%s-%s-%s-%s-%s" % (u[:4].hex(), u[4:6].hex(), u[6:8].hex(), u[8:10].hex(), u[10:].hex())
        ver = struct.unpack(e + "I", p[56:60])[0] & 0xffff
        opnum, ln, frag = struct.unpack(e + "H", p[68:70])[0], struct.unpack(e + "H", p[74:76])[0], \
            struct.unpack(e + "H", p[76:78])[0]
        if 80 + ln <= len(p):
            out.append((uid, ver, opnum, frag, p[1]))
    return out


def expected(path):
    want, nflows = collections.Counter(), 0
    for (c, cp, s, sp), (cdata, sdata) in dprun.tcp_streams(path).items():
        if 445 not in (cp, sp) and 139 not in (cp, sp):
            continue
        nflows += 1
        for ts, ver, tc in smb_txs(cdata, sdata):
            want[9723001] += ver == 1
            want[9723002] += ver == 2
            if tc and ts:  # the request: Suricata registers smb.named_pipe / smb.share to the server
                want[9723003] += tc[1] and tc[0].endswith("IPC$")
                want[9723004] += not tc[1] and "\\" in tc[0]
    for uid, ver, opnum, frag, typ in udp_pdus(path):
        want[9723005] += uid == UDP_IF and frag == 0 and typ in (0, 2)
        want[9723006] += opnum <= 5
        want[9723007] += uid == UDP_IF and ver > 0 and typ in (0, 2)
    return want, nflows


def ndpi_part(check, dp, tmp, rfile):
    total = 0
    for name, pcap, ev in dprun.ndpi_runs(check, dp, tmp, rfile, FILES):
        want, nflows = expected(pcap)
        flows = sum(1 for e in ev if e.get("event_type") == "flow" and e.get("app_proto") == "smb")
        check(flows == nflows, "%s: %d smb flows" % (name, nflows), flows)
        sids = {s: n for s, n in want.items() if n}
        total += sum(sids.values())
        print("  %s expected per sid: %s" % (name, dict(sorted(sids.items()))))
        dprun.check_sid_counts(check, dprun.alert_sids(ev), sids, "%s: no other sid fired" % name)
        if name == "smbv1.pcap":
            tc = [e["smb"] for e in ev if e.get("event_type") == "smb" and
                  e["smb"].get("command") == "SMB1_COMMAND_TREE_CONNECT_ANDX"]
            check(tc == [{"dialect": "NT LM 0.12", "command": "SMB1_COMMAND_TREE_CONNECT_ANDX",
                          "status": "STATUS_SUCCESS", "status_code": "0x0", "session_id": 2048, "tree_id": 2048,
                          "named_pipe": "\\\\10.128.0.243\\IPC$", "share_type": "PIPE"}],
                  "smbv1: EVE smb tree connect event (Suricata's fields)", tc)
        if name == "dcerpc.pcap":
            de = [e["dcerpc"] for e in ev if e.get("event_type") == "dcerpc"]
            check(de and all(d.get("rpc_version") == "4.0" for d in de),
                  "dcerpc.pcap: EVE dcerpc events (connectionless, rpc_version 4.0)", de[:2])
    return total


# ---- generated capture ---------------------------------------------------

def le16(v):
    return struct.pack("<H", v)


def le32(v):
    return struct.pack("<I", v)


def nbss(m):
    return b"\0" + len(m).to_bytes(3, "big") + m


def smb2(cmd, resp, tree, body, status=0, mid=9, async_=False):
    flags = (1 if resp else 0) | (2 if async_ else 0)
    return (b"\xfeSMB" + le16(64) + le16(0) + le32(status) + le16(cmd) + le16(1) + le32(flags) +
            le32(0) + struct.pack("<Q", mid) + le32(0) + le32(tree) + struct.pack("<Q", 0x4400000041) + b"\0" * 16 + body)


def create_req(mid, name):
    n = name.encode("utf-16-le")
    return nbss(smb2(5, False, 3, le16(57) + b"\0" * 42 + le16(64 + 56) + le16(len(n)) + le32(0) + le32(0) + n, mid=mid))


def create_resp(mid, status=0, async_=False):
    return nbss(smb2(5, True, 0 if async_ else 3, le16(89) + b"\0" * 86, status, mid, async_))


SVCCTL = bytes.fromhex("81bb7a36" "4498" "f135" "ad3298f038001003")  # 367abb81-9844-35f1-ad32-98f038001003 on the wire (LE)


def dce(typ, flags, call, body):
    return bytes([5, 0, typ, flags, 0x10, 0, 0, 0]) + le16(16 + len(body)) + le16(0) + le32(call) + body


def bind(call):
    ctx = le16(0) + b"\x01\x00" + SVCCTL + le16(2) + le16(0) + b"T" * 20
    return dce(11, 3, call, le16(4280) + le16(4280) + le32(0) + b"\x01\0\0\0" + ctx)


def bind_ack(call):
    sec = b"\\PIPE\\svcctl\0"  # 16 + 10 + 13 = 39 -> pad 1
    return dce(12, 3, call, le16(4280) + le16(4280) + le32(0x55) + le16(len(sec)) + sec + b"\0" +
               b"\x01\0\0\0" + le16(0) + le16(0) + b"T" * 20)


def request(call, flags, opnum, stub, ctx=0):
    return dce(0, flags, call, le32(len(stub)) + le16(ctx) + le16(opnum) + stub)


def response(call, stub):
    return dce(2, 3, call, le32(len(stub)) + le16(0) + b"\0\0" + stub)


def ntlm_auth(dom, user, host):
    d, u, h = (x.encode("utf-16-le") for x in (dom, user, host))
    off = 72
    m = b"NTLMSSP\0" + le32(3) + le16(0) + le16(0) + le32(off) + le16(0) + le16(0) + le32(off)
    for x, o in ((d, off), (u, off + len(d)), (h, off + len(d) + len(u))):
        m += le16(len(x)) + le16(len(x)) + le32(o)
    return m + le16(0) + le16(0) + le32(off) + le32(1) + b"V" * 8 + d + u + h


def smb2_session():
    path = "\\\\srv1\\IPC$".encode("utf-16-le")
    name = "svcctl".encode("utf-16-le")
    blob = b"\xa1\x82\x01\x00" + ntlm_auth("CORP", "alice", "WS7")
    create = le16(57) + b"\0" * 42 + le16(64 + 56) + le16(len(name)) + le32(0) + le32(0) + name
    return [
        (True, nbss(smb2(0, False, 0, le16(36) + le16(2) + b"\0" * 32 + le16(0x202) + le16(0x311)))),
        (False, nbss(smb2(0, True, 0, le16(65) + le16(1) + le16(0x311) + b"\0" * 58))),
        (True, nbss(smb2(1, False, 0, le16(25) + b"\0\x01" + le32(1) + le32(0) + le16(64 + 24) + le16(len(blob)) +
                         b"\0" * 8 + blob))),
        (False, nbss(smb2(1, True, 0, le16(9) + le16(0) + le16(0) + le16(0)))),
        (True, nbss(smb2(3, False, 0, le16(9) + le16(0) + le16(64 + 8) + le16(len(path)) + path))),
        (False, nbss(smb2(3, True, 3, le16(16) + b"\x02\0" + le32(0) + le32(0) + le32(0x1f01ff)))),
        (True, nbss(smb2(5, False, 3, create))),
        (True, nbss(smb2(9, False, 3, le16(49) + le16(64 + 48) + le32(len(bind(1))) + b"\0" * 40 + bind(1)))),
        (False, nbss(smb2(8, True, 3, le16(17) + bytes([80, 0]) + le32(len(bind_ack(1))) + le32(0) + le32(0) +
                          bind_ack(1)))),
        (True, nbss(smb2(11, False, 3, le16(57) + le16(0) + le32(0x0011C017) + b"F" * 16 + le32(64 + 56) +
                         le32(len(request(2, 3, 15, b"xxSECRETSTUBxx"))) + b"\0" * 24 +
                         request(2, 3, 15, b"xxSECRETSTUBxx")))),
        (False, nbss(smb2(11, True, 3, le16(49) + le16(0) + le32(0x0011C017) + b"F" * 16 + le32(0) + le32(0) +
                          le32(64 + 48) + le32(len(response(2, b"ok"))) + b"\0" * 8 + response(2, b"ok")))),
    ]


def generated_part(check, dp, tmp):
    frames, t = [], 1700000000 * 10**6
    cases = [  # name, port, segments, {sid: count}, app_proto of the flow
        ("SMB2 pipe session (NTLMSSP, IPC$, bind, request opnum 15)", 445, smb2_session(),
         {9723002: 11, 9723003: 1, 9723008: 1, 9723009: 1, 9723010: 1, 9723011: 2}, "smb"),
        ("DCERPC over TCP 135, a request in two fragments", 135,
         [(True, bind(1)), (False, bind_ack(1)), (True, request(2, 1, 16, b"JOI")),
          (True, request(2, 2, 16, b"NED")), (False, response(2, b"r"))],
         {9723006: 0, 9723011: 2, 9723012: 1}, "dcerpc"),
        ("near miss: HTTP on 445", 445, [(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")], {}, "http"),
        ("malformed: a bind, then a PDU shorter than its header", 135,
         [(True, bind(1) + bind(2)[:8] + b"\x08\x00" + bind(2)[10:])], {}, "dcerpc"),
        # Snort's byte_test dce: the number in the PDU's byte order (little
        # endian here: 512; read big endian, as without dce, 0x00020000).
        ("Snort byte_test dce on a little-endian request", 135,
         [(True, bind(1)), (False, bind_ack(1)), (True, request(2, 3, 9, le32(512) + b"zz"))],
         {9723013: 1}, "dcerpc"),
        ("near miss: byte_test dce, the stub big endian in a little-endian PDU", 135,
         [(True, bind(1)), (False, bind_ack(1)), (True, request(2, 3, 9, struct.pack(">I", 512) + b"zz"))],
         {}, "dcerpc"),
    ]
    for i, (name, port, segs, sids, ap) in enumerate(cases):
        t = dprun.tcp_conversation(frames, t, "10.31.0.%d" % (10 + i), "10.31.1.%d" % (10 + i), 44000 + i, port, segs)
        t += 10000
    # A TCP gap (one client segment never captured) in the middle of a write:
    # the parser resyncs on the next message, the tree connect after it.
    path = "\\\\srv1\\data".encode("utf-16-le")
    write = nbss(smb2(9, False, 5, le16(49) + le16(64 + 48) + le32(400) + b"\0" * 40 + b"w" * 400))
    gap_segs = [(True, nbss(smb2(0, False, 0, le16(36) + le16(1) + b"\0" * 32 + le16(0x311)))),
                (False, nbss(smb2(0, True, 0, le16(65) + le16(1) + le16(0x311) + b"\0" * 58))),
                (True, write[:200]), (True, write[200:300]), (True, write[300:]),
                (True, nbss(smb2(3, False, 0, le16(9) + le16(0) + le16(64 + 8) + le16(len(path)) + path))),
                (False, nbss(smb2(3, True, 7, le16(16) + b"\x01\0" + le32(0) + le32(0) + le32(0x1f01ff))))]
    gap_frames = []
    t = dprun.tcp_conversation(gap_frames, t, "10.31.0.30", "10.31.1.30", 44030, 445, gap_segs)
    del gap_frames[3 + 3]  # write[200:300]: a 100-byte hole
    frames += gap_frames
    # Pipelined creates answered out of order, one first with an async
    # STATUS_PENDING interim answer: each answer's event has its own request's
    # filename (paired by message id); the interim makes no event.
    pipe_segs = [(True, create_req(10, "alpha.txt") + create_req(11, "beta.txt") + create_req(12, "gamma.txt")),
                 (False, create_resp(12, 0x103, True)), (False, create_resp(11)), (False, create_resp(10)),
                 (False, create_resp(12, 0, True))]
    t = dprun.tcp_conversation(frames, t + 10000, "10.31.0.40", "10.31.1.40", 44040, 445, pipe_segs)
    # DCERPC over TCP with a hole in a request: the parser resyncs on the
    # next PDU header (its stub fires the JOINED rule once).
    big = request(2, 3, 16, b"x" * 300)
    dce_segs = [(True, bind(1)), (False, bind_ack(1)), (True, big[:100]), (True, big[100:200]),
                (True, big[200:] + request(3, 3, 16, b"JOINED")), (False, response(3, b"r"))]
    dce_frames = []
    t = dprun.tcp_conversation(dce_frames, t + 10000, "10.31.0.41", "10.31.1.41", 44041, 135, dce_segs)
    del dce_frames[3 + 3]  # big[100:200]: a 100-byte hole
    frames += dce_frames
    ev = dprun.run_generated(check, dp, tmp, "smb", frames, RULES)
    if ev is None:
        return
    cr = [e["smb"] for e in ev if e.get("event_type") == "smb" and 44040 in (e.get("src_port"), e.get("dest_port"))]
    check([(c.get("filename"), c.get("status")) for c in cr] ==
          [("beta.txt", "STATUS_SUCCESS"), ("alpha.txt", "STATUS_SUCCESS"), ("gamma.txt", "STATUS_SUCCESS")],
          "pipelined creates: each answer's smb event has its request's filename (message id), no interim event",
          [(c.get("filename"), c.get("status")) for c in cr])
    dg = dict(dprun.alert_sids([e for e in ev if 44041 in (e.get("src_port"), e.get("dest_port"))]))
    de = [e["dcerpc"] for e in ev if e.get("event_type") == "dcerpc" and 44041 in (e.get("src_port"), e.get("dest_port"))]
    # (The client's bytes after the hole come when the hole is given up, after
    # the server's response: that response finds no request, its event no opnum.)
    check(dg == {9723011: 1, 9723012: 1} and [d.get("call_id") for d in de] == [1, 3],
          "DCERPC over TCP: a hole in a request, resync at the next PDU (its rules once each, bind_ack + response events)",
          (dg, de))
    mine = [e for e in ev if 44030 in (e.get("src_port"), e.get("dest_port"))]
    got = dprun.alert_sids(mine)
    # (The client's bytes after the hole come when the hole is given up, after the server's answer.)
    tc = [e["smb"] for e in dprun.alerts(mine) if e["alert"]["signature_id"] == 9723004]
    check(got[9723004] == 1 and tc and tc[0].get("share") == "\\\\srv1\\data",
          "TCP gap in a write: the tree connect after it is parsed (resync), its share rule fires once",
          (dict(got), tc))
    for i, (name, port, segs, sids, ap) in enumerate(cases):
        mine = [e for e in ev if 44000 + i in (e.get("src_port"), e.get("dest_port"))]
        got = dict(dprun.alert_sids(mine))
        want = {k: v for k, v in sids.items() if v}
        check(got == want, "%s: alerts exactly %s" % (name, want), got)
        fl = [e.get("app_proto") for e in mine if e.get("event_type") == "flow"]
        if ap:
            check(fl == [ap], "%s: flow app_proto %s" % (name, ap), fl)
    smb = [e["smb"] for e in ev if e.get("event_type") == "smb" and 44000 in (e.get("src_port"), e.get("dest_port"))]
    neg = [s for s in smb if s.get("command") == "SMB2_COMMAND_NEGOTIATE_PROTOCOL"]
    check(neg and neg[0].get("dialect") == "3.11", "EVE negotiate: dialect 3.11", neg[:1])
    ss = [s for s in smb if s.get("command") == "SMB2_COMMAND_SESSION_SETUP"]
    check(len(ss) == 1 and ss[0].get("ntlmssp") == {"domain": "CORP", "user": "alice", "host": "WS7"},
          "EVE session setup (the answer's event): the request's ntlmssp names, as Suricata's pair", ss)
    tc = [s for s in smb if s.get("command") == "SMB2_COMMAND_TREE_CONNECT"]
    check(tc and tc[0].get("named_pipe") == "\\\\srv1\\IPC$" and tc[0].get("share_type") == "PIPE" and
          tc[0].get("tree_id") == 3, "EVE tree connect: named_pipe, share_type PIPE, tree_id", tc[:1])
    bd = [s["dcerpc"] for s in smb if "dcerpc" in s and s["dcerpc"].get("response") == "BINDACK"]
    check(bd and bd[0]["interfaces"] == [{"uuid": "367abb81-9844-35f1-ad32-98f038001003", "version": "2.0",
                                          "ack_result": 0}] and bd[0]["request"] == "BIND",
          "EVE smb.dcerpc bind/bindack interfaces", bd[:1])
    rq = [s["dcerpc"] for s in smb if "dcerpc" in s and s["dcerpc"].get("response") == "RESPONSE"]
    check(rq and rq[0].get("opnum") == 15 and rq[0].get("req") == {"frag_cnt": 1, "stub_data_size": 14} and
          rq[0].get("call_id") == 2, "EVE smb.dcerpc request/response: opnum, req sizes, call_id", rq[:1])
    tcp = [e["dcerpc"] for e in ev if e.get("event_type") == "dcerpc" and 44001 in (e.get("src_port"), e.get("dest_port"))
           and e["dcerpc"].get("response") == "RESPONSE"]
    check(tcp and tcp[0].get("req") == {"frag_cnt": 2, "stub_data_size": 6} and tcp[0].get("opnum") == 16,
          "EVE dcerpc over TCP: the request's two fragments", tcp[:1])
    st = [e for e in ev if e.get("event_type") == "stats"]
    d = st[-1]["stats"]["app_layer"].get("dcerpc", {}) if st else {}
    check(d.get("malformed", 0) >= 1, "stats: the short PDU counted as malformed", d)


def main():
    return dprun.app_script("smb", RULES, ndpi_part, generated_part, 100)


if __name__ == "__main__":
    sys.exit(main())
