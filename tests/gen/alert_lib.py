"""Bookkeeping for alert scenarios (alerts.py): rules, trigger packets and
the alerts they must produce. Builds on genlib (frames, TcpConn) without
changing it.

An expected alert is declared with the Step (frame) that must trigger it;
its timestamp, addresses and count come from where that Step was emitted,
never from running a detector.
"""
import struct

from genlib import ACK, FIN, PSH, SYN, Gen, Step, TcpConn
from pcaplib import iso_ts

FIRST_SID = 9000001
CLASSIFICATIONS = [  # name, description, priority
    ("spectre-test-a", "Spectre Test Class A", 2),
    ("spectre-test-b", "Spectre Test Class B", 1),
    ("web-application-attack", "Web Application Attack", 1),
    ("trojan-activity", "A Network Trojan was detected", 1),
    ("bad-unknown", "Potentially Bad Traffic", 2),
    ("misc-activity", "Misc activity", 3),
]
CLASS = {n: (d, p) for n, d, p in CLASSIFICATIONS}


def classification_config():
    return "".join("config classification: %s,%s,%d\n" % c
                   for c in CLASSIFICATIONS)


def quote_msg(msg):
    """Rule msg escaping: \\ " ; are backslash-escaped."""
    return "".join("\\" + ch if ch in '\\";' else ch for ch in msg)


class AGen(Gen):
    """Gen that remembers when each Step went out and to which scenario
    it belongs (Steps have __slots__, so side tables keyed by id)."""

    def __init__(self, seed):
        super().__init__(seed)
        self.ts_of = {}
        self.scn_of = {}
        self.frame_scn = []  # scenario name per frame, parallel to frames
        self.cnt_of = {}     # 1-based frame number in the capture (EVE pcap_cnt)

    def emit(self, t, step):
        super().emit(t, step)
        self.ts_of[id(step)] = t
        self.cnt_of[id(step)] = len(self.frames)
        self.frame_scn.append(self.scn_of.get(id(step)))


class Scn:
    """One scenario: its sessions (each a list of Steps kept in order),
    its rules and the alerts they must raise."""

    def __init__(self, ctx, name, desc, per_worker=False):
        self.ctx, self.g, self.name, self.desc = ctx, ctx.g, name, desc
        self.per_worker = per_worker  # thresholds: state is per worker
        self.sessions, self.rules, self.flows, self.exp = [], [], [], []

    def session(self):
        s = []
        self.sessions.append(s)
        return s

    def flow(self, proto, cip, sip, cport=None, sport=None, app=None):
        f = self.g.flow(proto, cip, sip, cport, sport)
        self.flows.append({"flow": f, "app_proto": app})
        return f

    def rule(self, hdr, body, msg=None, action=None, classtype=None,
             rev=1, priority=None, extra=""):
        """Adds `hdr (msg; body classtype; [priority;] sid; rev;)`, hdr
        starting with the action, and returns its sid. classtype None:
        spectre-test-a; "" none."""
        assert action in (None, hdr.split()[0])
        action = hdr.split()[0]
        sid = self.ctx.next_sid()
        msg = msg or "SPECTRE TEST %s sid %d" % (self.name, sid)
        ct = "spectre-test-a" if classtype is None else classtype
        opts = 'msg:"%s"; %s' % (quote_msg(msg), body.strip())
        if not opts.endswith(";"):
            opts += ";"
        if ct:
            opts += " classtype:%s;" % ct
        if priority is not None:
            opts += " priority:%d;" % priority
        opts += " sid:%d; rev:%d;%s" % (sid, rev, extra)
        self.rules.append({"sid": sid, "rev": rev, "msg": msg,
                           "action": action, "classtype": ct,
                           "priority": priority,
                           "text": "%s (%s)" % (hdr, opts)})
        return sid

    def expect(self, sid, flow, d, steps, app=None):
        """`sid` alerts once per Step in `steps`, on packets of `flow`
        going in direction d ("ts" client->server, "tc" back). app: per
        trigger, a dict of app-layer fields the alert must carry (or one
        dict for all)."""
        steps = list(steps)
        apps = app if isinstance(app, list) else [app] * len(steps)
        self.exp.append({"sid": sid, "flow": flow, "d": d, "steps": steps,
                         "apps": apps})

    def expect_none(self, sid):
        """Documents a rule that must not alert (checked by exact sets)."""
        self.exp.append({"sid": sid, "none": True})

    # ---------------------------------------------------------- results
    def rule_by_sid(self, sid):
        return next(r for r in self.rules if r["sid"] == sid)

    def alerts_json(self):
        out = []
        for e in self.exp:
            if e.get("none"):
                continue
            f, d = e["flow"], e["d"]
            src, dst, sp, dp = f.ends(d)
            r = self.rule_by_sid(e["sid"])
            desc, prio = CLASS.get(r["classtype"], ("", 3))
            events = []
            for st, app in zip(e["steps"], e["apps"]):
                # pcap_cnt: the trigger's number in all.pcap (not in
                # the per-scenario captures)
                ev = {"timestamp": iso_ts(self.g.ts_of[id(st)]),
                      "pcap_cnt": self.g.cnt_of[id(st)]}
                if app:
                    ev.update(app)
                events.append(ev)
            events.sort(key=lambda x: x["timestamp"])
            out.append({
                "sid": e["sid"], "gid": 1, "rev": r["rev"],
                "signature": r["msg"], "category": desc,
                "severity": r["priority"] or prio,
                "action": "would drop" if r["action"] in ("drop", "reject")
                else "allowed",
                "count": len(events), "src_ip": src, "src_port": sp,
                "dest_ip": dst, "dest_port": dp,
                "proto": {6: "TCP", 17: "UDP", 1: "ICMP"}[f.proto],
                "direction": "to_server" if d == "ts" else "to_client",
                "events": events})
        return out

    def json(self, pcap):
        alerted = set()
        for e in self.exp:
            if not e.get("none") and e["steps"]:
                alerted.add(id(e["flow"]))
        flows = []
        for fl in self.flows:
            f = fl["flow"]
            flows.append({"src_ip": f.cip, "src_port": f.cport,
                          "dest_ip": f.sip, "dest_port": f.sport,
                          "proto": {6: "TCP", 17: "UDP", 1: "ICMP"}[f.proto],
                          "alerted": id(f) in alerted,
                          "app_proto": fl["app_proto"]})
        return {"name": self.name, "desc": self.desc, "pcap": pcap,
                "per_worker_state": self.per_worker,
                "rules": [r["text"] for r in self.rules],
                "sids": [r["sid"] for r in self.rules],
                "no_alert_sids": sorted({e["sid"] for e in self.exp
                                         if e.get("none")}),
                "alerts": self.alerts_json(), "flows": flows}


