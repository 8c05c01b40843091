#!/usr/bin/python3
"""spectre-cp hosts the live brain: incidents from the data plane's events, spectrectl incidents.

  test_cp_incidents.py   (binaries from $SPECTRE_DP, $SPECTRE_CP, $SPECTRECTL, else build/...)

The generated campaign (tests/gen/campaign_scn.py) goes through spectre-dp
offline with --no-incidents; its EVE alert and flow lines are then the events
of spectre-cp's fake data plane (--fake-dataplane --fake-events, what the shm
link hands the brain live). spectre-cp runs Cortex on them with a response
configuration (webhook to a local http.server SOAR, a block command appending to
a temp file, an audit file), exports incident records to its EVE file, to
syslog (CEF over UDP, from level medium) and to the webhook exporter, and
serves /metrics. Checks: `spectrectl incidents list` shows the two incidents,
`show` the playbook, explanation and the audited actions (the SOAR server got
the incident, the block file the attacker once); `set --status` is recorded on
the incident and in an EVE status_changed record, kept at close (false_positive);
bad ids and statuses exit 1 and 2; Prometheus has open incidents by level and
detections by kind; CEF syslog lines carry the incidents; at SIGTERM the open
incidents close into the EVE file. A second run with no traffic after a short
campaign: the incidents close on wall-clock idle (closed_reason idle) before
stop. Last line "N passed, N failed"; 77: skipped.
"""
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cphelp import binary, campaign_eve, ctl, free_port, jctl  # noqa: E402  (puts tests/gen, tests/live on the path)
from checks import Checks  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")


class Sink(http.server.BaseHTTPRequestHandler):
    bodies = []  # (path, body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        Sink.bodies.append((self.path, self.rfile.read(n).decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def records(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l)["incident"] for l in f if '"event_type":"incident"' in l]


