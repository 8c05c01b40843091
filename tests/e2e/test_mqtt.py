#!/usr/bin/python3
"""MQTT end to end on spectre-dp: nDPI's MQTT captures and generated ones.

  test_mqtt.py [SPECTRE_DP]   (or $SPECTRE_DP)

1. nDPI's mqtt.pcap and coap_mqtt.pcap: rules in the form of Suricata's
   documented mqtt keywords (mqtt.type, mqtt.flags, mqtt.qos,
   mqtt.reason_code, mqtt.connack.session_present, mqtt.connect.*,
   mqtt.publish.*, mqtt.subscribe.topic, mqtt.protocol_version,
   app-layer-protocol:mqtt). Expected counts come from a reader here: the
   TCP streams reassembled (dprun.tcp_streams) and cut into MQTT control
   packets by the spec (OASIS MQTT 3.1.1 / 5.0): a flow is MQTT when its
   client starts with a CONNECT (any port) or a well-formed fixed header
   opens it on port 1883. One `mqtt` event per message; flows `mqtt`.
   Skipped (with a message) without the corpus.
2. Generated: MQTT 5 with properties, a PUBLISH split across segments,
   a PUBLISH larger than the buffer (EVE truncated), near misses (HTTP on
   1883, "MQTX"), malformed messages (a field past the end, QoS 3, a
   5-byte remaining length): counted in the stats, no crash.
Skips (exit 77) without the binary.
"""
import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import dprun  # noqa: E402

FILES = ["mqtt.pcap", "coap_mqtt.pcap"]
RULES = r"""
alert mqtt any any -> any any (msg:"MQTT CONNECT"; mqtt.type:CONNECT; sid:9715001; rev:1;)
alert mqtt any any -> any any (msg:"MQTT PUBLISH topic /"; mqtt.type:PUBLISH; mqtt.publish.topic; content:"/"; sid:9715002; rev:1;)
alert mqtt any any -> any any (msg:"MQTT QoS 1"; mqtt.qos:1; sid:9715003; rev:1;)
alert mqtt any any -> any any (msg:"MQTT retain"; mqtt.flags:retain; sid:9715004; rev:1;)
alert mqtt any any -> any any (msg:"MQTT client id"; mqtt.connect.clientid; pcre:"/./"; sid:9715005; rev:1;)
alert mqtt any any -> any any (msg:"MQTT credentials"; mqtt.connect.flags:username,password; sid:9715006; rev:1;)
alert mqtt any any -> any any (msg:"MQTT no session"; mqtt.connack.session_present:false; sid:9715007; rev:1;)
alert mqtt any any -> any any (msg:"MQTT reason 0"; mqtt.reason_code:0; sid:9715008; rev:1;)
alert mqtt any any -> any any (msg:"MQTT subscribe /"; mqtt.subscribe.topic; content:"/"; sid:9715009; rev:1;)
alert mqtt any any -> any any (msg:"MQTT 3.1.1"; mqtt.protocol_version:4; sid:9715010; rev:1;)
alert mqtt any any -> any any (msg:"MQTT JSON message"; mqtt.publish.message; content:"{"; sid:9715011; rev:1;)
alert mqtt any any -> any any (msg:"MQTT unsubscribe"; mqtt.unsubscribe.topic; content:"/"; sid:9715012; rev:1;)
alert tcp any any -> any any (msg:"MQTT PINGREQ"; app-layer-protocol:mqtt; mqtt.type:PINGREQ; sid:9715013; rev:1;)
alert mqtt any any -> any any (msg:"MQTT dup"; mqtt.flags:dup,!retain; sid:9715014; rev:1;)
"""


def flags_ok(b):
    t, f = b >> 4, b & 15
    if t == 3:
        return f & 6 != 6
    if t in (6, 8, 10):
        return f == 2
    return t != 0 and f == 0


