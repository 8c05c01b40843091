"""scripts/lab: build the lab, run seeded benign and attack scenarios, capture
OUT/lab.pcap, write OUT/labels.csv and OUT/meta.json, tear everything down."""
import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

from . import live, services
from .labels import LabelLog
from . import benign_more
from .scenarios import ALL_ATTACKS, ATTACKS, BENIGN, BENIGN1, BENIGN2, Ctx, attacker_loop, benign_loop
from .topology import HOME_NET, HOSTS, Lab, ip_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = ["ip", "ethtool", "tcpdump", "nginx", "/usr/sbin/sshd", "ssh-keygen", "dnsmasq", "socat", "openssl",
         "curl", "wget", "dig", "sshpass", "nmap", "masscan", "hping3", "hydra", "slowhttptest", "unshare"]


def missing_tools():
    return [t for t in TOOLS if not shutil.which(t)]


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/lab", description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=120, help="seconds of benign traffic (default 120)")
    ap.add_argument("--out", default="lab-out", help="output directory (default lab-out)")
    ap.add_argument("--live", action="store_true", help="also run spectre-dp live on the bridge")
    ap.add_argument("--scenarios", default="all",
                    help="comma list of scenario names (benign kinds and attack classes), or all, benign, "
                         "benign1 (the original benign kinds), benign2 (lab/benign_more.py), attacks")
    ap.add_argument("--clients", type=int, default=3, choices=[1, 2, 3])
    ap.add_argument("--dp", default=os.environ.get("SPECTRE_DP", os.path.join(ROOT, "build/dataplane/spectre-dp")))
    a = ap.parse_args(argv)
    names = set()
    for s in a.scenarios.split(","):
        s = s.strip()
        if s == "all":
            names |= set(BENIGN) | set(ALL_ATTACKS)
        elif s == "benign":
            names |= set(BENIGN)
        elif s in ("benign1", "benign2"):
            names |= set(BENIGN1 if s == "benign1" else BENIGN2)
        elif s == "attacks":
            names |= set(ALL_ATTACKS)
        elif s in BENIGN or s in ALL_ATTACKS:
            names.add(s)
        elif s:
            ap.error(f"unknown scenario {s!r}; known: {', '.join(BENIGN + ALL_ATTACKS)}")
    a.names = names
    return a


