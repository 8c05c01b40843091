"""Live mode: spectre-dp on DPDK net_af_packet reading br0 inside the bridge
namespace while the scenarios run, then an offline run over the same pcap and a
comparison of packets, drops and flows."""
import json
import os
import signal
import subprocess
import time


def last_stats(eve):
    st, flows = None, 0
    try:
        with open(eve) as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event_type") == "stats":
                    st = ev["stats"]
                elif ev.get("event_type") == "flow":
                    flows += 1
    except OSError:
        pass
    return st, flows


def start_live(lab, dp, out):
    eve = os.path.join(out, "live_eve.json")
    log = os.path.join(out, "live_spectre.log")
    p = lab.spawn("spectre-dp-live", [dp, "--no-huge", "-m", "1024", "-l", "0-1", "--no-pci", "--no-shconf",
                                      f"--file-prefix={lab.tag}", "--vdev=net_af_packet0,iface=br0",
                                      "--", "--eve", eve], ns=lab.br_ns, log=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(log, errors="replace") as f:
            if "RX queue" in f.read():
                return p, eve
        if p.poll() is not None:
            break
        time.sleep(0.2)
    with open(log, errors="replace") as f:
        raise RuntimeError(f"live spectre-dp did not start: {f.read()[-1500:]}")


def stop_live(lab, p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            lab.stop(p, signal.SIGKILL)
    return p.returncode


def compare(dp, out, live_eve, pcap, captured):
    off_eve = os.path.join(out, "offline_eve.json")
    r = subprocess.run([dp, "-r", pcap, "--eve", off_eve, "--no-progress"], capture_output=True, text=True,
                       timeout=900)
    res = {"tcpdump_packets": captured, "offline_rc": r.returncode}
    for name, eve in (("live", live_eve), ("offline", off_eve)):
        st, flows = last_stats(eve)
        st = st or {}
        res[name] = {"pkts": st.get("decoder", {}).get("pkts"),
                     "kernel_drops": st.get("capture", {}).get("kernel_drops"),
                     "flows_created": st.get("flow", {}).get("created"), "flow_events": flows}
    with open(os.path.join(out, "live_compare.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("\nlive vs offline (same traffic):")
    print(f"  {'':16}{'live':>12}{'offline':>12}")
    for k in ("pkts", "kernel_drops", "flows_created", "flow_events"):
        print(f"  {k:16}{str(res['live'][k]):>12}{str(res['offline'][k]):>12}")
    print(f"  tcpdump captured {captured} packets")
    lp, op = res["live"]["pkts"], res["offline"]["pkts"]
    if lp is not None and op:
        print(f"  live saw {100.0 * lp / op:.2f}% of the offline packet count")
    return res
