#!/usr/bin/python3
"""SSH end to end on nDPI's SSH captures (skipped when ../shared is absent).

  test_ssh.py [SPECTRE_DP]   (or $SPECTRE_DP)

The expectations are derived here, from the captures themselves: a small
reader (refflow.read_frames, TCP reassembled per direction by sequence
number) finds each side's banner and KEXINIT and computes HASSH (md5 of
"kex;enc;mac;comp", client-to-server lists for the client, server-to-client
for the server). That reader is first checked against nDPI's own result
files (HASSH-C / HASSH-S, an independent implementation).

Then spectre-dp runs the examples of Suricata's ssh-keywords page (and a few
near misses) and must give, per sid, the count derived from the banners and
KEXINITs: Suricata inspects these buffers once per transaction direction, so
a rule without a direction counts each side that matches. The EVE `ssh`
event (one per flow: client/server proto_version, software_version,
hassh {hash, string}) must carry the same values, flow records say `ssh`,
and the ML feature row of each SSH flow has app_proto 0 (the code the
shipped model was trained with for protocols it never saw).
Exit 0 all passed, 1 something failed, 77 skipped.
"""
import collections
import csv
import hashlib
import os
import re
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "live"))
import dprun  # noqa: E402
import evecheck  # noqa: E402
import flowcheck  # noqa: E402
import refflow  # noqa: E402
from checks import Checks  # noqa: E402

NDPI = os.path.join(os.path.dirname(flowcheck.ROOT), "shared", "corpora", "pcaps", "ndpi",
                    "tests", "cfgs", "default")
FILES = ["ssh.pcap", "ssh_unidirectional.pcap"]


streams = dprun.tcp_streams


def side(data, server):
    """Banner fields and HASSH of one direction's bytes (None fields when absent)."""
    r = {"proto": None, "software": None, "hassh": None, "hassh_string": None}
    lines = 0
    while data and not data.startswith(b"SSH-") and lines < 8 and b"\n" in data:
        data = data[data.index(b"\n") + 1:]
        lines += 1
    if not data.startswith(b"SSH-") or b"\n" not in data:
        return r
    line, data = data[:data.index(b"\n")].rstrip(b"\r"), data[data.index(b"\n") + 1:]
    m = re.match(rb"SSH-([^- ]+)-([^ ]*)", line)
    if not m:
        return r
    r["proto"], r["software"] = m.group(1).decode(), m.group(2).decode()
    while len(data) >= 6:
        plen, pad, msg = struct.unpack("!IBB", data[:6])
        if msg == 21 or plen > 256 * 1024:
            break
        if msg == 20:
            body = data[6:4 + plen - pad]
            at, lists = 16, []
            for _ in range(8):
                n = struct.unpack("!I", body[at:at + 4])[0]
                lists.append(body[at + 4:at + 4 + n].decode())
                at += 4 + n
            k = 1 if server else 0
            s = ";".join([lists[0], lists[2 + k], lists[4 + k], lists[6 + k]])
            r["hassh_string"], r["hassh"] = s, hashlib.md5(s.encode()).hexdigest()
            break
        data = data[4 + plen:]
    return r


def ndpi_hassh(name):
    """[(client hassh, server hassh)] from nDPI's result file, lower case."""
    out = []
    with open(os.path.join(NDPI, "result", name + ".out")) as f:
        for ln in f:
            c = re.search(r"\[HASSH-C: ([0-9A-F]+)\]", ln)
            s = re.search(r"\[HASSH-S: ([0-9A-F]+)\]", ln)
            if c or s:
                out.append((c.group(1).lower() if c else None, s.group(1).lower() if s else None))
    return out


