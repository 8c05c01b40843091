#!/usr/bin/python3
"""Score an IDS's EVE JSON output against a traffic-lab label file.

  score.py --eve EVE.json --labels labels.csv [--json OUT.json] [--slack SECONDS]

Flows: every `flow` event is one flow (events sharing a flow_id are merged).
An alert whose flow_id has no flow event forms a flow from its own fields; an
alert without flow_id joins the flow with the same 5-tuple (either direction)
whose time range, widened by the slack, holds the alert, else a flow of its own.
A flow is *detected* (alerted) when at least one alert belongs to it.

Labels (CSV, header must hold every column below; extra columns are ignored):
  episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts
attacker_ip/victim_ip: an address or a CIDR; victim_ip empty = any host.
proto (TCP/UDP/ICMP/... or a number) and victim_port may be empty = any.
start_ts/end_ts: epoch seconds (decimals allowed) or an EVE/ISO timestamp.
Several rows may share an episode_id (e.g. one row per victim); the episode then
starts at the earliest start_ts and matches a flow when any of its rows does.

A flow belongs to an episode row when one endpoint is the attacker and the other
the victim (either direction), the proto matches, the victim port matches (the
port on the victim's side, or the flow's responder port dest_port, so a
victim-initiated beacon to the attacker's port 443 matches victim_port 443), and
the flow's [start, end] overlaps [start_ts - slack, end_ts + slack]. An ICMP flow
between attacker and victim matches whatever the proto and port (the errors the
episode's packets provoked), as lab/labels.py `matches` does. When several
episodes match, only the most specific ones keep the flow (victim given, proto
given, port given: one point each); ties keep all. Unlabelled flows are benign.

Per-flow figures: each attack class is scored against the benign flows
(dataset = that class's flows + all benign flows): TP/FN from the class's flows,
FP/TN from the benign flows (so FP, TN and FPR are the same on every class row).
"all attacks" scores every attack flow against the benign flows. A flow in
episodes of two classes counts in both classes and once in "all attacks".
TPR = TP/(TP+FN), FPR = FP/(FP+TN), precision = TP/(TP+FP),
F1 = 2*precision*TPR/(precision+TPR); undefined (0/0) values are null / "-".
false_positives_by_signature: per signature, the benign flows it alerted on
and its alerts there. detections_by_signature: per signature and class, the
attack flows it alerted on.

Per episode: detected when any of its flows alerted; latency = first alert
timestamp on its flows minus the episode's start_ts (negative when the first
alert fell in the slack before the start). Per class: episodes, detected,
detection rate, median and max latency over the detected episodes.

Exit: 0 scored, 2 bad arguments, missing file, or unusable labels. Malformed
EVE lines are counted, warned about on stderr, and skipped.
"""
import argparse
import csv
import datetime
import functools
import ipaddress
import json
import statistics
import sys

LABEL_COLUMNS = ("episode_id", "class", "mitre_technique", "attacker_ip", "victim_ip",
                 "proto", "victim_port", "start_ts", "end_ts")
PROTO_NUMBERS = {"1": "ICMP", "6": "TCP", "17": "UDP", "58": "IPV6-ICMP", "132": "SCTP"}
ICMP_PROTOS = ("ICMP", "IPV6-ICMP", "ICMPV6")
DEFAULT_SLACK = 1.0
MAX_WARNINGS = 5  # malformed lines reported one by one; the rest only counted


class InputError(Exception):
    """Unusable input: reported on stderr, exit 2."""


def parse_ts(text):
    """EVE timestamp ("2024-01-01T12:00:00.123456+0000") or ISO 8601 -> epoch seconds."""
    s = str(text).strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    elif len(s) > 5 and s[-5] in "+-" and s[-4:].isdigit():
        s = s[:-2] + ":" + s[-2:]  # +0000 -> +00:00 for fromisoformat on Python < 3.11
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


@functools.lru_cache(maxsize=None)
def norm_ip(text):
    """Canonical text of an address (IPv6 compressed), or the input when not an address."""
    try:
        return ipaddress.ip_address(str(text).strip()).compressed
    except ValueError:
        return str(text).strip()


def norm_proto(p):
    p = str(p).strip().upper()
    return PROTO_NUMBERS.get(p, p)