def messages(data):
    """[(hdr byte, body)] of a stream; stops at a remaining length of more than 4 bytes."""
    out, at = [], 0
    while at < len(data):
        hdr, rem, mul, i = data[at], 0, 1, at + 1
        while True:
            if i >= len(data) or i - at > 4:
                return out
            rem += (data[i] & 0x7f) * mul
            mul *= 128
            i += 1
            if not data[i - 1] & 0x80:
                break
        if i - at > 5:
            return out
        out.append((hdr, data[i:i + rem]))
        at = i + rem
    return out


def is_connect(data):
    m = messages(data[:64])
    if not data or data[0] != 0x10 or not m:
        return False
    i = 1
    while data[i] & 0x80:
        i += 1
    q = data[i + 1:]
    return ((q[:6] == b"\0\x04MQTT" and q[6:7] in (b"\x04", b"\x05")) or
            (q[:8] == b"\0\x06MQIsdp" and q[8:9] == b"\x03"))


def s16(b, at):
    """A 2-byte length-prefixed field at b[at:]: (bytes, next offset) or (None, None)."""
    if at + 2 > len(b):
        return None, None
    n = int.from_bytes(b[at:at + 2], "big")
    return (b[at + 2:at + 2 + n], at + 2 + n) if at + 2 + n <= len(b) else (None, None)


def varint(b, at):
    v, mul = 0, 1
    for k in range(4):
        if at + k >= len(b):
            return None, None
        v += (b[at + k] & 0x7f) * mul
        mul *= 128
        if not b[at + k] & 0x80:
            return v, at + k + 1
    return None, None


def fields(hdr, body, v5):
    """The keyword-relevant fields of one message, by the spec."""
    t, f = hdr >> 4, hdr & 15
    r = {"type": t, "qos": (f >> 1) & 3, "retain": f & 1, "dup": f & 8}
    if t == 1:
        proto, at = s16(body, 0)
        if proto is None or at + 4 > len(body):
            return r
        r["version"], r["cflags"] = body[at], body[at + 1]
        at += 4
        if body[at - 4] == 5:
            n, at = varint(body, at)
            at = at + n if n is not None else len(body) + 1
        cid, at = s16(body, at) if at <= len(body) else (None, None)
        r["clientid"] = cid
    elif t == 2 and len(body) >= 2:
        r["sp"], r["reason"] = body[0] & 1, body[1]
    elif t == 3:
        topic, at = s16(body, 0)
        if topic is None:
            return r
        r["topic"] = topic
        if r["qos"]:
            at += 2
        if v5:
            n, at = varint(body, at) if at <= len(body) else (None, None)
            if n is None:
                return r
            at += n
        if at <= len(body):
            r["message"] = body[at:]
    elif t in (4, 5, 6, 7) and v5 and len(body) > 2:
        r["reason"] = body[2]
    elif t in (8, 10):
        at = 2
        if v5:
            n, at = varint(body, 2)
            at = at + n if n is not None else len(body) + 1
        topics = []
        while at < len(body):
            tp, at = s16(body, at)
            if tp is None:
                break
            if t == 8:
                if at >= len(body):
                    break
                at += 1
            topics.append(tp)
        r["topics"] = topics
    elif t == 11 and v5:
        n, at = varint(body, 2)
        if n is not None and at + n < len(body):
            r["reason"] = body[at + n]
    elif t in (14, 15) and v5 and body:
        r["reason"] = body[0]
    return r


