#!/usr/bin/python3
"""What the default configuration found, by layer, against the capture's truth.

  demo_report.py EVE.json [EVE2.json ...] --truth truth.json

Layers: signature (gid 1), behaviour (gid 9100), ML (gid 9000). A flow is
benign when neither endpoint is one of truth.json's attack hosts; an alert
on it is a false positive. Episodes: each expected (what, attacker, victim)
is found when an alert of the right layer names those hosts.
"""
import argparse
import collections
import json

LAYERS = {1: "signature", 9100: "behaviour", 9000: "ML"}


def layer(a):
    return LAYERS.get(a["alert"].get("gid", 1), "gid %d" % a["alert"].get("gid", 1))


def load(paths):
    flows, alerts = [], []
    for p in paths:
        with open(p) as fh:
            for line in fh:
                ev = json.loads(line)
                if ev.get("event_type") == "flow":
                    flows.append(ev)
                elif ev.get("event_type") == "alert":
                    alerts.append(ev)
    return flows, alerts


def found(ep, alerts):
    what, atk, vic = ep
    for a in alerts:
        ends = {a.get("src_ip"), a.get("dest_ip")}
        if what.startswith("web attack"):
            ok = layer(a) == "signature"
        else:
            ok = layer(a) == "behaviour" and a.get("behaviour", {}).get("detector") == what
        if ok and (atk is None or atk in ends) and (vic is None or vic in ends):
            return a
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("eve", nargs="+")
    ap.add_argument("--truth", required=True)
    a = ap.parse_args()
    truth = json.load(open(a.truth))
    bad_hosts = set(truth["attack_hosts"])
    flows, alerts = load(a.eve)
    by_layer = collections.Counter(layer(x) for x in alerts)
    print("alerts by layer: " + ", ".join("%s %d" % (k, by_layer[k]) for k in ("signature", "behaviour", "ML")))

    print("\nexpected attack episodes (tests/gen/demo_traffic.py):")
    hit = 0
    for ep in truth["episodes"]:
        x = found(ep, alerts)
        hit += x is not None
        what, atk, vic = ep
        who = "%s -> %s" % (atk or "many", vic or "many")
        print("  %-4s %-24s %-34s %s" % ("OK" if x else "MISS", what, who,
                                         x["alert"]["signature"] if x else "not detected"))
    print("  %d of %d episodes detected" % (hit, len(truth["episodes"])))

    beh = [x for x in alerts if layer(x) == "behaviour" and x["behaviour"].get("stage") == "start"]
    if beh:
        b = beh[0]["behaviour"]
        print("\nan episode's evidence (one alert per episode, not per flow): %s\n  %s" % (
            beh[0]["alert"]["signature"], json.dumps({k: v for k, v in b.items() if k != "flow_ids"})[:400]))

    benign = {f["flow_id"] for f in flows if f.get("src_ip") not in bad_hosts and f.get("dest_ip") not in bad_hosts}
    fp = collections.defaultdict(set)
    for x in alerts:
        if x.get("src_ip") not in bad_hosts and x.get("dest_ip") not in bad_hosts:
            fp[layer(x)].add(x.get("flow_id") or (x.get("src_ip"), x.get("dest_ip"), x.get("dest_port")))
    n_fp = len(set().union(*fp.values())) if fp else 0
    print("\nbenign traffic: %d flows; flows with a false-positive alert: %d (%.3f%%)%s" % (
        len(benign), n_fp, 100.0 * n_fp / max(1, len(benign)),
        "" if not fp else " — " + ", ".join("%s %d" % (k, len(v)) for k, v in sorted(fp.items()))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
