"""--many mode of gen_traffic.py: N random short flows for load tests.

Built with raw struct builders (scapy is far too slow for this) and
streamed to flows.pcap. Every 5-tuple is unique and every flow ends
normally (TCP FIN/FIN, UDP and ICMP answered), so each flow's expected
record only depends on what is written here.
"""
import os
import random

import pcaplib
from pcaplib import iso_ts

FIN, SYN, PSH, ACK = 1, 2, 8, 0x10


def many(outdir, n, seed, start_us):
    """N random flows via raw builders; streamed to flows.pcap."""
    rng = random.Random(seed)
    used = set()
    records = []
    totals = [0, 0, 0]  # frames, bytes, last timestamp
    path = os.path.join(outdir, "flows.pcap")

    def one_flow(i):
        while True:
            six = rng.random() < 0.2
            if six:
                r = rng.randrange(1, 1 << 32)
                cip = "2001:db8:1::%x:%x" % (r >> 16, r & 0xFFFF)
                sip = "2001:db8:2::%x" % rng.randrange(1, 1 << 16)
            else:
                r = rng.randrange((1 << 17) - 256)  # not 198.19.255.x
                cip = "198.%d.%d.%d" % (18 + (r >> 16), (r >> 8) & 255,
                                        r & 255)
                sip = "198.19.255.%d" % rng.randint(1, 254)
            kind = rng.choices(("tcp", "udp", "icmp"), (6, 3, 1))[0]
            cport, sport = rng.randint(1024, 65535), rng.choice((80, 443, 53))
            vlan = [rng.randint(1, 4094)] if rng.random() < 0.1 else None
            # ICMP flows have no ports: key them on addresses alone
            key = ((cip, sip, kind, str(vlan)) if kind == "icmp" else
                   (cip, sip, cport, sport, kind, str(vlan)))
            if key not in used:
                used.add(key)
                break
        rec = {"src_ip": cip, "dest_ip": sip, "vlan": vlan,
               "src_port": None if kind == "icmp" else cport,
               "dest_port": None if kind == "icmp" else sport,
               "pkts_toserver": 0, "pkts_toclient": 0, "bytes_toserver": 0,
               "bytes_toclient": 0, "state": "established",
               "reason": "shutdown", "tcp_flags_ts": None,
               "tcp_flags_tc": None, "start": None}
        fl = {"ts": 0, "tc": 0}
        frames = []

        def put(d, proto, l4):
            src, dst = (cip, sip) if d == "ts" else (sip, cip)
            et, l3 = pcaplib.ip_packet(src, dst, proto, l4, ident=i & 0xFFFF)
            frames.append((d, pcaplib.ether(src, dst, et, l3, vlan)))

        if kind == "tcp":
            rec["proto"], rec["state"] = "TCP", "closed"
            rec["tcp_state"] = "closed"
            seq = {"ts": rng.randrange(1 << 32), "tc": rng.randrange(1 << 32)}

            def tcp(d, flags, data=b""):
                o = "tc" if d == "ts" else "ts"
                src, dst, sp, dp = ((cip, sip, cport, sport) if d == "ts"
                                    else (sip, cip, sport, cport))
                put(d, 6, pcaplib.l4_tcp(src, dst, sp, dp, seq[d],
                                         seq[o] if flags & ACK else 0,
                                         flags, data))
                seq[d] += len(data) + (1 if flags & (SYN | FIN) else 0)
                fl[d] |= flags
            tcp("ts", SYN)
            tcp("tc", SYN | ACK)
            tcp("ts", ACK)
            for _ in range(rng.randint(1, 4)):
                tcp("ts", PSH | ACK, rng.randbytes(rng.randint(10, 200)))
                tcp("tc", PSH | ACK, rng.randbytes(rng.randint(10, 1400)))
            tcp("ts", FIN | ACK)
            tcp("tc", FIN | ACK)
            tcp("ts", ACK)
            rec["tcp_flags_ts"] = "%02x" % fl["ts"]
            rec["tcp_flags_tc"] = "%02x" % fl["tc"]
        else:
            six_icmp = ":" in cip
            for q in range(rng.randint(1, 3)):
                for d in ("ts", "tc"):
                    src, dst = (cip, sip) if d == "ts" else (sip, cip)
                    data = rng.randbytes(rng.randint(8, 300))
                    if kind == "udp":
                        sp, dp = (cport, sport) if d == "ts" else (sport,
                                                                   cport)
                        put(d, 17, pcaplib.l4_udp(src, dst, sp, dp, data))
                    else:
                        t = ((128 if d == "ts" else 129) if six_icmp
                             else (8 if d == "ts" else 0))
                        put(d, 58 if six_icmp else 1,
                            pcaplib.l4_icmp(src, dst, t, 0, i & 0xFFFF, q,
                                            data, six_icmp))
            rec["proto"] = ("UDP" if kind == "udp" else
                            "IPv6-ICMP" if six_icmp else "ICMP")
        return rec, frames

    t = start_us
    active = []
    nxt = 0
    # Stream frames of up to 64 concurrent flows into the pcap.
    def stream():
        nonlocal t, nxt
        while nxt < n or active:
            while nxt < n and len(active) < 64:
                rec, frames = one_flow(nxt)
                records.append(rec)
                active.append([rec, frames, 0])
                nxt += 1
            k = rng.randrange(len(active))
            rec, frames, p = active[k]
            d, raw = frames[p]
            if rec["start"] is None:
                rec["start"] = iso_ts(t)
            rec["end"] = iso_ts(t)
            rec["pkts_toserver" if d == "ts" else "pkts_toclient"] += 1
            rec["bytes_toserver" if d == "ts" else
                "bytes_toclient"] += len(raw)
            totals[0] += 1
            totals[1] += len(raw)
            totals[2] = t
            yield t, raw
            t += rng.randint(1, 100)
            if p + 1 == len(frames):
                active.pop(k)
            else:
                active[k][2] = p + 1

    pcaplib.write_pcap(path, stream())
    records.sort(key=lambda r: r["start"])  # like scenario mode
    return records, totals
