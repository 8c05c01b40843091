#!/usr/bin/python3
"""Incidents end to end (ctrlplane/cortex/ through spectre-dp's event writer).

  test_incidents.py [SPECTRE_DP] [--keep DIR]   ($SPECTRE_DP; else build/dataplane)

A generated campaign (tests/gen/campaign_scn.py: scan -> SSH brute force -> a long
SSH session -> C2 beaconing -> 30 MB exfiltration, one outside attacker, one
victim, plus benign near misses) run offline with the shipped correlation rules:
exactly two incidents (the attacker's kill chain; the attacker-victim pair with
brute force + long session and beaconing + volume), one campaign, tactics in
order discovery -> credential access -> command and control -> exfiltration, a
level and an explanation, opened once and closed at the end of input, none
touching a benign host; the same with --workers 2; --no-incidents and
incidents.enabled: false write none; a broken rule file stops spectre-dp with
file and line. Context: the victim as a crown jewel in an --assets file scores
higher than as a criticality-2 host and than without the file (exact
arithmetic from the components); the attacker on a Feodo-style --intel list
gives the context component the feed's confidence and is listed in `intel` and
the explanation; an authorized scanner's scan + brute force + login is capped
at score 30 (low) while the same traffic from an unknown host is not; an allow:
entry for the victim's calls to the attacker silences them (counted); a bad
asset file stops spectre-dp naming file and line. Reflex: the shipped playbook
fills the response; automatic actions are listed as not run unless enabled;
enabled, a block command (no shell) gets the attacker once, audited on the
incident and in the audit file; the attacker's accumulated risk covers its two
incidents; a bad playbook file stops spectre-dp naming file and line. Exit 0 all passed, 1 something failed. Last line: "N passed, N failed".
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
import campaign_scn  # noqa: E402
import pcaplib  # noqa: E402
from checks import Checks  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")


def run(dp, pcap, eve, extra=()):
    cmd = [dp, "-r", pcap, "--eve", eve, "--config", "none", "--home-net", campaign_scn.HOME_NET] + list(extra)
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)


def incidents(path):
    with open(path) as f:
        return [json.loads(l)["incident"] for l in f if '"event_type":"incident"' in l]


def shape(recs):
    """What must not depend on the number of workers."""
    out = []
    for r in recs:
        out.append((r["event"], r["entity"], tuple(sorted(c["name"] for c in r["correlations"])),
                    tuple(t["id"] for t in r["mitre"]["tactics"]), r["risk"]["level"]))
    return sorted(out)


def campaign_checks(check, dp, tmp):
    frames, truth = campaign_scn.build()
    pcap = os.path.join(tmp, "campaign.pcap")
    pcaplib.write_pcap(pcap, frames)
    shapes = {}
    for w in (1, 2):
        eve = os.path.join(tmp, "eve%d.json" % w)
        r = run(dp, pcap, eve, ["--workers", str(w)])
        if not check(r.returncode == 0, "campaign --workers %d: exit 0" % w, r.stderr):
            continue
        recs = incidents(eve)
        shapes[w] = shape(recs)
        opened = [x for x in recs if x["event"] == "opened"]
        closed = [x for x in recs if x["event"] == "closed"]
        check(len(opened) == 2 and len(closed) == 2, "--workers %d: two incidents opened and closed" % w,
              [(x["event"], x["entity"], [c["name"] for c in x["correlations"]]) for x in recs])
        check(sorted(x["incident_id"] for x in opened) == sorted(x["incident_id"] for x in closed),
              "--workers %d: each incident opened once and closed once" % w)
        check(all(x["closed_reason"] == "end_of_input" and x["status"] == "resolved" for x in closed),
              "--workers %d: closed at the end of input" % w, closed)
        byent = {x["entity"]: x for x in closed}
        if not check(set(byent) == {"attacker", "pair"}, "--workers %d: an attacker and a pair incident" % w, byent.keys()):
            continue
        att, pair = byent["attacker"], byent["pair"]
        check([c["name"] for c in att["correlations"]] == ["kill_chain"], "--workers %d: attacker incident from the "
              "kill chain rule" % w, att["correlations"])
        tac = [t["id"] for t in att["mitre"]["tactics"]]
        check(tac == truth["tactics"], "--workers %d: tactics in time order %s" % (w, truth["tactics"]), tac)
        check(att["entities"]["attackers"] == [truth["attacker"]] and att["entities"]["victims"] == [truth["victim"]],
              "--workers %d: the attacker and the victim" % w, att["entities"])
        check(sorted(c["name"] for c in pair["correlations"]) == ["beacon_and_volume", "brute_then_session"],
              "--workers %d: pair incident: brute force + long session, beaconing + volume" % w, pair["correlations"])
        check(att["campaign_id"] == pair["campaign_id"], "--workers %d: one campaign" % w)
        check(pair["entities"] == att["entities"] and pair["detections"]["flows"] >= 2,
              "--workers %d: pair incident: same roles (C2 and exfiltration reversed); the long session and the "
              "upload as flows" % w, (pair["entities"], pair["detections"]))
        hosts = {h for x in recs for h in x["entities"]["attackers"] + x["entities"]["victims"]}
        check(hosts == {truth["attacker"], truth["victim"]}, "--workers %d: no benign host in an incident" % w, hosts)
        techs = [t["id"] for t in att["mitre"]["techniques"]]
        check(techs[:4] == ["T1046", "T1110", "T1071", "T1041"], "--workers %d: techniques in order" % w, techs)
        check(att["detections"]["behaviour"] >= 4 and att["behaviours"][:2] == ["scan", "bruteforce"],
              "--workers %d: member detections counted by kind" % w, att["detections"])
        risk = att["risk"]
        comp = risk["components"]
        check(risk["level"] in ("medium", "high", "critical") and 0 < risk["score"] <= 100 and
              comp["correlation"] >= 80 and comp["anomaly"] > 0 and 0 < risk["confidence"] <= 1,
              "--workers %d: risk with its components (%s %s)" % (w, risk["score"], risk["level"]), risk)
        ex = att["explanation"]
        check(truth["attacker"] in ex["summary"] and "Discovery -> Credential Access" in ex["summary"] and
              len(ex["steps"]) >= 4, "--workers %d: explanation" % w, ex)
        check("incidents:" in r.stderr and "2 opened" in r.stderr, "--workers %d: report on stderr" % w, r.stderr[-800:])
    if 1 in shapes and 2 in shapes:
        check(shapes[1] == shapes[2], "--workers 2 gives the incidents of --workers 1", (shapes[1], shapes[2]))
    eve = os.path.join(tmp, "off.json")
    r = run(dp, pcap, eve, ["--no-incidents"])
    check(r.returncode == 0 and not incidents(eve), "--no-incidents: no incident record", r.stderr[-300:])
    cfg = os.path.join(tmp, "off.yaml")
    with open(cfg, "w") as f:
        f.write("incidents:\n  enabled: false\n")
    r = subprocess.run([dp, "-r", pcap, "--eve", eve, "--config", cfg], env=ENV, capture_output=True, text=True,
                       timeout=300)
    check(r.returncode == 0 and not incidents(eve), "incidents.enabled: false: no incident record", r.stderr[-300:])
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("name: x\ndetection:\n  technique: T9999\n")
    r = run(dp, pcap, eve, ["--incident-rules", bad])
    check(r.returncode != 0 and (bad + ":3:") in r.stderr and "T9999" in r.stderr,
          "a bad rule file stops spectre-dp naming file and line", r.stderr[-400:])


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def attacker_incident(recs, atk):
    closed = [x for x in recs if x["event"] == "closed" and x["entity"] == "attacker" and
              x["entities"]["attackers"] == [atk]]
    return closed[0] if closed else None


def weighted(risk, wsum=1.0):
    """The score from its components, plus the history points (bounded at 100), to 0.1."""
    c = risk["components"]
    s = 0.3 * c["signatures"] + 0.25 * c["anomaly"] + 0.25 * c["correlation"] + 0.2 * c["context"]
    want = round(min(100.0, s / wsum + risk["history"]["points"]) * 10) / 10
    return risk["score"] if abs(risk["score"] - want) < 0.051 else want


def own(risk):
    """The score without the history points (runs in which the attacker's earlier incidents differ)."""
    return round((risk["score"] - risk["history"]["points"]) * 10) / 10


def context_checks(check, dp, tmp):
    """Asset file and intel feed: a crown jewel, an intel C2 hit, an authorized scanner."""
    frames, truth = campaign_scn.build()
    pcap = os.path.join(tmp, "campaign.pcap")
    if not os.path.exists(pcap):
        pcaplib.write_pcap(pcap, frames)
    base = jewel = normal = None
    for name, asset in (("none", None), ("jewel", "criticality: 4\n    tags: [crown-jewel]"),
                        ("normal", "criticality: 2")):
        eve = os.path.join(tmp, "ctx-%s.json" % name)
        extra = []
        if asset:
            extra = ["--assets", write(os.path.join(tmp, "assets-%s.yaml" % name),
                                       "assets:\n  - address: %s\n    name: db-primary\n    owner: dba\n    %s\n"
                                       % (truth["victim"], asset))]
        r = run(dp, pcap, eve, extra)
        if not check(r.returncode == 0, "assets %s: exit 0" % name, r.stderr[-400:]):
            return
        inc = attacker_incident(incidents(eve), truth["attacker"])
        if not check(inc is not None, "assets %s: the attacker's incident" % name):
            return
        if name == "none":
            base = inc
        elif name == "jewel":
            jewel = inc
        else:
            normal = inc
    check(jewel["risk"]["components"]["context"] == 100 and jewel["risk"]["score"] == weighted(jewel["risk"]),
          "crown jewel: context 100 with its full weight", jewel["risk"])
    check(normal["risk"]["components"]["context"] == 50 and normal["risk"]["score"] == weighted(normal["risk"]),
          "criticality 2: context 50", normal["risk"])
    check(base["risk"]["components"]["context"] == 0 and base["risk"]["score"] == weighted(base["risk"], 0.8),
          "no asset file: context's weight shared out", base["risk"])
    check(own(jewel["risk"]) > own(normal["risk"]) and own(jewel["risk"]) > own(base["risk"]),
          "the crown jewel's incident scores higher than the same attack on a normal host",
          (jewel["risk"]["score"], normal["risk"]["score"], base["risk"]["score"]))
    check([a["name"] for a in jewel["assets"]] == ["db-primary"] and jewel["assets"][0]["as"] == "victim" and
          "crown-jewel" in jewel["assets"][0]["tags"], "crown jewel: listed in assets", jewel["assets"])
    check("crown jewel db-primary" in jewel["explanation"]["summary"] and
          any(s.startswith("asset: victim %s is db-primary" % truth["victim"]) for s in jewel["explanation"]["steps"]),
          "crown jewel: in the explanation", jewel["explanation"])
    bad = write(os.path.join(tmp, "assets-bad.yaml"), "assets:\n  - address: 10.3.0.10\n    criticality: 7\n")
    r = run(dp, pcap, os.path.join(tmp, "ctx-bad.json"), ["--assets", bad])
    check(r.returncode != 0 and (bad + ":3:") in r.stderr and "out of range" in r.stderr,
          "a bad asset file stops spectre-dp naming file and line", r.stderr[-400:])
    # Allow-list: the victim's calls and upload to that host declared a periodic job.
    allow = write(os.path.join(tmp, "assets-allow.yaml"),
                  "allow:\n  - name: nightly-sync\n    src: %s\n    dst: %s\n    detector: [beacon, exfil]\n"
                  % (truth["victim"], truth["attacker"]))
    eve = os.path.join(tmp, "ctx-allow.json")
    r = run(dp, pcap, eve, ["--assets", allow])
    if check(r.returncode == 0, "allow-list: exit 0", r.stderr[-400:]):
        recs = [x for x in incidents(eve) if x["event"] == "closed"]
        names = sorted(c["name"] for x in recs for c in x["correlations"])
        tac = [t["id"] for x in recs for t in x["mitre"]["tactics"]]
        check("beacon_and_volume" not in names and "kill_chain" not in names and "TA0011" not in tac,
              "allow-list: the job's beacon and upload join no incident and feed no rule", names)
        m = re.search(r"allowed nightly-sync x(\d+)", r.stderr)
        check(m is not None and int(m.group(1)) >= 2 and "detections silenced by the allow-list" in r.stderr,
              "allow-list: silenced detections counted in the report", r.stderr[-600:])
    # Intel: the attacker's address on a Feodo-style C2 list.
    feed = write(os.path.join(tmp, "ipblocklist.csv"),
                 "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
                 "\"2023-11-01 07:44:46\",\"%s\",\"8443\",\"online\",\"2023-12-30\",\"Emotet\"\n" % truth["attacker"])
    eve = os.path.join(tmp, "ctx-intel.json")
    r = run(dp, pcap, eve, ["--intel", feed])
    if check(r.returncode == 0, "intel: exit 0", r.stderr[-400:]):
        inc = attacker_incident(incidents(eve), truth["attacker"])
        if check(inc is not None, "intel: the attacker's incident"):
            hits = [i for i in inc["intel"] if i["indicator"] == truth["attacker"]]
            check(len(hits) == 1 and hits[0]["threat"] == "Emotet" and inc["detections"]["intel"] >= 1,
                  "intel: the hit is listed in the incident", inc["intel"])
            conf = max(i["confidence"] for i in inc["intel"])
            check(inc["risk"]["components"]["context"] == round(conf * 100) and
                  inc["risk"]["score"] == weighted(inc["risk"]),
                  "intel: context = feed confidence x 100 with its full weight", (inc["risk"], inc["intel"]))
            check(own(inc["risk"]) > own(base["risk"]), "intel: higher risk than without the feed",
                  (inc["risk"], base["risk"]))
            check(any(s.startswith("intel: %s on feed" % truth["attacker"]) for s in inc["explanation"]["steps"]),
                  "intel: in the explanation steps", inc["explanation"]["steps"])
    # An authorized scanner: the same scan and login checks from it and from an unknown host.
    spcap = os.path.join(tmp, "scanner.pcap")
    pcaplib.write_pcap(spcap, campaign_scn.build_scanner())
    assets = write(os.path.join(tmp, "assets-scanner.yaml"),
                   "assets:\n  - address: %s\n    name: nessus-01\n    owner: secops\n    tags: [authorized-scanner]\n"
                   % campaign_scn.SCANNER)
    eve = os.path.join(tmp, "ctx-scanner.json")
    r = run(dp, spcap, eve, ["--assets", assets])
    if not check(r.returncode == 0, "scanner: exit 0", r.stderr[-400:]):
        return
    closed = [x for x in incidents(eve) if x["event"] == "closed"]
    mine = [x for x in closed if campaign_scn.SCANNER in x["entities"]["attackers"]]
    other = [x for x in closed if campaign_scn.OTHER in x["entities"]["attackers"]]
    if not check(mine and other, "scanner: an incident for each source", [(x["entities"], x["correlations"]) for x in closed]):
        return
    check(all(x["risk"]["level"] in ("low", "info") and x["risk"]["score"] <= 30 for x in mine),
          "scanner: its incidents are low risk", [x["risk"] for x in mine])
    check(all(x["risk"].get("capped", {}).get("asset") == "nessus-01" and x["risk"]["capped"]["from"] > 30 and
              "authorized scanner nessus-01" in x["explanation"]["summary"] and
              any(s.startswith("business rule: the attacker is authorized scanner nessus-01")
                  for s in x["explanation"]["steps"]) for x in mine),
          "scanner: the explanation says why", [x["explanation"] for x in mine])
    check(all(x["risk"]["score"] > 30 and "capped" not in x["risk"] for x in other),
          "scanner: the same traffic from an unknown host is not capped", [x["risk"] for x in other])


def response_checks(check, dp, tmp):
    """Reflex's playbooks and automatic actions in an offline run."""
    frames, truth = campaign_scn.build()
    pcap = os.path.join(tmp, "campaign.pcap")
    if not os.path.exists(pcap):
        pcaplib.write_pcap(pcap, frames)
    eve = os.path.join(tmp, "resp-off.json")
    r = run(dp, pcap, eve)
    if check(r.returncode == 0, "response: default run exit 0", r.stderr[-400:]):
        inc = attacker_incident(incidents(eve), truth["attacker"])
        resp = inc and inc["response"]
        check(bool(resp) and resp["playbook"] == "contain-exfiltration" and resp["actions"] and resp["escalation"]
              and resp["investigation"], "response: the shipped playbook for exfiltration fills the response", resp)
        check(bool(resp) and [a["action"] for a in resp["audit"]] == ["webhook", "block"] and
              all(a["result"].startswith("not run: automatic actions are off") for a in resp["audit"]),
              "response: automatic actions are off by default (listed as not run)", resp and resp["audit"])
        ent = inc and inc["risk"]["entity"]
        check(bool(ent) and ent["address"] == truth["attacker"] and ent["incidents"] == 2 and
              ent["score"] > inc["risk"]["score"], "response: the attacker's risk accumulates over its two incidents", ent)
    blocked = os.path.join(tmp, "blocked.txt")
    audit = os.path.join(tmp, "response-audit.log")
    cfg = write(os.path.join(tmp, "resp.yaml"),
                "incidents:\n  response:\n    enabled: true\n    timeout: 5s\n    audit: response-audit.log\n"
                "    block_command: [python3, -c, \"import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))\", "
                "%s]\n" % blocked)
    eve = os.path.join(tmp, "resp-on.json")
    r = subprocess.run([dp, "-r", pcap, "--eve", eve, "--config", cfg, "--home-net", campaign_scn.HOME_NET], env=ENV,
                       capture_output=True, text=True, timeout=300)
    if check(r.returncode == 0, "response enabled: exit 0", r.stderr[-400:]):
        inc = attacker_incident(incidents(eve), truth["attacker"])
        au = inc["response"]["audit"] if inc else []
        blk = [a for a in au if a["action"] == "block"]
        check(len(blk) == 1 and blk[0]["target"] == truth["attacker"] and blk[0]["result"] == "ok (exit 0)",
              "response enabled: the attacker blocked by the command, audited on the incident", au)
        web = [a for a in au if a["action"] == "webhook"]
        check(len(web) == 1 and web[0]["result"].startswith("not run: no incidents.response.webhook"),
              "response enabled: a webhook action without a URL says so", web)
        got = open(blocked).read() if os.path.exists(blocked) else ""
        check(got == truth["attacker"] + "\n", "response enabled: the block list got the address once", got)
        lines = [json.loads(l) for l in open(audit)] if os.path.exists(audit) else []
        check(any(l["action"] == "block" and l["target"] == truth["attacker"] and l["result"] == "ok (exit 0)" and
                  l["playbook"] == "contain-exfiltration" and l["time_ns"] > 0 for l in lines),
              "response enabled: the audit file records time, action, target and result", lines)
    bad = write(os.path.join(tmp, "pb-bad.yaml"), "playbooks:\n  - name: x\n    when: {tactics: [exfiltraton]}\n")
    cfg = write(os.path.join(tmp, "pb-bad-cfg.yaml"), "incidents:\n  playbooks: pb-bad.yaml\n")
    r = subprocess.run([dp, "-r", pcap, "--eve", os.path.join(tmp, "pb-bad.json"), "--config", cfg], env=ENV,
                       capture_output=True, text=True, timeout=300)
    check(r.returncode != 0 and (bad + ":3:") in r.stderr and "exfiltraton" in r.stderr,
          "a bad playbook file stops spectre-dp naming file and line", r.stderr[-400:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dp", nargs="?", default=os.environ.get("SPECTRE_DP",
                                                            os.path.join(ROOT, "build", "dataplane", "spectre-dp")))
    ap.add_argument("--keep")
    a = ap.parse_args()
    check = Checks()
    tmp = a.keep or tempfile.mkdtemp(prefix="incidents-")
    os.makedirs(tmp, exist_ok=True)
    campaign_checks(check, a.dp, tmp)
    context_checks(check, a.dp, tmp)
    response_checks(check, a.dp, tmp)
    if not a.keep:
        check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
