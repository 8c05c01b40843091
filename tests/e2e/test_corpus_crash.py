#!/usr/bin/python3
"""Robustness: spectre-dp on every capture under ../shared/corpora/pcaps.

  test_corpus_crash.py [SPECTRE_DP] [--batch 50] [--workers 2]
                       [--timeout 600] [--corpus DIR]

Files go in batches of many -r options. A batch that crashes (signal),
hangs, prints a sanitizer report, writes broken EVE or exits non-zero is
re-run file by file, so every file is exercised and culprits are named.
A single file may exit non-zero (unsupported/unreadable input) as long as
it says why on stderr. Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flowcheck  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
from checks import Checks  # noqa: E402

CORPUS = os.path.join(os.path.dirname(flowcheck.ROOT), "shared", "corpora",
                      "pcaps")
EXTS = (".pcap", ".pcapng", ".cap")


def problems(run, single):
    """Why this run is not acceptable ([] if fine)."""
    if run.rc is None:
        return ["did not finish within the timeout"]
    if run.crashed():
        return ["killed by signal %d" % -run.rc]
    out = ["sanitizer: " + ln for ln in run.sanitizer_lines()[:10]]
    out += ["unparsable EVE line: " + ln for ln in run.bad_lines[:5]]
    if run.rc != 0:
        if not single:
            out.append("exit code %d" % run.rc)  # find out which file
        elif not run.stderr.strip():
            out.append("exit code %d without a message" % run.rc)
    elif flowcheck.stats_event(run.events) is None:
        out.append("exit 0 but no stats event")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=600,
                    help="seconds allowed per batch (a single file: half)")
    ap.add_argument("--corpus", default=CORPUS)
    a = ap.parse_args()
    binary = flowcheck.corpus_and_binary_or_skip(a.corpus, a.binary)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.corpus)
                   for f in fs if f.lower().endswith(EXTS))
    print("%d capture files under %s, batches of %d, --workers %d"
          % (len(files), a.corpus, a.batch, a.workers))
    check, notes = Checks(), []  # one check per capture file
    for i in range(0, len(files), a.batch):
        batch = files[i:i + a.batch]
        run = flowcheck.run_dp(binary, batch, a.workers, timeout=a.timeout)
        probs = problems(run, False)
        if not probs:
            check.count(len(batch))
            print("ok   batch %d-%d" % (i, i + len(batch) - 1))
            continue
        print("redo batch %d-%d one by one: %s" % (i, i + len(batch) - 1,
                                                    probs[0]))
        for f in batch:
            run = flowcheck.run_dp(binary, [f], a.workers,
                                   timeout=a.timeout // 2)
            rel = os.path.relpath(f, a.corpus)
            probs = problems(run, True)
            if probs:
                check.count(0, [rel])
                print("FAIL %s\n  %s\n  %s" % (
                    rel, "\n  ".join(probs),
                    run.describe().replace("\n", "\n  ")))
            else:
                check.count(1)
                if run.rc != 0:
                    msg = run.stderr.strip().splitlines()[-1][:160]
                    notes.append("%s: exit %d: %s" % (rel, run.rc, msg))
        sys.stdout.flush()
    for n in notes:
        print("note (clean refusal) %s" % n)
    sys.exit(check.summary())


if __name__ == "__main__":
    main()
