#!/usr/bin/python3
"""Tests of scripts/score (lab/score.py) on hand-made EVE and label files
whose every figure is known.

  test_score.py        exit 0 all passed, 1 something failed; last line "N passed, N failed"
"""
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCORE = os.path.join(ROOT, "scripts", "score")
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402
T0 = 1704110400.0  # 2024-01-01T12:00:00Z

A1, A2, A3 = "198.18.9.1", "198.18.9.2", "198.18.9.3"
V1, V2 = "198.18.1.10", "198.18.1.20"
C1, C2, C3 = "198.18.2.1", "198.18.2.2", "198.18.2.3"
HEADER = ["episode_id", "class", "mitre_technique", "attacker_ip", "victim_ip", "proto",
          "victim_port", "start_ts", "end_ts"]


def ts(off):
    d = datetime.datetime.fromtimestamp(T0 + off, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def flow(fid, src, sport, dst, dport, proto, start, end, app=None):
    ev = {"timestamp": ts(end), "event_type": "flow", "src_ip": src, "dest_ip": dst,
          "proto": proto,
          "flow": {"pkts_toserver": 3, "pkts_toclient": 2, "bytes_toserver": 200,
                   "bytes_toclient": 100, "start": ts(start), "end": ts(end),
                   "age": int(end - start), "state": "closed", "reason": "timeout",
                   "alerted": False}}
    if fid is not None:
        ev["flow_id"] = fid
    if sport is not None:
        ev["src_port"], ev["dest_port"] = sport, dport
    if app:
        ev["app_proto"] = app
    return ev


def alert(fid, src, sport, dst, dport, proto, at, sid, msg, cat, sev=2):
    ev = {"timestamp": ts(at), "event_type": "alert", "src_ip": src, "dest_ip": dst,
          "proto": proto,
          "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1,
                    "signature": msg, "category": cat, "severity": sev}}
    if fid is not None:
        ev["flow_id"] = fid
    if sport is not None:
        ev["src_port"], ev["dest_port"] = sport, dport
    return ev


SCAN = (2000010, "SPECTRE SCAN port sweep", "Attempted Information Leak")
BRUTE = (2000020, "SPECTRE SSH brute force", "Attempted Administrator Privilege Gain")
BADUA = (2000001, "SPECTRE WEB bad user agent", "Web Application Attack")
HTTPB = (2000002, "SPECTRE HTTP login burst", "Attempted User Privilege Gain")


