#!/usr/bin/python3
"""spectre-cp against a live spectre-dp over the shared-memory channel.

  test_controlplane.py   (binaries from $SPECTRE_DP, $SPECTRE_CP, $SPECTRECTL,
                          $SPECTRE_ML, else build/...)

spectre-dp runs live (DPDK net_af_packet in a network namespace, helpers of
tests/live/test_live.py) with `--instance`, the default model and a small
generated rule set; spectre-cp attaches with --eve and --metrics; tcpreplay
sends the ML traffic of tests/gen/ml_traffic.py and UDP packets a rule
alerts on. Checks: spectre-cp's EVE file has the alerts (signature and ML),
flows and stats while spectre-dp's own EVE file stays free of them; every
spectrectl command end to end (status with model and schema hash, stats,
model load of a recompiled version 9, rollback, a corrupt model refused with
exit 1 and nothing changed, rules reload, config reload, alerts tail, flows
top, incidents list); /metrics and /health over HTTP (Cortex's detections
by kind: spectre-cp's live brain ingests the alerts and flows); spectre-cp killed with SIGKILL while
traffic flows and restarted: it re-attaches, the data plane kept running
(packets keep growing) and the events of the outage went to spectre-dp's own
EVE file (fallback) or are counted as channel gaps (events the data
plane could not push meanwhile); spectre-dp killed: status exits 3 and
/health answers 503.
Needs root, iproute2 netns and tcpreplay: exits 77 (skip) otherwise.
Last line "N passed, N failed".
"""
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
import flowcheck  # noqa: E402
import pcaplib  # noqa: E402
import test_live as live  # noqa: E402  (netns helpers; its main() unused)
import cphelp  # noqa: E402
from cphelp import binary, free_port, wait_for  # noqa: E402

MODEL = os.path.join(ROOT, "ml", "models", "default.spm")
MODEL_JSON = os.path.join(ROOT, "ml", "models", "default.json")


def model_classes(ml):
    """The shipped model's classes (spectre-ml inspect), for models compiled from its JSON."""
    out = subprocess.run([ml, "inspect", MODEL], capture_output=True, text=True).stdout
    return next((ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("classes: ")), "")
INSTANCE = "cpe2e%d" % (os.getpid() % 100000)
SIG_SID, SIG_SID2 = 9920001, 9920002
SRC, DST = "198.18.220.1", "198.19.220.1"
RULES = ('alert udp any any -> any 9901 (msg:"cp e2e mark"; content:"CP-E2E-MARK"; '
         'sid:%d; rev:1;)\n' % SIG_SID)
RULES2 = RULES + ('alert udp any any -> any 9901 (msg:"cp e2e second"; content:"CP-E2E-TWO"; '
                  'sid:%d; rev:1;)\n' % SIG_SID2)
# Short flow timeouts so flows end (flow records) while the data plane runs;
# one stats line per second. Event rings of 1 MiB: with 64 KiB, a sanitizer-built
# spectre-cp fell behind the first traffic burst (42 ring gaps, 3 of the 200
# signature alerts counted as lost). A dead spectre-cp is noticed by the data
# plane (local EVE fallback) whatever the ring size.
CONFIG = ("flow:\n  timeouts: {tcp_new: 2, tcp_established: 3, tcp_closing: 1, tcp_closed: 1, udp: 2, "
          "icmp: 2, other: 2}\neve:\n  stats_interval: 1\ncontrol:\n  event_ring_kb: 1024\n")

check = live.Checks()


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except Exception as e:  # connection refused...
        return -1, repr(e)


def udp_pcap(path, n, mark, sport=50000, t0=0):
    frames = []
    for i in range(n):
        payload = b"%s %d" % (mark, i)
        l4 = pcaplib.l4_udp(SRC, DST, sport + (i % 50), 9901, payload)
        et, l3 = pcaplib.ip_packet(SRC, DST, 17, l4)
        frames.append((pcaplib.EPOCH_START_US + t0 + i * 1000, pcaplib.ether(SRC, DST, et, l3)))
    pcaplib.write_pcap(path, frames)


