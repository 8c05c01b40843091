"""Random mode of alerts.py: N TCP flows carrying random text from a small
alphabet, cut into random segments, partly reordered, with overlapping
retransmissions that carry other bytes, plus random literal-content rules.

Expected result, per (sid, flow, direction): alerted at least once iff the
content occurs in that direction's first-wins stream (every byte is the one
of the first segment, in capture order, that carried it). Alerts are per
stream chunk, so a content present twice may alert twice: only presence is
compared. Frames are built with pcaplib's raw builders (fast)."""
import random

import pcaplib
from genlib import ACK, FIN, PSH, SYN
from pcaplib import EPOCH_START_US, iso_ts

ALPHABET = b"abcd"
FIRST_RANDOM_SID = 9500001


def _frame(src, dst, sp, dp, seq, ack, flags, payload=b""):
    l4 = pcaplib.l4_tcp(src, dst, sp, dp, seq, ack, flags, payload)
    et, l3 = pcaplib.ip_packet(src, dst, 6, l4)
    return pcaplib.ether(src, dst, et, l3)


def _direction(rng, total):
    """(stream bytes sent first-wins, [(offset, bytes)] in send order,
    [losing bytes]) for one direction of `total` bytes."""
    data = bytes(rng.choice(ALPHABET) for _ in range(total))
    segs, off = [], 0
    while off < total:
        n = min(total - off, rng.randint(1, 90))
        segs.append((off, data[off:off + n]))
        off += n
    # reorder: a few random swaps of nearby segments
    for _ in range(len(segs) // 3):
        i = rng.randrange(len(segs))
        j = min(len(segs) - 1, i + rng.randint(1, 3))
        segs[i], segs[j] = segs[j], segs[i]
    # overlapping retransmissions with other bytes, anywhere in the order
    for _ in range(rng.randint(0, 3)):
        a = rng.randrange(total)
        n = rng.randint(1, min(60, total - a))
        other = bytes(rng.choice(ALPHABET) for _ in range(n))
        segs.insert(rng.randint(0, len(segs)), (a, other))
    # first wins, byte by byte, in send order
    stream = bytearray(total)
    seen = [False] * total
    losing = []
    for off, b in segs:
        lost = bytearray()
        for k, ch in enumerate(b):
            if seen[off + k]:
                if stream[off + k] != ch:
                    lost.append(ch)
                else:
                    lost += b"|"  # same byte: not a "different" run
            else:
                seen[off + k] = True
                stream[off + k] = ch
                lost += b"|"  # new byte: ends a losing run
        losing += [x for x in bytes(lost).split(b"|") if len(x) >= 6]
    assert all(seen)
    return bytes(stream), segs, losing


def build_random(outdir, n, seed, nrules=None):
    rng = random.Random(seed * 7919 + 17)
    frames, flows = [], []
    t = EPOCH_START_US
    for i in range(n):
        cip = "198.18.%d.%d" % (200 + i // 250, i % 250 + 1)
        sip = "198.19.%d.%d" % (200 + i // 250, i % 250 + 1)
        cp, sp = rng.randint(1024, 65000), rng.randint(20000, 60000)
        isn = {"ts": rng.randrange(1 << 32), "tc": rng.randrange(1 << 32)}
        ends = {"ts": (cip, sip, cp, sp), "tc": (sip, cip, sp, cp)}
        dirs = {d: _direction(rng, rng.randint(20, 500) if d == "ts"
                              else rng.randint(0, 500)) for d in ("ts", "tc")}
        if not dirs["tc"][0]:
            dirs["tc"] = (b"", [], [])
        pk = []

        def seg(d, off, payload, flags=PSH | ACK):
            o = "tc" if d == "ts" else "ts"
            s, dd, a, b = ends[d]
            pk.append(_frame(s, dd, a, b, isn[d] + 1 + off,
                             isn[o] + 1, flags, payload))
        c, s_, a, b = ends["ts"]
        pk.append(_frame(c, s_, a, b, isn["ts"], 0, SYN))
        pk.append(_frame(s_, c, b, a, isn["tc"], isn["ts"] + 1, SYN | ACK))
        seg("ts", 0, b"", ACK)
        # interleave the two directions, each keeping its order
        q = {d: list(dirs[d][1]) for d in dirs}
        while q["ts"] or q["tc"]:
            d = rng.choice([x for x in q if q[x]])
            off, payload = q[d].pop(0)
            seg(d, off, payload)
        lts, ltc = len(dirs["ts"][0]), len(dirs["tc"][0])
        seg("ts", lts, b"", FIN | ACK)
        pk.append(_frame(s_, c, b, a, isn["tc"] + 1 + ltc,
                         isn["ts"] + 2 + lts, FIN | ACK))
        pk.append(_frame(c, s_, a, b, isn["ts"] + 2 + lts,
                         isn["tc"] + 2 + ltc, ACK))
        for raw in pk:
            frames.append((t, raw))
            t += rng.randint(50, 3000)
        flows.append({"ends": ends, "streams": {d: dirs[d][0] for d in dirs},
                      "losing": [x for d in dirs for x in dirs[d][2]]})
    # rules: contents from streams, from losing bytes, and random
    nrules = nrules or max(12, n // 2)
    contents = []
    while len(contents) < nrules:
        kind = len(contents) % 3
        L = rng.randint(6, 9)
        fl = rng.choice(flows)
        if kind == 0:
            st = fl["streams"][rng.choice(["ts", "tc"])]
            if len(st) < L:
                continue
            k = rng.randrange(len(st) - L + 1)
            c = st[k:k + L]
        elif kind == 1:
            los = [x for f in flows for x in f["losing"] if len(x) >= L]
            if not los:
                kind = 2
            else:
                x = rng.choice(los)
                k = rng.randrange(len(x) - L + 1)
                c = x[k:k + L]
        if kind == 2:
            c = bytes(rng.choice(ALPHABET) for _ in range(L))
        if c not in contents:
            contents.append(c)
    rules, present = [], []
    for k, c in enumerate(contents):
        sid = FIRST_RANDOM_SID + k
        rules.append('alert tcp any any -> any any (msg:"SPECTRE RANDOM %d";'
                     ' content:"%s"; sid:%d; rev:1;)' % (sid, c.decode(), sid))
        for fl in flows:
            for d in ("ts", "tc"):
                if c in fl["streams"][d]:
                    s, dd, a, b = fl["ends"][d]
                    present.append({"sid": sid, "src_ip": s, "src_port": a,
                                    "dest_ip": dd, "dest_port": b})
    lost_only = sum(1 for c in contents
                    if not any(c in fl["streams"][d] for fl in flows
                               for d in ("ts", "tc"))
                    and any(c in x for fl in flows for x in fl["losing"]))
    pcaplib.write_pcap(outdir + "/random.pcap", frames)
    with open(outdir + "/alerts.rules", "w") as fh:
        fh.write("# random literal-content rules (alerts.py --random)\n")
        fh.write("\n".join(rules) + "\n")
    return {
        "mode": "random", "seed": seed, "pcap": "random.pcap",
        "flows": n, "frames": len(frames), "rules": len(rules),
        "first_ts": iso_ts(frames[0][0]), "last_ts": iso_ts(frames[-1][0]),
        "rules_only_in_losing_bytes": lost_only,
        "semantics": "presence: for each (sid, src_ip, src_port, dest_ip, "
                     "dest_port) listed in 'present' spectre-dp must raise "
                     ">= 1 alert, and no alert for any other combination. "
                     "Streams are first-wins (first segment in capture "
                     "order to carry a byte decides it).",
        "present": present}
