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
file and line. Exit 0 all passed, 1 something failed. Last line: "N passed, N failed".
"""
import argparse
import json
import os
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
    if not a.keep:
        check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
