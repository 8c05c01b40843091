#!/usr/bin/python3
"""spectre-dp with no options detects: the shipped configuration
(config/spectre.yaml) is found without --config and loads the shipped rules
and the default model; --config none and SPECTRE_CONFIG; --home-net; the
warning when the first 1,000 flows never touch HOME_NET.

  test_defaults.py            (binary from $SPECTRE_DP or build/dataplane/spectre-dp)
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402
from pcaplib import ether, ip_packet, l4_tcp, write_pcap  # noqa: E402
from dprun import read_eve as events  # noqa: E402

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
WARN = "rules toward $HOME_NET cannot fire"


def tcp_session(frames, t, cli, srv, cport, sport, request, response):
    """Handshake, one request and response, FIN both ways; returns the end time."""
    cs, ss = 1000, 5000

    def put(src, dst, sp, dp, seq, ack, flags, payload=b""):
        nonlocal t
        ethertype, l3 = ip_packet(src, dst, 6, l4_tcp(src, dst, sp, dp, seq, ack, flags, payload))
        frames.append((t, ether(src, dst, ethertype, l3)))
        t += 1000
    put(cli, srv, cport, sport, cs, 0, SYN)
    put(srv, cli, sport, cport, ss, cs + 1, SYN | ACK)
    put(cli, srv, cport, sport, cs + 1, ss + 1, ACK)
    put(cli, srv, cport, sport, cs + 1, ss + 1, PSH | ACK, request)
    put(srv, cli, sport, cport, ss + 1, cs + 1 + len(request), PSH | ACK, response)
    end_c, end_s = cs + 1 + len(request), ss + 1 + len(response)
    put(cli, srv, cport, sport, end_c, end_s, FIN | ACK)
    put(srv, cli, sport, cport, end_s, end_c + 1, FIN | ACK)
    put(cli, srv, cport, sport, end_c + 1, end_s + 1, ACK)
    return t


def attack_pcap(path, cli="198.18.0.10", srv="198.18.0.20"):
    frames = []
    req = b"GET /cgi-bin/../../etc/passwd HTTP/1.1\r\nHost: victim\r\nUser-Agent: Mozilla/5.0\r\n\r\n"
    resp = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    tcp_session(frames, 1700000000 * 10**6, cli, srv, 40000, 80, req, resp)
    write_pcap(path, frames)


def many_flows_pcap(path, n, net="198.18.1."):
    """n short TCP sessions between hosts of `net` (not in Suricata's default HOME_NET)."""
    frames, t = [], 1700000000 * 10**6
    req = b"GET /index.html HTTP/1.1\r\nHost: www\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for i in range(n):
        t = tcp_session(frames, t, net + str(10 + i % 50), net + "200", 20000 + i, 80, req, resp) + 5000
    write_pcap(path, frames)


def run(binary, args, env_config=None, cwd=None):
    env = dict(os.environ)
    env.pop("SPECTRE_CONFIG", None)
    if env_config is not None:
        env["SPECTRE_CONFIG"] = env_config
    r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)
    return r


def sids(evs):
    return sorted(e["alert"]["signature_id"] for e in evs if e.get("event_type") == "alert")


