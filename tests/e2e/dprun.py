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
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NDPI = os.path.join(os.path.dirname(ROOT), "shared", "corpora", "pcaps", "ndpi", "tests", "cfgs", "default")
# Importing dprun puts tests/gen (pcaplib, generators) and tests/live (checks) on the path.
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from pcaplib import ether, ip_packet, l4_tcp, l4_udp  # noqa: E402
import refflow  # noqa: E402

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def binary_or_skip(argv):
    """spectre-dp from argv[1], $SPECTRE_DP or the build tree; exits 77 (skip) without one."""
    for p in (argv[1] if len(argv) > 1 else None, os.environ.get("SPECTRE_DP"),
              os.path.join(ROOT, "build", "dataplane", "spectre-dp")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    print("SKIP: spectre-dp not found (pass a path or set SPECTRE_DP)")
    sys.exit(77)


def need_scapy():
    """Exits 77 (skip) when scapy is not installed."""
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        print("SKIP: scapy is not installed")
        sys.exit(77)


class Timed(list):
    """Scapy packets, each stamped `step` seconds after the one before (the first at t0 + step)."""

    def __init__(self, t0=100.0, step=0.01):
        super().__init__()
        self.t, self.step = t0, step

    def add(self, p):
        self.t += self.step
        p.time = self.t
        self.append(p)


def offline_main(name, body):
    """main() of an offline script: the binary (or a skip), a Checks tally and
    a temporary folder handed to body(check, dp, tmp); returns the exit code."""
    from checks import Checks
    import tempfile
    dp = binary_or_skip(sys.argv)
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-%s-" % name)
    body(check, dp, tmp)
    check.cleanup(tmp)
    return check.summary()


def write_lines(path, lines):
    """`lines` (rules, config) written to `path`, one a line."""
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def app_script(name, rules, ndpi_part, generated_part, min_alerts):
    """main() of an app-layer script: rules written, the nDPI part (at least
    `min_alerts` expected alerts when the corpus is there), the generated part."""
    def body(check, dp, tmp):
        rfile = os.path.join(tmp, name + ".rules")
        with open(rfile, "w") as fh:
            fh.write(rules)
        total = ndpi_part(check, dp, tmp, rfile)
        if os.path.isdir(NDPI):
            check(total > min_alerts, "more than %d expected alerts over the nDPI captures" % min_alerts, total)
        generated_part(check, dp, tmp)
    return offline_main(name, body)


def ndpi_pcap(name):
    """Path of an nDPI capture, or None (corpus or file absent: the caller skips that part)."""
    p = os.path.join(NDPI, "pcap", name)
    if not os.path.exists(p):
        print("SKIP %s: nDPI corpus or capture absent (%s)" % (name, NDPI))
        return None
    return p


def ndpi_runs(check, dp, tmp, rfile, files, opts=("-k", "none", "--no-ml", "--strict")):
    """Each nDPI capture of `files` that is present, run offline with the
    rules in `rfile`: yields (name, pcap, events) of the runs that exited 0
    with EVE; a run that did not is a failed check."""
    for name in files:
        pcap = ndpi_pcap(name)
        if not pcap:
            continue
        p, ev = run_offline(dp, pcap, os.path.join(tmp, name + ".json"), rfile, list(opts))
        if check(p.returncode == 0 and ev, "%s: exit 0, EVE written, every rule loaded" % name, p.stderr[-800:]):
            yield name, pcap, ev


def run_generated(check, dp, tmp, name, frames, rules, opts=("-k", "none", "--no-ml", "--strict")):
    """Writes `frames` to tmp/gen_<name>.pcap and `rules` to tmp/gen.rules,
    runs spectre-dp offline on them: the EVE events, or None (a failed check)
    when it did not exit 0 with EVE."""
    from pcaplib import write_pcap
    pcap = os.path.join(tmp, "gen_%s.pcap" % name)
    write_pcap(pcap, frames)
    rfile = os.path.join(tmp, "gen.rules")
    with open(rfile, "w") as fh:
        fh.write(rules)
    p, ev = run_offline(dp, pcap, os.path.join(tmp, "gen.json"), rfile, list(opts))
    return ev if check(p.returncode == 0 and ev, "generated: exit 0, EVE written", p.stderr[-800:]) else None


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


def run_rules(dp, tmp, packets, rules, args=()):
    """Writes `packets` (scapy) and `rules` (lines) into tmp, runs spectre-dp on them."""
    from scapy.all import wrpcap
    pcap, rfile, eve = (os.path.join(tmp, n) for n in ("t.pcap", "t.rules", "eve.json"))
    wrpcap(pcap, packets)
    write_lines(rfile, rules)
    return run_offline(dp, pcap, eve, rfile, args)


def alerts(events):
    return [e for e in events if e.get("event_type") == "alert"]


def alert_sids(events):
    return collections.Counter(e["alert"]["signature_id"] for e in alerts(events))


def check_rules_run(check, dp, tmp, pcap, rules, want, what, args=("--strict",)):
    """`rules` (lines) written to tmp/run.rules, spectre-dp run offline on `pcap`:
    a check that it exited 0 (`what`), then one check per sid of `want` with a
    non-zero count and one that no other sid fired. Returns (CompletedProcess, events)."""
    rfile = os.path.join(tmp, "run.rules")
    write_lines(rfile, rules)
    p, ev = run_offline(dp, pcap, os.path.join(tmp, "eve.json"), rfile, list(args))
    if check(p.returncode == 0, what, (p.stdout + p.stderr)[-800:]):
        print("  expected per sid: %s" % want)
        check_sid_counts(check, alert_sids(ev), {s: n for s, n in want.items() if n},
                         "no other sid fired (zero-count sids: %s)" % sorted(s for s, n in want.items() if not n))
    return p, ev


def check_sid_counts(check, got, expected, extra_what="no alerts from unexpected sids"):
    """One check per expected sid (its exact count), then that no other sid fired."""
    for sid in sorted(expected):
        check(got[sid] == expected[sid], "sid %d: %d alert(s)" % (sid, expected[sid]), "got %d" % got[sid])
    extra = sorted(set(got) - set(expected))
    check(not extra, extra_what, extra)


# TCP streams of a capture, reassembled by sequence number (a reference reader
# for expectations, independent of spectre-dp).
def l4(linktype, frame):
    """(src, sport, dst, dport, seq, flags, payload) of a TCP/IPv4 frame, else None."""
    if linktype == 1:
        if len(frame) < 14:
            return None
        et, off = struct.unpack("!H", frame[12:14])[0], 14
        if et == 0x8100:
            et, off = struct.unpack("!H", frame[16:18])[0], 18
        if et != 0x0800:
            return None
        ip = frame[off:]
    elif linktype in (101, 228):
        ip = frame
    elif linktype == 113:  # Linux cooked capture (SLL): protocol at 14, IP at 16
        if len(frame) < 16 or struct.unpack("!H", frame[14:16])[0] != 0x0800:
            return None
        ip = frame[16:]
    else:
        return None
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        return None
    ihl, tot = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:tot]
    if len(tcp) < 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", tcp[:8])
    return (ip[12:16], sport, ip[16:20], dport, seq, tcp[13], tcp[(tcp[12] >> 4) * 4:])


def tcp_streams(path):
    """{(client, cport, server, sport): [client bytes, server bytes]} by SYN, else first sender."""
    segs = collections.defaultdict(dict)  # (src, sport, dst, dport) -> {seq: payload}
    first = {}
    for _, lt, fr in refflow.read_frames(path, collections.Counter()):
        t = l4(lt, fr)
        if not t:
            continue
        src, sp, dst, dp, seq, flags, pay = t
        pair = frozenset([(src, sp), (dst, dp)])
        if pair not in first or (flags & 0x12) == 0x02:
            first.setdefault(pair, (src, sp, dst, dp))
            if (flags & 0x12) == 0x02:
                first[pair] = (src, sp, dst, dp)
        if pay:
            segs[(src, sp, dst, dp)].setdefault(seq, pay)
    out = {}
    for pair, (c, cp, s, sp) in first.items():
        def join(key):
            d = segs.get(key, {})
            b, nxt = b"", None
            for seq in sorted(d):
                if nxt is not None and seq < nxt:
                    continue  # retransmission
                b += d[seq]
                nxt = seq + len(d[seq])
            return b
        out[(c, cp, s, sp)] = [join((c, cp, s, sp)), join((s, sp, c, cp))]
    return out
