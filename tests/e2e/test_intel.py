#!/usr/bin/python3
"""Threat-intel matching end to end (dataplane/intel/).

  test_intel.py [SPECTRE_DP]   ($SPECTRE_DP; else build/dataplane/spectre-dp)

Feeds in every supported format (a MISP feed directory, a STIX 2.1 bundle,
abuse.ch Feodo / SSLBL JA3 / SSLBL certificate / URLhaus CSV lists and a
plain domain list) and a generated capture (tests/gen/intel_traffic.py) with
flows to listed addresses, DNS queries, TLS SNI and JA3, HTTP URLs, plus
benign look-alikes (a name that is not a child of a listed domain, a listed
name as a prefix, an exact hostname's child, an unlisted neighbour address,
another path on a listed host). Checks with --workers 1 and 2: exactly the
expected alerts (gid 9200, sid per indicator type, feed, indicator, where it
matched), one per flow per indicator, the EVE intel object and ATT&CK
metadata, an expired indicator skipped and counted, stats counters; broken
feeds (bad IP in a CSV, bad JSON in a MISP event) stop start-up with a
message naming the file and line.
Exit 0 all passed, 1 something failed. Last line: "N passed, N failed".
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
import intel_traffic  # noqa: E402
from checks import Checks  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")
CERT_SHA1 = "01a25b6e2f27b1d1d7bae6ad5c2f8c4fe8a26deb"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def make_feeds(d, ja3):
    misp_uuid = "5f0c3a1e-1111-4c2d-9e3f-000000000013"
    write(os.path.join(d, "misp", "manifest.json"), json.dumps(
        {misp_uuid: {"info": "Lab C2 infrastructure", "threat_level_id": "2", "timestamp": "1700000000"}}))
    write(os.path.join(d, "misp", misp_uuid + ".json"), json.dumps({"Event": {
        "uuid": misp_uuid, "info": "Lab C2 infrastructure", "threat_level_id": "2",
        "Tag": [{"name": "tlp:green"}, {"name": "misp-galaxy:malpedia=\"LabRAT\""}],
        "Attribute": [
            {"type": "hostname", "value": "c2.misp.example", "to_ids": True, "category": "Network activity"},
            {"type": "ip-dst|port", "value": "203.0.113.20|8080", "to_ids": True},
            {"type": "url", "value": "http://dl.misp.example/payload.bin", "to_ids": True},
            {"type": "ip-dst", "value": "203.0.113.11", "to_ids": False},  # not for detection
            {"type": "email-src", "value": "x@misp.example", "to_ids": True},
        ],
        "Object": [{"name": "x509", "Attribute": [
            {"type": "x509-fingerprint-sha1", "value": CERT_SHA1, "to_ids": True}]}]}}))
    write(os.path.join(d, "bundle.json"), json.dumps({"type": "bundle", "id": "bundle--13", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--a", "name": "EvilCorp phishing",
         "pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
         "valid_from": "2023-01-01T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z", "confidence": 70,
         "indicator_types": ["malicious-activity"], "labels": ["phishing"]},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--b", "name": "EvilCorp v6 C2",
         "pattern": "[ipv6-addr:value = '2001:db8:bad::/48']", "pattern_type": "stix",
         "valid_from": "2023-01-01T00:00:00Z", "confidence": 85},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--c", "name": "needs AND",
         "pattern": "[ipv4-addr:value = '192.0.2.81' AND network-traffic:dst_port = 443]",
         "pattern_type": "stix", "valid_from": "2023-01-01T00:00:00Z"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--d", "revoked": True,
         "pattern": "[ipv4-addr:value = '203.0.113.11']", "pattern_type": "stix",
         "valid_from": "2023-01-01T00:00:00Z"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--e", "name": "not yet valid",
         "pattern": "[ipv4-addr:value = '192.0.2.90']", "pattern_type": "stix",
         "valid_from": "2025-01-01T00:00:00Z"}]}))
    write(os.path.join(d, "ipblocklist.csv"),
          "################################################################\n"
          "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n"
          "################################################################\n"
          "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
          "\"2023-11-01 07:44:46\",\"203.0.113.10\",\"443\",\"online\",\"2023-12-30\",\"Emotet\"\n"
          "\"2023-01-01 10:00:00\",\"198.51.100.77\",\"8080\",\"offline\",\"2023-06-01\",\"QakBot\"\n"
          "# \"Number of entries: 2\"\n")
    write(os.path.join(d, "ja3_fingerprints.csv"),
          "# ja3_md5,Firstseen,Lastseen,Listingreason\n%s,2023-07-14 18:08:15,2023-12-27 20:42:54,LabRAT\n" % ja3)
    write(os.path.join(d, "sslblacklist.csv"), "# Listingdate,SHA1,Listingreason\n2023-01-05 11:46:06,%s,AsyncRAT C&C\n"
          % CERT_SHA1)
    write(os.path.join(d, "urlhaus.csv"),
          "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
          "\"2841360\",\"2023-12-22 09:41:07\",\"http://malware.example/bins/x.sh\",\"online\",\"2023-12-31 09:41:07\","
          "\"malware_download\",\"elf,mozi\",\"https://urlhaus.abuse.ch/url/2841360/\",\"lab\"\n")
    write(os.path.join(d, "domains.txt"), "# plain list\nplain-bad.example\n")
    return write(os.path.join(d, "spectre.yaml"),
                 "intel:\n  feeds:\n"
                 "    - {name: feodo, path: ipblocklist.csv, ttl: 2592000}\n"
                 "    - {name: lab-domains, path: domains.txt, format: plain, type: domain, confidence: 60, threat: lab}\n"
                 "    - {name: misp, path: misp}\n")


def expected(ja3):
    """(sid, feed, indicator, match) -> count."""
    return collections.Counter({
        (1, "feodo", "203.0.113.10", "dest_ip"): 1,
        (1, "misp", "203.0.113.20", "dest_ip"): 1,
        (1, "bundle.json", "2001:db8:bad::/48", "dest_ip"): 1,
        (2, "bundle.json", "evil.example", "dns.query"): 1,   # www.evil.example, query and answer: one alert
        (2, "misp", "c2.misp.example", "dns.query"): 1,
        (2, "lab-domains", "plain-bad.example", "dns.query"): 1,
        (2, "bundle.json", "evil.example", "tls.sni"): 1,
        (2, "bundle.json", "evil.example", "http.hostname"): 1,
        (4, "ja3_fingerprints.csv", ja3, "tls.ja3"): 2,       # both generated ClientHellos
        (3, "urlhaus.csv", "http://malware.example/bins/x.sh", "http.url"): 1,
        (3, "misp", "http://dl.misp.example/payload.bin", "http.url"): 1,
    })


def run(dp, args, eve=None, workers=1):
    cmd = [dp] + args + ["--workers", str(workers)] + (["--eve", eve] if eve else [])
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)


def main():
    dp = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "SPECTRE_DP", os.path.join(ROOT, "build", "dataplane", "spectre-dp"))
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="intel-e2e-")
    pcap = os.path.join(tmp, "intel.pcap")
    ja3 = intel_traffic.build(pcap)
    cfg = make_feeds(tmp, ja3)
    intel_args = []
    for f in ("bundle.json", "ja3_fingerprints.csv", "sslblacklist.csv", "urlhaus.csv"):
        intel_args += ["--intel", os.path.join(tmp, f)]
    want = expected(ja3)
    outs = {}
    for workers in (1, 2):
        eve = os.path.join(tmp, "eve%d.json" % workers)
        r = run(dp, ["-r", pcap, "--config", cfg] + intel_args, eve, workers)
        if not check(r.returncode == 0, "workers %d: spectre-dp exits 0" % workers, r.stderr):
            continue
        evs = [json.loads(l) for l in open(eve) if l.strip()]
        alerts = [e for e in evs if e.get("event_type") == "alert"]
        got = collections.Counter((a["alert"]["signature_id"], a["intel"]["feed"], a["intel"]["indicator"],
                                   a["intel"]["match"]) for a in alerts if "intel" in a)
        outs[workers] = got
        check(got == want, "workers %d: exactly the expected intel alerts" % workers,
              "missing %s\nunexpected %s" % (dict(want - got), dict(got - want)))
        check(all(a["alert"]["gid"] == 9200 and "intel" in a for a in alerts),
              "workers %d: every alert is an intel alert with gid 9200" % workers)
        check(all(a["alert"]["signature"].startswith("intel: ") for a in alerts),
              "workers %d: signatures read 'intel: <threat> <type> <indicator>'" % workers)
        benign = {"203.0.113.11", "2001:db8:bae::5", "198.51.100.77", "192.0.2.90"}
        check(not [a for a in alerts if a["dest_ip"] in benign and a["intel"]["type"] == "ip"],
              "workers %d: unlisted, expired and not-yet-valid addresses do not alert" % workers)
        feodo = [a for a in alerts if a["intel"]["feed"] == "feodo"]
        if check(len(feodo) == 1, "workers %d: one Feodo alert" % workers):
            a = feodo[0]
            check(a["alert"]["signature"] == "intel: Emotet ip 203.0.113.10" and a["intel"]["threat"] == "Emotet"
                  and a["intel"]["confidence"] == 90 and a["alert"]["severity"] == 1
                  and "Emotet" in a["intel"]["tags"] and a["intel"]["last_seen"].startswith("2023-12-30")
                  and a["intel"]["valid_until"].startswith("2024-01-29")
                  and a["alert"]["metadata"]["mitre_tactic_id"] == ["TA0011"]
                  and a["src_ip"] == intel_traffic.CLIENT and a["dest_port"] == 443,
                  "workers %d: Feodo alert fields (threat, confidence, tags, last_seen, TTL expiry, TA0011)" % workers,
                  json.dumps(a))
        sni = [a for a in alerts if a["intel"]["match"] == "tls.sni"]
        if sni:
            a = sni[0]
            check(a["intel"]["threat"] == "EvilCorp phishing" and a["intel"]["confidence"] == 70
                  and a["intel"]["valid_until"].startswith("2030-01-01")
                  and a["alert"]["metadata"]["mitre_tactic_id"] == ["TA0001"]
                  and a.get("tls", {}).get("sni") == "login.evil.example",
                  "workers %d: STIX SNI alert fields (name, confidence, valid_until, TA0001, tls object)" % workers,
                  json.dumps(a))
        url = [a for a in alerts if a["intel"]["feed"] == "urlhaus.csv"]
        if url:
            check(a_has(url[0], "malware_download", ["elf", "mozi", "url_status:online"], "T1105"),
                  "workers %d: URLhaus alert (threat, tags, T1105, http object)" % workers, json.dumps(url[0]))
        stats = [e for e in evs if e.get("event_type") == "stats"]
        if check(stats, "workers %d: a stats event" % workers):
            i = stats[-1]["stats"]["intel"]
            check(i["hits"]["ip"] == 3 and i["hits"]["domain"] == 5 and i["hits"]["url"] == 2 and i["hits"]["ja3"] == 2
                  and i["expired"] == 3 and i["repeats"] >= 1,
                  "workers %d: stats.intel hits per type, 3 expired/not-yet-valid skips (two flows to 192.0.2.90), repeats" % workers, json.dumps(i))
            f = i["feeds"]
            check(f["feodo"]["loaded"] == 2 and f["misp"]["loaded"] == 4 and f["misp"]["skipped"] == 2
                  and f["bundle.json"]["loaded"] == 3 and f["bundle.json"]["skipped"] == 2
                  and f["sslblacklist.csv"]["loaded"] == 1 and f["lab-domains"]["loaded"] == 1,
                  "workers %d: stats.intel.feeds loaded/skipped per feed" % workers, json.dumps(f))
        check("threat intel: 13 indicators" in r.stderr and "unsupported AND 1" in r.stderr
              and "revoked 1" in r.stderr, "workers %d: start-up line counts indicators and skip reasons" % workers,
              r.stderr)
    check(outs.get(1) == outs.get(2), "1 and 2 workers give the same intel alerts")

    # Broken feeds stop start-up with the file and line named.
    bad_csv = write(os.path.join(tmp, "bad", "ipblocklist.csv"),
                    "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
                    "\"2023-11-01 07:44:46\",\"203.0.113.300\",\"443\",\"online\",\"2023-12-30\",\"Emotet\"\n")
    r = run(dp, ["-r", pcap, "--intel", bad_csv])
    check(r.returncode != 0 and "ipblocklist.csv:2: bad IP address or CIDR '203.0.113.300'" in r.stderr,
          "a bad IP in a Feodo list stops start-up naming file:line", r.stderr)
    write(os.path.join(tmp, "badmisp", "manifest.json"), '{"e1": {}}')
    write(os.path.join(tmp, "badmisp", "e1.json"), '{"Event": {\n"Attribute": [\n{"type": "ip-dst",, }]}}')
    r = run(dp, ["-r", pcap, "--intel", os.path.join(tmp, "badmisp")])
    check(r.returncode != 0 and "e1.json: invalid JSON" in r.stderr and "line 3" in r.stderr,
          "bad JSON in a MISP event stops start-up naming the file and line", r.stderr)
    r = run(dp, ["-r", pcap, "--config", write(os.path.join(tmp, "badcfg.yaml"),
                                                "intel:\n  feeds:\n    - {path: x.txt, format: plain}\n")])
    check(r.returncode != 0 and "badcfg.yaml:3" in r.stderr and "needs 'type:'" in r.stderr,
          "a plain list without type: is a configuration error with file:line", r.stderr)
    check.cleanup(tmp)
    return check.summary()


def a_has(a, threat, tags, technique):
    return (a["intel"]["threat"] == threat and all(t in a["intel"]["tags"] for t in tags)
            and a["alert"]["metadata"]["mitre_technique_id"] == [technique] and "http" in a)


if __name__ == "__main__":
    sys.exit(main())
