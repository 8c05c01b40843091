#!/usr/bin/python3
"""Flow records and stats through spectre-cp's API, fed by a real spectre-dp over the shared-memory link.

  test_api_flows.py   (binaries from $SPECTRE_DP, $SPECTRE_CP, else build/...; needs python3-jsonschema)

The campaign capture of tests/gen/campaign_scn.py is read by spectre-dp (`-r`, with `--instance`: its
events go to spectre-cp), held by FIFO gates (tests/e2e/cphelp.Gate) until spectre-cp is attached
and, in the first run, again after the capture, so its last counters can be seen. spectre-dp sends
worker stats every second (eve.stats_interval: 1) and alerts on the SSH brute force's banners (one
rule), so some flows are `alerted`. Runs, each with a fresh store:
- `--store-flows all`: /api/v1/flows holds exactly the flows of a reference offline run (5-tuple,
  bytes, packets, alerted), pages through the cursor without gap or duplicate, and the address,
  port, proto and min_bytes filters select what they should; a WebSocket subscribed to
  flows+stats before the traffic gets every flow (seq 1..N, the REST object) and stats messages
  about once a second: "detached" before spectre-dp, then "attached" with the capture's packet
  count and a packet rate, "detached" again after it exits; a resume on flows replays, a resume
  on stats gets a gap notice;
- `--store-flows alerted --store-flows-min-bytes B`: only the alerted flows of at least B bytes;
- `--api-config` with `api: {flows: {store: all, sample: 3, min_packets: 2}}`: every third of
  the flows of at least 2 packets (the count is exact);
- no flow option: nothing stored, nothing on the flows channel.
Every JSON response and every stream message is validated against the served OpenAPI document
(Flow, StreamStats). Last line "N passed, N failed"; 77: skipped.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cphelp import Gate, binary, free_port, stop, wait_for  # noqa: E402  (puts tests/gen, tests/live on the path)
from apiclient import Api, Ws  # noqa: E402
from checks import Checks  # noqa: E402
import campaign_scn  # noqa: E402
import pcaplib  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")
TOKEN = "viewer-token-flows1"
# Alerts on the SSH brute force's client banners: some flows are `alerted`.
RULE = 'alert tcp any any -> any 22 (msg:"E2E flows: SSH client banner"; flow:to_server; content:"SSH-"; sid:9100001; rev:1;)\n'


def key(f):
    return (f["src_ip"], f["src_port"], f["dest_ip"], f["dest_port"], f["proto"])


def ref_key(e):
    fl = e["flow"]
    return (e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"], e["proto"],
            fl["bytes_toserver"] + fl["bytes_toclient"], fl["pkts_toserver"] + fl["pkts_toclient"],
            bool(fl.get("alerted")))


def row_key(f):
    return key(f) + (f["bytes"], f["pkts"], f["alerted"])


class Run:
    """spectre-cp with the API and a fresh store, then spectre-dp on the gated campaign capture."""

    def __init__(self, check, tmp, bins, tag, flow_args, hold_after=False):
        self.check, self.tmp, self.tag = check, tmp, tag
        self.dp, self.cp = bins
        self.instance = "e2e-flows-%d-%s" % (os.getpid(), tag)
        self.port = free_port()
        self.P = lambda n: os.path.join(tmp, tag + "-" + n)  # noqa: E731
        self.cplog = open(self.P("cp.log"), "w+")
        self.cproc = subprocess.Popen(
            [self.cp, "--foreground", "--instance", self.instance, "--socket", self.P("cp.sock"), "--registry",
             self.P("reg"), "--audit", self.P("audit.log"), "--store", self.P("store.db"), "--api",
             "127.0.0.1:%d" % self.port, "--api-tokens", os.path.join(tmp, "tokens.yaml"), "--no-incidents",
             "--api-rate", "100000", "--api-burst", "100000"]  # the pages of 7 below
            + flow_args, env=ENV, stdout=self.cplog, stderr=self.cplog)
        self.hold_after = hold_after
        self.dproc = None
        self.gates = []

    def api(self):
        base = Api("127.0.0.1", self.port, {"paths": {}, "components": {}})
        if not wait_for(lambda: self._up(base), 30):
            return None
        st, raw, _ = base.raw("GET", "/api/v1/openapi.json")
        return Api("127.0.0.1", self.port, json.loads(raw))

    @staticmethod
    def _up(base):
        try:
            return base.raw("GET", "/api/v1/health")[0] == 200
        except OSError:
            return False

    def start_dp(self):
        empty = open(os.path.join(self.tmp, "empty.pcap"), "rb").read()
        inputs = ["-r", self.P("gate1.pcap"), "-r", os.path.join(self.tmp, "campaign.pcap")]
        os.mkfifo(self.P("gate1.pcap"))
        self.gates.append(Gate(self.P("gate1.pcap"), empty))
        if self.hold_after:  # free=2: the size pass opens it before the capture is read
            os.mkfifo(self.P("gate2.pcap"))
            self.gates.append(Gate(self.P("gate2.pcap"), empty, free=2))
            inputs += ["-r", self.P("gate2.pcap")]
        for g in self.gates:
            g.start()
        self.dplog = open(self.P("dp.log"), "w+")
        self.dproc = subprocess.Popen([self.dp] + inputs + ["--eve", self.P("dp.json"), "--config",
                                      os.path.join(self.tmp, "dp.yaml"), "-S", os.path.join(self.tmp, "e2e.rules"),
                                      "--no-incidents", "--instance",
                                      self.instance, "--home-net", campaign_scn.HOME_NET], env=ENV,
                                      stdout=self.dplog, stderr=self.dplog)
        shm = "/dev/shm/spectre-" + self.instance
        ok = wait_for(lambda: os.path.exists(shm) or self.dproc.poll() is not None, 60) and os.path.exists(shm)
        ok = ok and wait_for(lambda: "attached to data plane" in open(self.P("cp.log")).read(), 30)
        return self.check(ok, "%s: spectre-dp held at the gate, spectre-cp attached" % self.tag,
                          open(self.P("dp.log")).read()[-600:] + open(self.P("cp.log")).read()[-600:])

    def release(self, i):
        self.gates[i].release.set()

    def wait_dp(self):
        try:
            rc = self.dproc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.dproc.kill()
            rc = self.dproc.wait()
        self.check(rc == 0, "%s: spectre-dp read the capture and exited 0" % self.tag, open(self.P("dp.log")).read()[-600:])

    def stop(self):
        for g in self.gates:
            g.done.set()
        if self.dproc and self.dproc.poll() is None:
            self.dproc.kill()
            self.dproc.wait()
        return stop(self.cproc)


def all_flows(check, api, query=None, limit=50):
    """Every page of /flows (validated); (rows, pages) or None on an error."""
    rows, q, pages = [], dict(query or {}), 0
    q["limit"] = limit
    while pages < 10000:
        st, b, _ = api.call(check, "GET", "/flows", TOKEN, query=q, what="GET /flows %s" % (query or {}))
        if st != 200:
            return None
        rows += b["items"]
        pages += 1
        if not b["next_cursor"]:
            break
        q["cursor"] = b["next_cursor"]
    return rows, pages


def stored(check, api, n, secs=30):
    """Waits for the store to hold n flows (the queue drains in batches)."""
    return wait_for(lambda: len((all_flows(check, api, limit=1000) or ([], 0))[0]) >= n, secs, 0.5)


def read_stream(w, api, check, until, secs):
    """Stream messages until until(msgs) or secs pass; each event validated against its schema."""
    msgs, end = [], time.time() + secs
    schema = {"flows": {"$ref": "#/components/schemas/Flow"}, "stats": {"$ref": "#/components/schemas/StreamStats"}}
    bad = []
    while time.time() < end and not until(msgs):
        w.s.settimeout(max(0.1, end - time.time()))
        try:
            m = w.recv()
        except (OSError, EOFError):
            break
        m["_t"] = time.time()
        msgs.append(m)
        if m.get("type") == "event" and m.get("channel") in schema:
            errs = api.schema_ok(schema[m["channel"]], m["data"])
            if errs:
                bad.append((m["channel"], errs))
    check(not bad, "stream messages match the document's Flow / StreamStats", bad[:3])
    return msgs


def stats_of(msgs):
    return [m for m in msgs if m.get("type") == "event" and m.get("channel") == "stats"]


def flows_of(msgs):
    return [m for m in msgs if m.get("type") == "event" and m.get("channel") == "flows"]


def run_all(check, tmp, bins, ref, npkts):
    """--store-flows all: REST, filters, the flows and stats channels, resume."""
    r = Run(check, tmp, bins, "all", ["--store-flows", "all"], hold_after=True)
    try:
        api = r.api()
        if not check(api is not None, "all: the API answers"):
            return
        w = Ws(r.port, "/api/v1/stream?token=" + TOKEN)
        w.send({"op": "subscribe", "channels": ["flows", "stats"]})
        before = read_stream(w, api, check, lambda m: len(stats_of(m)) >= 3, 10)
        st = stats_of(before)
        check(len(st) >= 3 and all(m["data"]["dataplane"] == "detached" for m in st),
              "all: stats before spectre-dp say detached", [m["data"] for m in st][:2])
        gaps = [b["_t"] - a["_t"] for a, b in zip(st, st[1:])]
        check(gaps and all(0.5 <= g <= 1.6 for g in gaps), "all: stats about once a second (%s s apart)"
              % ", ".join("%.2f" % g for g in gaps), gaps)
        if not r.start_dp():
            return
        held = read_stream(w, api, check, lambda m: any(x["data"]["dataplane"] == "attached" and "packets" in x["data"]
                                                        for x in stats_of(m)), 10)
        check(any(x["data"]["dataplane"] == "attached" for x in stats_of(held)),
              "all: stats say attached while spectre-dp waits at the gate", [x["data"] for x in stats_of(held)][-1:])
        r.release(0)
        # The reader hands packets to the workers 32 at a time and the last part batch at the end of all input.
        full = lambda m: any(npkts - 32 < x["data"].get("packets", 0) <= npkts for x in stats_of(m))  # noqa: E731
        run = read_stream(w, api, check, full, 60)
        st = stats_of(held + run)
        check(full(run), "all: stats reach the capture's %d packets (but the reader's last batch) while spectre-dp "
              "is held after it" % npkts, [(x["data"]["dataplane"], x["data"].get("packets")) for x in st][-4:])
        rates = [x["data"]["rates"]["packets_per_s"] for x in st if "rates" in x["data"]]
        check(any(v > 0 for v in rates), "all: a packet rate while the capture was read", rates[-6:])
        r.release(1)  # the end of input ends the flows still open
        r.wait_dp()
        seen = before + held + run
        after = read_stream(w, api, check, lambda m: len(flows_of(seen + m)) >= len(ref) and
                            any(x["data"]["dataplane"] == "detached" for x in stats_of(m)), 30)
        check(any(x["data"]["dataplane"] == "detached" for x in stats_of(after)),
              "all: stats say detached once spectre-dp exited")
        w.close()
        fl = flows_of(seen + after)
        seqs = [m["seq"] for m in fl]  # alerted flows (severity 3) overtake others when the client is backed up
        check(sorted(seqs) == list(range(1, len(ref) + 1)), "all: flows channel: seq 1..%d, no gap, no duplicate "
              "(%s)" % (len(ref), "in order" if seqs == sorted(seqs) else "reordered by priority"), (seqs[:5], len(fl)))
        check(stored(check, api, len(ref)), "all: the store holds the %d flows" % len(ref))
        got = all_flows(check, api, limit=7)
        rows = got[0] if got else []
        check(sorted(row_key(f) for f in rows) == sorted(ref_key(e) for e in ref),
              "all: /api/v1/flows has exactly the reference run's flows (5-tuple, bytes, packets, alerted)",
              (len(rows), len(ref)))
        check(len({f["id"] for f in rows}) == len(rows) == len(ref) and got[1] > 1,
              "all: %d pages of 7 through the cursor, no gap, no duplicate" % (got[1] if got else 0))
        check(sorted(f["id"] for f in rows) == sorted(seqs) and
              all(m["data"] == next(f for f in rows if f["id"] == m["seq"]) for m in fl[:20]),
              "all: each flow event is the REST object with id == seq")
        filters(check, api, rows)
        resume(check, api, r.port, len(ref))
    finally:
        check(r.stop() == 0, "all: spectre-cp stopped cleanly", open(r.P("cp.log")).read()[-600:])


def filters(check, api, rows):
    host = rows[0]["src_ip"].rsplit(".", 1)[0]
    port, proto = rows[0]["dest_port"], rows[-1]["proto"]
    tries = [({"ip": rows[0]["dest_ip"]}, lambda f: rows[0]["dest_ip"] in (f["src_ip"], f["dest_ip"])),
             ({"port": port}, lambda f: port in (f["src_port"], f["dest_port"])),
             ({"proto": proto.lower()}, lambda f: f["proto"] == proto),
             ({"cidr": host + ".0/24"}, lambda f: f["src_ip"].startswith(host + ".") or f["dest_ip"].startswith(host + ".")),
             ({"min_bytes": 10000}, lambda f: f["bytes"] >= 10000)]
    for q, pred in tries:
        got = all_flows(check, api, q, limit=100)
        want = sorted(f["id"] for f in rows if pred(f))
        check(got is not None and sorted(f["id"] for f in got[0]) == want and want,
              "all: filter %s selects %d flows" % (q, len(want)), (len(got[0]) if got else None, len(want)))
    st, b, _ = api.call(check, "GET", "/flows", TOKEN, query={"port": "x"})
    check(st == 400, "all: a bad port is 400", b)


def resume(check, api, port, n):
    w = Ws(port, "/api/v1/stream?token=" + TOKEN)
    k = n // 2
    w.send({"op": "subscribe", "channels": ["flows", "stats"], "resume": {"flows": k, "stats": 1}})
    msgs = read_stream(w, api, check, lambda m: len(flows_of(m)) >= n - k and
                       any(x.get("type") == "gap" for x in m), 20)
    check([m["seq"] for m in flows_of(msgs)] == list(range(k + 1, n + 1)),
          "all: resume flows from %d replays %d..%d" % (k, k + 1, n), [m["seq"] for m in flows_of(msgs)][:5])
    gaps = [m for m in msgs if m.get("type") == "gap"]
    check(len(gaps) == 1 and gaps[0]["channel"] == "stats" and gaps[0]["from_seq"] == 2 and gaps[0]["missed"] >= 5,
          "all: resume on stats gets a gap notice (stats are not replayed)", gaps)
    w.close()


def run_filtered(check, tmp, bins, tag, args, want):
    """A run with other filter options: the store holds exactly `want` (reference flows); so does the channel."""
    r = Run(check, tmp, bins, tag, args)
    try:
        api = r.api()
        if not check(api is not None, "%s: the API answers" % tag) or not r.start_dp():
            return
        w = Ws(r.port, "/api/v1/stream?token=" + TOKEN)
        w.send({"op": "subscribe", "channels": ["flows"]})
        r.release(0)
        r.wait_dp()
        n = want if isinstance(want, int) else len(want)
        msgs = read_stream(w, api, check, lambda m: n and len(flows_of(m)) >= n, 15 if n else 3)  # off: wait 3 s
        w.close()
        stored(check, api, n)
        got = all_flows(check, api, limit=1000)
        rows = got[0] if got else []
        if isinstance(want, int):
            check(len(rows) == want and len(flows_of(msgs)) == want, "%s: %d flows stored and streamed" % (tag, want),
                  (len(rows), len(flows_of(msgs))))
        else:
            check(sorted(row_key(f) for f in rows) == sorted(ref_key(e) for e in want) and
                  len(flows_of(msgs)) == len(want), "%s: stored and streamed exactly the %d expected flows"
                  % (tag, len(want)), (len(rows), len(flows_of(msgs))))
    finally:
        check(r.stop() == 0, "%s: spectre-cp stopped cleanly" % tag, open(r.P("cp.log")).read()[-600:])


def main():
    dp, cp = binary("SPECTRE_DP", "dataplane/spectre-dp"), binary("SPECTRE_CP", "ctrlplane/spectre-cp")
    if not (dp and cp):
        print("SKIP: binaries missing")
        print("0 passed, 0 failed")
        return 77
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-api-flows-")
    try:
        frames, _ = campaign_scn.build()
        pcaplib.write_pcap(os.path.join(tmp, "campaign.pcap"), frames)
        pcaplib.write_pcap(os.path.join(tmp, "empty.pcap"), [])
        open(os.path.join(tmp, "dp.yaml"), "w").write("eve:\n  stats_interval: 1\n")
        open(os.path.join(tmp, "e2e.rules"), "w").write(RULE)
        with open(os.path.join(tmp, "tokens.yaml"), "w") as f:
            f.write("tokens:\n  - {name: viewer-user, role: viewer, token: %s}\n" % TOKEN)
        r = subprocess.run([dp, "-r", os.path.join(tmp, "campaign.pcap"), "--eve", os.path.join(tmp, "ref.json"),
                            "--config", os.path.join(tmp, "dp.yaml"), "-S", os.path.join(tmp, "e2e.rules"),
                            "--no-incidents", "--home-net",
                            campaign_scn.HOME_NET], env=ENV, capture_output=True, text=True, timeout=300)
        if not check(r.returncode == 0, "reference offline run: exit 0", r.stderr[-400:]):
            raise RuntimeError("no reference run")
        ref = [json.loads(x) for x in open(os.path.join(tmp, "ref.json")) if '"event_type":"flow"' in x]
        alerted = [e for e in ref if e["flow"].get("alerted")]
        sizes = sorted(e["flow"]["bytes_toserver"] + e["flow"]["bytes_toclient"] for e in alerted)
        check(len(ref) > 100 and len(alerted) >= 4, "reference: %d flows, %d alerted" % (len(ref), len(alerted)))
        bins = (dp, cp)
        run_all(check, tmp, bins, ref, len(frames))
        if sizes:
            b = next((x for x in sizes if x > sizes[0]), sizes[0])  # some alerted flows pass, some do not
            run_filtered(check, tmp, bins, "alerted", ["--store-flows", "alerted", "--store-flows-min-bytes", str(b)],
                         [e for e in alerted if e["flow"]["bytes_toserver"] + e["flow"]["bytes_toclient"] >= b])
        two = sum(1 for e in ref if e["flow"]["pkts_toserver"] + e["flow"]["pkts_toclient"] >= 2)
        cfg = os.path.join(tmp, "api.yaml")  # the same options from --api-config's api: section
        open(cfg, "w").write("api:\n  flows: {store: all, sample: 3, min_packets: 2}\n  stats_period_ms: 1000\n")
        run_filtered(check, tmp, bins, "sample", ["--api-config", cfg], (two + 2) // 3)
        run_filtered(check, tmp, bins, "off", [], 0)
    except Exception:
        import traceback
        check(False, "no exception", traceback.format_exc())
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
