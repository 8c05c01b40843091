#!/usr/bin/python3
"""Deterministic test-traffic generator for spectre-dp.

  gen_traffic.py OUTDIR [--seed N] [--start SEC]            scenarios
  gen_traffic.py OUTDIR --many N [--seed N] [--start SEC]   N random flows

Writes OUTDIR/flows.pcap, OUTDIR/flows.pcapng (same frames; scenario mode
only), OUTDIR/expected.json (flow records, ordered by start),
OUTDIR/config.yaml (the flow timeouts expected.json assumes) and
OUTDIR/meta.json (frame/byte totals). Expected counts come from the
bookkeeping done while frames are emitted, never from reading files back.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcaplib  # noqa: E402
from pcaplib import EPOCH_START_US  # noqa: E402
from scenarios import IDLE_GAP_US, TIMEOUTS  # noqa: E402


def scenario(outdir, seed, start_us):
    from genlib import Gen
    from scenarios import build_scenarios
    g = Gen(seed)
    sc = build_scenarios(g)
    # phase 0: explicitly timed steps (timeout cases), then the gap
    for off, step in sorted(sc["p0"], key=lambda x: x[0]):
        assert off < IDLE_GAP_US
        g.emit(start_us + off, step)
    t = g.merge(sc["main"], start_us + IDLE_GAP_US)
    for step in sc["tail"]:  # back-to-back, 1 us apart
        g.emit(t, step)
        t += 1
    flows = sorted(g.flows, key=lambda f: f.start)
    pcaplib.write_pcap(os.path.join(outdir, "flows.pcap"), g.frames)
    pcaplib.write_pcapng(os.path.join(outdir, "flows.pcapng"), g.frames)
    return [f.record() for f in flows], g.frames, g.nonflow


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--many", type=int, metavar="N",
                    help="write N random flows instead of the scenarios")
    ap.add_argument("--start", type=float, default=0.0, metavar="SEC",
                    help="first timestamp, seconds after 2024-01-01T00:00Z")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    start_us = EPOCH_START_US + int(a.start * 1_000_000)
    if a.many:
        from many import many
        records, (nframes, nbytes, last) = many(a.outdir, a.many, a.seed,
                                                start_us)
        nonflow = 0
    else:
        records, frames, nonflow = scenario(a.outdir, a.seed, start_us)
        nframes, nbytes = len(frames), sum(len(r) for _, r, _ in frames)
        last = frames[-1][0]
    with open(os.path.join(a.outdir, "expected.json"), "w") as f:
        json.dump(records, f, indent=1)
    with open(os.path.join(a.outdir, "config.yaml"), "w") as f:
        f.write(pcaplib.config_yaml(TIMEOUTS))
    meta = {"frames": nframes, "bytes": nbytes, "flows": len(records),
            "first_us": start_us, "last_us": last,
            "nonflow_frames": nonflow, "seed": a.seed, "timeouts": TIMEOUTS}
    with open(os.path.join(a.outdir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("wrote %d frames, %d flows to %s" % (nframes, len(records),
                                               a.outdir))


if __name__ == "__main__":
    main()
