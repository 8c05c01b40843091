#!/usr/bin/python3
"""Enterprise ATT&CK technique -> tactic table from the public STIX data.

  gen_attack_table.py BUNDLE.json [-o enterprise.tsv] [--only IDS.txt] [--attack-version V]

BUNDLE.json is MITRE's Enterprise ATT&CK STIX bundle (mitre-attack/attack-stix-data
enterprise-attack/enterprise-attack-<V>.json, or mitre/cti enterprise-attack/enterprise-attack.json).
Read from it (STIX 2.0/2.1, ATT&CK's documented format):
  - x-mitre-tactic objects: external_references[source_name=mitre-attack].external_id (TA....),
    x_mitre_shortname (the kill_chain_phases phase_name), name;
  - x-mitre-matrix: tactic_refs, the matrix order of the tactics;
  - attack-pattern objects: external_id (T.... / T....NNN), name, kill_chain_phases with
    kill_chain_name "mitre-attack" -> tactics;
  - x-mitre-collection: x_mitre_version (the ATT&CK version, else --attack-version).
Revoked and deprecated (x_mitre_deprecated) objects are left out. --only keeps the techniques
listed in a file (one id per line, '#' comments) and their parents; an id missing from the bundle is
an error naming the file and line.

Output (tab-separated, read by ctrlplane/cortex/attack.cc):
  # attack-version<TAB>V<TAB>source
  tactic<TAB>TA0007<TAB>discovery<TAB>Discovery            (matrix order)
  technique<TAB>T1046<TAB>discovery<TAB>Network Service Discovery   (tactics comma-separated)
"""
import argparse
import json
import sys


def mitre_id(obj):
    for r in obj.get("external_references", []):
        if r.get("source_name") == "mitre-attack" and r.get("external_id"):
            return r["external_id"]
    return None


def live(obj):
    return not obj.get("revoked") and not obj.get("x_mitre_deprecated")


def parse_bundle(bundle):
    """Returns (version, tactics [(id, short, name)] in matrix order, techniques {id: (name, [short])})."""
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle" or not isinstance(bundle.get("objects"), list):
        raise ValueError("not a STIX bundle (type 'bundle' with an 'objects' list)")
    objs = [o for o in bundle["objects"] if isinstance(o, dict)]
    version = None
    tactics_by_ref, order = {}, []
    techniques = {}
    for o in objs:
        t = o.get("type")
        if t == "x-mitre-collection" and o.get("x_mitre_version"):
            version = o["x_mitre_version"]
        elif t == "x-mitre-tactic" and live(o):
            tid = mitre_id(o)
            if tid and o.get("x_mitre_shortname"):
                tactics_by_ref[o["id"]] = (tid, o["x_mitre_shortname"], o.get("name", ""))
        elif t == "x-mitre-matrix" and live(o):
            order += [r for r in o.get("tactic_refs", []) if r not in order]
        elif t == "attack-pattern" and live(o):
            tid = mitre_id(o)
            phases = [p["phase_name"] for p in o.get("kill_chain_phases", [])
                      if p.get("kill_chain_name") == "mitre-attack"]
            if tid and phases:
                techniques[tid] = (o.get("name", ""), phases)
    ordered = [tactics_by_ref[r] for r in order if r in tactics_by_ref]
    ordered += sorted(v for r, v in tactics_by_ref.items() if r not in order)
    shorts = {s for _, s, _ in ordered}
    for tid, (_, phases) in techniques.items():
        for p in phases:
            if p not in shorts:
                raise ValueError("technique %s names tactic '%s' that the bundle does not define" % (tid, p))
    return version, ordered, techniques


def read_only(path, techniques):
    keep = set()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            tid = line.split("#")[0].strip()
            if not tid:
                continue
            if tid not in techniques:
                raise ValueError("%s:%d: technique %s is not in the bundle" % (path, n, tid))
            keep.add(tid)
            if "." in tid and tid.split(".")[0] in techniques:
                keep.add(tid.split(".")[0])
    return keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("-o", "--out", default="-")
    ap.add_argument("--only")
    ap.add_argument("--attack-version")
    a = ap.parse_args()
    try:
        with open(a.bundle) as f:
            version, tactics, techniques = parse_bundle(json.load(f))
        keep = read_only(a.only, techniques) if a.only else set(techniques)
    except (OSError, ValueError) as e:
        print("gen_attack_table: %s" % e, file=sys.stderr)
        return 1
    version = version or a.attack_version
    if not version:
        print("gen_attack_table: the bundle has no x-mitre-collection version; give --attack-version", file=sys.stderr)
        return 1
    lines = ["# attack-version\t%s\t%s" % (version, a.bundle.split("/")[-1])]
    lines += ["tactic\t%s\t%s\t%s" % t for t in tactics]
    for tid in sorted(keep, key=lambda s: [int(x) for x in s[1:].split(".")]):
        name, phases = techniques[tid]
        lines.append("technique\t%s\t%s\t%s" % (tid, ",".join(phases), name.replace("\t", " ")))
    text = "\n".join(lines) + "\n"
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