def expected(path):
    want, nflows, events = collections.Counter(), 0, 0
    for (c, cp, s, sp), (cdata, sdata) in dprun.tcp_streams(path).items():
        port = 1883 in (cp, sp)
        mqtt = is_connect(cdata) or (port and any(d and flags_ok(d[0]) and messages(d[:8]) for d in (cdata, sdata)))
        if not mqtt:
            continue
        nflows += 1
        cm = messages(cdata)
        ver = 0
        if cm and cm[0][0] >> 4 == 1:
            ver = fields(*cm[0], False).get("version", 0)
        for d in (cdata, sdata):
            for hdr, body in messages(d):
                x = fields(hdr, body, ver == 5)
                events += 1
                want[9715001] += x["type"] == 1
                want[9715002] += x["type"] == 3 and b"/" in x.get("topic", b"")
                want[9715003] += x["qos"] == 1
                want[9715004] += bool(x["retain"])
                want[9715005] += bool(x.get("clientid"))
                want[9715006] += x["type"] == 1 and x.get("cflags", 0) & 0xc0 == 0xc0
                want[9715007] += x["type"] == 2 and x.get("sp") == 0
                want[9715008] += x.get("reason") == 0
                want[9715009] += x["type"] == 8 and any(b"/" in tp for tp in x.get("topics", []))
                want[9715010] += ver == 4
                want[9715011] += b"{" in x.get("message", b"")
                want[9715012] += x["type"] == 10 and any(b"/" in tp for tp in x.get("topics", []))
                want[9715013] += x["type"] == 12
                want[9715014] += bool(x["dup"]) and not x["retain"]
    return want, nflows, events


def ndpi_part(check, dp, tmp, rfile):
    total = 0
    for name, pcap, ev in dprun.ndpi_runs(check, dp, tmp, rfile, FILES):
        want, nflows, nev = expected(pcap)
        flows = sum(1 for e in ev if e.get("event_type") == "flow" and e.get("app_proto") == "mqtt")
        check(flows == nflows, "%s: %d mqtt flows" % (name, nflows), flows)
        got_ev = sum(1 for e in ev if e.get("event_type") == "mqtt")
        check(got_ev == nev, "%s: %d mqtt events (one per message)" % (name, nev), got_ev)
        sids = {s: n for s, n in want.items() if n}
        total += sum(sids.values())
        print("  %s expected per sid: %s" % (name, dict(sorted(sids.items()))))
        dprun.check_sid_counts(check, dprun.alert_sids(ev), sids, "%s: no other sid fired" % name)
        al = [e for e in dprun.alerts(ev)]
        check(all(a.get("app_proto") == "mqtt" and "mqtt" in a for a in al),
              "%s: alerts carry app_proto mqtt and the mqtt object" % name)
    return total


def v16(v):
    return v.to_bytes(2, "big")


def s(x):
    return v16(len(x)) + x


def pkt(hdr, body):
    rem, out = len(body), b""
    while True:
        b = rem & 0x7f
        rem >>= 7
        out += bytes([b | (0x80 if rem else 0)])
        if not rem:
            break
    return bytes([hdr]) + out + body


CONNECT5 = pkt(0x10, s(b"MQTT") + b"\x05\xc2" + v16(60) + b"\x05\x11\x00\x00\x00\x0a" + s(b"gen-client") +
               s(b"admin") + s(b"hunter2"))
CONNACK5 = pkt(0x20, b"\x00\x00\x03\x22\x00\x0a")
PUB5 = pkt(0x32, s(b"plant/valve") + v16(3) + b"\x00" + b'{"open":true}')
PUBACK5 = pkt(0x40, v16(3) + b"\x10")