class Stop(Exception):
    pass


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("scripts/lab: needs root (network namespaces)", file=sys.stderr)
        return 2
    miss = missing_tools()
    if miss:
        print(f"scripts/lab: missing tools: {' '.join(miss)} (see lab/packages.txt)", file=sys.stderr)
        return 2
    if a.live and not os.access(a.dp, os.X_OK):
        print(f"scripts/lab: --live needs {a.dp} (build first)", file=sys.stderr)
        return 2
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="spectre-lab-")
    os.chmod(work, 0o755)  # the lab ssh user (uid 4242) must reach its home below it
    rng = random.Random(a.seed)
    lab = Lab(f"lab{os.getpid() % 100000}", work)
    stop_event = threading.Event()
    threads = []

    def on_signal(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        raise Stop(signal.Signals(signum).name)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    labels = LabelLog()
    ssh_pw = f"lab-{rng.getrandbits(24):06x}"
    admin_pw = f"adm-{rng.getrandbits(24):06x}"
    t_begin = time.time()
    pcap = os.path.join(out, "lab.pcap")
    rc = 0
    tcpdump = live_p = live_eve = None
    captured = None
    ctx = None
    try:
        print(f"lab: seed {a.seed}, duration {a.duration:.0f}s, out {out}, work {work}")
        lab.up()
        tcpdump = lab.spawn("tcpdump", ["tcpdump", "-i", "br0", "-n", "-s", "0", "-B", "16384", "-U", "-Z", "root",
                                        "-w", pcap], ns=lab.br_ns)
        key, crt = services.make_cert(work)
        eps = []
        eps += [("web", *e) for e in services.start_nginx(lab, "web", os.path.join(work, "web"), rng, key, crt,
                                                          {}, admin_pw)]
        eps += [("bulk", *e) for e in services.start_nginx(
            lab, "bulk", os.path.join(work, "bulk"), rng, key, crt,
            {"small.bin": 1, "medium.bin": 5, "large.bin": 20}, admin_pw)]
        eps += [("c2", *e) for e in services.start_nginx(lab, "c2", os.path.join(work, "c2"), rng, key, crt, {},
                                                         admin_pw)]
        eps += [("c2", *e) for e in services.start_sink(lab, "c2", 4444)]
        eps += [("ssh", *e) for e in services.start_sshd(lab, os.path.join(work, "ssh"), ssh_pw)]
        eps += [("dns", *e) for e in services.start_dnsmasq(lab, os.path.join(work, "dns"))]
        eps += [("bulk", *e) for e in benign_more.start(lab, services.start_sink)]
        services.wait_listening(lab, eps)
        if a.live:
            live_p, live_eve = live.start_live(lab, a.dp, out)
            print("lab: spectre-dp live on br0")
        time.sleep(1.0)  # tcpdump is attached before the first scenario packet
        t_start = time.time()
        ctx = Ctx(lab, work, labels, ssh_pw, admin_pw, t_start + a.duration, tool_timeout=40)
        ctx.log_path = os.path.join(out, "tools.log")
        if os.path.exists(ctx.log_path):
            os.unlink(ctx.log_path)
        benign = [k for k in BENIGN if k in a.names]
        clients = [f"cl{i}" for i in range(1, a.clients + 1)]
        if benign:
            for c in clients:
                threads.append(threading.Thread(target=benign_loop, daemon=True, args=(
                    ctx, c, benign, random.Random(rng.getrandbits(64)), stop_event)))
        for host, classes in ATTACKS.items():
            chosen = [c for c in classes if c in a.names]
            if chosen:
                # Attack episodes occupy the first ~80% of the run so all finish inside it.
                threads.append(threading.Thread(target=attacker_loop, daemon=True, args=(
                    ctx, host, chosen, random.Random(rng.getrandbits(64)), stop_event, 0.8 * a.duration)))
        for t in threads:
            t.start()
        last = 0
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
            if time.time() - last > 15:
                last = time.time()
                print(f"lab: t+{time.time() - t_start:.0f}s, {len(labels.rows)} episodes done", flush=True)
        time.sleep(1.5)  # trailing FIN/RST of the last flows
    except Stop as e:
        print(f"\nlab: stopped by {e}; tearing down", file=sys.stderr)
        rc = 130
    except Exception as e:
        print(f"lab: error: {e}", file=sys.stderr)
        rc = 1
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # teardown must not be interrupted
        stop_event.set()
        lab.closing = True
        for p in list(lab.transient):
            lab.stop(p, signal.SIGKILL, wait=2)
        for t in threads:
            t.join(timeout=5)
        if live_p is not None:
            live.stop_live(lab, live_p)
        if tcpdump is not None:
            lab.stop(tcpdump, signal.SIGINT, wait=10)
            with open(os.path.join(work, "tcpdump.log"), errors="replace") as f:
                m = re.search(r"(\d+) packets captured", f.read())
                captured = int(m.group(1)) if m else None
        lab.down()
        t_end = time.time()
        rows = labels.write(os.path.join(out, "labels.csv"))
        meta = {
            "seed": a.seed, "duration": a.duration, "start_ts": t_begin, "end_ts": t_end,
            "hosts": {h: {"ip": ip_of(h), "role": r} for h, (_, r) in HOSTS.items()},
            "attackers": [ip_of(h) for h in ATTACKS], "benign_clients": [ip_of(f"cl{i}") for i in range(1, a.clients + 1)],
            "scenarios": sorted(a.names), "counts": ctx.counts if ctx else {}, "episodes": len(rows),
            "pcap": "lab.pcap", "packets": captured, "errors": (ctx.errors if ctx else [])[:50],
            "ssh_user": services.LAB_USER, "dns_zone": services.ZONE,
            # The protected network: every host but the C2/exfiltration server (.200), which stands for
            # the internet. Measure with --home-net (rules toward $HOME_NET, exfiltration = leaving it).
            "home_net": HOME_NET,
        }
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        if rc == 0 and a.live and live_eve:
            try:
                live.compare(a.dp, out, live_eve, pcap, captured)
            except Exception as e:
                print(f"lab: live comparison failed: {e}", file=sys.stderr)
                rc = 1
        for log in ("tcpdump.log", "sshd.log", "dnsmasq.log"):
            src = os.path.join(work, log)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(out, log))
        shutil.rmtree(work, ignore_errors=True)
        print(f"lab: {len(rows)} episodes, {captured} packets in {pcap}, {t_end - t_begin:.1f}s total")
        if ctx and ctx.errors:
            print(f"lab: {len(ctx.errors)} tool errors, first: {ctx.errors[0]}", file=sys.stderr)
    return rc
