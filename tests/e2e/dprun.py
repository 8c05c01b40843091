"""Offline spectre-dp runs for the end-to-end scripts: one way to start it on a
capture with built-in defaults (SPECTRE_CONFIG=none) and read its EVE output.

    p, events = run_offline(dp, pcap, eve, rules=rfile, args=["--strict"])
    got = alert_sids(events)                       # Counter of signature ids
    check_sid_counts(check, got, {101: 1, 102: 0}) # one check per sid, then "no unexpected sids"

and what the app-layer scripts share: the binary and nDPI corpus or a skip
(exit 77), generated TCP conversations and UDP datagrams as pcap frames.
"""
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NDPI = os.path.join(os.path.dirname(ROOT), "shared", "corpora", "pcaps", "ndpi", "tests", "cfgs", "default")
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
from pcaplib import ether, ip_packet, l4_tcp, l4_udp  # noqa: E402

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def binary_or_skip(argv):
    """spectre-dp from argv[1], $SPECTRE_DP or the build tree; exits 77 (skip) without one."""
    for p in (argv[1] if len(argv) > 1 else None, os.environ.get("SPECTRE_DP"),
              os.path.join(ROOT, "build", "dataplane", "spectre-dp")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    print("SKIP: spectre-dp not found (pass a path or set SPECTRE_DP)")
    sys.exit(77)


def ndpi_pcap(name):
    """Path of an nDPI capture, or None (corpus or file absent: the caller skips that part)."""
    p = os.path.join(NDPI, "pcap", name)
    if not os.path.exists(p):
        print("SKIP %s: nDPI corpus or capture absent (%s)" % (name, NDPI))
        return None
    return p


def tcp_conversation(frames, t, cli, srv, cport, sport, segs, close=True):
    """Handshake, then segs [(to_server, bytes)] in order (each its own segment,
    acknowledged by the next), FIN both ways. Times in microseconds; returns the end time."""
    seq = {True: 1000, False: 5000}

    def put(c2s, flags, payload=b""):
        nonlocal t
        a, b, pa, pb = (cli, srv, cport, sport) if c2s else (srv, cli, sport, cport)
        ethertype, l3 = ip_packet(a, b, 6, l4_tcp(a, b, pa, pb, seq[c2s], seq[not c2s], flags, payload))
        frames.append((t, ether(a, b, ethertype, l3)))
        seq[c2s] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        t += 1000
    put(True, SYN)
    put(False, SYN | ACK)
    put(True, ACK)
    for c2s, data in segs:
        put(c2s, PSH | ACK, data)
    if close:
        put(True, FIN | ACK)
        put(False, FIN | ACK)
        put(True, ACK)
    return t


def udp_datagrams(frames, t, cli, srv, cport, sport, dgrams):
    """dgrams [(to_server, bytes)] as UDP datagrams; returns the end time."""
    for c2s, data in dgrams:
        a, b, pa, pb = (cli, srv, cport, sport) if c2s else (srv, cli, sport, cport)
        ethertype, l3 = ip_packet(a, b, 17, l4_udp(a, b, pa, pb, data))
        frames.append((t, ether(a, b, ethertype, l3)))
        t += 1000
    return t


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