# Suricata's ssh-keywords examples (sids as on the page where they are
# unique), near misses, and each file's count function: sides -> alerts.
def rules_and_counts(sides):
    cli = [c for c, s in sides]
    srv = [s for c, s in sides]
    both = cli + srv
    hs1 = next((c["hassh"] for c in cli if c["hassh"]), "0" * 32)
    hs2 = next((s["hassh"] for s in srv if s["hassh"]), "0" * 32)
    R = [
        ('ssh.proto; content:"2.0";', 1000010, lambda: sum(x["proto"] is not None and "2.0" in x["proto"] for x in both)),
        ('ssh.software; content:"openssh"; nocase;', 1000020,
         lambda: sum(x["software"] is not None and "openssh" in x["software"].lower() for x in both)),
        ('ssh.protoversion:2_compat;', 1000001,
         lambda: sum(x["proto"] is not None and (x["proto"].startswith("2") or x["proto"] == "1.99") for x in both)),
        ('ssh.protoversion:1.10;', 1000002, lambda: sum(x["proto"] == "1.10" for x in both)),
        ('ssh.softwareversion:"OpenSSH";', 10000040,
         lambda: sum(x["software"] is not None and x["software"].startswith("OpenSSH") for x in both)),
        ('ssh.softwareversion:"openssh";', 10000041,  # case-sensitive (strncmp)
         lambda: sum(x["software"] is not None and x["software"].startswith("openssh") for x in both)),
        ('ssh.hassh; content:"%s";' % hs1, 1000011, lambda: sum(x["hassh"] == hs1 for x in cli)),
        ('ssh.hassh.server; content:"%s";' % hs2, 1000021, lambda: sum(x["hassh"] == hs2 for x in srv)),
        # A client's HASSH is no server HASSH (the server buffer is to_client only).
        ('ssh.hassh.server; content:"%s";' % hs1, 1000022, lambda: sum(x["hassh"] == hs1 for x in srv)),
        ('ssh.hassh.string; content:"none,zlib@openssh.com,zlib";', 1000030,
         lambda: sum(bool(x["hassh_string"]) and "none,zlib@openssh.com,zlib" in x["hassh_string"] for x in cli)),
        ('ssh.hassh.server.string; content:"umac-64-etm@openssh.com,umac-128-etm@openssh.com";', 1000040,
         lambda: sum(bool(x["hassh_string"]) and "umac-64-etm@openssh.com,umac-128-etm@openssh.com" in x["hassh_string"]
                     for x in srv)),
        ('ssh.hassh.server.string; content:"hmac-md5";', 1000042,
         lambda: sum(bool(x["hassh_string"]) and "hmac-md5" in x["hassh_string"] for x in srv)),
        ('flow:to_server; ssh.software; content:"OpenSSH_";', 1000050,
         lambda: sum(x["software"] is not None and "OpenSSH_" in x["software"] for x in cli)),
        ('app-layer-protocol:ssh; ssh.software; content:"APACHE";', 1000051,
         lambda: sum(x["software"] is not None and "APACHE" in x["software"] for x in both)),
        # ET Open's form: payload matches in an ssh rule, on the stream of SSH flows.
        ('flow:established,to_client; content:"SSH-2.0-APACHE-SSHD";', 1000052,
         lambda: sum(x["software"] is not None and x["software"].startswith("APACHE-SSHD") for x in srv)),
    ]
    text = "".join('alert ssh any any -> any any (msg:"ssh %d"; %s sid:%d; rev:1;)\n' % (sid, body, sid)
                   for body, sid, _ in R)
    return text, {sid: f() for _, sid, f in R}


