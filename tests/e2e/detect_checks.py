"""POST /api/v1/detect end to end (called by test_api.py; spectre-cp runs with
--spectre-dp, --detect-config and --detect-max-bytes): a generated capture
with a known rule hit (pcap and pcapng), the generated campaign (its alerts
equal to spectre-dp's own run, incidents of its attacker), refusals (role,
body, type, size, unknown job), every response validated against the
served OpenAPI document, and nothing of a job in the live store."""
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dprun  # noqa: E402
import pcaplib  # noqa: E402

MARK_SID, MARK_SIG = 9100001, "DETECT TEST marker"
MARK_CLIENTS = ["10.5.0.%d" % (i + 1) for i in range(3)]
MAX_BYTES = 66000000  # --detect-max-bytes (the campaign capture is ~65 MB)


def setup(tmp, home_net):
    """Writes the rule, the --detect-config file and the marker captures; returns spectre-cp's extra options."""
    with open(os.path.join(tmp, "detect.rules"), "w") as f:
        f.write('alert tcp any any -> any any (msg:"%s"; flow:to_server,established; content:"SPECTRE-DETECT-MARK"; '
                'sid:%d; rev:3;)\n' % (MARK_SIG, MARK_SID))
    with open(os.path.join(tmp, "detect.yaml"), "w") as f:
        f.write('rules:\n  files: [detect.rules]\nvars:\n  address:\n    HOME_NET: "[%s]"\n' % home_net)
    frames, t = [], pcaplib.EPOCH_START_US
    for i, cli in enumerate(MARK_CLIENTS):
        req = b"GET /x HTTP/1.1\r\nHost: a\r\nX-Mark: SPECTRE-DETECT-MARK\r\n\r\n"
        t = dprun.tcp_conversation(frames, t, cli, "198.51.100.7", 41000 + i, 80,
                                   [(True, req), (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
    pcaplib.write_pcap(os.path.join(tmp, "mark.pcap"), frames)
    pcaplib.write_pcapng(os.path.join(tmp, "mark.pcapng"), frames)
    with open(os.path.join(tmp, "mark.pcap"), "rb") as f:
        head = f.read(40)  # the global header and the first record header's start
    with open(os.path.join(tmp, "broken.pcap"), "wb") as f:
        f.write(head + bytes(range(256)) * 8)  # a record length no snaplen allows
    return ["--detect-config", os.path.join(tmp, "detect.yaml"), "--detect-max-bytes", str(MAX_BYTES)]


def submit(c, path, ctype):
    with open(path, "rb") as f:
        data = f.read()
    st, b, hd = c["api"].call(c["check"], "POST", "/detect", c["tokens"]["analyst"], data, headers={"Content-Type": ctype})
    ok = c["check"](st == 202 and isinstance(b, dict) and b.get("job") and hd.get("location") == "/api/v1/detect/" + b["job"],
                    "POST /detect %s (%d bytes, %s): 202 with a job and its Location" % (os.path.basename(path), len(data), ctype),
                    (st, b))
    return b["job"] if ok else None


def wait_job(c, job, timeout=120):
    """Polls the job until done/failed; checks progress never goes back."""
    end, last = time.time() + timeout, -1.0
    b = None
    while time.time() < end:
        st, b, _ = c["api"].call(c["check"], "GET", "/detect/" + job, c["tokens"]["viewer"])
        if st != 200:
            break
        if b["progress"] < last:
            c["check"](False, "job %s: progress does not go back" % job, (last, b["progress"]))
        last = b["progress"]
        if b["state"] in ("done", "failed"):
            c.setdefault("detect_finished", {})[job] = b  # test_api.py asks them again after a restart
            break
        time.sleep(0.2)
    return b


def items(c, job, what):
    st, b, _ = c["api"].call(c["check"], "GET", "/detect/%s/%s" % (job, what), c["tokens"]["viewer"])
    if st == 200:
        c.setdefault("detect_items", {})[(job, what)] = b["items"]
    return b["items"] if st == 200 else None


def check_after_restart(c, api):
    """The jobs of the first run, asked of a restarted spectre-cp on the same store: the same state, counts and items."""
    check, T = c["check"], c["tokens"]
    done = c.get("detect_finished", {})
    check(len(done) >= 3, "detect jobs finished in the first run: %d" % len(done))
    for job, first in done.items():
        st, b, _ = api.call(check, "GET", "/detect/" + job, T["viewer"])
        same = st == 200 and all(b.get(k) == first.get(k) for k in ("state", "alerts", "incidents", "bytes", "error",
                                                                    "warnings", "submitted", "submitted_by"))
        check(same and b.get("submitted_by") == "analyst-user", "after a restart: GET /detect/%s as before (%s, %d alerts)" % (
            job, first["state"], first["alerts"]), (st, b, first))
    for (job, what), first in c.get("detect_items", {}).items():
        st, b, _ = api.call(check, "GET", "/detect/%s/%s" % (job, what), T["viewer"])
        check(st == 200 and b["items"] == first, "after a restart: GET /detect/%s/%s as before (%d)" % (job, what, len(first)),
              (st, len(b.get("items", [])) if isinstance(b, dict) else b))


def refusals(c):
    check, api, T = c["check"], c["api"], c["tokens"]
    with open(os.path.join(c["tmp"], "mark.pcap"), "rb") as f:
        mark = f.read()
    pc = {"Content-Type": "application/vnd.tcpdump.pcap"}
    st, b, _ = api.call(check, "POST", "/detect", T["viewer"], mark, headers=pc)
    check(st == 403 and "analyst" in b.get("error", ""), "POST /detect as viewer: 403", (st, b))
    st, b, _ = api.call(check, "POST", "/detect", T["analyst"], b"%PDF-1.4 this is not a capture" * 4, headers=pc)
    check(st == 400 and "pcap" in b.get("error", ""), "POST /detect with a non-pcap body: 400 with the reason", (st, b))
    st, b, _ = api.call(check, "POST", "/detect", T["analyst"], mark[:10], headers=pc)
    check(st == 400 and "truncated" in b.get("error", ""), "POST /detect with a truncated pcap header: 400", (st, b))
    st, b, _ = api.call(check, "POST", "/detect", T["analyst"], mark, headers={"Content-Type": "text/plain"})
    check(st == 415, "POST /detect as text/plain: 415", (st, b))
    for job in ("1-00000000", "999999-deadbeef"):
        st, b, _ = api.call(check, "GET", "/detect/" + job, T["viewer"])
        check(st == 404 and b.get("error"), "GET /detect/%s (unknown): 404" % job, (st, b))
        st, b, _ = api.call(check, "GET", "/detect/%s/alerts" % job, T["viewer"])
        check(st == 404, "GET /detect/%s/alerts (unknown): 404" % job, (st, b))
    # Over --detect-max-bytes: answered from the Content-Length, before the body is sent.
    s = socket.create_connection(("127.0.0.1", c["port"]), timeout=10)
    s.sendall(b"POST /api/v1/detect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
              b"Content-Type: application/vnd.tcpdump.pcap\r\nContent-Length: %d\r\n\r\n" % (T["analyst"].encode(), MAX_BYTES + 1)
              + mark)
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 20:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.1 413")
    check(ok, "POST /detect with Content-Length %d (> --detect-max-bytes): 413" % (MAX_BYTES + 1), data[:200])
    if ok:
        api.check_response(check, "POST", "/api/v1/detect", 413, body, "application/json", "413 body")
        check(b"%d" % MAX_BYTES in body, "413: the reason names the limit", body[:200])


def run_detect_checks(c, camp_alerts, truth):
    """camp_alerts: spectre-dp's own EVE alerts of the campaign capture (at c["tmp"]/campaign.pcap)."""
    check, api, T = c["check"], c["api"], c["tokens"]
    refusals(c)
    # The marker capture, as pcap and as pcapng: 3 alerts of the known rule, one per client.
    for name, ctype in (("mark.pcap", "application/vnd.tcpdump.pcap"), ("mark.pcapng", "application/octet-stream")):
        job = submit(c, os.path.join(c["tmp"], name), ctype)
        if not job:
            continue
        st = wait_job(c, job)
        check(st and st["state"] == "done" and st["progress"] == 1 and st["alerts"] == 3 and "error" not in st,
              "%s: job done, progress 1, 3 alerts" % name, st)
        al = items(c, job, "alerts") or []
        check(len(al) == 3 and all(a["sid"] == MARK_SID and a["signature"] == MARK_SIG and a["rev"] == 3 for a in al) and
              sorted(a["src_ip"] for a in al) == MARK_CLIENTS and [a["id"] for a in al] == [1, 2, 3] and
              all(a["eve"]["alert"]["signature_id"] == MARK_SID and a["incident_id"] is None for a in al),
              "%s: the alerts are the rule's (sid %d, '%s'), one per client" % (name, MARK_SID, MARK_SIG),
              [(a["sid"], a["signature"], a["src_ip"]) for a in al])
        inc = items(c, job, "incidents")
        check(inc is not None and len(inc) == st["incidents"], "%s: incidents listed = counted" % name, (inc, st))
    # A capture broken after its header: analysed up to the break, the read error reported.
    job = submit(c, os.path.join(c["tmp"], "broken.pcap"), "application/vnd.tcpdump.pcap")
    if job:
        st = wait_job(c, job)
        check(st and st["state"] == "done" and st["alerts"] == 0 and any("read error" in w for w in st.get("warnings", []))
              and not any("spectre-detect-" in w for w in st.get("warnings", [])),
              "broken.pcap: done, the read error in warnings (no temp path)", st)
    # The campaign: the same alerts as spectre-dp's own run, incidents of the attacker against the victim.
    job = submit(c, os.path.join(c["tmp"], "campaign.pcap"), "application/octet-stream")
    if job:
        st = wait_job(c, job, timeout=240)
        check(st and st["state"] == "done" and st["alerts"] == len(camp_alerts) and st["incidents"] >= 1,
              "campaign: job done, %d alerts (spectre-dp's own run), incidents" % len(camp_alerts), st)
        al = items(c, job, "alerts") or []
        key = lambda a: (a["sid"], a["src_ip"], a["dest_ip"], a["timestamp"])  # noqa: E731
        want = sorted((e["alert"]["signature_id"], e["src_ip"], e["dest_ip"]) for e in camp_alerts)
        check(sorted(key(a)[:3] for a in al) == want, "campaign: the alerts equal spectre-dp's (sid, src, dest)",
              (sorted(map(key, al))[:4], want[:4]))
        inc = items(c, job, "incidents") or []
        tactics = set(t for i in inc for t in i["tactics"])
        check(len(inc) == st["incidents"] and all(i["attacker"] == truth["attacker"] and i["victim"] == truth["victim"]
                                                  for i in inc) and set(truth["tactics"]) <= tactics,
              "campaign: %d incident(s) of %s against %s covering the tactics %s" % (
                  len(inc), truth["attacker"], truth["victim"], truth["tactics"]),
              [(i["attacker"], i["victim"], i["level"], i["tactics"]) for i in inc])
        check(all(i["record"].get("incident", {}).get("incident_id") == i["id"] for i in inc),
              "campaign: each incident carries its latest EVE record", [i["record"].get("event_type") for i in inc][:3])
    # Nothing of the jobs in the live store.
    st, b, _ = api.call(check, "GET", "/alerts", T["viewer"], query={"sid": str(MARK_SID)})
    check(st == 200 and b["items"] == [], "the live store has none of the jobs' alerts", (st, b and b.get("items", [])[:1]))
    st, raw, _ = api.raw("GET", "/api/v1/health")
    h = json.loads(raw)
    check(h["store"]["alerts"] == c["total"], "the live store's alert count is unchanged (%d)" % c["total"], h)
