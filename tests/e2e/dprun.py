"""Offline spectre-dp runs for the end-to-end scripts: one way to start it on a
capture with built-in defaults (SPECTRE_CONFIG=none) and read its EVE output.

    p, events = run_offline(dp, pcap, eve, rules=rfile, args=["--strict"])
    got = alert_sids(events)                       # Counter of signature ids
    check_sid_counts(check, got, {101: 1, 102: 0}) # one check per sid, then "no unexpected sids"
"""
import collections
import json
import os
import subprocess


def read_eve(path):
    """Every EVE record of `path` ([] when the run wrote none)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_offline(dp, pcap, eve, rules=None, args=(), timeout=120):
    """spectre-dp -r pcap --eve eve [-S rules] args; returns (CompletedProcess, events)."""
    if os.path.exists(eve):
        os.unlink(eve)
    cmd = [dp, "-r", pcap, "--eve", eve] + (["-S", rules] if rules else []) + list(args)
    p = subprocess.run(cmd, env=dict(os.environ, SPECTRE_CONFIG="none"), capture_output=True, text=True,
                       timeout=timeout)
    return p, read_eve(eve)


def dp_binary():
    """spectre-dp from argv[1] or $SPECTRE_DP; None (after printing SKIP) when absent."""
    import sys
    dp = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPECTRE_DP", "")
    if not dp or not os.access(dp, os.X_OK):
        print("SKIP: no spectre-dp binary (argument or $SPECTRE_DP)")
        return None
    return dp


def run_rules(dp, tmp, packets, rules, args=()):
    """Writes `packets` (scapy) and `rules` (lines) into tmp, runs spectre-dp on them."""
    from scapy.all import wrpcap
    pcap, rfile, eve = (os.path.join(tmp, n) for n in ("t.pcap", "t.rules", "eve.json"))
    wrpcap(pcap, packets)
    with open(rfile, "w") as f:
        f.write("\n".join(rules) + "\n")
    return run_offline(dp, pcap, eve, rfile, args)


def alerts(events):
    return [e for e in events if e.get("event_type") == "alert"]


def alert_sids(events):
    return collections.Counter(e["alert"]["signature_id"] for e in alerts(events))


def check_sid_counts(check, got, expected, extra_what="no alerts from unexpected sids"):
    """One check per expected sid (its exact count), then that no other sid fired."""
    for sid in sorted(expected):
        check(got[sid] == expected[sid], "sid %d: %d alert(s)" % (sid, expected[sid]), "got %d" % got[sid])
    extra = sorted(set(got) - set(expected))
    check(not extra, extra_what, extra)