def main_eve():
    """Lines of the main EVE file, in the order a real writer might produce them."""
    L = []
    # benign b1, a false positive with two alerts (alerts precede the flow event)
    L.append(alert(101, C1, 5000, V1, 80, "TCP", 5.2, *BADUA))
    L.append(alert(101, V1, 80, C1, 5000, "TCP", 5.4, *BADUA))
    L.append(flow(101, C1, 5000, V1, 80, "TCP", 5.0, 6.0, "http"))
    # E1 portscan A1 -> V1: f1 quiet, f2 alerted at +11.25 (before its flow event), f3 at +12.05
    L.append(flow(1, A1, 40001, V1, 22, "TCP", 10.0, 10.1))
    L.append(alert(2, A1, 40002, V1, 80, "TCP", 11.25, *SCAN))
    L.append(flow(2, A1, 40002, V1, 80, "TCP", 11.0, 11.3))
    L.append(alert(3, A1, 40003, V1, 443, "TCP", 12.05, *SCAN))
    L.append(flow(3, A1, 40003, V1, 443, "TCP", 12.0, 12.1))
    L.append("{this is not json")
    L.append(flow(102, C2, 5001, V1, 443, "TCP", 15.0, 16.0, "tls"))
    L.append(flow(103, C3, 5353, V2, 53, "UDP", 20.0, 20.1, "dns"))
    # E2 portscan A1 -> V2 UDP: two quiet flows; a TCP flow A1 -> V2 is benign (proto)
    L.append(flow(4, A1, 50000, V2, 53, "UDP", 30.5, 30.6))
    L.append(flow(5, A1, 50000, V2, 161, "UDP", 31.0, 31.1))
    L.append(flow(106, A1, 50001, V2, 8080, "TCP", 35.0, 35.2))
    L.append([1, 2, 3])  # valid JSON, not an object: malformed
    # E3 portscan A2 -> any: f7 quiet, f8 only as alerts (flow_id 9999, no flow event),
    # f9 ICMP quiet
    L.append(flow(7, A2, 1234, V1, 22, "TCP", 50.0, 50.2))
    L.append(alert(9999, A2, 1235, "198.18.1.30", 3389, "TCP", 51.5, *SCAN))
    L.append(alert(9999, A2, 1235, "198.18.1.30", 3389, "TCP", 51.7, *SCAN))
    L.append(flow(9, A2, None, V2, None, "ICMP", 50.1, 50.1))
    # E4 bruteforce A2 -> V2 TCP/22: f10 alerted, f11 alerted by an alert without
    # flow_id in the reverse direction, f12 quiet; f13 to port 2222 is benign; b4 benign
    L.append(alert(10, A2, 2000, V2, 22, "TCP", 100.8, *BRUTE))
    L.append(flow(10, A2, 2000, V2, 22, "TCP", 100.0, 101.0, "ssh"))
    L.append(flow(104, C1, 5002, V2, 22, "TCP", 101.0, 102.0, "ssh"))
    L.append(alert(None, V2, 22, A2, 2001, "TCP", 102.5, *BRUTE))
    L.append(flow(11, A2, 2001, V2, 22, "TCP", 102.0, 103.0, "ssh"))
    L.append(flow(12, A2, 2002, V2, 22, "TCP", 104.0, 105.0, "ssh"))
    L.append(flow(113, A2, 2003, V2, 2222, "TCP", 110.0, 111.0))
    L.append({"timestamp": ts(120), "event_type": "stats", "stats": {"uptime": 120}})
    # E5 bruteforce A1 -> V1 TCP/80 [200, 210]: f14 quiet; f16 at 211.4 is inside only
    # with slack >= 1.4; f15 at 215.5 is outside (benign) and alerted: a false positive
    L.append(flow(14, A1, 3000, V1, 80, "TCP", 200.0, 201.0, "http"))
    L.append(flow(116, A1, 3002, V1, 80, "TCP", 211.4, 211.6, "http"))
    L.append(alert(115, A1, 3001, V1, 80, "TCP", 215.6, *HTTPB))
    L.append(flow(115, A1, 3001, V1, 80, "TCP", 215.5, 216.0, "http"))
    # benign b6: a flow event without flow_id
    L.append(flow(None, C2, 6000, V1, 514, "UDP", 300.0, 301.0))
    return L


def main_labels():
    def row(eid, cls, tech, att, vic, proto, port, s, e):
        return [eid, cls, tech, att, vic, proto, port, "%.6f" % (T0 + s), "%.6f" % (T0 + e)]
    return [row("E1", "portscan", "T1046", A1, V1, "", "", 10, 20),
            row("E2", "portscan", "T1046", A1, V2, "UDP", "", 30, 40),
            row("E3", "portscan", "T1046", A2, "", "", "", 50, 52),
            row("E4", "bruteforce", "T1110", A2, V2, "TCP", "22", 100, 130),
            row("E5", "bruteforce", "T1110", A1, V1, "tcp", "80", 200, 210)]


def write(d, name, lines=None, rows=None, header=HEADER):
    p = os.path.join(d, name)
    with open(p, "w", newline="") as f:
        if lines is not None:
            for x in lines:
                f.write((x if isinstance(x, str) else json.dumps(x)) + "\n")
                if x is lines[0]:
                    f.write("\n")  # a blank line: ignored, not counted
        else:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    return p