def main():
    dp, cp, ctlbin = (binary("SPECTRE_DP", "dataplane/spectre-dp"), binary("SPECTRE_CP", "ctrlplane/spectre-cp"),
                      binary("SPECTRECTL", "ctrlplane/spectrectl"))
    if not (dp and cp and ctlbin):
        print("SKIP: binaries missing")
        return 77
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="cp-incidents-")
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    truth = campaign_eve(check, dp, tmp)
    if truth is None:
        return check.summary()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    web = "http://127.0.0.1:%d" % srv.server_address[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    blocked = P("blocked.txt")
    with open(P("cortex.yaml"), "w") as f:
        f.write("incidents:\n  response:\n    enabled: true\n    webhook: %s/soar\n    timeout: 5s\n"
                "    audit: response.log\n    block_command: [python3, -c, \"import sys; "
                "open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))\", %s]\n" % (web, blocked))
    mport = free_port()
    sock = P("cp.sock")
    log = open(P("cp.log"), "w")
    proc = subprocess.Popen([cp, "--foreground", "--fake-dataplane", "--fake-events", P("dp.json"), "--instance", "inc",
                             "--socket", sock, "--registry", P("reg"), "--audit", P("audit.log"),
                             "--eve", P("cp.json"), "--incidents-config", P("cortex.yaml"),
                             "--webhook", web + "/export", "--syslog", "udp://127.0.0.1:%d" % udp.getsockname()[1],
                             "--syslog-format", "cef", "--metrics", "127.0.0.1:%d" % mport], stdout=log, stderr=log,
                            env=ENV)
    try:
        inc = None
        for _ in range(100):
            r, j = jctl(ctlbin, sock, "incidents", "list")
            if j and j.get("result") and len(j["result"]["incidents"]) >= 2:
                inc = j["result"]["incidents"]
                break
            time.sleep(0.1)
        if not check(inc is not None, "incidents list: the two incidents are open", (r.stdout, r.stderr)):
            return check.summary()
        att = [i for i in inc if i["attackers"] == truth["attacker"] and "kill chain" in i["summary"].lower()]
        check(len(inc) == 2 and len(att) == 1 and all(i["open"] and i["status"] == "new" for i in inc),
              "incidents list: the attacker's kill chain and the pair, open and new", inc)
        aid = att[0]["incident_id"] if att else inc[0]["incident_id"]
        pid = [i["incident_id"] for i in inc if i["incident_id"] != aid][0]
        r = ctl(ctlbin, sock, "incidents", "list")
        check(r.returncode == 0 and truth["attacker"] in r.stdout and "STATUS" in r.stdout, "incidents list: human table",
              r.stdout)
        # Actions run on their own thread: wait for their results.
        show = None
        for _ in range(100):
            r, j = jctl(ctlbin, sock, "incidents", "show", str(aid))
            show = j and j.get("result")
            au = show and show["response"] and show["response"]["audit"]
            if au and all(a["result"] != "pending" for a in au):
                break
            time.sleep(0.1)
        resp = show and show.get("response")
        check(bool(resp) and resp["playbook"] == "contain-exfiltration", "incidents show: the playbook", resp)
        au = resp["audit"] if resp else []
        check([(a["action"], a["result"]) for a in au] == [("webhook", "ok (HTTP 200)"), ("block", "ok (exit 0)")] and
              au[1]["target"] == truth["attacker"], "incidents show: the audited actions (SOAR webhook, block)", au)
        soar = [b for p, b in Sink.bodies if p == "/soar"]
        check(any('"event_type":"incident"' in b and truth["attacker"] in b for b in soar),
              "the SOAR server received the incident", soar[:1])
        got = open(blocked).read() if os.path.exists(blocked) else ""
        check(got == truth["attacker"] + "\n", "the block command got the attacker once", got)
        r = ctl(ctlbin, sock, "incidents", "show", str(aid))
        check(r.returncode == 0 and "playbook contain-exfiltration" in r.stdout and "escalation:" in r.stdout and
              "ok (exit 0)" in r.stdout and "correlation:" in r.stdout, "incidents show: human output", r.stdout)
        # Status.
        r = ctl(ctlbin, sock, "incidents", "set", str(aid), "--status", "investigating")
        check(r.returncode == 0 and "investigating" in r.stdout, "incidents set: exit 0", (r.stdout, r.stderr))
        r, j = jctl(ctlbin, sock, "incidents", "show", str(aid))
        check(j and j["result"]["status"] == "investigating", "incidents set: shown on the incident", j)
        for _ in range(50):  # the EVE file is written by its own thread
            recs = records(P("cp.json"))
            sc = [x for x in recs if x["event"] == "status_changed" and x["incident_id"] == aid]
            if sc:
                break
            time.sleep(0.1)
        check(len(sc) == 1 and sc[0]["status"] == "investigating", "incidents set: an EVE status_changed record",
              [(x["event"], x["status"]) for x in recs])
        r = ctl(ctlbin, sock, "incidents", "set", str(pid), "--status", "false_positive")
        check(r.returncode == 0, "incidents set false_positive: exit 0", r.stderr)
        r = ctl(ctlbin, sock, "incidents", "set", "999", "--status", "resolved")
        check(r.returncode == 1 and "no incident 999" in r.stderr, "incidents set: unknown id exits 1", (r.stdout, r.stderr))
        r = ctl(ctlbin, sock, "incidents", "set", str(aid), "--status", "done")
        check(r.returncode == 2, "incidents set: a bad status exits 2", (r.returncode, r.stderr))
        r = ctl(ctlbin, sock, "incidents", "show", "999")
        check(r.returncode == 1, "incidents show: unknown id exits 1", r.returncode)
        # Outputs.
        exp = [json.loads(b)["incident"] for p, b in Sink.bodies if p == "/export" and '"incident"' in b]
        check(exp and all(x["risk"]["level"] in ("medium", "high", "critical") for x in exp) and
              {x["incident_id"] for x in exp} == {aid, pid}, "webhook exporter: incident records from level medium",
              [(x["incident_id"], x["event"], x["risk"]["level"]) for x in exp])
        cef = []
        t_end = time.time() + 3
        while time.time() < t_end:
            try:
                cef.append(udp.recv(65536).decode())
            except socket.timeout:
                if cef:
                    break
        inc_cef = [m for m in cef if "|incident:" in m]
        ids = {m.split(" cs1=")[1].split()[0] for m in inc_cef if " cs1=" in m}
        check(ids == {str(aid), str(pid)} and all(
            "CEF:0|InfraSpectre|spectre|" in m and "cfp1Label=riskScore" in m and
            any("cs3=%s " % lv in m for lv in ("medium", "high", "critical")) for m in inc_cef),
              "syslog CEF: both incidents' records from level medium", cef[-3:])
        metrics = ""
        for _ in range(20):
            metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5).read().decode()
            if "spectre_incidents_open" in metrics:
                break
            time.sleep(0.2)
        lv = {}
        for ln in metrics.splitlines():
            if ln.startswith("spectre_incidents_open{"):
                lv[ln.split('"')[1]] = float(ln.split()[-1])
        check(sum(lv.values()) == 2 and set(lv) == {"info", "low", "medium", "high", "critical"},
              "/metrics: open incidents by level", lv)
        beh = [ln for ln in metrics.splitlines() if ln.startswith('spectre_detections_total{kind="behaviour"}')]
        check(beh and float(beh[0].split()[-1]) >= 4, "/metrics: detections by kind", beh)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        srv.shutdown()
    check(rc == 0, "spectre-cp stops cleanly", rc)
    recs = records(P("cp.json"))
    closed = {x["incident_id"]: x for x in recs if x["event"] == "closed"}
    check(set(closed) == {aid, pid} and closed[pid]["status"] == "false_positive" and
          closed[aid]["status"] == "resolved", "at stop the open incidents close into the EVE file; the operator's "
          "false_positive stays", {k: v["status"] for k, v in closed.items()})
    lines = [json.loads(l) for l in open(P("response.log"))] if os.path.exists(P("response.log")) else []
    check(sorted(l["action"] for l in lines if l["incident_id"] == aid) == ["block", "webhook"],
          "the response audit file", lines)
    audit = open(P("audit.log")).read() if os.path.exists(P("audit.log")) else ""
    check("incidents set" in audit, "spectre-cp's audit log has the status change", audit[-300:])
    wall_idle(check, cp, ctlbin, tmp)
    check.cleanup(tmp)
    return check.summary()


