"""Shared by the control-plane end-to-end scripts (test_api*, test_controlplane,
console/test/run_against_cp): a binary from its environment variable or the
build tree, a free loopback port and the campaign scenario's alerts."""
import os
import socket
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(env, rel):
    """$env, else build/rel; None when the file is not there."""
    p = os.environ.get(env) or os.path.join(ROOT, "build", rel)
    return p if os.path.exists(p) else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def campaign_eve(check, dp, tmp):
    """tests/gen/campaign_scn written to tmp/campaign.pcap and run offline through
    spectre-dp without its incident engine (spectre-cp builds the incidents):
    EVE in tmp/dp.json. Returns the scenario's truth, or None (a failed check)."""
    import campaign_scn
    import pcaplib
    pcap, eve = os.path.join(tmp, "campaign.pcap"), os.path.join(tmp, "dp.json")
    frames, truth = campaign_scn.build()
    pcaplib.write_pcap(pcap, frames)
    r = subprocess.run([dp, "-r", pcap, "--eve", eve, "--config", "none", "--no-incidents",
                        "--home-net", campaign_scn.HOME_NET], env=dict(os.environ, SPECTRE_CONFIG="none"),
                       capture_output=True, text=True, timeout=300)
    return truth if check(r.returncode == 0, "spectre-dp offline: exit 0", r.stderr[-400:]) else None
