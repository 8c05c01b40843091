#!/usr/bin/python3
"""ctrlplane/cortex/attack/gen_attack_table.py on a small STIX fixture in ATT&CK's
documented format: tactics in matrix order, revoked/deprecated left out, multi-tactic
techniques, sub-techniques, --only with its parents, errors naming file and line.
Exit 0 all passed, 1 something failed. Last line: "N passed, N failed"."""
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402

GEN = os.path.join(ROOT, "ctrlplane", "cortex", "attack", "gen_attack_table.py")
FIX = os.path.join(HERE, "stix_fixture.json")


def gen(*args):
    return subprocess.run([sys.executable, GEN] + list(args), capture_output=True, text=True, timeout=60)


def main():
    check = Checks()
    r = gen(FIX)
    check(r.returncode == 0, "fixture: exit 0", r.stderr)
    lines = r.stdout.splitlines()
    check(lines[0].startswith("# attack-version\t99.1\t"), "version from x-mitre-collection", lines[:1])
    tactics = [l.split("\t")[1] for l in lines if l.startswith("tactic\t")]
    check(tactics == ["TA0007", "TA0006", "TA0011"], "tactics in matrix order", tactics)
    tech = {l.split("\t")[1]: l.split("\t") for l in lines if l.startswith("technique\t")}
    check(sorted(tech) == ["T1040", "T1046", "T1071", "T1110", "T1110.003"],
          "revoked, deprecated and non-technique objects left out", sorted(tech))
    check(tech["T1040"][2] == "credential-access,discovery", "several tactics kept in the bundle's order", tech["T1040"])
    check(tech["T1071"][2] == "command-and-control", "other kill chains ignored", tech["T1071"])
    check(tech["T1046"][3] == "Network Service Discovery", "technique name", tech["T1046"])
    order = [l.split("\t")[1] for l in lines if l.startswith("technique\t")]
    check(order == ["T1040", "T1046", "T1071", "T1110", "T1110.003"], "numeric order", order)
    with tempfile.TemporaryDirectory() as tmp:
        only = os.path.join(tmp, "only.txt")
        with open(only, "w") as f:
            f.write("# used by our rules\nT1110.003\n\nT1046  # scan\n")
        out = os.path.join(tmp, "t.tsv")
        r = gen(FIX, "--only", only, "-o", out)
        body = open(out).read() if r.returncode == 0 else ""
        got = sorted(l.split("\t")[1] for l in body.splitlines() if l.startswith("technique\t"))
        check(got == ["T1046", "T1110", "T1110.003"], "--only keeps the listed ids and parents", got)
        with open(only, "a") as f:
            f.write("T4242\n")
        r = gen(FIX, "--only", only)
        check(r.returncode == 1 and "only.txt:5:" in r.stderr and "T4242" in r.stderr,
              "--only: an id missing from the bundle names file and line", r.stderr)
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"type": "bundle", "objects": [{"type": "attack-pattern", "id": "a", "name": "X", '
                    '"external_references": [{"source_name": "mitre-attack", "external_id": "T1"}], '
                    '"kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "nowhere"}]}]}')
        r = gen(bad, "--attack-version", "1")
        check(r.returncode == 1 and "nowhere" in r.stderr, "a technique naming an undefined tactic is refused", r.stderr)
        with open(bad, "w") as f:
            f.write("[1, 2]")
        r = gen(bad)
        check(r.returncode == 1 and "not a STIX bundle" in r.stderr, "not a bundle: refused", r.stderr)
    # The shipped table parses as the generator writes it: same line shapes.
    shipped = open(os.path.join(ROOT, "ctrlplane", "cortex", "attack", "enterprise.tsv")).read().splitlines()
    shapes_ok = all(l.startswith("#") or (l.split("\t")[0] in ("tactic", "technique") and len(l.split("\t")) == 4)
                    for l in shipped)
    check(shapes_ok and shipped[0].startswith("# attack-version\t18.0\t"), "shipped enterprise.tsv has the generator's format")
    # Round trip: the shipped table written as a STIX bundle (shuffled, in ATT&CK's
    # object shapes) gives back the same lines through the generator.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "enterprise-attack-18.0.json")
        with open(path, "w") as f:
            json.dump(bundle_of(shipped), f)
        r = gen(path)
        body = [l for l in r.stdout.splitlines() if not l.startswith("#")]
        check(r.returncode == 0 and body == [l for l in shipped if not l.startswith("#")],
              "shipped table -> STIX bundle -> generator: the same %d lines" % len(body), r.stderr)
        check(r.stdout.startswith("# attack-version\t18.0\t"), "version 18.0 from the bundle's collection")
    return check.summary()


def bundle_of(lines):
    """A STIX 2.1 bundle with the tactics, matrix and techniques of a table (objects shuffled)."""
    ref = lambda tid: [{"source_name": "mitre-attack", "external_id": tid}]
    objs, refs = [{"type": "x-mitre-collection", "id": "x-mitre-collection--1", "x_mitre_version": "18.0"}], []
    for l in lines:
        f = l.split("\t")
        if f[0] == "tactic":
            refs.append("x-mitre-tactic--" + f[1])
            objs.append({"type": "x-mitre-tactic", "id": refs[-1], "name": f[3], "x_mitre_shortname": f[2],
                         "external_references": ref(f[1])})
        elif f[0] == "technique":
            objs.append({"type": "attack-pattern", "id": "attack-pattern--" + f[1], "name": f[3],
                         "x_mitre_is_subtechnique": "." in f[1], "external_references": ref(f[1]),
                         "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": p}
                                               for p in f[2].split(",")]})
    objs.append({"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "tactic_refs": refs})
    random.Random(18).shuffle(objs)
    return {"type": "bundle", "id": "bundle--1", "objects": objs}


if __name__ == "__main__":
    sys.exit(main())