def main():
    binary = flowcheck.corpus_and_binary_or_skip(NDPI, sys.argv[1] if len(sys.argv) > 1 else None)
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-ssh-")
    for name in FILES:
        pcap = os.path.join(NDPI, "pcap", name)
        st = streams(pcap)
        sides = {k: (side(v[0], False), side(v[1], True)) for k, v in st.items()
                 if v[0].startswith(b"SSH-") or v[1].startswith(b"SSH-") or b"\nSSH-" in v[1][:2048]}
        check(sides, "%s: SSH flows found by the reader" % name, sorted(st))
        ours = sorted((c["hassh"], s["hassh"]) for c, s in sides.values())
        ref = sorted(ndpi_hassh(name))
        if ref:
            check(ours == ref, "%s: the reader's HASSH-C/HASSH-S equal nDPI's" % name, (ours, ref))
        text, want = rules_and_counts(list(sides.values()))
        rfile = os.path.join(tmp, name + ".rules")
        with open(rfile, "w") as f:
            f.write(text)
        csvp = os.path.join(tmp, name + ".csv")
        p, ev = dprun.run_offline(binary, pcap, os.path.join(tmp, name + ".json"), rules=rfile,
                                  args=["--strict", "--dump-features", csvp])
        if not check(p.returncode == 0, "%s: spectre-dp runs with every rule loaded (--strict)" % name,
                     p.stderr[-800:]):
            continue
        print("  expected per sid: %s" % want)
        dprun.check_sid_counts(check, dprun.alert_sids(ev), {s: n for s, n in want.items() if n},
                               "%s: no other sid fired (zero-count sids: %s)" % (
                                   name, sorted(s for s, n in want.items() if not n)))
        probs = evecheck.problems(ev, [pcap])
        check(not probs, "%s: EVE contract (addresses, pcap_cnt)" % name, probs[:5])
        # EVE: one ssh event per flow, the values the reader found.
        sshev = [e for e in ev if e.get("event_type") == "ssh"]
        check(len(sshev) == len(sides), "%s: one ssh event per SSH flow (%d)" % (name, len(sides)),
              len(sshev))
        got = sorted(tuple((e["ssh"].get(k, {}).get("proto_version"), e["ssh"].get(k, {}).get("software_version"),
                            e["ssh"].get(k, {}).get("hassh", {}).get("hash"),
                            e["ssh"].get(k, {}).get("hassh", {}).get("string"))
                           for k in ("client", "server")) for e in sshev)
        # EVE's hassh string is kept up to 1279 bytes (the record's payload area), the buffer whole.
        exp = sorted(tuple((x["proto"], x["software"], x["hassh"], x["hassh_string"] and x["hassh_string"][:1279])
                           for x in cs)
                     for cs in sides.values())
        check(got == exp, "%s: ssh events carry the banners and HASSH of both sides" % name, (got, exp))
        flows = [e for e in ev if e.get("event_type") == "flow" and e.get("proto") == "TCP"]
        sshflows = [e for e in flows if e.get("app_proto") == "ssh"]
        check(len(sshflows) == len(sides), "%s: %d flow records say app_proto ssh" % (name, len(sides)),
              [(e.get("src_port"), e.get("dest_port"), e.get("app_proto")) for e in flows])
        alerts = dprun.alerts(ev)
        check(all(a.get("app_proto") == "ssh" and "ssh" in a for a in alerts),
              "%s: alerts carry app_proto ssh and the ssh object" % name)
        # The ML feature rows: SSH flows reach the model as the detector it was
        # trained with saw them: failed (4) once both sides sent 14 payload
        # bytes (it rejected them), unknown (0) before; never ssh's own value.
        with open(csvp) as f:
            rows = list(csv.DictReader(f))
        ports = {k[3] for k in sides} | {k[1] for k in sides}
        mine = [r for r in rows if int(r["dst_port"]) in ports or int(r["src_port"]) in ports]
        def old_code(r):
            fw, bw = float(r["payload_bytes_fwd"]), float(r["payload_bytes_bwd"])
            if r["phase"] == "end":
                return "4" if fw or bw else "0"
            return "4" if fw >= 14 and bw >= 14 else "0"
        bad = [(r["phase"], r["app_proto"], r["payload_bytes_fwd"], r["payload_bytes_bwd"]) for r in mine
               if r["app_proto"] != old_code(r)]
        check(mine and not bad, "%s: ML rows of the SSH flows have the old detector's code (%d rows)" % (name, len(mine)),
              bad)
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