def read_eve(path):
    if not os.path.exists(path):
        return []
    events, _ = flowcheck.parse_eve(path)
    return events


class Cp:
    """spectre-cp in the foreground on a private socket, registry and audit log."""

    def __init__(self, exe, tmp, port, tag, extra=()):
        self.sock = os.path.join(tmp, "cp.sock")
        self.eve = os.path.join(tmp, "cp-eve.json")
        self.log = open(os.path.join(tmp, "cp-%s.log" % tag), "w+")
        self.proc = subprocess.Popen(
            [exe, "--foreground", "--instance", INSTANCE, "--socket", self.sock,
             "--registry", os.path.join(tmp, "reg"), "--audit", os.path.join(tmp, "audit.log"),
             "--eve", self.eve, "--metrics", "127.0.0.1:%d" % port] + list(extra),
            stdout=self.log, stderr=self.log)

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class Receivers:
    """A UDP syslog receiver and an HTTP webhook receiver, each on its own thread."""

    def __init__(self):
        self.syslog, self.hooks = [], []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.stop = False
        hooks = self.hooks

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hooks.append((body, self.headers.get("X-Spectre-Signature", "")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.threads = [threading.Thread(target=self._udp, daemon=True),
                        threading.Thread(target=self.http.serve_forever, daemon=True)]
        for t in self.threads:
            t.start()

    def _udp(self):
        while not self.stop:
            try:
                self.syslog.append(self.udp.recv(70000).decode(errors="replace"))
            except socket.timeout:
                pass

    def close(self):
        self.stop = True
        self.http.shutdown()
        self.udp.close()


def main():
    dp = binary("SPECTRE_DP", "dataplane/spectre-dp")
    cpx = binary("SPECTRE_CP", "ctrlplane/spectre-cp")
    ctlx = binary("SPECTRECTL", "ctrlplane/spectrectl")
    mlx = binary("SPECTRE_ML", "ml/spectre-ml")
    if live.unavailable():
        return check.skip(live.unavailable())
    if not (dp and cpx and ctlx and mlx):
        return check.skip("binaries missing (set SPECTRE_DP, SPECTRE_CP, SPECTRECTL, SPECTRE_ML)")
    why = live.netns_or_why()
    if why:
        return check.skip(why)
    tmp = tempfile.mkdtemp(prefix="spectre-cp-e2e-")
    try:
        run_tests(tmp, dp, cpx, ctlx, mlx)
    except Exception:
        import traceback
        check(False, "no exception", traceback.format_exc())
    finally:
        live.netns_down()
        check.cleanup(tmp)
    return check.summary()


def run_tests(tmp, dp, cpx, ctlx, mlx):
    p = err = cp = None
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    port = free_port()

    def ctl(*args, timeout=60):
        return cphelp.ctl(ctlx, P("cp.sock"), *args, timeout=timeout)

    def jctl(*args):
        return cphelp.jctl(ctlx, P("cp.sock"), *args, timeout=60)

    # Inputs: ML traffic, signature traffic, rules, config, a version-9 model.
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "gen", "ml_traffic.py"), tmp, "--seed", "3"],
                   check=True, capture_output=True)
    udp_pcap(P("sig.pcap"), 200, b"CP-E2E-MARK")
    udp_pcap(P("flood.pcap"), 2000, b"CP-E2E-MARK", sport=51000)
    with open(P("cp.rules"), "w") as fh:
        fh.write(RULES)
    with open(P("cfg.yaml"), "w") as fh:
        fh.write(CONFIG)
    schema = subprocess.run([mlx, "schema", "--csv"], capture_output=True, text=True, check=True).stdout.strip()
    v9 = P("v9.spm")
    r = subprocess.run([mlx, "compile", MODEL_JSON, "-o", v9, "--features", schema, "--classes", model_classes(mlx),
                        "--threshold", "0.7", "--metric", "version=9"], capture_output=True, text=True)
    check(r.returncode == 0 and os.path.exists(v9), "spectre-ml compile of a version-9 model", r.stderr)
    # The starting model: the shipped classifier without its guard, threshold 0 (every flow alerts),
    # so the checks below see ML alerts whatever the shipped model detects on this traffic.
    base = P("v8.spm")
    r = subprocess.run([mlx, "compile", MODEL_JSON, "-o", base, "--features", schema, "--classes",
                        model_classes(mlx), "--threshold", "0", "--metric", "version=8"], capture_output=True, text=True)
    check(r.returncode == 0 and os.path.exists(base), "spectre-ml compile of an always-alerting version-8 model",
          r.stderr)
    corrupt = P("corrupt.spm")
    data = bytearray(open(base, "rb").read())
    data[len(data) // 2] ^= 0x10
    open(corrupt, "wb").write(bytes(data))
    with open(base, "rb") as fh:
        fh.seek(-32, 2)
        default_sha = fh.read().hex()

    # spectre-dp first (it creates the segment), then spectre-cp.
    p, dp_eve, err = live.start_live(tmp, "dp", P("cfg.yaml"),
                                     ["-S", P("cp.rules"), "--strict", "-k", "none", "--instance", INSTANCE,
                                      "--model", base], binary=dp)
    shm = "/dev/shm/spectre-" + INSTANCE
    check(os.path.exists(shm) and (os.stat(shm).st_mode & 0o777) == 0o600,
          "spectre-dp created %s with mode 0600" % shm)
    rx = Receivers()
    cp = Cp(cpx, tmp, port, "1", ["--syslog", "udp://127.0.0.1:%d" % rx.udp.getsockname()[1], "--syslog-format",
                                  "cef", "--webhook", "http://127.0.0.1:%d/hook" % rx.http.server_port,
                                  "--webhook-secret", "s3cret"])
    try:
        ok = wait_for(lambda: ctl("status").returncode == 0, 15)
        check(ok, "spectrectl status exits 0 once spectre-cp attached", cp.text())

        # ---- status
        r, j = jctl("status")
        d = (j or {}).get("result", {}).get("data_plane", {})
        check(d.get("alive") and d.get("pid") == p.pid and d.get("workers", 0) >= 1,
              "status: data plane alive, pid %s, %s workers" % (d.get("pid"), d.get("workers")), r.stdout)
        want_hash = re.search(r"hash ([0-9a-f]{64})", subprocess.run([mlx, "schema"], capture_output=True,
                                                                      text=True).stdout)
        check(want_hash and d.get("schema_hash") == want_hash.group(1),
              "status: feature schema hash %s" % d.get("schema_hash"), r.stdout)
        m = d.get("model") or {}
        check(m.get("name") and m.get("sha256") == default_sha,
              "status: model %s version %s, sha256 of the starting model v8.spm" % (m.get("name"), m.get("version")), r.stdout)
        r = ctl("status")
        check(r.returncode == 0 and "running" in r.stdout and default_sha[:12] in r.stdout, "status human", r.stdout)

        # ---- traffic with alerts
        sent_ml, _ = live.replay(P("mixed.pcap"), "--pps", "3000")
        sent_sig, _ = live.replay(P("sig.pcap"), "--pps", "1000")
        check(sent_ml > 0 and sent_sig == 200, "tcpreplay sent %d + %d packets" % (sent_ml, sent_sig))
        time.sleep(4.0)  # flow timeouts (2-3 s) end the flows: flow records

        def cp_events():
            return read_eve(cp.eve)
        ev = wait_for(lambda: [e for e in cp_events() if e.get("event_type") == "flow"] and cp_events(), 10)
        ev = ev or []
        kinds = {}
        for e in ev:
            kinds[e.get("event_type")] = kinds.get(e.get("event_type"), 0) + 1
        sig = [e for e in ev if e.get("event_type") == "alert" and (e.get("alert") or {}).get("signature_id") == SIG_SID]
        mla = [e for e in ev if e.get("event_type") == "alert" and e.get("ml")]
        check(len(sig) == 200, "spectre-cp EVE: %d signature alerts (want 200)" % len(sig), kinds)
        check(len(mla) > 0, "spectre-cp EVE: %d ML alerts of the default model" % len(mla), kinds)
        check(kinds.get("flow", 0) > 0 and kinds.get("stats", 0) > 0,
              "spectre-cp EVE: flows (%d) and stats lines (%d)" % (kinds.get("flow", 0), kinds.get("stats", 0)), kinds)
        dev = read_eve(dp_eve)
        leaked = [e for e in dev if e.get("event_type") in ("alert", "flow", "http", "dns", "tls")]
        check(not leaked, "spectre-dp's own EVE file has no alerts/flows while spectre-cp is attached (%d)" % len(leaked))

        # ---- syslog (CEF) and webhook (HMAC-SHA256 signed)
        cef = wait_for(lambda: [m for m in rx.syslog if "|1:%d|" % SIG_SID in m] if len(
            [m for m in rx.syslog if "|1:%d|" % SIG_SID in m]) >= 200 else None, 10) or []
        check(len(cef) == 200 and all("CEF:0|InfraSpectre|" in m and "src=%s" % SRC in m for m in cef),
              "syslog: 200 CEF messages for the signature alerts (%d)" % len(cef), rx.syslog[:2])
        wait_for(lambda: len(rx.hooks) >= len(sig) + len(mla), 20)
        good = [b for b, h in rx.hooks
                if h == "sha256=" + hmac.new(b"s3cret", b, hashlib.sha256).hexdigest()]
        hsig = [b for b in good if json.loads(b).get("alert", {}).get("signature_id") == SIG_SID]
        check(len(rx.hooks) > 0 and len(good) == len(rx.hooks) and len(hsig) > 0,
              "webhook: %d posts, all with a valid HMAC signature, %d for sid %d" % (len(rx.hooks), len(hsig),
                                                                                    SIG_SID))

        # ---- stats
        r, j = jctl("stats", "--interval", "500")
        res = (j or {}).get("result", {})
        tot = res.get("total", {})
        ch = res.get("channel", {})
        check(r.returncode == 0 and tot.get("packets", 0) >= sent_ml + sent_sig,
              "stats: %s packets >= sent %d" % (tot.get("packets"), sent_ml + sent_sig), r.stdout)
        check(ch.get("attached") and ch.get("events", 0) > 0 and "gaps" in ch and len(ch.get("rings", [])) >= 3,
              "stats --json channel: %s events, %s gaps, %d rings" % (ch.get("events"), ch.get("gaps"),
                                                                     len(ch.get("rings", []))), r.stdout)
        r = ctl("stats", "--interval", "0")
        check(r.returncode == 0 and "WORKER" in r.stdout and "channel:" in r.stdout, "stats human", r.stdout)

        # ---- models
        r = ctl("model", "load", base)
        check(r.returncode == 0, "model load v8.spm (into the registry)", r.stdout + r.stderr)
        r = ctl("model", "load", v9)
        check(r.returncode == 0, "model load of the recompiled version-9 model", r.stdout + r.stderr)
        r, j = jctl("status")
        m = (j or {}).get("result", {}).get("data_plane", {}).get("model", {})
        check(m.get("version") == "9", "status shows model version 9 (%s)" % m.get("version"), r.stdout)
        v9_sha = m.get("sha256")
        r = ctl("model", "list")
        check(r.returncode == 0 and "9" in r.stdout and len(r.stdout.strip().splitlines()) >= 3, "model list", r.stdout)
        r = ctl("model", "load", corrupt)
        r2, j = jctl("status")
        m = (j or {}).get("result", {}).get("data_plane", {}).get("model", {})
        check(r.returncode == 1 and "nothing changed" in (r.stdout + r.stderr) and m.get("sha256") == v9_sha,
              "corrupt model refused with exit 1, the data plane still runs version 9", r.stdout + r.stderr)
        r = ctl("model", "rollback")
        r2, j = jctl("status")
        m = (j or {}).get("result", {}).get("data_plane", {}).get("model", {})
        check(r.returncode == 0 and m.get("sha256") == default_sha,
              "model rollback: the data plane runs v8.spm again (%s)" % m.get("version"), r.stdout + r.stderr)
        r = ctl("model", "shadow", v9)
        r2, j = jctl("status")
        sh = (j or {}).get("result", {}).get("data_plane", {}).get("shadow_sha256")
        check(r.returncode == 0 and sh == v9_sha, "model shadow v9: status shows the shadow model", r.stdout + r.stderr)
        r = ctl("model", "shadow", "--clear")
        r2, j = jctl("status")
        sh = (j or {}).get("result", {}).get("data_plane", {}).get("shadow_sha256")
        check(r.returncode == 0 and not sh, "model shadow --clear: no shadow model (%r)" % sh, r.stdout + r.stderr)

        # ---- rules and config
        r, j = jctl("status")
        gen0 = (j or {}).get("result", {}).get("data_plane", {}).get("ruleset_version")
        with open(P("cp.rules"), "w") as fh:
            fh.write(RULES2)
        r, j = jctl("rules", "reload")
        res = (j or {}).get("result", {})
        check(r.returncode == 0 and res.get("ruleset_version") not in (None, "", gen0) and res.get("rules_loaded") == 2,
              "rules reload: ruleset %s -> %s, %s rules" % (gen0, res.get("ruleset_version"), res.get("rules_loaded")),
              r.stdout)
        udp_pcap(P("sig2.pcap"), 20, b"CP-E2E-TWO", sport=52000)
        live.replay(P("sig2.pcap"), "--pps", "500")
        ok = wait_for(lambda: len([e for e in read_eve(cp.eve) if (e.get("alert") or {}).get("signature_id") == SIG_SID2]) == 20, 5)
        check(ok, "the reloaded rule alerts (20 alerts of sid %d)" % SIG_SID2)
        r = ctl("config", "reload")
        check(r.returncode == 0, "config reload", r.stdout + r.stderr)
        with open(P("cp.rules"), "w") as fh:
            fh.write(RULES2 + 'alert udp any any -> any 1 (msg:"broken"; content:"x"\n')
        r = ctl("rules", "reload")
        check(r.returncode == 1 and "running rules stay" in r.stderr + r.stdout,
              "a broken rule file: rules reload exits 1, the running rules stay", r.stdout + r.stderr)
        with open(P("cp.rules"), "w") as fh:
            fh.write(RULES2)
        # rules reload FILES: the data plane loads these files from now on.
        with open(P("other.rules"), "w") as fh:
            fh.write(RULES)
        r, j = jctl("rules", "reload", P("other.rules"))
        n1 = (j or {}).get("result", {}).get("rules_loaded")
        r2, j = jctl("rules", "reload", P("cp.rules"))
        n2 = (j or {}).get("result", {}).get("rules_loaded")
        check(r.returncode == 0 and n1 == 1 and r2.returncode == 0 and n2 == 2,
              "rules reload FILE switches files: %r rule(s), then %r" % (n1, n2), r.stdout + r.stderr + r2.stderr)
        r = ctl("rules", "reload", P("missing.rules"))
        check(r.returncode == 1, "rules reload of a missing file exits 1", r.stdout + r.stderr)

        # ---- alerts tail, flows top
        r = ctl("alerts", "tail", "-n", "5")
        check(r.returncode == 0 and len(r.stdout.strip().splitlines()) == 5, "alerts tail -n 5", r.stdout)
        r, j = jctl("alerts", "tail", "-n", "50")
        al = (j or {}).get("result", {}).get("alerts", [])
        check(len(al) == 50 and all(a.get("event_type") == "alert" for a in al), "alerts tail --json: EVE alerts")
        r = ctl("flows", "top", "5")
        lines = r.stdout.strip().splitlines()
        check(r.returncode == 0 and "PROTO" in lines[0] and "ended flows" in r.stdout and len(lines) == 7,
              "flows top 5 (ended flows, says so)", r.stdout)
        r, j = jctl("flows", "top", "3")
        fl = (j or {}).get("result", {}).get("flows", [])
        check(len(fl) == 3 and fl[0]["bytes"] >= fl[1]["bytes"] >= fl[2]["bytes"] and fl[0]["packets"] > 0,
              "flows top 3 --json by bytes", r.stdout)

        # ---- metrics and health
        st, body = http_get("http://127.0.0.1:%d/metrics" % port)
        pk = re.search(r'^spectre_worker_packets_total\{worker="0"\} (\S+)', body, re.M)
        check(st == 200 and pk and float(pk.group(1)) > 0 and "spectre_cp_ring_gaps_total" in body and
              "spectre_alerts_by_signature_total" in body, "/metrics: worker packets, alerts, ring gaps", body[:800])
        # Every listed counter (dataplane/core/counter_table.h) rides WorkerStats.counters: the same packets.
        listed = re.search(r'^spectre_dp_decoder_pkts_total\{worker="0"\} (\S+)', body, re.M)
        check(pk and listed and listed.group(1) == pk.group(1) and re.search(r'^spectre_dp_reloads_total \d', body, re.M)
              and "# TYPE spectre_dp_flow_active gauge" in body,
              "/metrics: the listed counters (spectre_dp_*, per worker and the main thread's)",
              [ln for ln in body.splitlines() if ln.startswith("spectre_dp_decoder")][:4])
        # The live brain (Cortex in spectre-cp) ingests what the link receives.
        det = {m.group(1): float(m.group(2)) for m in
               re.finditer(r'^spectre_detections_total\{kind="(\w+)"\} (\S+)', body, re.M)}
        check(det.get("signature", 0) > 0 and det.get("flow", 0) > 0 and "spectre_incidents_open{" in body,
              "/metrics: Cortex in spectre-cp ingests the live alerts and flows (%s)" % det, body[-800:])
        r, j = jctl("incidents", "list", "--all")
        check(r.returncode == 0 and j and "incidents" in j.get("result", {}), "incidents list over the live link",
              (r.stdout, r.stderr))
        lat = [ln for ln in body.splitlines() if ln.startswith("spectre_model_latency_seconds_count")]
        check(lat and float(lat[0].rsplit(" ", 1)[1]) > 0, "/metrics: model latency histogram (%s)" % lat[:1],
              body[-800:])
        st, body = http_get("http://127.0.0.1:%d/health" % port)
        h = json.loads(body) if st in (200, 503) else {}
        check(st == 200 and h.get("status") == "ok", "/health 200 ok", body)

        # ---- spectre-cp killed while traffic flows, restarted
        r, j = jctl("stats", "--interval", "0")
        pk0 = (j or {}).get("result", {}).get("total", {}).get("packets", 0)
        ch0 = (j or {}).get("result", {}).get("channel", {})
        tx = live.replay_bg(P("flood.pcap"), 2000, 10)
        time.sleep(1.0)
        dp_alerts0 = len([e for e in read_eve(dp_eve) if e.get("event_type") == "alert"])
        cp.proc.kill()
        cp.proc.wait()
        cp.log.close()
        time.sleep(2.0)
        check(p.poll() is None, "spectre-dp keeps running after spectre-cp was killed")
        cp = Cp(cpx, tmp, port, "2")
        ok = wait_for(lambda: ctl("status").returncode == 0, 15)
        check(ok, "restarted spectre-cp re-attaches (status exits 0)", cp.text())
        time.sleep(1.0)
        r, j = jctl("stats", "--interval", "500")
        res = (j or {}).get("result", {})
        pk1 = res.get("total", {}).get("packets", 0)
        ch1 = res.get("channel", {})
        check(pk1 > pk0 and res.get("total", {}).get("pps", 0) > 0,
              "the data plane kept counting packets (%d -> %d, %.0f pps)" % (pk0, pk1, res.get("total", {}).get("pps", 0)))
        # While no spectre-cp reads, the data plane notices the dead consumer
        # (kill(pid, 0)) and writes EVE locally again; what it pushed before
        # noticing is counted as ring gaps. Either way nothing is silently lost.
        dp_alerts1 = len([e for e in read_eve(dp_eve) if e.get("event_type") == "alert"])
        check(dp_alerts1 > dp_alerts0 or ch1.get("gaps", 0) > ch0.get("gaps", 0),
              "events while spectre-cp was down: %d alerts in spectre-dp's own EVE file (fallback), "
              "ring gaps %s -> %s" % (dp_alerts1 - dp_alerts0, ch0.get("gaps"), ch1.get("gaps")), ch1)
        live.sent_by(tx, 60)
        time.sleep(1.0)
        sig_after = [e for e in read_eve(cp.eve) if (e.get("alert") or {}).get("signature_id") == SIG_SID]
        check(len(sig_after) > 200, "alerts keep reaching spectre-cp's EVE file after the restart (%d)" % len(sig_after))
        r = ctl("status")
        check(r.returncode == 0 and "NOT the data plane" not in r.stdout, "status after restart: model in sync",
              r.stdout)

        # ---- spectre-dp killed
        p.kill()
        p.wait()
        ok = wait_for(lambda: ctl("status").returncode == 3, 10)
        check(ok, "spectre-dp killed: spectrectl status exits 3", ctl("status").stdout)
        st = wait_for(lambda: http_get("http://127.0.0.1:%d/health" % port)[0] == 503, 10)
        check(st, "spectre-dp killed: /health answers 503", http_get("http://127.0.0.1:%d/health" % port))
        r = ctl("stats", "--interval", "0")
        check(r.returncode == 3, "stats exits 3 without a data plane", r.stdout + r.stderr)

        # ---- spectre-dp restarted with another model: spectre-cp re-attaches and
        # restores the registry's active model (v8.spm since the rollback).
        p, dp_eve, err = live.start_live(tmp, "dp2", P("cfg.yaml"),
                                         ["-S", P("cp.rules"), "-k", "none", "--instance", INSTANCE, "--model", v9],
                                         binary=dp)

        def dp_model():
            r, j = jctl("status")
            return r.returncode == 0 and (j or {}).get("result", {}).get("data_plane", {}).get("model", {}).get("sha256")
        sha = wait_for(lambda: dp_model() == default_sha and default_sha, 15)
        check(sha == default_sha, "restarted spectre-dp: spectre-cp re-attached and restored the active model "
              "(%s)" % dp_model(), cp.text()[-1500:])
        st = wait_for(lambda: http_get("http://127.0.0.1:%d/health" % port)[0] == 200, 10)
        check(st, "/health 200 again after the data plane restarted")
        rc = cp.stop()
        check(rc == 0, "spectre-cp exits 0 on SIGTERM (%s)" % rc, cp.text())
        san = [ln for ln in cp.text().splitlines() if any(mk in ln for mk in flowcheck.SANITIZER_MARKS)]
        check(not san, "no sanitizer reports from spectre-cp", "\n".join(san[:5]))
    finally:
        rx.close()
        if cp is not None:
            cp.stop()
        if p is not None and p.poll() is None:
            live.stop_live(p, err)
        try:
            os.unlink("/dev/shm/spectre-" + INSTANCE)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
