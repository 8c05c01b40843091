#!/usr/bin/python3
"""A full campaign through the real data plane into a real spectre-cp, over the shared-memory link.

  test_cp_live_campaign.py   (binaries from $SPECTRE_DP, $SPECTRE_CP, $SPECTRECTL, else build/...)

The generated campaign of tests/gen/campaign_scn.py (one outside attacker: a
port scan, SSH brute force, the login that worked, beaconing every 30 s, a
30 MB upload; around it benign near misses) is read by the real spectre-dp
(`-r`, packet time, so the 15 minutes of the campaign take seconds and the
beacon keeps its period; a live replay would need the real 15 minutes) with
`--instance`: its events go over /dev/shm/spectre-NAME to a real spectre-cp,
whose Cortex (the live brain) makes the incidents. spectre-dp does not wait for
a control plane, so its input starts with a FIFO that yields an empty capture
only once spectre-cp has attached (spectre-dp opens each input three times:
a check before the segment exists, a size pass and the read; the gate holds
the second). Checks: every alert and flow of the reference offline run
reached spectre-cp (none fell back to spectre-dp's own EVE file, no ring gap);
spectre-cp's EVE file has exactly one kill-chain incident, for the attacker
against the victim, with the tactics in order (discovery, credential access,
command and control, exfiltration), the pair incident in the same campaign
and nothing else; `spectrectl incidents list` shows them while spectre-cp runs;
the tactics equal those of spectre-dp's own offline incidents. Last line
"N passed, N failed"; 77: skipped.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
import campaign_scn  # noqa: E402
import pcaplib  # noqa: E402
from checks import Checks  # noqa: E402
from cphelp import Gate, binary, wait_for  # noqa: E402

ENV = dict(os.environ, SPECTRE_CONFIG="none")
INSTANCE = "e2e-live-campaign-%d" % os.getpid()


def events(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def main():
    dp, cp, ctlbin = (binary("SPECTRE_DP", "dataplane/spectre-dp"), binary("SPECTRE_CP", "ctrlplane/spectre-cp"),
                      binary("SPECTRECTL", "ctrlplane/spectrectl"))
    if not (dp and cp and ctlbin):
        print("SKIP: binaries missing")
        print("0 passed, 0 failed")
        return 77
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="cp-live-campaign-")
    try:
        run(check, tmp, dp, cp, ctlbin)
    except Exception:
        import traceback
        check(False, "no exception", traceback.format_exc())
    check.cleanup(tmp)
    return check.summary()


def run(check, tmp, dp, cp, ctlbin):
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    frames, truth = campaign_scn.build()
    pcaplib.write_pcap(P("campaign.pcap"), frames)
    pcaplib.write_pcap(P("empty.pcap"), [])
    home = ["--home-net", campaign_scn.HOME_NET]
    # Reference: spectre-dp alone, offline, its own incidents.
    r = subprocess.run([dp, "-r", P("campaign.pcap"), "--eve", P("ref.json"), "--config", "none"] + home, env=ENV,
                       capture_output=True, text=True, timeout=300)
    if not check(r.returncode == 0, "reference offline run: exit 0", r.stderr[-400:]):
        return
    ref = events(P("ref.json"))
    ref_alerts = sorted((e["alert"]["signature_id"], e["timestamp"]) for e in ref if e.get("event_type") == "alert")
    ref_flows = sum(1 for e in ref if e.get("event_type") == "flow")
    ref_inc = [e["incident"] for e in ref if e.get("event_type") == "incident" and e["incident"]["event"] == "closed"]
    check(len(ref_alerts) > 0 and len(ref_inc) == 2, "reference: %d alerts, %d incidents" % (len(ref_alerts),
                                                                                          len(ref_inc)), ref_inc)

    # The gated input, then spectre-dp with the control channel.
    os.mkfifo(P("gate.pcap"))
    gate = Gate(P("gate.pcap"), open(P("empty.pcap"), "rb").read())
    gate.start()
    dplog = open(P("dp.log"), "w+")
    dproc = subprocess.Popen([dp, "-r", P("gate.pcap"), "-r", P("campaign.pcap"), "--eve", P("dp.json"), "--config",
                              "none", "--no-incidents", "--instance", INSTANCE] + home, env=ENV, stdout=dplog,
                             stderr=dplog)
    shm = "/dev/shm/spectre-" + INSTANCE
    cproc = None
    sock = P("cp.sock")
    try:
        if not check(wait_for(lambda: os.path.exists(shm) or dproc.poll() is not None, 60) and os.path.exists(shm),
                     "spectre-dp created the segment %s (held at the gate)" % shm, open(P("dp.log")).read()[-800:]):
            return
        cplog = open(P("cp.log"), "w+")
        cproc = subprocess.Popen([cp, "--foreground", "--instance", INSTANCE, "--socket", sock, "--registry",
                                  P("reg"), "--audit", P("audit.log"), "--eve", P("cp.json")], env=ENV,
                                 stdout=cplog, stderr=cplog)
        attached = wait_for(lambda: "attached to data plane" in open(P("cp.log")).read(), 30)
        check(attached, "spectre-cp attached to the live data plane", open(P("cp.log")).read()[-800:])
        gate.release.set()
        try:
            rc = dproc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            dproc.kill()
            rc = dproc.wait()
        gate.done.set()
        dlog = open(P("dp.log")).read()
        check(rc == 0 and gate.opens >= 3, "spectre-dp read the campaign and exited 0 (gate opened %d times)" % gate.opens,
              dlog[-800:])
        # spectre-cp's brain, while it runs.
        lst = None

        def listed():
            nonlocal lst
            r = subprocess.run([ctlbin, "--socket", sock, "--json", "incidents", "list"], capture_output=True,
                               text=True, timeout=30)
            try:
                lst = json.loads(r.stdout.strip().splitlines()[0])["result"]["incidents"]
            except (ValueError, IndexError, KeyError, TypeError):
                return False
            return len(lst) >= 2

        wait_for(listed, 30, 0.3)
        check(lst and len(lst) == 2 and sum(1 for i in lst if i["attackers"] == truth["attacker"]) >= 1,
              "spectrectl incidents list: the campaign's incidents, from the live link", lst)
    finally:
        gate.done.set()
        if dproc.poll() is None:
            dproc.kill()
            dproc.wait()
        if cproc and cproc.poll() is None:
            cproc.send_signal(signal.SIGTERM)  # closes the open incidents into its EVE file
            try:
                cproc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cproc.kill()
                cproc.wait()
    check(cproc is not None and cproc.returncode == 0, "spectre-cp stopped cleanly", open(P("cp.log")).read()[-800:])
    got = events(P("cp.json"))
    own = events(P("dp.json"))
    alerts = sorted((e["alert"]["signature_id"], e["timestamp"]) for e in got if e.get("event_type") == "alert")
    flows = sum(1 for e in got if e.get("event_type") == "flow")
    check(alerts == ref_alerts, "every alert reached spectre-cp over the link (%d of %d)" % (len(alerts),
                                                                                         len(ref_alerts)))
    check(flows == ref_flows, "every flow reached spectre-cp (%d of %d)" % (flows, ref_flows))
    check(not [e for e in own if e.get("event_type") in ("alert", "flow")],
          "none fell back to spectre-dp's own EVE file", [e.get("event_type") for e in own][:20])
    inc = [e["incident"] for e in got if e.get("event_type") == "incident"]
    closed = [i for i in inc if i["event"] == "closed"]
    chains = [i for i in closed if i["correlations"] and i["correlations"][0]["name"] == "kill_chain"]
    if not check(len(chains) == 1, "spectre-cp: one kill-chain incident", [(i["incident_id"], i["correlations"])
                                                                          for i in closed]):
        return
    k = chains[0]
    check(k["entity"] == "attacker" and k["entities"]["attackers"] == [truth["attacker"]] and
          k["entities"]["victims"] == [truth["victim"]], "the incident: %s against %s" % (truth["attacker"],
                                                                                       truth["victim"]), k["entities"])
    tactics = [t["id"] for t in k["mitre"]["tactics"]]
    check(tactics == truth["tactics"], "tactics in order: %s" % " -> ".join(tactics), tactics)
    firsts = [t["first_seen"] for t in k["mitre"]["tactics"]]
    check(firsts == sorted(firsts), "tactics' first_seen ascend", firsts)
    check(len(closed) == 2 and len({i["campaign_id"] for i in closed}) == 1 and
          all(truth["attacker"] in i["entities"]["attackers"] for i in closed),
          "one campaign: the kill chain and the pair incident, nothing from the benign traffic",
          [(i["incident_id"], i["entity"], i["campaign_id"], i["entities"]) for i in closed])
    check(k["closed_reason"] == "end_of_input" and k["risk"]["level"] in ("medium", "high", "critical"),
          "closed at spectre-cp's stop, level %s" % k["risk"]["level"], k["risk"])
    ref_chain = [i for i in ref_inc if i["correlations"] and i["correlations"][0]["name"] == "kill_chain"]
    check(len(ref_chain) == 1 and [t["id"] for t in ref_chain[0]["mitre"]["tactics"]] == tactics and
          ref_chain[0]["detections"] == k["detections"],
          "the same incident as spectre-dp's own offline (tactics, detection counts)",
          (ref_chain[0]["detections"] if ref_chain else None, k["detections"]))


if __name__ == "__main__":
    sys.exit(main())