def run(*args):
    r = subprocess.run([SCORE] + list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


class Check:
    """Collects mismatches of one test."""
    def __init__(self):
        self.problems = []

    def eq(self, what, got, want):
        if isinstance(want, float) or isinstance(got, float):
            ok = got is not None and want is not None and abs(got - want) < 1e-9
        else:
            ok = got == want
        if not ok:
            self.problems.append(f"{what}: got {got!r}, want {want!r}")

    def true(self, what, cond):
        if not cond:
            self.problems.append(what)


def score_json(d, eve, labels, *extra):
    out = os.path.join(d, "out.json")
    if os.path.exists(out):
        os.remove(out)
    rc, so, se = run("--eve", eve, "--labels", labels, "--json", out, *extra)
    res = json.load(open(out)) if rc == 0 and os.path.exists(out) else None
    return rc, so, se, res


def check_rates(c, name, r, tp, fn, fp, tn):
    c.eq(f"{name} TP", r["TP"], tp)
    c.eq(f"{name} FN", r["FN"], fn)
    c.eq(f"{name} FP", r["FP"], fp)
    c.eq(f"{name} TN", r["TN"], tn)
    c.eq(f"{name} flows", r["flows"], tp + fn)
    c.eq(f"{name} TPR", r["TPR"], tp / (tp + fn))
    c.eq(f"{name} FPR", r["FPR"], fp / (fp + tn))
    c.eq(f"{name} precision", r["precision"], tp / (tp + fp))
    c.eq(f"{name} F1", r["F1"], 2 * tp / (2 * tp + fp + fn))


def t_main(d):
    c = Check()
    eve = write(d, "eve.json", lines=main_eve())
    lab = write(d, "labels.csv", rows=main_labels())
    rc, so, se, res = score_json(d, eve, lab)
    c.eq("exit code", rc, 0)
    if res is None:
        return c.problems + [f"no JSON output; stderr: {se}"]
    i = res["input"]
    c.eq("lines", i["lines"], len(main_eve()))
    c.eq("malformed_lines", i["malformed_lines"], 2)
    c.eq("flow_events", i["flow_events"], 20)
    c.eq("alerts", i["alerts"], 9)
    c.eq("flows_from_alerts", i["flows_from_alerts"], 1)
    c.eq("alerts_matched_by_tuple", i["alerts_matched_by_tuple"], 1)
    c.eq("other_events", i["other_events"], 1)
    c.true("warning about line 10 on stderr", "eve.json:10: skipped malformed line" in se)
    c.eq("flows", res["flows"], {"total": 21, "benign": 9, "attack": 12, "alerted": 7})
    check_rates(c, "portscan", res["per_class"]["portscan"], 3, 5, 2, 7)
    check_rates(c, "bruteforce", res["per_class"]["bruteforce"], 2, 2, 2, 7)
    check_rates(c, "overall", res["overall"], 5, 7, 2, 7)
    c.eq("portscan F1 value", res["per_class"]["portscan"]["F1"], 6 / 13)
    c.eq("benign", res["benign"], {"flows": 9, "FP": 2, "TN": 7, "FPR": 2 / 9})
    c.eq("false positives by signature", res["false_positives_by_signature"], [
        {"signature_id": BADUA[0], "signature": BADUA[1], "category": BADUA[2],
         "flows": 1, "alerts": 2},
        {"signature_id": HTTPB[0], "signature": HTTPB[1], "category": HTTPB[2],
         "flows": 1, "alerts": 1}])
    c.eq("detections by signature", [(r["signature_id"], r["flows_by_class"])
                                     for r in res["detections_by_signature"]],
         [(SCAN[0], {"portscan": 3}), (BRUTE[0], {"bruteforce": 2})])
    eps = {e["episode_id"]: e for e in res["episodes"]}
    want = {"E1": (3, 2, True, 1.25), "E2": (2, 0, False, None), "E3": (3, 1, True, 1.5),
            "E4": (3, 2, True, 0.8), "E5": (1, 0, False, None)}
    for eid, (nf, na, det, lat) in want.items():
        e = eps.get(eid, {})
        c.eq(f"{eid} flows", e.get("flows"), nf)
        c.eq(f"{eid} alerted_flows", e.get("alerted_flows"), na)
        c.eq(f"{eid} detected", e.get("detected"), det)
        c.eq(f"{eid} latency", e.get("latency"), lat)
    c.eq("E3 first_alert_ts", eps["E3"]["first_alert_ts"], T0 + 51.5)
    c.eq("E4 mitre", eps["E4"]["mitre_technique"], "T1110")
    bc = res["episodes_by_class"]
    c.eq("episodes portscan", bc["portscan"], {"episodes": 3, "detected": 2,
                                               "detection_rate": 2 / 3, "latency_median": 1.375,
                                               "latency_max": 1.5})
    c.eq("episodes bruteforce", bc["bruteforce"], {"episodes": 2, "detected": 1,
                                                   "detection_rate": 0.5, "latency_median": 0.8,
                                                   "latency_max": 0.8})
    c.eq("episodes all", bc["all attacks"], {"episodes": 5, "detected": 3, "detection_rate": 0.6,
                                             "latency_median": 1.25, "latency_max": 1.5})
    c.eq("episodes_without_flows", res["episodes_without_flows"], [])
    # the readable table carries the same figures
    lines = so.splitlines()
    row = next((x.split() for x in lines if x.startswith("portscan ")), [])
    c.eq("table portscan row", row, ["portscan", "8", "3", "5", "2", "7", "0.3750", "0.2222",
                                     "0.6000", "0.4615"])
    row = next((x.split() for x in lines if x.startswith("all attacks") and "0.6000" in x), [])
    c.eq("table episode row", row, ["all", "attacks", "5", "3", "0.6000", "1.250", "1.500"])
    c.true("table lists undetected E2", any(x.split()[:2] == ["E2", "portscan"] for x in lines))
    c.true("table lists FP signature", any(BADUA[1] in x and x.split()[:2] == ["1", "2"]
                                           for x in lines))
    return c.problems


def t_slack(d):
    """--slack 2 pulls f16 (211.4, after E5's end 210) into E5; without --json too."""
    c = Check()
    eve = write(d, "eve.json", lines=main_eve())
    lab = write(d, "labels.csv", rows=main_labels())
    rc, so, se, res = score_json(d, eve, lab, "--slack", "2")
    c.eq("exit code", rc, 0)
    if res is None:
        return c.problems + ["no JSON output"]
    check_rates(c, "bruteforce", res["per_class"]["bruteforce"], 2, 3, 2, 6)
    check_rates(c, "overall", res["overall"], 5, 8, 2, 6)
    c.eq("E5 flows", [e["flows"] for e in res["episodes"] if e["episode_id"] == "E5"], [2])
    rc, so, se = run("--eve", eve, "--labels", lab, "--slack", "1.39")
    c.eq("exit code without --json", rc, 0)
    c.true("slack 1.39 leaves f16 benign", any(x.split()[:2] == ["bruteforce", "4"]
                                               for x in so.splitlines()))
    return c.problems


def t_specificity(d):
    """Most specific episode wins; multi-row episodes; CIDR victim; victim-initiated flow."""
    c = Check()
    # the specific rows come first, so a later generic match must not be added
    rows = [["S2", "brute", "T1110", A1, V2, "TCP", "22", T0 + 2, T0 + 1000],
            ["S2", "brute", "T1110", A1, V1, "TCP", "22", T0, T0 + 1000],
            ["S4", "dos", "T1498", A2, V1, "", "", T0 + 1, T0 + 1000],
            ["S1", "scan", "T1046", A1, "", "", "", T0, T0 + 1000],
            ["S3", "exfil", "T1048", A3, "198.18.1.0/24", "UDP", "9999", T0, T0 + 1000]]
    lines = [flow(1, A1, 1000, V1, 22, "TCP", 1.0, 2.0),
             flow(2, A1, 1001, V1, 80, "TCP", 3.0, 4.0),
             alert(3, A1, 1002, V2, 22, "TCP", 5.0, *BRUTE),
             flow(3, A1, 1002, V2, 22, "TCP", 4.5, 6.0),
             flow(4, V1, 40000, A3, 9999, "UDP", 7.0, 9.0),
             flow(5, "198.18.3.5", 40000, A3, 9999, "UDP", 7.0, 9.0),
             flow(6, V2, 9999, A3, 53, "UDP", 7.0, 9.0),
             # an ICMP error from a victim: in S3 whatever its proto and port
             flow(11, V1, None, A3, None, "ICMP", 8.0, 8.0),
             # alerts only (no flow event): the flow spans both alerts, [0.2, 3], so it
             # reaches S2's second row (from 2 - slack); its first alert alone would not
             alert(77, A1, 1003, V2, 22, "TCP", 0.2, *BRUTE),
             alert(77, A1, 1003, V2, 22, "TCP", 3.0, *BRUTE),
             # ends 0.5 s before S2 starts: inside by the slack
             flow(8, A1, 1004, V1, 22, "TCP", -0.8, -0.5),
             # two events of one flow are merged to [-10, 0.5]: reaches S4 (from 1 - slack)
             flow(9, A2, 1005, V1, 80, "TCP", -10.0, -9.0),
             flow(9, A2, 1005, V1, 80, "TCP", -9.0, 0.5),
             # A2 -> V2: S4's victim is V1 only
             flow(10, A2, 1006, V2, 80, "TCP", 5.0, 6.0)]
    eve = write(d, "eve.json", lines=lines)
    lab = write(d, "labels.csv", rows=rows)
    rc, so, se, res = score_json(d, eve, lab)
    c.eq("exit code", rc, 0)
    if res is None:
        return c.problems + [f"no JSON output: {se}"]
    pc = res["per_class"]
    c.eq("scan flows", pc["scan"]["flows"], 1)
    c.eq("brute flows", pc["brute"]["flows"], 4)
    c.eq("dos flows", pc["dos"]["flows"], 1)
    c.eq("flows total", res["flows"]["total"], 11)
    c.eq("brute TP", pc["brute"]["TP"], 2)
    c.eq("exfil flows (victim-initiated, victim port on either side, ICMP)", pc["exfil"]["flows"], 3)
    c.eq("benign flows", res["benign"]["flows"], 2)
    c.eq("benign FPR", res["benign"]["FPR"], 0.0)
    c.eq("brute precision (no FP)", pc["brute"]["precision"], 1.0)
    c.eq("scan precision undefined", pc["scan"]["precision"], None)
    c.eq("scan F1 undefined", pc["scan"]["F1"], None)
    eps = {e["episode_id"]: e for e in res["episodes"]}
    c.eq("S2 start is the earliest row", eps["S2"]["start_ts"], T0)
    c.eq("S2 latency", eps["S2"]["latency"], 0.2)
    c.eq("S1 flows", eps["S1"]["flows"], 1)
    return c.problems


def t_empty_eve(d):
    c = Check()
    eve = write(d, "eve.json", lines=[])
    lab = write(d, "labels.csv", rows=main_labels())
    rc, so, se, res = score_json(d, eve, lab)
    c.eq("exit code", rc, 0)
    if res is None:
        return c.problems + ["no JSON output"]
    c.eq("overall", res["overall"], {"flows": 0, "TP": 0, "FN": 0, "FP": 0, "TN": 0, "TPR": None,
                                     "FPR": None, "precision": None, "F1": None})
    c.eq("episodes_without_flows", res["episodes_without_flows"], ["E1", "E2", "E3", "E4", "E5"])
    c.true("warning in table", "matched no flow" in so)
    return c.problems


def t_errors(d):
    c = Check()
    eve = write(d, "eve.json", lines=main_eve())
    good = main_labels()
    cases = [
        ("missing column", write(d, "l1.csv", rows=[r[:6] + r[7:] for r in good],
                                 header=HEADER[:6] + HEADER[7:]), "victim_port"),
        ("bad start_ts", write(d, "l2.csv", rows=good[:2] + [good[2][:7] + ["soon", good[2][8]]]),
         "l2.csv:4"),
        ("bad address", write(d, "l3.csv", rows=[good[0][:3] + ["198.18.9"] + good[0][4:]]),
         "attacker_ip"),
        ("class conflict", write(d, "l4.csv", rows=good + [["E1", "dos"] + good[0][2:]]),
         "episode E1"),
        ("end before start", write(d, "l5.csv", rows=[good[0][:7] + [good[0][8], good[0][7]]]),
         "end_ts"),
        ("empty labels file", write(d, "l6.csv", lines=[]), "lacks column"),
    ]
    for name, lab, needle in cases:
        out = os.path.join(d, "err.json")
        rc, so, se = run("--eve", eve, "--labels", lab, "--json", out)
        c.eq(f"{name}: exit code", rc, 2)
        c.true(f"{name}: message names {needle!r}: {se.strip()!r}", needle in se)
        c.true(f"{name}: no JSON written", not os.path.exists(out))
    lab = write(d, "labels.csv", rows=good)
    for name, args, needle in [
            ("missing EVE", ["--eve", os.path.join(d, "nope.json"), "--labels", lab], "nope.json"),
            ("missing labels", ["--eve", eve, "--labels", os.path.join(d, "no.csv")], "no.csv"),
            ("no arguments", [], "--eve")]:
        rc, so, se = run(*args)
        c.eq(f"{name}: exit code", rc, 2)
        c.true(f"{name}: message names {needle!r}: {se.strip()!r}", needle in se)
    return c.problems


def main():
    check = Checks()
    for t in (t_main, t_slack, t_specificity, t_empty_eve, t_errors):
        with tempfile.TemporaryDirectory(prefix="score-test-") as d:
            try:
                problems = t(d)
            except Exception as e:  # a crash is a failure of this test, not of the run
                problems = [f"exception {type(e).__name__}: {e}"]
        check.report(t.__name__[2:], problems)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
