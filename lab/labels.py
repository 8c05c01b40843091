"""Ground truth: one CSV row per attack episode, written from how the traffic was
generated (tool, source, target, wall-clock window around the tool run).

Matching rule (shared with the tests; scoring tools should use the same): a flow
belongs to an episode when its two addresses are {attacker_ip, victim_ip} (either
direction; an empty victim_ip matches any peer), its protocol equals `proto` (empty
matches any; ICMP flows between the pair also match, being errors the episode's
packets provoked), its server port equals `victim_port` (empty matches any), and its
[start, end] overlaps [start_ts - slack, end_ts + slack].
"""
import csv
import datetime
import threading

COLUMNS = ["episode_id", "class", "mitre_technique", "attacker_ip", "victim_ip", "proto",
           "victim_port", "start_ts", "end_ts"]

MITRE = {
    "scan_syn": "T1046", "scan_connect": "T1046", "scan_udp": "T1046", "scan_version": "T1046",
    "scan_masscan": "T1046", "dos_synflood": "T1498.001", "dos_slowloris": "T1499.002",
    "bruteforce_ssh": "T1110.001", "bruteforce_http": "T1110.001", "dns_tunnel": "T1071.004",
    "web_sqli": "T1190", "web_xss": "T1190", "web_traversal": "T1190", "web_cmdinj": "T1190",
    "c2_beacon": "T1071.001", "exfiltration": "T1048",
}


class LabelLog:
    """Thread-safe episode recorder."""

    def __init__(self):
        self.rows = []
        self.lock = threading.Lock()

    def add(self, cls, attacker_ip, victim_ip, proto, victim_port, start_ts, end_ts):
        with self.lock:
            self.rows.append({
                "episode_id": 0, "class": cls, "mitre_technique": MITRE[cls], "attacker_ip": attacker_ip,
                "victim_ip": victim_ip or "", "proto": proto or "",
                "victim_port": "" if victim_port is None else str(victim_port),
                "start_ts": f"{start_ts:.6f}", "end_ts": f"{end_ts:.6f}"})

    def write(self, path):
        with self.lock:
            rows = sorted(self.rows, key=lambda r: float(r["start_ts"]))
            for i, r in enumerate(rows, 1):
                r["episode_id"] = i
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
        return rows


def read_labels(path):
    """Parse and validate labels.csv; raises ValueError on a malformed file."""
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        if r.fieldnames != COLUMNS:
            raise ValueError(f"labels header {r.fieldnames} != {COLUMNS}")
        rows = []
        for row in r:
            row["start_ts"], row["end_ts"] = float(row["start_ts"]), float(row["end_ts"])
            if row["end_ts"] < row["start_ts"]:
                raise ValueError(f"episode {row['episode_id']}: end before start")
            row["victim_port"] = int(row["victim_port"]) if row["victim_port"] else None
            rows.append(row)
    return rows


def parse_eve_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def flow_key(ev):
    """(src, dst, proto, dest_port, start, end) of an EVE flow event."""
    fl = ev["flow"]
    return (ev["src_ip"], ev["dest_ip"], ev["proto"].lower(), ev.get("dest_port"),
            parse_eve_time(fl["start"]), parse_eve_time(fl.get("end", fl["start"])))


def matches(label, flow, slack=1.0):
    src, dst, proto, dport, start, end = flow
    a, v = label["attacker_ip"], label["victim_ip"]
    if a not in (src, dst):
        return False
    peer = dst if src == a else src
    if v and peer != v:
        return False
    is_icmp = proto in ("icmp", "ipv6-icmp")
    if label["proto"] and proto != label["proto"] and not is_icmp:
        return False
    if label["victim_port"] is not None and not is_icmp:
        if label["proto"] and proto == label["proto"]:
            # the victim port is the flow's server port (dest when the attacker initiated)
            vport = dport if src == a else None
            if vport != label["victim_port"]:
                return False
    return start <= label["end_ts"] + slack and end >= label["start_ts"] - slack
