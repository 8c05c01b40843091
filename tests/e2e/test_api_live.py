#!/usr/bin/python3
"""spectre-cp's live streams and model management through the REST API.

  test_api_live.py   (binaries from $SPECTRE_CP, $SPECTRECTL, $SPECTRE_ML, else build/...; needs python3-jsonschema)

spectre-cp runs with its fake data plane on N generated alerts (--fake-events),
--api and a store in a temp directory. Checks:
- WebSocket /api/v1/stream (token as ?token=): subscribe from seq 0 gets alerts
  1..N in order, no gap, no duplicate; a filter (min_severity) only passes what
  it should; a bad message gets an error and the socket stays up;
- a restart on the same store with the same events (ids N+1..2N): a client that
  resumes from seq N/2 gets N/2+1..2N exactly once (the older half replayed from
  the store: the new process's ring never held it);
- SSE /api/v1/stream/sse with ?resume=alerts:K: ids alerts:K+1.. in order;
- /api/v1/ml/*: roles, status without a model, a model loaded through
  spectrectl shows as active, feature importance of that model (sums to 1,
  names from `spectre-ml schema --csv`), drift report shape, retrain refused when not
  configured, rollback refused with one version; analysts' verdicts exported
  with flow_id/rule/class, per-rule and per-class FP rates, the export written
  for the retrain; /metrics carries the store,
  stream and drift families and the hub's latency histogram (after a client
  took live stats samples); every JSON response validated
  against the served OpenAPI document. Last line "N passed, N failed"; 77: skipped.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
sys.path.insert(0, HERE)
from apiclient import Api, Ws  # noqa: E402
from checks import Checks  # noqa: E402
from cphelp import binary, free_port  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")
TOKENS = {"viewer": "viewer-token-live1", "analyst": "analyst-token-live1", "admin": "admin-token-live1"}
MODEL = os.path.join(ROOT, "ml", "models", "default.spm")
N = 400


def alerts(n):
    out = []
    for i in range(n):
        ev = {"timestamp": "2026-12-07T06:%02d:%02d.000000+0000" % (i // 60 % 60, i % 60), "event_type": "alert",
              "src_ip": "10.9.0.%d" % (1 + i % 50), "src_port": 40000 + i, "dest_ip": "192.168.9.1", "dest_port": 80,
              "proto": "TCP", "alert": {"action": "allowed", "gid": 1, "signature_id": 7000 + i % 4, "rev": 1,
                                        "signature": "LIVE sig %d" % (i % 4), "category": "Test", "severity": 1 + i % 4}}
        ev["flow_id"] = 5000000 + i
        if i % 10 == 0:  # an ML verdict: the class feedback is counted under
            ev["ml"] = {"model": "m", "class": "c2_exfil" if i % 20 == 0 else "scan", "score": 0.9}
        out.append(json.dumps(ev, separators=(",", ":")))
    return out


def start_cp(cp, tmp, port, events, tag, mport=None):
    log = open(os.path.join(tmp, "cp-%s.log" % tag), "w")
    args = [cp, "--foreground", "--fake-dataplane", "--fake-events", events, "--instance", "live%d" % port,
            "--socket", os.path.join(tmp, "cp.sock"), "--registry", os.path.join(tmp, "reg"),
            "--audit", os.path.join(tmp, "audit.log"), "--store", os.path.join(tmp, "store.db"),
            "--api", "127.0.0.1:%d" % port, "--api-tokens", os.path.join(tmp, "tokens.yaml")]
    if mport:
        args += ["--metrics", "127.0.0.1:%d" % mport]
    return subprocess.Popen(args, stdout=log, stderr=log, env=ENV)


def wait_alerts(api, n, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            st, raw, _ = api.raw("GET", "/api/v1/health")
            h = json.loads(raw) if st == 200 else None
            if h and h["store"]["alerts"] >= n and h["store"]["queued"] == 0:
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    return False


def stop(proc):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def seqs_ok(msgs, first, last):
    s = [m["seq"] for m in msgs]
    return s == list(range(first, last + 1)), (s[:5], s[-5:], len(s))


def stream_checks(check, port, n):
    tok = TOKENS["viewer"]
    w = Ws(port, "/api/v1/stream?token=" + tok)
    check(w.status == 101, "websocket upgrade through spectre-cp (101)", w.status)
    w.send({"op": "subscribe", "channels": ["alerts"], "resume": {"alerts": 0}})
    got, _ = w.events("alerts", n)
    ok, d = seqs_ok(got, 1, n)
    check(ok, "stream: alerts 1..%d from seq 0, in order, no gap, no duplicate" % n, d)
    check(all(m["data"]["id"] == m["seq"] for m in got), "stream: each event's data is the REST alert with id == seq")
    w.send({"op": "bogus"})
    m = w.recv()
    while m.get("type") not in ("error",):
        m = w.recv()
    check(m.get("type") == "error" and m.get("reason"), "stream: a bad message gets an error", m)
    w.close()
    bad = Ws(port, "/api/v1/stream?token=wrong")
    check(bad.status == 401, "stream: a bad token is refused (401)", bad.status)
    bad.close()
    f = Ws(port, "/api/v1/stream?token=" + tok)
    f.send({"op": "subscribe", "channels": ["alerts"], "filter": {"min_severity": 1}, "resume": {"alerts": 0}})
    want = [i + 1 for i in range(n) if i % 4 == 0]  # severity 1 + i % 4 == 1
    got, _ = f.events("alerts", want[-1])
    check([m["seq"] for m in got] == want and all(m["data"]["severity"] == 1 for m in got),
          "stream: min_severity 1 passes only severity-1 alerts (%d)" % len(want), [m["seq"] for m in got][:8])
    f.close()


def sse_checks(check, port, k, last):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(("GET /api/v1/stream/sse?channels=alerts&resume=alerts:%d&token=%s HTTP/1.1\r\nHost: x\r\n\r\n"
               % (k, TOKENS["viewer"])).encode())
    data, end, ids = b"", time.time() + 20, []
    while time.time() < end and len(ids) < last - k:
        c = s.recv(65536)
        if not c:
            break
        data += c
        ids = [ln[4:].strip() for ln in data.decode(errors="replace").split("\n") if ln.startswith("id: ")]
    s.close()
    check(b"text/event-stream" in data.split(b"\r\n\r\n")[0], "sse: text/event-stream", data[:200])
    check(ids == ["alerts:%d" % i for i in range(k + 1, last + 1)], "sse: resume=alerts:%d gives %d..%d in order"
          % (k, k + 1, last), (ids[:3], ids[-3:], len(ids)))


def histogram(text, name):
    """A Prometheus histogram of the text format: its TYPE, [(le, cumulative count)], _sum and _count."""
    typ, buckets, vals = None, [], {}
    for ln in text.splitlines():
        if ln == "# TYPE %s histogram" % name:
            typ = "histogram"
        elif ln.startswith(name + "_bucket{le=\""):
            le, _, v = ln[len(name) + 12:].partition("\"} ")
            buckets.append((float(le), int(v)))
        elif ln.startswith(name + "_sum ") or ln.startswith(name + "_count "):
            k, _, v = ln.partition(" ")
            vals[k[len(name) + 1:]] = float(v)
    return typ, buckets, vals.get("sum"), vals.get("count")


def metrics_checks(check, port, mport, n):
    import urllib.request
    # Live deliveries for the hub's latency histogram: the stats channel (one sample a second).
    w = Ws(port, "/api/v1/stream?token=" + TOKENS["viewer"])
    w.send({"op": "subscribe", "channels": ["stats"]})
    got = []
    while len(got) < 2:
        m = w.recv()
        got += [m] if m.get("type") == "event" and m.get("channel") == "stats" else []
    w.close()
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10).read().decode()
    except OSError as e:
        return check(False, "/metrics answers", e)
    vals = {}
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            k, _, v = ln.rpartition(" ")
            vals[k] = v
    check(vals.get("spectre_store_alerts") == str(n), "/metrics: spectre_store_alerts = %d" % n,
          vals.get("spectre_store_alerts"))
    check(int(vals.get("spectre_stream_published_total", "0")) >= n, "/metrics: stream hub counters",
          vals.get("spectre_stream_published_total"))
    check("spectre_ml_alert_rate_change" in vals and "spectre_ml_drift_rows" in vals,
          "/metrics: drift and alert-rate families", [k for k in vals if k.startswith("spectre_ml_")][:6])
    typ, b, total, count = histogram(text, "spectre_stream_latency_seconds")
    les, cum = [x[0] for x in b], [x[1] for x in b]
    check(typ == "histogram" and len(b) >= 2 and les == sorted(les) and les[-1] == float("inf") and
          cum == sorted(cum) and count == cum[-1] and count >= 2 and 0 < total < count,
          "/metrics: spectre_stream_latency_seconds, a histogram of the %d live stats deliveries at least "
          "(cumulative buckets, +Inf = _count, _sum in seconds)" % len(got), (typ, b, total, count))


def feedback_checks(check, api, tmp):
    an, a = TOKENS["analyst"], TOKENS["admin"]
    # alerts 1, 21, 41 (class c2_exfil): false positives; 11 (scan): true positive; 2 (no class): false positive
    for aid, verdict in ((1, "false_positive"), (21, "false_positive"), (41, "false_positive"), (11, "true_positive"),
                         (2, "false_positive")):
        st, b, _ = api.call(check, "POST", "/alerts/%d/feedback" % aid, an, body={"verdict": verdict, "reason": "test"})
        check(st in (200, 201), "feedback on alert %d" % aid, (st, b))
    st, raw, hd = api.call(check, "GET", "/ml/feedback/export", an)
    lines = [json.loads(x) for x in raw.decode().splitlines()] if st == 200 else []
    check(st == 200 and hd.get("content-type", "").startswith("application/x-ndjson") and len(lines) == 5,
          "ml/feedback/export: 5 JSON lines", (st, len(lines)))
    one = [x for x in lines if x.get("target_id") == 21]
    check(one and one[0].get("flow_id") == str(5000000 + 20) and one[0].get("class") == "c2_exfil"
          and one[0].get("sid") == 7000 + 20 % 4, "export: flow_id, class and rule from the stored alert", one)
    st, b, _ = api.call(check, "GET", "/ml/feedback", an)
    cls = {c.get("class"): c for c in b.get("classes", [])} if st == 200 else {}
    check(cls.get("c2_exfil", {}).get("fp") == 3 and cls.get("scan", {}).get("tp") == 1,
          "ml/feedback: per-class FP rates from the stored verdicts", b)
    rules = {r["sid"]: r for r in b.get("rules", [])}
    check(rules.get(7000, {}).get("fp") == 3 and rules.get(7001, {}).get("fp") == 1,
          "ml/feedback: per-rule FP counts", b.get("rules"))
    st, _, _ = api.call(check, "POST", "/ml/retrain", a)
    path = os.path.join(tmp, "reg", "learn", "feedback.jsonl")
    got = open(path).read().splitlines() if os.path.exists(path) else []
    check(len(got) == 5, "ml/retrain writes the stored verdicts where the retrain reads them", (st, path, len(got)))


def ml_checks(check, api, ctl, sock, names):
    """names: the feature names of the model's schema."""
    v, a = TOKENS["viewer"], TOKENS["admin"]
    st, b, _ = api.call(check, "GET", "/ml/status", v)
    check(st == 200 and b["active"] is None, "ml/status: no active model yet", b)
    st, b, _ = api.call(check, "GET", "/ml/importance", v)
    check(st == 404, "ml/importance: 404 without an active model", b)
    st, _, _ = api.call(check, "POST", "/ml/retrain", v)
    check(st == 403, "ml/retrain: viewer refused (403)", st)
    st, b, _ = api.call(check, "POST", "/ml/retrain", a)
    check(st == 409 and "not configured" in b.get("error", ""), "ml/retrain: refused when not configured (409)", b)
    r = subprocess.run([ctl, "--socket", sock, "model", "load", MODEL], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "spectrectl model load", r.stdout + r.stderr)
    st, b, _ = api.call(check, "GET", "/ml/status", v)
    check(st == 200 and b["active"] and len(b["active"]["sha256"]) == 64 and b["versions"],
          "ml/status: the loaded model is active", b)
    st, b, _ = api.call(check, "GET", "/ml/importance", v)
    tot = sum(x["importance"] for x in b.get("model", [])) if st == 200 else 0
    check(st == 200 and b["model"] and abs(tot - 1) < 1e-6, "ml/importance: the active model's importance sums to 1",
          (st, tot))
    check(st == 200 and b["model"] == sorted(b["model"], key=lambda x: -x["importance"]),
          "ml/importance: largest first")
    odd = [x["feature"] for x in b.get("model", []) if x["feature"] not in names] if st == 200 else None
    check(names and odd == [], "ml/importance: feature names of the model (spectre-ml schema)", odd)
    st, b, _ = api.call(check, "GET", "/ml/drift", v)
    check(st == 200 and isinstance(b["features"], list) and "change" in b["alert_rate"],
          "ml/drift: report with features and the alert-rate detector", b)
    st, b, _ = api.call(check, "POST", "/ml/promote", a, body={"version": "no-such-version"})
    check(st in (404, 409), "ml/promote: an unknown version is refused", (st, b))
    st, b, _ = api.call(check, "POST", "/ml/promote", a, body={"nope": 1})
    check(st == 400, "ml/promote: a body without version is 400", (st, b))
    st, b, _ = api.call(check, "POST", "/ml/rollback", a)
    check(st == 409, "ml/rollback: nothing to roll back to (409)", (st, b))
    st, b, _ = api.call(check, "GET", "/audit", a, query={"limit": 50})
    acts = [x["action"] for x in b.get("items", [])] if st == 200 else []
    check(any("/ml/retrain" in x["target"] for x in b.get("items", [])), "audit: the ML requests are audited", acts[:10])