def generated_part(check, dp, tmp):
    frames, t = [], 1700000000 * 10**6
    big = pkt(0x30, s(b"big/blob") + b"x" * 40000)
    cases = [  # name, port, segments, mqtt events, {sid: count}, flow is mqtt
        ("mqtt 5 session on 1883", 1883, [(True, CONNECT5), (False, CONNACK5), (True, PUB5), (False, PUBACK5),
                                          (True, pkt(0xc0, b"")), (False, pkt(0xd0, b""))], 6,
         {9715001: 1, 9715002: 1, 9715003: 1, 9715005: 1, 9715006: 1, 9715007: 1, 9715008: 1, 9715011: 1,
          9715013: 1}, True),
        ("a PUBLISH split across three segments, off port (CONNECT decides)", 7000,
         [(True, CONNECT5[:3]), (True, CONNECT5[3:] + PUB5[:5]), (True, PUB5[5:])], 2,
         {9715001: 1, 9715002: 1, 9715003: 1, 9715005: 1, 9715006: 1, 9715011: 1}, True),
        ("a PUBLISH larger than the buffer, then a dup PUBLISH", 1883,
         [(True, CONNECT5), (True, big + pkt(0x3a, s(b"a/b") + v16(9) + b"\x00" + b"{again}"))], 3,
         {9715001: 1, 9715002: 2, 9715003: 1, 9715005: 1, 9715006: 1, 9715011: 1, 9715014: 1}, True),
        ("near miss: HTTP on 1883", 1883, [(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")], 0, {}, False),
        ("near miss: MQTX protocol name off port", 7001,
         [(True, pkt(0x10, s(b"MQTX") + b"\x04\x02" + v16(60) + s(b"c")))], 0, {}, False),
        ("malformed: topic past the end, QoS 3, then a 5-byte length", 1883,
         [(True, CONNECT5 + pkt(0x30, v16(200) + b"short") + pkt(0x36, s(b"t") + v16(1) + b"x") +
           b"\x30\xff\xff\xff\xff\x7f" + PUB5)], 3, {9715001: 1, 9715005: 1, 9715006: 1}, True),
    ]
    for i, (name, port, segs, nev, sids, is_mqtt) in enumerate(cases):
        t = dprun.tcp_conversation(frames, t, "10.30.0.%d" % (10 + i), "10.30.1.%d" % (10 + i), 43000 + i, port, segs)
        t += 10000
    ev = dprun.run_generated(check, dp, tmp, "mqtt", frames, RULES)
    if ev is None:
        return
    for i, (name, port, segs, nev, sids, is_mqtt) in enumerate(cases):
        mine = [e for e in ev if 43000 + i in (e.get("src_port"), e.get("dest_port"))]
        n = sum(1 for e in mine if e.get("event_type") == "mqtt")
        check(n == nev, "%s: %d mqtt event(s)" % (name, nev), n)
        got = dict(dprun.alert_sids(mine))
        check(got == sids, "%s: alerts exactly %s" % (name, sids), got)
        fl = [e.get("app_proto") for e in mine if e.get("event_type") == "flow"]
        check((fl == ["mqtt"]) == is_mqtt, "%s: flow app_proto %s" % (name, "mqtt" if is_mqtt else "not mqtt"), fl)
    mq = [e["mqtt"] for e in ev if e.get("event_type") == "mqtt" and e.get("src_port") == 43000]
    check(mq and mq[0] == {"connect": {"qos": 0, "retain": False, "dup": False, "protocol_string": "MQTT",
                                       "protocol_version": 5,
                                       "flags": {"username": True, "password": True, "will_retain": False,
                                                 "will": False, "clean_session": True},
                                       "client_id": "gen-client", "username": "admin"}},
          "EVE connect object as Suricata writes it (no password)", mq[:1])
    pub = [m for m in mq if "publish" in m]
    check(pub and pub[0]["publish"] == {"qos": 1, "retain": False, "dup": False, "topic": "plant/valve",
                                        "message_id": 3, "message": '{"open":true}'},
          "EVE publish object", pub[:1])
    cut = [e["mqtt"] for e in ev if e.get("event_type") == "mqtt" and e.get("src_port") == 43002 and
           e["mqtt"].get("publish", {}).get("truncated")]
    check(cut and cut[0]["publish"]["skipped_length"] == 40010, "EVE truncated publish with skipped_length", cut)
    st = [e for e in ev if e.get("event_type") == "stats"]
    m = st[-1]["stats"]["app_layer"].get("mqtt", {}) if st else {}
    check(m.get("malformed") == 3 and m.get("truncated") == 1,
          "stats: 3 malformed messages (field past the end, QoS 3, 5-byte length), 1 cut at the buffer", m)


def main():
    return dprun.app_script("mqtt", RULES, ndpi_part, generated_part, 30)


if __name__ == "__main__":
    sys.exit(main())
