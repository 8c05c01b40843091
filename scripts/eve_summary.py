#!/usr/bin/python3
"""Readable summary of an EVE JSON file: flows by protocol and state, top
talkers, largest flows, and the decoder/flow counters of the last stats event.
  eve_summary.py EVE.json"""
import collections
import json
import sys


def main(path):
    flows, alerts, stats = [], [], None
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("event_type") == "flow":
                flows.append(ev)
            elif ev.get("event_type") == "alert":
                alerts.append(ev)
            elif ev.get("event_type") == "stats":
                stats = ev["stats"]
    print(f"{len(flows)} flow records, {len(alerts)} alerts in {path}\n")
    if alerts:
        sigs = collections.Counter((a["alert"]["signature_id"], a["alert"]["signature"],
                                    a["alert"]["severity"]) for a in alerts)
        print(f"{'alerts':>6}  {'sid':>8}  sev  signature")
        for (sid, msg, sev), n in sigs.most_common(15):
            print(f"{n:>6}  {sid:>8}  {sev:>3}  {msg}")
        ml = [a for a in alerts if "ml" in a]
        if ml:
            by = collections.Counter((a["ml"]["class"], a["ml"]["phase"]) for a in ml)
            print("\nML alerts by class and scoring point: " +
                  ", ".join(f"{c} at {ph}: {n}" for (c, ph), n in sorted(by.items())))
            a = ml[0]
            m = a["ml"]
            print(f"example: {a['src_ip']} -> {a['dest_ip']}:{a.get('dest_port', '')} {a['alert']['signature']} "
                  f"score {m['score']:.3f} >= {m['threshold']} ({m['model']} v{m['version']}, {m['phase']}); why: " +
                  ", ".join(f"{t['name']}={t['value']:g} ({t['contribution']:+.2f})" for t in m["top_features"]))
        print("\nexamples:")
        for a in [a for a in alerts if "ml" not in a][:5] or alerts[:5]:
            app = ""
            for k in ("http", "dns", "tls"):
                if k in a:
                    o = a[k]
                    app = f" {k}: " + (o.get("hostname", "") + o.get("url", "") if k == "http"
                                       else o.get("rrname", "") if k == "dns" else o.get("sni", ""))
            sp = f":{a['src_port']}" if "src_port" in a else ""
            dp = f":{a['dest_port']}" if "dest_port" in a else ""
            print(f"  {a['src_ip']}{sp} -> {a['dest_ip']}{dp} "
                  f"[{a['alert']['action']}] {a['alert']['signature']}{app}")
        print()
    apps = collections.Counter(e.get("app_proto", "-") for e in flows)
    print("app protocols: " + ", ".join(f"{k} {v}" for k, v in apps.most_common()) + "\n")
    by = collections.Counter((e["proto"], e["flow"]["state"], e["flow"]["reason"]) for e in flows)
    print(f"{'proto':<10} {'state':<12} {'ended by':<9} {'flows':>6}")
    for (p, s, r), n in sorted(by.items()):
        print(f"{p:<10} {s:<12} {r:<9} {n:>6}")
    talk = collections.Counter()
    for e in flows:
        talk[e["src_ip"]] += e["flow"]["bytes_toserver"] + e["flow"]["bytes_toclient"]
    print("\ntop initiators by bytes:")
    for ip, b in talk.most_common(5):
        print(f"  {ip:<40} {b:>10} B")
    print("\nlargest flows:")
    big = sorted(flows, key=lambda e: -(e["flow"]["bytes_toserver"] + e["flow"]["bytes_toclient"]))
    for e in big[:8]:
        fl = e["flow"]
        src = f"{e['src_ip']}:{e.get('src_port', '')}".rstrip(":")
        dst = f"{e['dest_ip']}:{e.get('dest_port', '')}".rstrip(":")
        vlan = f" vlan {e['vlan']}" if "vlan" in e else ""
        print(f"  {e['proto']:<9} {src:>28} -> {dst:<28} {fl['pkts_toserver']}/{fl['pkts_toclient']} pkts "
              f"{fl['bytes_toserver']}/{fl['bytes_toclient']} B {fl['state']}{vlan}")
    if stats:
        d, fl = stats["decoder"], stats["flow"]
        bad = {k: v for k, v in d["event"].items() if v}
        print(f"\ndecoder: {d['pkts']} packets, {d['bytes']} bytes; ipv4 {d['ipv4']} ipv6 {d['ipv6']} "
              f"tcp {d['tcp']} udp {d['udp']} icmp {d['icmpv4'] + d['icmpv6']} vlan {d['vlan'] + d['vlan_qinq']}")
        print(f"malformed: {d['invalid']} {bad if bad else ''}")
        print(f"defrag: {stats['defrag']['fragments']} fragments -> {stats['defrag']['reassembled']} datagrams")
        print(f"flows: created {fl['created']} ended {fl['ended']} (timeout {fl['timeout']}, "
              f"forced {fl['forced']}, shutdown {fl['shutdown']}), evicted {fl['evicted']}")
        if "detect" in stats:
            st, det = stats["stream"], stats["detect"]
            print(f"stream: {st['segments']} segments, {st['ooo_segments']} out of order, {st['gaps']} gaps, "
                  f"{st['overlap_diff']} overlaps with other data; detect: {det['alerts']} alerts, "
                  f"{det['suppressed_threshold']} suppressed by thresholds")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