def main():
    cp, ctl = binary("SPECTRE_CP", "ctrlplane/spectre-cp"), binary("SPECTRECTL", "ctrlplane/spectrectl")
    mlb = binary("SPECTRE_ML", "ml/spectre-ml")
    if not cp or not ctl or not mlb:
        print("SKIP: spectre-cp, spectrectl or spectre-ml not built")
        return 77
    schema = subprocess.run([mlb, "schema", "--csv"], capture_output=True, text=True, timeout=60).stdout
    names = set(n for n in schema.strip().split(",") if n)
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-api-live-")
    ev = os.path.join(tmp, "events.json")
    open(ev, "w").write("\n".join(alerts(N)) + "\n")
    with open(os.path.join(tmp, "tokens.yaml"), "w") as f:
        f.write("tokens:\n")
        for role, t in TOKENS.items():
            f.write("  - {name: %s-user, role: %s, token: %s}\n" % (role, role, t))
    port, mport = free_port(), free_port()
    proc = start_cp(cp, tmp, port, ev, "1", mport)
    try:
        base = Api("127.0.0.1", port, {"paths": {}, "components": {}})
        check(wait_alerts(base, N), "spectre-cp stored the %d alerts" % N)
        st, raw, _ = base.raw("GET", "/api/v1/openapi.json")
        api = Api("127.0.0.1", port, json.loads(raw))
        stream_checks(check, port, N)
        metrics_checks(check, port, mport, N)
        ml_checks(check, api, ctl, os.path.join(tmp, "cp.sock"), names)
        feedback_checks(check, api, tmp)
        stop(proc)
        proc = start_cp(cp, tmp, port, ev, "2")  # same store, same events again: ids N+1..2N
        check(wait_alerts(base, 2 * N), "restart: the store holds 2N alerts")
        w = Ws(port, "/api/v1/stream?token=" + TOKENS["viewer"])
        w.send({"op": "subscribe", "channels": ["alerts"], "resume": {"alerts": N // 2}})
        got, _ = w.events("alerts", 2 * N)
        ok, d = seqs_ok(got, N // 2 + 1, 2 * N)
        check(ok, "restart: resume from %d replays %d..%d (store, then ring) once each" % (N // 2, N // 2 + 1, 2 * N), d)
        w.close()
        sse_checks(check, port, N + 10, 2 * N)
    finally:
        stop(proc)
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