class Flow:
    __slots__ = ("key", "src", "sport", "dst", "dport", "proto", "start", "end",
                 "app_proto", "alerts", "from_alert", "episodes")

    def __init__(self, key, ev, start, end, from_alert):
        self.key = key
        self.src, self.dst = norm_ip(ev.get("src_ip", "")), norm_ip(ev.get("dest_ip", ""))
        self.sport, self.dport = ev.get("src_port"), ev.get("dest_port")
        self.proto = norm_proto(ev.get("proto", ""))
        self.start, self.end = start, end
        self.app_proto = ev.get("app_proto")
        self.alerts = []  # (ts, alert dict)
        self.from_alert = from_alert
        self.episodes = []

    def tuple_key(self):
        return ordered_key(self.proto, self.src, self.sport, self.dst, self.dport)

    def first_alert(self):
        return min(ts for ts, _ in self.alerts) if self.alerts else None


def ordered_key(proto, src, sport, dst, dport):
    """Direction-free 5-tuple (lower endpoint first); a missing port is -1."""
    a = (src, sport if isinstance(sport, int) else -1)
    b = (dst, dport if isinstance(dport, int) else -1)
    return (proto,) + (a + b if a <= b else b + a)


def tuple_key_of(ev):
    return ordered_key(norm_proto(ev.get("proto", "")), norm_ip(ev.get("src_ip", "")),
                       ev.get("src_port"), norm_ip(ev.get("dest_ip", "")), ev.get("dest_port"))


def read_eve(path, slack, warn):
    """Returns (flows list, counters dict)."""
    c = {"lines": 0, "malformed_lines": 0, "flow_events": 0, "alerts": 0,
         "alerts_bad_timestamp": 0, "flows_from_alerts": 0, "alerts_matched_by_tuple": 0,
         "other_events": 0}
    by_id, flows, alerts = {}, [], []
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError as e:
        raise InputError(f"cannot read EVE file {path}: {e.strerror}")
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            c["lines"] += 1
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError("not a JSON object")
                et = ev.get("event_type")
                if et == "flow":
                    fl = ev.get("flow") or {}
                    ts = ev.get("timestamp")
                    start = parse_ts(fl.get("start", ts))
                    end = parse_ts(fl.get("end", ts))
                    c["flow_events"] += 1
                    fid = ev.get("flow_id")
                    if fid is not None and fid in by_id:  # same flow reported twice: merge
                        old = by_id[fid]
                        old.start, old.end = min(old.start, start), max(old.end, end)
                        continue
                    flow = Flow(fid if fid is not None else ("line", n), ev, start, end, False)
                    flows.append(flow)
                    if fid is not None:
                        by_id[fid] = flow
                elif et == "alert":
                    if not isinstance(ev.get("alert"), dict):
                        raise ValueError("alert event without an alert object")
                    try:
                        ts = parse_ts(ev["timestamp"])
                    except (KeyError, ValueError, TypeError):
                        c["alerts_bad_timestamp"] += 1
                        raise ValueError("alert without a valid timestamp")
                    alerts.append((n, ts, ev))
                    c["alerts"] += 1
                else:
                    c["other_events"] += 1
            except (ValueError, TypeError, AttributeError) as e:
                c["malformed_lines"] += 1
                if c["malformed_lines"] <= MAX_WARNINGS:
                    warn(f"{path}:{n}: skipped malformed line ({e})")
    if c["malformed_lines"] > MAX_WARNINGS:
        warn(f"{path}: {c['malformed_lines']} malformed lines skipped in all")

    by_tuple = {}
    for flow in flows:
        by_tuple.setdefault(flow.tuple_key(), []).append(flow)
    for n, ts, ev in alerts:
        fid = ev.get("flow_id")
        flow = by_id.get(fid) if fid is not None else None
        if flow is None and fid is None:  # no flow_id: same 5-tuple, time inside the flow
            for cand in by_tuple.get(tuple_key_of(ev), ()):
                if cand.start - slack <= ts <= cand.end + slack:
                    flow = cand
                    c["alerts_matched_by_tuple"] += 1
                    break
        if flow is None:  # a flow of its own, from the alert's fields
            flow = Flow(fid if fid is not None else ("alert", n), ev, ts, ts, True)
            flows.append(flow)
            if fid is not None:
                by_id[fid] = flow
            by_tuple.setdefault(flow.tuple_key(), []).append(flow)
            c["flows_from_alerts"] += 1
        flow.alerts.append((ts, ev["alert"]))
        flow.start, flow.end = min(flow.start, ts), max(flow.end, ts)
    return flows, c


def parse_net(text, what, where):
    s = text.strip()
    try:
        if "/" in s:
            return ipaddress.ip_network(s, strict=False)
        return norm_ip(ipaddress.ip_address(s).compressed)
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not an address or CIDR")


