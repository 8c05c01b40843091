"""More benign kinds (issue 11): bulk transfers of several tools, long SSH
sessions, HTTPS downloads/uploads of many sizes, LAN chatter (NTP, mDNS,
NetBIOS, LLMNR), VPN-like UDP and streaming-like paced downloads. They exist so
that a model can be trained on one benign mix and measured on another
(`scripts/lab --scenarios benign2,attacks` runs only these as benign traffic).

Servers: the bulk host runs a UDP responder (NTP replies on 123, a VPN-like
peer on 51820 answering each datagram with random bytes) and two socat
endpoints (9000: upload sink, 9001: random-bytes source) started by start().
"""
import os

from .topology import ip_of

BENIGN2 = ["https_download", "https_upload", "wget_download", "nc_transfer", "ssh_pipe", "ssh_long",
           "ntp", "lan_chatter", "vpn_udp", "streaming"]

_UDP_SERVER = r"""
import os, select, socket, struct, sys, time
ip = sys.argv[1]
ntp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ntp.bind((ip, 123))
vpn = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); vpn.bind((ip, 51820))
while True:
    r, _, _ = select.select([ntp, vpn], [], [])
    for s in r:
        data, peer = s.recvfrom(4096)
        if s is ntp and len(data) >= 48:
            ts = struct.pack("!II", int(time.time()) + 2208988800, 0)
            s.sendto(bytes([0x24, 2, 6, 0xe9]) + bytes(12) + ts + data[40:48] + ts + ts, peer)
        elif s is vpn:
            s.sendto(os.urandom(max(32, min(1400, len(data) + int.from_bytes(os.urandom(1), "big") - 128))), peer)
"""

# Client side of the UDP kinds, run with python3 -c in the client's namespace.
_NTP_CLIENT = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for i in range(int(sys.argv[2])):
    s.sendto(b"\x23" + bytes(39) + int(time.time() + 2208988800).to_bytes(4, "big") + bytes(4), (sys.argv[1], 123))
    try: s.recvfrom(512)
    except OSError: pass
    time.sleep(float(sys.argv[3]))
"""

_CHATTER = r"""
import os, socket, struct, sys
kind, name = sys.argv[1], sys.argv[2].encode()
def dnsq(qtype, flags=0):
    q = b"".join(bytes([len(p)]) + p for p in name.split(b".")) + b"\0"
    return os.urandom(2) + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
# No default route in the lab: multicast leaves through eth0's address.
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[4]))
if kind == "mdns":
    s.bind(("", 5353)); s.sendto(dnsq(12)[:2] + bytes(2) + dnsq(12)[4:], ("224.0.0.251", 5353))
elif kind == "llmnr":
    s.sendto(dnsq(1), ("224.0.0.252", 5355))
else:  # NetBIOS name query, broadcast
    nb = b"".join(bytes([0x41 + (c >> 4), 0x41 + (c & 15)]) for c in name[:15].upper().ljust(15) + b"\0")
    s.bind(("", 137))
    s.sendto(os.urandom(2) + struct.pack("!HHHHH", 0x0110, 1, 0, 0, 0) + b"\x20" + nb + b"\0\0\x20\0\1",
             (sys.argv[3], 137))
