#!/usr/bin/python3
"""Prints incidents from an EVE file as an analyst reads them.

  incident_report.py EVE.json [--id N] [--all]

Default: the closed incident with the most ATT&CK tactics (the multi-stage
attack). For it: entities, the timeline (member detections in time order with
their tactics), the tactics in order, the risk with each component and its
weight, intel and asset facts, the explanation's summary and steps, and the
response. --all: a one-line list of every incident first.
"""
import argparse
import json
import sys

WEIGHTS = {"signatures": 0.3, "anomaly": 0.25, "correlation": 0.25, "context": 0.2}


def load(path):
    recs = []
    with open(path) as fh:
        for line in fh:
            if '"event_type":"incident"' in line:
                recs.append(json.loads(line)["incident"])
    return recs


def hhmmss(ts):
    return ts[11:19] if len(ts) >= 19 else ts


def show(i):
    ent = i["entities"]
    print("incident %d (%s, campaign %d, %s): %s -> %s" % (i["incident_id"], i["entity"], i["campaign_id"], i["status"],
          ", ".join(ent["attackers"]), ", ".join(ent["victims"])))
    print("  seen %s .. %s; detections %s" % (i["first_seen"], i["last_seen"],
          ", ".join("%s %d" % (k, v) for k, v in i["detections"].items() if v)))
    print("  correlation rules: " + ", ".join("%s (%s) x%d" % (c["name"], c["title"], c["matches"])
                                             for c in i["correlations"]))
    tac = {t["id"]: t["name"] for t in i["mitre"]["tactics"]}
    print("  timeline (member detections, packet time):")
    rows = []  # consecutive repeats of one detection (e.g. an intel hit per beacon) on one line
    for m in i["members"]:
        key = (m["kind"], tac.get(m.get("tactic"), "-"), m["attacker"], m["victim"], m.get("technique", ""),
               m.get("signature", ""))
        if rows and rows[-1][0] == key:
            rows[-1][2] = m["timestamp"]
            rows[-1][3] += 1
        else:
            rows.append([key, m["timestamp"], m["timestamp"], 1])
    for key, t0, t1, n in rows:
        kind, stage, atk, vic, tech, sig = key
        more = "  (x%d until %s)" % (n, hhmmss(t1)) if n > 1 else ""
        print("    %s  %-10s %-20s %s -> %s  %-6s %s%s" % (hhmmss(t0), kind, stage, atk, vic, tech, sig, more))
    if i.get("members_dropped"):
        print("    ... and %d more" % i["members_dropped"])
    print("  tactics in order: " + " -> ".join("%s %s (%s)" % (t["id"], t["name"], hhmmss(t["first_seen"]))
                                             for t in i["mitre"]["tactics"]))
    r = i["risk"]
    print("  risk %.1f %s, confidence %.2f%s" % (r["score"], r["level"], r["confidence"],
          " (capped from %.1f: %s %s)" % (r["capped"]["from"], r["capped"]["rule"], r["capped"]["asset"])
          if "capped" in r else ""))
    for k, v in r["components"].items():
        print("    %-12s %5.1f  (weight %.2f)" % (k, v, WEIGHTS.get(k, 0)))
    h = r.get("history")
    if h and h["points"]:
        print("    %-12s +%4.1f  (entity's risk %.1f from %d earlier incidents)" % ("history", h["points"],
              h["prior_risk"], h["prior_incidents"]))
    for f in i.get("intel") or []:
        print("  intel: %s on %s (threat %s, confidence %.2f)" % (f["indicator"], f["feed"], f["threat"] or "?",
              f["confidence"]))
    for a in i.get("assets") or []:
        print("  asset: %s %s = %s (owner %s, criticality %d, tags %s)" % (a["as"], a["address"], a["name"],
              a["owner"] or "?", a["criticality"], ",".join(a["tags"]) or "-"))
    print("  explanation: " + i["explanation"]["summary"])
    for s in i["explanation"]["steps"]:
        print("    - " + s)
    resp = i.get("response")
    print("  response: " + (json.dumps(resp) if resp else "none (playbooks are not built yet)"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("eve")
    ap.add_argument("--id", type=int)
    ap.add_argument("--all", action="store_true")
    a = ap.parse_args()
    recs = load(a.eve)
    closed = [r for r in recs if r["event"] == "closed"]
    if not closed:
        print("no closed incident in %s" % a.eve)
        return 1
    if a.all:
        for r in closed:
            print("  #%d %-8s %-40s %-6.1f %-8s %s" % (r["incident_id"], r["entity"],
                  ",".join(r["entities"]["attackers"]) + " -> " + ",".join(r["entities"]["victims"]),
                  r["risk"]["score"], r["risk"]["level"], " -> ".join(t["name"] for t in r["mitre"]["tactics"])))
        print()
    if a.id is not None:
        pick = [r for r in closed if r["incident_id"] == a.id]
        if not pick:
            print("no closed incident %d" % a.id)
            return 1
        show(pick[0])
    else:
        show(max(closed, key=lambda r: (len(r["mitre"]["tactics"]), r["risk"]["score"], -r["incident_id"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