class Ctx:
    """All scenarios of one run; hands out sids and address blocks."""

    def __init__(self, seed):
        self.g = AGen(seed)
        self.scns = []
        self._sid = FIRST_SID
        self._net = 10

    def next_sid(self):
        self._sid += 1
        return self._sid - 1

    def scn(self, name, desc, **kw):
        s = Scn(self, name, desc, **kw)
        self.scns.append(s)
        return s

    def hosts(self):
        """A fresh (client, server) pair: 198.18.N.1 / 198.19.N.1."""
        self._net += 1
        assert self._net < 200  # random mode uses 200+
        return "198.18.%d.1" % self._net, "198.19.%d.1" % self._net

    def finish(self):
        """Tags every Step with its scenario (for per-scenario pcaps)."""
        for s in self.scns:
            for sess in s.sessions:
                for st in sess:
                    self.g.scn_of[id(st)] = s.name


# ------------------------------------------------------------- TCP helpers

class Conn(TcpConn):
    """TcpConn whose data sends return their Step, plus segments at an
    explicit stream offset (for reordering and retransmissions)."""

    def __init__(self, g, sess, flow):
        super().__init__(g, sess, flow)
        self.base = dict(self.seq)  # ISN per direction (before SYN)

    def open(self):
        self.handshake()
        self.base = {d: self.seq[d] for d in self.seq}  # first data byte

    def push(self, d, payload):
        """In-order data segment; returns its Step."""
        self.send(d, PSH | ACK, payload)
        return self.sess[-1]

    def at(self, d, off, payload):
        """Data at stream offset `off` (relative to the first data byte)
        without moving the next in-order position backwards."""
        keep = self.seq[d]
        self.seq[d] = self.base[d] + off
        self.send(d, PSH | ACK, payload)
        self.seq[d] = max(keep, self.seq[d])
        return self.sess[-1]

    def ack(self, d):
        self.send(d, ACK)

    def close(self):
        self.fin_close("ts")


def tcp_exchange(scn, cip, sip, cport, sport, request, response=None,
                 app=None):
    """Handshake, one request segment, optional response, FIN close.
    Returns (flow, request Step, response Step or None)."""
    s = scn.session()
    f = scn.flow(6, cip, sip, cport, sport, app=app)
    c = Conn(scn.g, s, f)
    c.open()
    rq = c.push("ts", request)
    rs = None
    if response is not None:
        c.ack("tc")
        rs = c.push("tc", response)
        c.ack("ts")
    c.close()
    return f, rq, rs


def udp_step(scn, sess, f, d, payload):
    scn.g.udp(sess, f, d, payload)
    return sess[-1]


def icmp_step(scn, sess, f, d, itype, ident, seq, payload):
    scn.g.icmp(sess, f, d, itype, 0, ident, seq, payload)
    return sess[-1]


def dns_tcp(msg):
    """DNS over TCP framing: 2-byte length prefix."""
    return struct.pack("!H", len(msg)) + msg


__all__ = ["ACK", "FIN", "PSH", "SYN", "Step", "Ctx", "Scn", "Conn",
           "tcp_exchange", "udp_step", "icmp_step", "dns_tcp",
           "classification_config"]
