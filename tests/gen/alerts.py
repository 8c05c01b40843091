#!/usr/bin/python3
"""Generated traffic with known expected alerts for spectre-dp's signature
engine.

  alerts.py OUTDIR [--seed N]               scenarios (alert_scn.py)
  alerts.py OUTDIR --random N [--seed N]    N random TCP flows + rules

Scenario mode writes OUTDIR/all.pcap (every scenario, interleaved),
OUTDIR/pcaps/NAME.pcap (one scenario's frames, same timestamps),
OUTDIR/alerts.rules (all rules), OUTDIR/rules/NAME.rules (one scenario's),
OUTDIR/classification.config, OUTDIR/config.yaml (flow timeouts,
classification file, vars: HOME_NET [198.18.0.0/15], EXTERNAL_NET
!$HOME_NET, SPECTRE_TEST_PORTS [9500,9501]) and OUTDIR/expected.json.

expected.json (scenarios): {"mode": "scenarios", "pcap", "rules",
"config", "total_alerts", "scenarios": [{"name", "desc", "pcap",
"rules": [text], "sids", "no_alert_sids", "per_worker_state" (threshold
state: compare with --workers 1 only), "flows": [{src_ip, src_port,
dest_ip, dest_port, proto, alerted, app_proto}], "alerts": [{sid, gid,
rev, signature, category, severity, action, count, src_ip, src_port,
dest_ip, dest_port, proto, direction, events: [{timestamp, http?:
{hostname, url}, dns_rrname?, tls_sni?}]}]}]}. Every alert not listed is
unexpected. Random mode: see alert_random.py. Counts come from the
generator's own bookkeeping (which frame carries what), never from a
detector.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcaplib  # noqa: E402
from pcaplib import EPOCH_START_US  # noqa: E402
from scenarios import TIMEOUTS  # noqa: E402

VARS_YAML = ('vars:\n'
             '  address: {HOME_NET: "[198.18.0.0/15]", '
             'EXTERNAL_NET: "!$HOME_NET"}\n'
             '  port: {SPECTRE_TEST_PORTS: "[9500,9501]"}\n')


def config_text(outdir, with_rules=True):
    txt = pcaplib.config_yaml(TIMEOUTS)
    if with_rules:
        txt += "rules:\n  classification: %s\n" % os.path.join(
            os.path.abspath(outdir), "classification.config")
        txt += VARS_YAML
    return txt


def scenarios(outdir, seed):
    from alert_lib import Ctx, classification_config
    from alert_scn import build_all
    ctx = Ctx(seed)
    build_all(ctx)
    ctx.finish()
    g = ctx.g
    g.merge([s for sc in ctx.scns for s in sc.sessions], EPOCH_START_US)
    pcaplib.write_pcap(os.path.join(outdir, "all.pcap"), g.frames)
    for d in ("pcaps", "rules"):
        os.makedirs(os.path.join(outdir, d), exist_ok=True)
    out, all_rules = [], []
    for sc in ctx.scns:
        pcap = "pcaps/%s.pcap" % sc.name
        pcaplib.write_pcap(os.path.join(outdir, pcap),
                           [fr for fr, name in zip(g.frames, g.frame_scn)
                            if name == sc.name])
        with open(os.path.join(outdir, "rules", sc.name + ".rules"),
                  "w") as fh:
            fh.write("".join(r["text"] + "\n" for r in sc.rules))
        all_rules.append("# %s: %s" % (sc.name, sc.desc))
        all_rules += [r["text"] for r in sc.rules]
        js = sc.json(pcap)
        if hasattr(sc, "ja3"):
            js["ja3_string"], js["ja3_hash"] = sc.ja3
        out.append(js)
    assert None not in g.frame_scn, "frame without scenario"
    with open(os.path.join(outdir, "alerts.rules"), "w") as fh:
        fh.write("\n".join(all_rules) + "\n")
    with open(os.path.join(outdir, "classification.config"), "w") as fh:
        fh.write(classification_config())
    sids = [s for sc in out for s in sc["sids"]]
    assert len(sids) == len(set(sids))
    total = sum(a["count"] for sc in out for a in sc["alerts"])
    return {"mode": "scenarios", "seed": seed, "pcap": "all.pcap",
            "rules": "alerts.rules", "config": "config.yaml",
            "frames": len(g.frames), "total_alerts": total,
            "scenarios": out}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, metavar="N",
                    help="N random TCP flows and random content rules")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    if a.random:
        from alert_random import build_random
        exp = build_random(a.outdir, a.random, a.seed)
        cfg = config_text(a.outdir, with_rules=False)
    else:
        exp = scenarios(a.outdir, a.seed)
        cfg = config_text(a.outdir)
    with open(os.path.join(a.outdir, "config.yaml"), "w") as fh:
        fh.write(cfg)
    with open(os.path.join(a.outdir, "expected.json"), "w") as fh:
        json.dump(exp, fh, indent=1)
    if a.random:
        print("wrote %d frames, %d flows, %d rules, %d expected "
              "(sid, flow, direction) hits to %s" % (
                  exp["frames"], exp["flows"], exp["rules"],
                  len(exp["present"]), a.outdir))
    else:
        print("wrote %d frames, %d scenarios, %d expected alerts to %s" % (
            exp["frames"], len(exp["scenarios"]), exp["total_alerts"],
            a.outdir))


if __name__ == "__main__":
    main()