def main():
    binary = os.path.abspath(os.environ.get("SPECTRE_DP") or os.path.join(ROOT, "build", "dataplane", "spectre-dp"))
    if not os.path.exists(binary):
        print("SKIP: spectre-dp not found (set SPECTRE_DP)")
        return 77
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="spectre-defaults-")
    atk, many, few = (os.path.join(tmp, n) for n in ("attack.pcap", "many.pcap", "few.pcap"))
    attack_pcap(atk)
    many_flows_pcap(many, 1200)
    many_flows_pcap(few, 300)
    eve = os.path.join(tmp, "eve.json")

    # 1. No options at all, from another working directory: the shipped configuration.
    r = run(binary, ["-r", atk, "--eve", eve], cwd=tmp)
    shipped = os.path.join(ROOT, "config", "spectre.yaml")
    line = [x for x in r.stderr.splitlines() if "detecting with" in x]
    check(r.returncode == 0 and len(line) == 1, "no options: one 'detecting with' line at start", r.stderr)
    line = line[0] if line else ""
    check("rules" in line and "model default" in line and "behaviour detectors" in line and
          os.path.realpath(shipped) in line and "HOME_NET" in line,
          "no options: the line names rules, the default model, behaviour detectors, HOME_NET and the shipped "
          "configuration", line)
    check("/var/lib/spectre/rules (absent)" in line or os.path.isdir("/var/lib/spectre/rules"),
          "absent optional rule directory is noted, not an error", line)
    evs = events(eve)
    check(9000001 in sids(evs), "no options: a shipped rule fires on /etc/passwd", sids(evs))
    stats = [e for e in evs if e.get("event_type") == "stats"]
    ml = stats[-1]["stats"].get("ml", {}) if stats else {}
    check(ml.get("scored", 0) > 0, "no options: the default model scores flows", ml)

    # 2. --config none and SPECTRE_CONFIG=none: built-in defaults (behaviour detectors only), said so.
    for how, args, envc in (("--config none", ["--config", "none"], None), ("SPECTRE_CONFIG=none", [], "none")):
        r = run(binary, ["-r", atk, "--eve", eve] + args, env_config=envc)
        check(r.returncode == 0 and "detecting with behaviour detectors; HOME_NET" in r.stderr and
              "built-in defaults" in r.stderr and sids(events(eve)) == [],
              how + ": no rules or model, says so, no alerts", r.stderr)
    off = os.path.join(tmp, "off.yaml")
    with open(off, "w") as fh:
        fh.write("behaviour: {enabled: false}\n")
    r = run(binary, ["-r", atk, "--eve", eve, "--config", off])
    check(r.returncode == 0 and "nothing to detect with" in r.stderr and sids(events(eve)) == [],
          "nothing at all configured: says there is nothing to detect with", r.stderr)

    # 3. SPECTRE_CONFIG names a file whose optional rule directory exists: it loads.
    rdir = os.path.join(tmp, "rules.d")
    os.mkdir(rdir)
    with open(os.path.join(rdir, "local.rules"), "w") as fh:
        fh.write('alert http any any -> any any (msg:"local dir rule"; http.uri; content:"passwd"; sid:7700001;)\n')
    cfg = os.path.join(tmp, "c.yaml")
    with open(cfg, "w") as fh:
        fh.write("rules: {dir: rules.d, dir_optional: true}\n")  # relative to the file
    r = run(binary, ["-r", atk, "--eve", eve], env_config=cfg, cwd="/")
    check(r.returncode == 0 and sids(events(eve)) == [7700001] and "model " not in
          next((x for x in r.stderr.splitlines() if "detecting with" in x), "model "),
          "SPECTRE_CONFIG file: rule dir relative to it loads; no model named", r.stderr)
    # An explicit --rules-dir must exist.
    r = run(binary, ["-r", atk, "--config", "none", "--rules-dir", os.path.join(tmp, "nope")])
    check(r.returncode == 1 and "nope" in r.stderr, "--rules-dir that does not exist: exit 1 naming it", r.stderr)

    # 4. HOME_NET warning: 1,200 flows in 198.18.1.0/24, outside the default HOME_NET.
    home_rule = os.path.join(tmp, "home.rules")
    with open(home_rule, "w") as fh:
        fh.write('alert tcp any any -> $HOME_NET 80 (msg:"to home"; flow:to_server; content:"GET"; sid:7700002;)\n')
    for workers in ("1", "2"):
        r = run(binary, ["-r", many, "--eve", eve, "-S", home_rule, "--workers", workers, "--no-ml"])
        n = r.stderr.count(WARN)
        check(r.returncode == 0 and n == 1 and "198.18" not in r.stderr.split(WARN)[0].rsplit("HOME_NET", 1)[-1],
              "workers %s: warned once that rules toward HOME_NET cannot fire" % workers, r.stderr)
        check(sids(events(eve)) == [], "workers %s: the $HOME_NET rule does not fire" % workers, sids(events(eve))[:5])
    r = run(binary, ["-r", many, "--eve", eve, "-S", home_rule, "--home-net", "198.18.0.0/15", "--no-ml"])
    got = sids(events(eve))
    check(r.returncode == 0 and WARN not in r.stderr and "HOME_NET [198.18.0.0/15]" in r.stderr,
          "--home-net covering the hosts: no warning, named in the start line", r.stderr)
    check(len(got) == 1200 and set(got) == {7700002}, "--home-net: the $HOME_NET rule fires on all 1200 flows",
          len(got))
    r = run(binary, ["-r", few, "--eve", eve, "-S", home_rule, "--no-ml"])
    check(r.returncode == 0 and WARN not in r.stderr, "300 flows: too few to warn", r.stderr)
    with open(cfg, "w") as fh:
        fh.write('vars: {address: {HOME_NET: "[198.18.1.0/24]"}}\n')
    r = run(binary, ["-r", many, "--eve", eve, "-S", home_rule, "--config", cfg, "--no-ml"])
    check(r.returncode == 0 and WARN not in r.stderr and len(sids(events(eve))) == 1200,
          "HOME_NET from the configuration file: no warning, rule fires", r.stderr)

    # 5. Wrong use.
    for bad in ("foo", "10.0.0.0/33", ""):
        r = run(binary, ["-r", atk, "--home-net", bad])
        check(r.returncode == 2 and "--home-net" in r.stderr, "--home-net %r: exit 2 with a reason" % bad, r.stderr)
    r = run(binary, ["-r", atk, "--config", os.path.join(tmp, "missing.yaml")])
    check(r.returncode == 1 and "missing.yaml" in r.stderr, "missing --config file: exit 1 naming it", r.stderr)

    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
