"""A multi-stage campaign for the incident tests (ctrlplane/cortex/):

    frames, truth = build(seed)

One outside attacker (ATTACKER) against one internal server (VICTIM): a vertical
scan, SSH brute force, a long SSH session (the login that worked), then the
victim beacons to the attacker every 30 s and uploads 30 MB to it. Around it,
the benign near misses of behave_scn (DNS, browsing, a backup, NTP, IMAP, SNMP)
that must not become incidents. HOME_NET is 10.0.0.0/8.
"""
import random

import behave_scn
from behave_scn import ACK, PSH, RST, SYN, S, Cap
from pcaplib import EPOCH_START_US

ATTACKER, VICTIM = "203.0.113.66", "10.3.0.10"
HOME_NET = "10.0.0.0/8"


def campaign(cap, t0, rnd, atk=ATTACKER, vic=VICTIM, c2=True):
    # 1. Discovery: 300 ports of the victim, closed ports reset, 22 open.
    for i, port in enumerate(range(1, 301)):
        t = t0 + 10 * S + i * 20000
        cap.tcp(t, atk, vic, 40000, port, 7, 0, SYN)
        if port == 22:
            cap.tcp(t + 200, vic, atk, port, 40000, 9, 8, SYN | ACK)
            cap.tcp(t + 400, atk, vic, 40000, port, 8, 0, RST)
        else:
            cap.tcp(t + 200, vic, atk, port, 40000, 0, 8, RST | ACK)
    # 2. Credential access: 40 short SSH sessions in 40 s.
    for i in range(40):
        cap.session(t0 + 120 * S + i * S, atk, vic, 50000 + i, 22, b"SSH-2.0-libssh\r\n" + bytes(400),
                    b"SSH-2.0-OpenSSH_9.2\r\n" + bytes(900))
    # 3. The login that worked: one SSH session of ~130 s.
    cap.session(t0 + 170 * S, atk, vic, 50500, 22, chunks=[bytes(200 + 10 * k) for k in range(13)],
                resp=bytes(3000), gap_us=10 * S)
    if not c2:  # what an authorized vulnerability scanner does: scan and login checks
        return {"attacker": atk, "victim": vic, "tactics": ["TA0007", "TA0006"]}
    # 4. Command and control: the victim calls the attacker every 30 s +- 2 s.
    for i in range(14):
        t = t0 + 200 * S + i * 30 * S + rnd.randrange(-2 * S, 2 * S)
        cap.session(t, vic, atk, 52000 + i, 8443, bytes(300 + rnd.randrange(40)), bytes(500 + rnd.randrange(40)))
    # 5. Exfiltration: 30 MB to the attacker.
    cap.upload(t0 + 800 * S, vic, atk, 54100, 443, 30_000_000)
    return {"attacker": atk, "victim": vic,
            "tactics": ["TA0007", "TA0006", "TA0011", "TA0010"]}


def build(seed=7):
    rnd = random.Random(seed)
    cap = Cap()
    t0 = EPOCH_START_US
    truth = campaign(cap, t0, rnd)
    behave_scn.near_misses(cap, t0, rnd)
    cap.frames.sort(key=lambda f: f[0])
    return cap.frames, truth


SCANNER, OTHER, OTHER_VICTIM = "10.9.0.5", "198.51.100.50", "10.3.0.11"


def build_scanner(seed=7):
    """The scan, brute force and long session of campaign() (no C2) twice: from
    SCANNER (an authorized scanner in the asset file) against VICTIM and from
    OTHER against OTHER_VICTIM, an hour apart."""
    rnd = random.Random(seed)
    cap = Cap()
    t0 = EPOCH_START_US
    campaign(cap, t0, rnd, SCANNER, VICTIM, c2=False)
    campaign(cap, t0 + 3600 * S, rnd, OTHER, OTHER_VICTIM, c2=False)
    cap.frames.sort(key=lambda f: f[0])
    return cap.frames


if __name__ == "__main__":
    # campaign_scn.py OUTDIR: OUTDIR/campaign.pcap and OUTDIR/truth.json (scripts/demo).
    import json
    import os
    import sys

    import pcaplib
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    frames, truth = build()
    pcaplib.write_pcap(os.path.join(out, "campaign.pcap"), frames)
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(dict(truth, home_net=HOME_NET), f)
    print("%s/campaign.pcap: %d frames; %s against %s" % (out, len(frames), truth["attacker"], truth["victim"]))