"""

_VPN_CLIENT = r"""
import os, random, socket, sys, time
rng = random.Random(int(sys.argv[4]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
end = time.time() + float(sys.argv[2])
s.sendto(os.urandom(148), (sys.argv[1], 51820))  # handshake-like first datagram
while time.time() < end:
    s.sendto(os.urandom(rng.choice([92, 128, 300, 620, 1380])), (sys.argv[1], 51820))
    try: s.recvfrom(2048)
    except OSError: pass
    time.sleep(float(sys.argv[3]) * rng.uniform(0.5, 1.5))
"""


def start(lab, spawn_sink):
    """Servers on the bulk host; returns the TCP endpoints to wait for."""
    bulk = ip_of("bulk")
    lab.spawn("udp-bulk", ["/usr/bin/python3", "-c", _UDP_SERVER, bulk], ns=lab.ns("bulk"))
    lab.spawn("src-bulk-9001", ["socat", "-U", f"TCP-LISTEN:9001,bind={bulk},reuseaddr,fork",
                                "SYSTEM:head -c $(shuf -i 10000-3000000 -n 1) /dev/urandom"], ns=lab.ns("bulk"))
    return spawn_sink(lab, "bulk", 9000) + [(bulk, 9001)]


def _randfile(ctx, host, rng, lo, hi, tag):
    p = os.path.join(ctx.work, f"{tag}-{host}.bin")
    with open(p, "wb") as f:
        f.write(rng.randbytes(rng.randint(lo, hi)))
    return p


def action(ctx, host, kind, rng, ssh_opts, user):
    """One benign action of kind (a BENIGN2 name) from client host."""
    lab, t = ctx.lab, min(ctx.tool_timeout, max(5, ctx.left() + 5))
    bulk, ssh = ip_of("bulk"), ip_of("ssh")
    sshpass = ["sshpass", "-p", ctx.ssh_pw]
    if kind == "https_download":
        size = rng.choice([2_000, 40_000, 300_000, 1_000_000, 4_000_000])
        lab.run(host, ["curl", "-sk", "--max-time", "20", "-r", f"0-{size}", "-o", "/dev/null",
                       f"https://{bulk}/files/{rng.choice(['small.bin', 'medium.bin', 'large.bin'])}"], t)
    elif kind == "https_upload":
        src = _randfile(ctx, host, rng, 1_000, 3_000_000, "hup")
        lab.run(host, ["curl", "-sk", "--max-time", "20", "-T", src, "-o", "/dev/null",
                       f"https://{bulk}/upload/{host}-{rng.randrange(1000)}.bin"], t)
    elif kind == "wget_download":
        lab.run(host, ["wget", "-q", "-O", "/dev/null", "--no-check-certificate",
                       f"{rng.choice(['http', 'https'])}://{bulk}/files/{rng.choice(['small.bin', 'medium.bin'])}"], t)
    elif kind == "nc_transfer":
        if rng.random() < 0.5:
            src = _randfile(ctx, host, rng, 10_000, 3_000_000, "nc")
            lab.run(host, ["sh", "-c", f"nc -N -w 5 {bulk} 9000 < {src}"], t)
        else:
            lab.run(host, ["sh", "-c", f"nc -w 5 {bulk} 9001 > /dev/null"], t)
    elif kind == "ssh_pipe":  # rsync-like: a file pushed and pulled through ssh pipes
        src = _randfile(ctx, host, rng, 50_000, 2_000_000, "pipe")
        dst = f"{user}@{ssh}"
        lab.run(host, ["sh", "-c", f"{' '.join(sshpass)} ssh {' '.join(ssh_opts)} {dst} 'cat > pipe-{host}.bin' < {src}"], t)
        lab.run(host, sshpass + ["ssh"] + ssh_opts + [dst, f"cat pipe-{host}.bin"], t)
    elif kind == "ssh_long":
        n, gap = rng.randint(4, 10), rng.uniform(1.0, 3.0)
        script = "; ".join(f"{rng.choice(['ls -la', 'id', 'uptime', 'ps ax | head', 'df -h'])}; sleep {gap:.1f}"
                           for _ in range(n))
        lab.run(host, sshpass + ["ssh"] + ssh_opts + [f"{user}@{ssh}", script], t + n * gap)
    elif kind == "ntp":
        lab.run(host, ["/usr/bin/python3", "-c", _NTP_CLIENT, bulk, str(rng.randint(1, 4)),
                       f"{rng.uniform(0.5, 2):.2f}"], t)
    elif kind == "lan_chatter":
        which = rng.choice(["mdns", "llmnr", "netbios"])
        lab.run(host, ["/usr/bin/python3", "-c", _CHATTER, which,
                       rng.choice(["printer.local", "nas", "fileserver", "_ipp._tcp.local", "wpad"]),
                       ip_of("web").rsplit(".", 1)[0] + ".255", ip_of(host)], t)
    elif kind == "vpn_udp":
        lab.run(host, ["/usr/bin/python3", "-c", _VPN_CLIENT, bulk, f"{rng.uniform(3, 12):.1f}",
                       f"{rng.uniform(0.02, 0.3):.3f}", str(rng.getrandbits(32))], t + 12)
    elif kind == "streaming":
        rate = rng.choice(["100k", "250k", "500k", "1m"])
        lab.run(host, ["curl", "-sk", "--limit-rate", rate, "--max-time", f"{rng.randint(4, 12)}", "-o", "/dev/null",
                       f"{rng.choice(['http', 'https'])}://{bulk}/files/large.bin"], t + 12)
    else:
        raise ValueError(f"unknown benign kind {kind}")
