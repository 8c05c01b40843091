"""Network namespaces for the traffic lab: one bridge namespace holding br0 and one
namespace per host, each joined to br0 by a veth pair created directly inside the
lab namespaces (the host's default namespace is never touched).

Every process the lab starts is tracked by pid and started in its own session, so
teardown kills exactly those process groups, then deletes the namespaces.
"""
import os
import signal
import subprocess
import sys
import time

SUBNET = "198.18.10"          # lab hosts live in 198.18.10.0/24 (inside 198.18.0.0/15)
PREFIX = 24
HOME_NET = f"{SUBNET}.0/25"   # the protected hosts; c2 (.200) is outside: the internet

# name -> (last octet, role). Roles: server, client (benign), attacker.
HOSTS = {
    "web": (10, "server"),      # nginx HTTP/HTTPS, basic-auth /admin/
    "ssh": (11, "server"),      # sshd with its own config, keys and user
    "dns": (12, "server"),      # dnsmasq authoritative for lab.test
    "bulk": (13, "server"),     # nginx: large files, PUT uploads
    "cl1": (20, "client"),
    "cl2": (21, "client"),
    "cl3": (22, "client"),
    "scan": (100, "attacker"),  # scanners
    "brute": (101, "attacker"),  # brute force, DoS, web attacks
    "implant": (102, "attacker"),  # compromised host: C2 beacons, DNS tunnel, exfiltration
    "c2": (200, "server"),      # attacker infrastructure: HTTPS C2 + exfil sink (only answers)
}


def ip_of(name):
    return f"{SUBNET}.{HOSTS[name][0]}"


class Lab:
    """Owns namespaces and processes. Use as: lab = Lab(tag); try: lab.up() ... finally: lab.down()."""

    def __init__(self, tag, log_dir):
        self.tag = tag
        self.log_dir = log_dir
        self.br_ns = f"{tag}-br"
        self.namespaces = []
        self.procs = []         # (name, Popen) long-running, killed at teardown
        self.transient = set()  # Popen of tool runs in progress (killed at teardown)
        self.closing = False

    def ns(self, host):
        return f"{self.tag}-{host}"

    # ---- plumbing -------------------------------------------------------
    def sh(self, *cmd, ns=None, check=True, timeout=60):
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(full)} -> {r.returncode}: {r.stderr.strip()[-500:]}")
        return r

    def _add_ns(self, name):
        self.sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        # No IPv6: the kernel's own ND/MLD frames would be unlabeled extra flows.
        self.sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1", ns=name)
        self.sh("ip", "link", "set", "lo", "up", ns=name)

    def up(self):
        self._add_ns(self.br_ns)
        self.sh("ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0",
                "mcast_snooping", "0", ns=self.br_ns)
        self.sh("ip", "link", "set", "br0", "up", ns=self.br_ns)
        for host in HOSTS:
            hns = self.ns(host)
            self._add_ns(hns)
            port = f"p-{host}"
            self.sh("ip", "-n", self.br_ns, "link", "add", port, "type", "veth",
                    "peer", "name", "eth0", "netns", hns)
            self.sh("ip", "-n", self.br_ns, "link", "set", port, "master", "br0", "up")
            self.sh("ip", "-n", hns, "addr", "add", f"{ip_of(host)}/{PREFIX}", "dev", "eth0")
            self.sh("ip", "-n", hns, "link", "set", "eth0", "up", "mtu", "1500")
            # Software segmentation and checksums: the capture then holds real
            # wire-size frames with valid checksums (no 64 KB TSO super-frames).
            for ns_, ifc in ((hns, "eth0"), (self.br_ns, port)):
                self.sh("ethtool", "-K", ifc, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
                        ns=ns_, check=False)

    def mac_of(self, host):
        r = self.sh("cat", "/sys/class/net/eth0/address", ns=self.ns(host))
        return r.stdout.strip()

    # ---- processes ------------------------------------------------------
    def spawn(self, name, cmd, ns=None, log=None):
        """Start a long-running process (service, capture) in namespace ns."""
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        out = open(log or os.path.join(self.log_dir, f"{name}.log"), "ab")
        p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        out.close()
        self.procs.append((name, p))
        return p

    def run(self, host, cmd, timeout, stdin_data=None):
        """Run a tool in host's namespace, bounded by timeout (its process group is
        killed on expiry). Returns (rc, output text)."""
        if self.closing:
            return -1, ""
        # A private pid namespace per run: when the run is killed, every process it
        # left (ssh under sshpass runs in its own session) dies with it.
        full = ["ip", "netns", "exec", self.ns(host), "unshare", "-p", "-f", "--kill-child"] + list(cmd)
        p = subprocess.Popen(full, stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.transient.add(p)
        try:
            out, _ = p.communicate(input=stdin_data, timeout=timeout)
        except subprocess.TimeoutExpired:
            _killpg(p, signal.SIGKILL)
            out, _ = p.communicate()
        finally:
            self.transient.discard(p)
        return p.returncode, out.decode(errors="replace")

    def stop(self, p, sig=signal.SIGTERM, wait=5.0):
        if p.poll() is None:
            _killpg(p, sig)
            try:
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                _killpg(p, signal.SIGKILL)
                p.wait()

    def down(self):
        self.closing = True
        for p in list(self.transient):
            _killpg(p, signal.SIGKILL)
        for _, p in reversed(self.procs):
            if p.poll() is None:
                _killpg(p, signal.SIGTERM)
        deadline = time.time() + 5
        for _, p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                _killpg(p, signal.SIGKILL)
                p.wait()
        for p in list(self.transient):  # reaped by run()'s communicate; wait until they are gone
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # `ip netns del` fails with EBUSY while a dying process's mount namespace
        # still holds the bind mount: retry for up to 10 s, then say which are left.
        left = list(reversed(self.namespaces))
        deadline = time.time() + 10
        while left:
            left = [n for n in left
                    if subprocess.run(["ip", "netns", "del", n], capture_output=True).returncode != 0
                    and n in _netns_list()]
            if not left or time.time() > deadline:
                break
            time.sleep(0.2)
        if left:
            print(f"lab: namespaces left after teardown: {' '.join(left)}", file=sys.stderr)
        self.namespaces = []


def _netns_list():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return {l.split()[0] for l in r.stdout.splitlines() if l.strip()}


def _killpg(p, sig):
    """Signal the process group we created for p (pgid == p.pid)."""
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