def parse_time(text, what, where):
    s = text.strip()
    try:
        return float(s)
    except ValueError:
        pass
    try:
        return parse_ts(s)
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not epoch seconds or a timestamp")


class Rule:
    """One label row: how a flow is matched to its episode."""
    __slots__ = ("episode", "attacker", "victim", "proto", "port", "start", "end", "specificity")

    def matches_endpoints(self, a, b):
        """a: the endpoint that is the attacker; b: the other one."""
        if isinstance(self.attacker, str):
            if a != self.attacker:
                return False
        elif not ip_in(a, self.attacker):
            return False
        if self.victim is None:
            return True
        if isinstance(self.victim, str):
            return b == self.victim
        return ip_in(b, self.victim)


@functools.lru_cache(maxsize=None)
def ip_obj(addr):
    try:
        return ipaddress.ip_address(addr)
    except ValueError:
        return None


def ip_in(addr, net):
    a = ip_obj(addr)
    return a is not None and a.version == net.version and a in net


def read_labels(path):
    """Returns (episodes dict id -> info, rules list)."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"cannot read labels file {path}: {e.strerror}")
    episodes, rules = {}, []
    with f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in LABEL_COLUMNS if c not in header]
        if missing:
            raise InputError(f"{path}: labels header lacks column(s) {', '.join(missing)} "
                             f"(need {','.join(LABEL_COLUMNS)})")
        reader.fieldnames = header
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row:
                raise InputError(f"{where}: more fields than header columns")
            row = {k: (v or "").strip() for k, v in row.items()}
            if not any(row.values()):
                continue
            eid, cls = row["episode_id"], row["class"]
            if not eid or not cls:
                raise InputError(f"{where}: episode_id and class must not be empty")
            if cls in ("benign", "all attacks"):
                raise InputError(f"{where}: class name {cls!r} is reserved")
            r = Rule()
            if not row["attacker_ip"]:
                raise InputError(f"{where}: attacker_ip must not be empty")
            r.attacker = parse_net(row["attacker_ip"], "attacker_ip", where)
            r.victim = parse_net(row["victim_ip"], "victim_ip", where) if row["victim_ip"] else None
            r.proto = norm_proto(row["proto"]) if row["proto"] else None
            if row["victim_port"]:
                try:
                    r.port = int(float(row["victim_port"]))
                except ValueError:
                    raise InputError(f"{where}: victim_port {row['victim_port']!r} is not a number")
            else:
                r.port = None
            r.start = parse_time(row["start_ts"], "start_ts", where)
            r.end = parse_time(row["end_ts"], "end_ts", where)
            if r.end < r.start:
                raise InputError(f"{where}: end_ts is before start_ts")
            r.specificity = (r.victim is not None) + (r.proto is not None) + (r.port is not None)
            ep = episodes.get(eid)
            if ep is None:
                ep = episodes[eid] = {"episode_id": eid, "class": cls,
                                      "mitre_technique": row["mitre_technique"],
                                      "start_ts": r.start, "end_ts": r.end, "flows": []}
            elif ep["class"] != cls:
                raise InputError(f"{where}: episode {eid} has class {cls!r} here but "
                                 f"{ep['class']!r} on an earlier row")
            ep["start_ts"], ep["end_ts"] = min(ep["start_ts"], r.start), max(ep["end_ts"], r.end)
            r.episode = eid
            rules.append(r)
    return episodes, rules


def assign(flows, episodes, rules, slack):
    """Sets flow.episodes to the ids of the most specific matching episodes."""
    exact, nets = {}, []
    for r in rules:
        if isinstance(r.attacker, str):
            exact.setdefault(r.attacker, []).append(r)
        else:
            nets.append(r)
    for flow in flows:
        best, found = -1, set()
        icmp = flow.proto in ICMP_PROTOS  # errors the episode provoked: any proto/port
        cands = exact.get(flow.src, []) + exact.get(flow.dst, []) + nets
        for r in cands:
            if not (flow.start <= r.end + slack and flow.end >= r.start - slack):
                continue
            if r.proto is not None and flow.proto != r.proto and not icmp:
                continue
            for att, vic, vport in ((flow.src, flow.dst, flow.dport), (flow.dst, flow.src, flow.sport)):
                if not r.matches_endpoints(att, vic):
                    continue
                if r.port is not None and r.port not in (vport, flow.dport) and not icmp:
                    continue
                if r.specificity > best:
                    best, found = r.specificity, {r.episode}
                elif r.specificity == best:
                    found.add(r.episode)
                break
        flow.episodes = sorted(found)
        for eid in flow.episodes:
            episodes[eid]["flows"].append(flow)


def ratio(a, b):
    return a / b if b else None


def rates(tp, fn, fp, tn):
    tpr, fpr, prec = ratio(tp, tp + fn), ratio(fp, fp + tn), ratio(tp, tp + fp)
    if tpr is None or prec is None:
        f1 = None
    else:
        f1 = 2 * prec * tpr / (prec + tpr) if prec + tpr else 0.0
    return {"TP": tp, "FN": fn, "FP": fp, "TN": tn, "TPR": tpr, "FPR": fpr,
            "precision": prec, "F1": f1}


def sig_key(alert):
    return (alert.get("signature_id"), alert.get("signature", ""), alert.get("category", ""))


def score(flows, episodes, counters, slack):
    benign = [f for f in flows if not f.episodes]
    fp = sum(1 for f in benign if f.alerts)
    tn = len(benign) - fp
    classes = sorted({ep["class"] for ep in episodes.values()})
    per_class = {}
    for cls in classes:
        cf = [f for f in flows if any(episodes[e]["class"] == cls for e in f.episodes)]
        tp = sum(1 for f in cf if f.alerts)
        per_class[cls] = dict(flows=len(cf), **rates(tp, len(cf) - tp, fp, tn))
    attack = [f for f in flows if f.episodes]
    tp = sum(1 for f in attack if f.alerts)
    overall = dict(flows=len(attack), **rates(tp, len(attack) - tp, fp, tn))
    benign_row = {"flows": len(benign), "FP": fp, "TN": tn, "FPR": ratio(fp, len(benign))}

    fps = {}
    for f in benign:
        for key in {sig_key(a) for _, a in f.alerts}:
            fps.setdefault(key, [0, 0])[0] += 1
        for _, a in f.alerts:
            fps[sig_key(a)][1] += 1
    fp_table = [{"signature_id": k[0], "signature": k[1], "category": k[2],
                 "flows": v[0], "alerts": v[1]}
                for k, v in sorted(fps.items(), key=lambda kv: (-kv[1][0], -kv[1][1], str(kv[0])))]
    dets = {}
    for f in attack:
        fcls = {episodes[e]["class"] for e in f.episodes}
        for key in {sig_key(a) for _, a in f.alerts}:
            for cls in fcls:
                dets.setdefault(key, {}).setdefault(cls, 0)
                dets[key][cls] += 1
    det_table = [{"signature_id": k[0], "signature": k[1], "category": k[2], "flows_by_class": v}
                 for k, v in sorted(dets.items(), key=lambda kv: (-sum(kv[1].values()), str(kv[0])))]

    ep_rows = []
    for eid, ep in sorted(episodes.items(), key=lambda kv: (kv[1]["start_ts"], kv[0])):
        firsts = [f.first_alert() for f in ep["flows"] if f.alerts]
        first = min(firsts) if firsts else None
        ep_rows.append({"episode_id": eid, "class": ep["class"],
                        "mitre_technique": ep["mitre_technique"],
                        "start_ts": ep["start_ts"], "end_ts": ep["end_ts"],
                        "flows": len(ep["flows"]), "alerted_flows": len(firsts),
                        "detected": bool(firsts), "first_alert_ts": first,
                        "latency": round(first - ep["start_ts"], 6) if firsts else None})
    ep_class = {}
    for cls in classes + ["all attacks"]:
        rows = [r for r in ep_rows if cls == "all attacks" or r["class"] == cls]
        lat = [r["latency"] for r in rows if r["detected"]]
        ep_class[cls] = {"episodes": len(rows), "detected": len(lat),
                         "detection_rate": ratio(len(lat), len(rows)),
                         "latency_median": round(statistics.median(lat), 6) if lat else None,
                         "latency_max": max(lat) if lat else None}
    return {
        "slack": slack,
        "input": counters,
        "flows": {"total": len(flows), "benign": len(benign), "attack": len(attack),
                  "alerted": sum(1 for f in flows if f.alerts)},
        "per_class": per_class,
        "overall": overall,
        "benign": benign_row,
        "false_positives_by_signature": fp_table,
        "detections_by_signature": det_table,
        "episodes": ep_rows,
        "episodes_by_class": ep_class,
        "episodes_without_flows": [r["episode_id"] for r in ep_rows if not r["flows"]],
    }


def fmt(v, digits=4):
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def print_table(res, eve, labels, out=sys.stdout):
    p = functools.partial(print, file=out)
    c, fl = res["input"], res["flows"]
    p(f"score: {eve} against {labels} (slack {res['slack']:g} s)")
    p(f"EVE: {c['lines']} lines ({c['malformed_lines']} malformed, skipped), "
      f"{c['flow_events']} flow events, {c['alerts']} alerts "
      f"({c['flows_from_alerts']} formed a flow of their own)")
    p(f"flows: {fl['total']} ({fl['benign']} benign, {fl['attack']} attack, "
      f"{fl['alerted']} alerted) in {len(res['episodes'])} episodes")
    p("\nper flow (each class against the benign flows)")
    hdr = (f"{'class':<24} {'flows':>7} {'TP':>6} {'FN':>6} {'FP':>6} {'TN':>7} "
           f"{'TPR':>7} {'FPR':>7} {'prec':>7} {'F1':>7}")
    p(hdr)
    p("-" * len(hdr))
    rows = list(res["per_class"].items()) + [("all attacks", res["overall"])]
    for name, r in rows:
        p(f"{name:<24} {r['flows']:>7} {r['TP']:>6} {r['FN']:>6} {r['FP']:>6} {r['TN']:>7} "
          f"{fmt(r['TPR']):>7} {fmt(r['FPR']):>7} {fmt(r['precision']):>7} {fmt(r['F1']):>7}")
    b = res["benign"]
    p(f"{'benign':<24} {b['flows']:>7} {'':>6} {'':>6} {b['FP']:>6} {b['TN']:>7} "
      f"{'':>7} {fmt(b['FPR']):>7}")
    p("\nper episode (detected: any of its flows alerted; latency: first alert - start)")
    hdr = f"{'class':<24} {'episodes':>8} {'detected':>8} {'rate':>7} {'lat med s':>10} {'lat max s':>10}"
    p(hdr)
    p("-" * len(hdr))
    for name, r in res["episodes_by_class"].items():
        p(f"{name:<24} {r['episodes']:>8} {r['detected']:>8} {fmt(r['detection_rate']):>7} "
          f"{fmt(r['latency_median'], 3):>10} {fmt(r['latency_max'], 3):>10}")
    missed = [r for r in res["episodes"] if not r["detected"]]
    if missed:
        p(f"\nundetected episodes ({len(missed)}):")
        for r in missed[:20]:
            p(f"  {r['episode_id']:<20} {r['class']:<20} {r['flows']:>6} flows")
        if len(missed) > 20:
            p(f"  ... {len(missed) - 20} more")
    if res["episodes_without_flows"]:
        p(f"\nwarning: {len(res['episodes_without_flows'])} episode(s) matched no flow: "
          + ", ".join(res["episodes_without_flows"][:10]))
    fpt = res["false_positives_by_signature"]
    p(f"\nfalse positives by signature ({len(fpt)} signatures)")
    if fpt:
        p(f"{'flows':>6} {'alerts':>6} {'sid':>10}  {'category':<40} signature")
        for r in fpt[:20]:
            p(f"{r['flows']:>6} {r['alerts']:>6} {str(r['signature_id']):>10}  "
              f"{str(r['category'])[:40]:<40} {r['signature']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Score EVE JSON output against traffic-lab labels.")
    ap.add_argument("--eve", required=True, help="EVE JSON lines (alert and flow events)")
    ap.add_argument("--labels", required=True, help="labels.csv from the traffic lab")
    ap.add_argument("--json", help="write the full results as JSON here")
    ap.add_argument("--slack", type=float, default=DEFAULT_SLACK,
                    help=f"seconds added to both ends of each episode window (default {DEFAULT_SLACK:g})")
    a = ap.parse_args(argv)
    if a.slack < 0:
        ap.error("--slack must not be negative")

    def warn(msg):
        print(f"score: warning: {msg}", file=sys.stderr)
    try:
        episodes, rules = read_labels(a.labels)
        flows, counters = read_eve(a.eve, a.slack, warn)
    except InputError as e:
        print(f"score: error: {e}", file=sys.stderr)
        return 2
    assign(flows, episodes, rules, a.slack)
    res = score(flows, episodes, counters, a.slack)
    if a.json:
        try:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=1)
                f.write("\n")
        except OSError as e:
            print(f"score: error: cannot write {a.json}: {e.strerror}", file=sys.stderr)
            return 2
    print_table(res, a.eve, a.labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