def beh_line(sec, detector, src, dst, dport, sev):
    """A behaviour alert as the data plane writes it (the fields Cortex reads)."""
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1700000000 + sec)) + ".000000+0000"
    return json.dumps({"timestamp": t, "flow_id": 1 + sec, "event_type": "alert", "src_ip": src, "src_port": 40000,
                       "dest_ip": dst, "dest_port": dport, "proto": "TCP",
                       "alert": {"gid": 9100, "signature_id": 1, "signature": detector, "category": "behaviour",
                                 "severity": sev}, "behaviour": {"detector": detector, "stage": "start"}})


def wall_idle(check, cp, ctlbin, tmp):
    """With no traffic after a campaign, incidents close on wall-clock idle (close_idle of quiet wall
    time after the last event), not only at stop: closed_reason idle in the EVE file before SIGTERM."""
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    atk, vic = "203.0.113.66", "10.3.0.10"
    with open(P("quiet.json"), "w") as f:  # 4 s of packet time: each stage within close_idle of the last
        for sec, det, s, d, port, sev in [(0, "scan", atk, vic, 0, 3), (1, "bruteforce", atk, vic, 22, 2),
                                          (2, "beacon", vic, atk, 8443, 2), (3, "exfil", vic, atk, 443, 1)]:
            f.write(beh_line(sec, det, s, d, port, sev) + "\n")
    with open(P("quiet.yaml"), "w") as f:
        f.write("incidents:\n  close_idle: 3s\n  playbooks: none\n")
    sock = P("quiet.sock")
    log = open(P("quiet.log"), "w")
    proc = subprocess.Popen([cp, "--foreground", "--fake-dataplane", "--fake-events", P("quiet.json"), "--instance",
                             "quiet", "--socket", sock, "--registry", P("reg2"), "--audit", P("audit2.log"),
                             "--eve", P("quiet_cp.json"), "--incidents-config", P("quiet.yaml")], stdout=log,
                            stderr=log, env=ENV)
    try:
        opened, t0, closed_at = False, time.monotonic(), None
        while time.monotonic() - t0 < 20:
            r, j = jctl(ctlbin, sock, "incidents", "list", "--all")
            inc = (j or {}).get("result", {}).get("incidents", [])
            opened = opened or any(i["open"] for i in inc)
            if inc and not any(i["open"] for i in inc):
                closed_at = time.monotonic() - t0
                break
            time.sleep(0.2)
        check(opened and closed_at is not None and closed_at >= 2.5,
              "no traffic: the incidents close on wall-clock idle (~3 s after the last event), before stop",
              (opened, closed_at, inc))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    recs = records(P("quiet_cp.json"))  # closed at stop would say end_of_input
    closed = [x for x in recs if x["event"] == "closed"]
    check(closed and all(x["closed_reason"] == "idle" for x in closed) and
          len(closed) == len({x["incident_id"] for x in recs}), "their closed records say idle",
          [(x["incident_id"], x["closed_reason"]) for x in closed])


if __name__ == "__main__":
    sys.exit(main())
