#!/usr/bin/python3
"""End-to-end test of spectre-rules (rule management like suricata-update).

Builds a local tarball of rules (its own rules, a duplicate sid with a lower
and a higher rev in a second source, a broken rule, a commented-out rule, an
unparsable line, a classification.config) and runs the real tool on it with
enable/disable/modify files. Checks: the installed file (disabled rules
commented, modifications applied, duplicates resolved by rev), per-source
counts and changes in the human and --json reports, a second identical run
changes nothing, an unloadable result (everything disabled, only broken rules,
--strict with a broken rule, an unreachable URL) is refused with the installed
file byte-identical, wrong use exits 2, and the reload paths: --reload-command,
--pid-file against a process recording SIGUSR2 and against a running
spectre-dp (live on DPDK's pcap vdev; it logs "rules reloaded" with the new count), and --instance
through spectrectl and spectre-cp (its fake data plane). With ../shared
present, ET Open is a source too (per-source counts, the result loads).

Usage: test_spectre_rules.py  (binaries from $SPECTRE_RULES, $SPECTRE_DP,
$SPECTRECTL, $SPECTRE_CP, else build/...)
Exit: 0 all passed, 1 a failure, 77 skipped (spectre-rules not built).
"""
import io
import json
import os
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))
from checks import Checks  # noqa: E402
from cphelp import binary  # noqa: E402

ET_OPEN = os.path.join(os.path.dirname(ROOT), "shared", "corpora", "rules", "et-open")
check = Checks()


def rule(sid, rev=1, msg=None, extra="", action="alert", proto="tcp"):
    msg = msg or "E2E rule %d" % sid
    return ('%s %s any any -> any any (msg:"%s"; content:"e2e-%d"; %ssid:%d; rev:%d;)'
            % (action, proto, msg, sid, extra, sid, rev))


BROKEN = 'alert tcp any any -> any any (msg:"E2E broken depth"; content:"abcdef"; depth:2; sid:9100004; rev:1;)'


def main_rules(v1=True):
    """The tarball's rules/emerging-e2e.rules (v1, or v2 with one rule changed, one removed, one added)."""
    lines = [
        "# E2E test rules",
        rule(9100001, 1 if v1 else 2, extra="classtype:spectre-e2e-class; "),
        rule(9100002, 3, msg="E2E dup kept from tar rev 3"),
        rule(9100003, 1, msg="E2E dup lost rev 1"),
        BROKEN,
        "# " + rule(9100005, msg="E2E commented out in source"),
        rule(9100006, extra="metadata:deployment Internal, signature_severity Minor; "),
        rule(9100007, extra="threshold:type limit, track by_src, count 1, seconds 60; "),
        rule(9100008, proto="http", extra="classtype:trojan-activity; "),
        rule(9100030), rule(9100031), rule(9100032),
        "this line is not a rule",
    ]
    if v1:
        lines.append(rule(9100040, msg="E2E OpenSSL HeartBleed attempt"))
    else:
        lines.append(rule(9100060, msg="E2E new in v2"))
    return "\n".join(lines) + "\n"


def make_tar(path, files):
    with tarfile.open(path, "w:gz") as t:
        for name, text in files.items():
            data = text.encode()
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def tar_files(v1=True):
    return {
        "rules/emerging-e2e.rules": main_rules(v1),
        "rules/emerging-dos.rules": rule(9100010) + "\n" + rule(9100011) + "\n",
        "rules/emerging-deleted.rules": rule(9100020) + "\n",
        "rules/classification.config": "config classification: spectre-e2e-class,Spectre E2E Class,2\n"
                                       "config classification: trojan-activity,A Network Trojan was detected,1\n",
        "rules/LICENSE": "not rules\n",
    }


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def run(tool, args, timeout=120, env=None):
    return subprocess.run([tool] + args, capture_output=True, text=True, timeout=timeout, env=env)


def as_json(r):
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def lines_by_sid(text):
    out = {}
    for line in text.splitlines():
        if "sid:" in line:
            sid = int(line.split("sid:")[1].split(";")[0])
            out[sid] = line
    return out


def check_first_install(tool, tmp, base, out):
    r = run(tool, base + ["--json", "--no-reload"])
    j = as_json(r)
    check(r.returncode == 0 and j and j["ok"] and j["installed"], "first update installs (exit 0, --json ok)",
          r.stdout + r.stderr)
    if not j:
        return None
    src = {s["kind"]: s for s in j["sources"]}
    tar, d = src.get("archive", {}), src.get("directory", {})
    # The tarball: 3 rule files; 15 rules (12 in e2e incl. commented 9100005, 2 dos, 1 deleted), 1 unparsable line.
    check(tar.get("files") == 3 and tar.get("rules") == 15 and tar.get("unparsable") == 1,
          "per-source counts of the tarball (3 files, 15 rules, 1 unparsable line)", tar)
    check(d.get("files") == 1 and d.get("rules") == 3, "per-source counts of the directory (1 file, 3 rules)", d)
    dups = {(x["sid"], x["kept_rev"], x["dropped_rev"]) for x in j["duplicates"]}
    check(dups == {(9100002, 3, 2), (9100003, 5, 1)}, "duplicates: highest rev kept and reported", j["duplicates"])
    check(tar.get("superseded") == 1 and d.get("superseded") == 1, "superseded copies counted per source", src)
    # Disabled: 9100006 (metadata), 9100010 and 9100011 (group; 9100011 enabled again), 9100020 (filename),
    # 9100030-31 (range), 9100040 (re:, case-insensitive); enabled: 9100005 (commented out in its source), 9100011.
    pol = j["policy"]
    check(pol["disabled"] == 7 and pol["enabled"] == 2 and pol["modified"] == 2 and pol["dropped"] == 1,
          "policy counts: 7 disabled, 2 enabled, 2 modified, 1 converted to drop", pol)
    res = j["result"]
    check(res == {"rules": 16, "enabled": 10, "disabled": 6}, "result counts (16 rules, 10 enabled, 6 disabled)", res)
    check(tar.get("enabled", 0) + d.get("enabled", 0) == 10, "per-source enabled counts add up", src)
    t = j["test"]
    # The broken rule is reported by the loader (file:line of the installed file) and the rest is active.
    check(t["run"] and t["ok"] and t["active"] == 9, "test load with the data plane's loader: 9 active", t)
    check(any(m.startswith(out + "/spectre.rules:") and "depth" in m for m in t["messages"]),
          "the broken rule's error names the installed file and line", t["messages"])
    check(sorted(j["changes"]["added"])[:1] == ["1:9100001"] and len(j["changes"]["added"]) == 16
          and not j["changes"]["previous"], "changes: everything added on a first install", j["changes"])
    return j


def check_file_content(out):
    text = read(os.path.join(out, "spectre.rules"))
    by = lines_by_sid(text)
    disabled = {s for s, l in by.items() if l.startswith("# ")}
    check(disabled == {9100006, 9100010, 9100020, 9100030, 9100031, 9100040},
          "disabled rules are written commented out ('# alert ...')", sorted(disabled))
    check(not by[9100005].startswith("#") and not by[9100011].startswith("#"),
          "enable.conf enabled a commented-out rule and a group-disabled one", (by[9100005], by[9100011]))
    check("seconds 3600;" in by[9100007] and "seconds 60" not in by[9100007], "modify.conf: seconds \\d+ -> 3600",
          by[9100007])
    check(by[9100008].startswith("drop http "), "modify.conf back reference: trojan-activity alert -> drop",
          by[9100008])
    check(by[9100032].startswith("drop tcp ") and by[9100031].startswith("# alert tcp "),
          "drop.conf: the matching rule becomes a drop rule", by[9100032])
    check("rev:3;" in by[9100002] and "rev:5;" in by[9100003] and "local rev 5" in by[9100003],
          "duplicates: the installed rule is the higher rev", (by[9100002], by[9100003]))
    check(BROKEN in text, "a rule the loader rejects is kept (reported, not fatal without --strict)")
    check(text.count("sid:") == 16 and "not a rule" not in text, "16 rules, the unparsable line left out")
    cls = read(os.path.join(out, "classification.config"))
    check("spectre-e2e-class" in cls, "classification.config from the source merged into the rule directory", cls)
    return text


def tiny_pcap(n=1):
    """n UDP packets 10.0.0.1 -> 10.0.0.2:9999, pcap microsecond format."""
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    return hdr + b"".join(udp_record(i) for i in range(n))


def udp_record(i):
    payload = b"e2e-payload"
    udp = struct.pack("!HHHH", 40000, 9999, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
    frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip
    return struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame


def dp_env():
    env = dict(os.environ)
    env["SPECTRE_CONFIG"] = "none"
    return env


def check_dp_loads(dp, tmp, out):
    """The installed directory loads in the real spectre-dp (rules dir, classification next to it)."""
    pcap = os.path.join(tmp, "one.pcap")
    with open(pcap, "wb") as f:
        f.write(tiny_pcap())
    r = subprocess.run([dp, "-r", pcap, "--rules-dir", out, "--eve", os.path.join(tmp, "eve.json")],
                       capture_output=True, text=True, timeout=120, env=dp_env())
    check(r.returncode == 0 and "rules: 9 loaded" in r.stderr and "1 errors" in r.stderr,
          "spectre-dp --rules-dir loads the installed directory (9 loaded, 1 error)", r.stderr[-2000:])


def check_refusals(tool, tmp, base, out, tarball):
    before = read(os.path.join(out, "spectre.rules"), "rb")
    cls_before = read(os.path.join(out, "classification.config"), "rb")

    def unchanged(what, r, needle):
        same = read(os.path.join(out, "spectre.rules"), "rb") == before and \
            read(os.path.join(out, "classification.config"), "rb") == cls_before
        left = [n for n in os.listdir(out) if ".tmp-" in n]
        check(r.returncode == 1 and needle in r.stderr and same and not left,
              "%s: exit 1, installed files byte-identical" % what, r.stdout + r.stderr)

    everything = write(os.path.join(tmp, "disable-all.conf"), "*\n")
    args = ["update", "--output", out, "--source", tarball, "--disable-conf", everything, "--no-reload"]
    unchanged("everything disabled", run(tool, args), "no enabled rules")
    only_broken = os.path.join(tmp, "broken.tar.gz")
    make_tar(only_broken, {"rules/x.rules": BROKEN + "\n"})
    unchanged("only broken rules (nothing compiles)",
              run(tool, ["update", "--output", out, "--source", only_broken, "--no-reload"]), "do not load")
    unchanged("--strict with a broken rule", run(tool, base + ["--strict", "--no-reload", "--force"]), "strict")
    r = run(tool, ["update", "--output", out, "--source", "http://127.0.0.1:1/rules.tar.gz", "--no-reload"])
    unchanged("unreachable URL", r, "download failed")
    r = run(tool, ["update", "--output", out, "--source", tarball, "--disable-conf",
                   write(os.path.join(tmp, "bad.conf"), "2019401\nnot-a-matcher\n"), "--no-reload"])
    unchanged("bad line in disable.conf", r, "bad.conf:2:")
    for args, what in (([], "no command"), (["update"], "no --source"), (["update", "--bogus"], "unknown option"),
                       (["update", "--source", tarball, "--pid-file", "x", "--reload-command", "y"],
                        "two reload methods")):
        r = run(tool, args)
        check(r.returncode == 2 and "usage:" in r.stderr, "wrong use (%s): exit 2 with usage" % what, r.stderr)
    r = run(tool, ["--help"])
    check(r.returncode == 0 and "--enable-conf" in r.stdout and "--pid-file" in r.stdout, "--help prints usage")


def check_changes_and_command(tool, tmp, base, out, tarball):
    r = run(tool, base + ["--no-reload"])
    check(r.returncode == 0 and "no changes" in r.stdout, "same input again: no changes, not rewritten", r.stdout)
    make_tar(tarball, tar_files(v1=False))
    marker = os.path.join(tmp, "reloaded-by-command")
    r = run(tool, base + ["--reload-command", "echo ok > '%s'" % marker])
    text = r.stdout
    check(r.returncode == 0 and "1 added, 1 removed, 1 modified" in text and "added: 1:9100060" in text
          and "removed: 1:9100040" in text and "modified: 1:9100001" in text,
          "human report: changes against the installed file (sids listed)", text + r.stderr)
    check("source " + tarball + " (archive): 3 files, 15 rules" in text and "duplicate sid 1:9100002: kept rev 3" in text,
          "human report: per-source counts and duplicates", text)
    check(os.path.exists(marker) and read(marker).strip() == "ok" and "reload (command)" in text,
          "--reload-command ran after the install", text)
    r = run(tool, base + ["--reload-command", "exit 3", "--force"])
    check(r.returncode == 1 and "installed, but the reload failed" in r.stderr and "exit 3" in r.stderr,
          "a failing reload command: exit 1, says the rules are installed", r.stderr)
    make_tar(tarball, tar_files(v1=True))
    before = read(os.path.join(out, "spectre.rules"), "rb")
    r = run(tool, base + ["--dry-run", "--json"])
    j = as_json(r)
    check(r.returncode == 0 and j and j["changed"] and not j["installed"] and j["test"]["ok"]
          and read(os.path.join(out, "spectre.rules"), "rb") == before, "--dry-run tests but installs nothing",
          r.stdout + r.stderr)


SIGNAL_RECORDER = r"""
import os, signal, sys, time
out = sys.argv[1]
def on_usr2(signum, frame):
    with open(out, "a") as f:
        f.write("USR2\n")
signal.signal(signal.SIGUSR2, on_usr2)
with open(out + ".ready", "w") as f:
    f.write(str(os.getpid()))
end = time.time() + 60
while time.time() < end:
    time.sleep(0.05)
"""


def check_pid_file(tool, tmp, base):
    rec = os.path.join(tmp, "usr2.log")
    p = subprocess.Popen([sys.executable, "-c", SIGNAL_RECORDER, rec])
    try:
        for _ in range(200):
            if os.path.exists(rec + ".ready"):
                break
            time.sleep(0.02)
        pidfile = write(os.path.join(tmp, "proc.pid"), "%d\n" % p.pid)
        r = run(tool, base + ["--pid-file", pidfile, "--force"])
        for _ in range(100):
            if os.path.exists(rec):
                break
            time.sleep(0.02)
        got = read(rec) if os.path.exists(rec) else ""
        check(r.returncode == 0 and got == "USR2\n" and "SIGUSR2 sent to pid %d" % p.pid in r.stdout,
              "--pid-file: the process received exactly one SIGUSR2", r.stdout + r.stderr + got)
    finally:
        p.kill()
        p.wait()
    dead = write(os.path.join(tmp, "dead.pid"), "%d\n" % p.pid)
    r = run(tool, base + ["--pid-file", dead, "--force"])
    check(r.returncode == 1 and "cannot signal pid" in r.stderr, "--pid-file of a dead process: exit 1, clear error",
          r.stderr)


def check_real_dataplane_reload(tool, dp, tmp, out, tarball, base):
    """A running spectre-dp (live mode on DPDK's pcap vdev: no NIC, no hugepages, it keeps
    running after the capture's packets until SIGINT) loads the installed file;
    spectre-rules --pid-file makes it reload the new one ("rules reloaded" with the new count)."""
    pcap = os.path.join(tmp, "live.pcap")
    with open(pcap, "wb") as f:
        f.write(tiny_pcap(3))
    dplog = os.path.join(tmp, "dp.log")
    log = open(dplog, "w")
    p = subprocess.Popen([dp, "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                          "--file-prefix=spectre-rules-e2e-%d" % os.getpid(),
                          "--lcores=0@(0-1),1@(0-1)",  # not pinned: other DPDK processes busy-poll these cores
                          "--vdev=net_pcap0,rx_pcap=" + pcap, "--", "-S", os.path.join(out, "spectre.rules"),
                          "--eve", os.path.join(tmp, "eve-live.json")], stdout=log, stderr=log, env=dp_env())
    try:
        end = time.time() + 120  # EAL start-up is slow when other DPDK processes share the cores
        while time.time() < end and "port 0" not in read(dplog) and p.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        started = "rules: 9 loaded" in read(dplog) and p.poll() is None
        make_tar(tarball, tar_files(v1=False))  # v2: 9100060 replaces 9100040 (disabled): 10 loaded
        pidfile = write(os.path.join(tmp, "dp.pid"), "%d\n" % p.pid)
        r = run(tool, base + ["--pid-file", pidfile])
        end = time.time() + 60
        while time.time() < end and "rules reloaded" not in read(dplog) and p.poll() is None:
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        text = read(dplog)
        check(started and r.returncode == 0 and "rules reloaded: rules: 10 loaded" in text,
              "real spectre-dp: SIGUSR2 from --pid-file reloads the installed rules (9 -> 10 loaded)",
              r.stdout + r.stderr + text[-1500:])
        check(p.returncode == 0, "spectre-dp exits 0 after the reload", text[-500:])
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
        make_tar(tarball, tar_files(v1=True))


def check_instance(tool, ctl, cp, tmp, base):
    if not ctl or not cp:
        print("SKIP --instance: spectrectl / spectre-cp not built")
        return
    name = "e2e-rules-%d" % os.getpid()
    try:
        os.makedirs("/run/spectre", exist_ok=True)
    except OSError:
        print("SKIP --instance: /run/spectre not writable (spectrectl --instance addresses /run/spectre/NAME.sock)")
        return
    sock = "/run/spectre/%s.sock" % name
    audit = os.path.join(tmp, "audit.log")
    log = open(os.path.join(tmp, "cp.log"), "w")
    p = subprocess.Popen([cp, "--foreground", "--fake-dataplane", "--instance", name, "--socket", sock,
                          "--registry", os.path.join(tmp, "reg"), "--audit", audit], stdout=log, stderr=log)
    try:
        for _ in range(100):
            if os.path.exists(sock) or p.poll() is not None:
                break
            time.sleep(0.05)
        env = dict(os.environ)
        env["SPECTRECTL"] = ctl
        r = run(tool, base + ["--instance", name, "--force"], env=env)
        aud = read(audit) if os.path.exists(audit) else ""
        check(r.returncode == 0 and "reload (instance)" in r.stdout and "rules reload" in aud,
              "--instance: spectrectl rules reload through spectre-cp (audit log has it)", r.stdout + r.stderr + aud)
        r = run(tool, base + ["--instance", name + "-absent", "--force"], env=env)
        check(r.returncode == 1 and "reload failed" in r.stderr, "--instance of an absent spectre-cp: exit 1",
              r.stderr)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        if os.path.exists(sock):
            os.unlink(sock)


def check_et_open(tool, tmp):
    if not os.path.isdir(ET_OPEN):
        print("SKIP ET Open as a source: %s absent" % ET_OPEN)
        return
    out = os.path.join(tmp, "et-out")
    dis = write(os.path.join(tmp, "et-disable.conf"), "group:emerging-deleted\nmetadata: signature_severity informational\n")
    t0 = time.time()
    r = run(tool, ["update", "--output", out, "--source", ET_OPEN, "--disable-conf", dis, "--json", "--no-reload"],
            timeout=600)
    j = as_json(r)
    s = j["sources"][0] if j and j["sources"] else {}
    print("ET Open: %.1f s, %s" % (time.time() - t0, {k: s.get(k) for k in ("files", "rules", "enabled", "disabled")}))
    check(r.returncode == 0 and j and j["installed"] and s.get("files", 0) >= 40 and s.get("rules", 0) >= 20000,
          "ET Open directory as a source: per-source counts reported", (r.stderr[-800:], s))
    if j:
        check(j["test"]["ok"] and j["test"]["active"] > 10000 and s["enabled"] + s["disabled"] == j["result"]["rules"]
              and j["policy"]["disabled"] > 1000, "ET Open result test-loads (%d active)" % j["test"]["active"],
              j["test"]["summary"])


def main():
    tool = binary("SPECTRE_RULES", "ctrlplane/rules_update/spectre-rules")
    if not tool:
        print("SKIP: spectre-rules not built")
        return 77
    dp = binary("SPECTRE_DP", "dataplane/spectre-dp")
    tmp = tempfile.mkdtemp(prefix="spectre-rules-e2e-")
    tarball = os.path.join(tmp, "e2e-rules.tar.gz")
    make_tar(tarball, tar_files(v1=True))
    local = os.path.join(tmp, "local")
    os.makedirs(local)
    write(os.path.join(local, "local.rules"), "\n".join([
        rule(9100002, 2, msg="E2E dup lost local rev 2"), rule(9100003, 5, msg="E2E dup kept local rev 5"),
        rule(9100050, msg="E2E local only")]) + "\n")
    write(os.path.join(tmp, "enable.conf"), "# enable.conf\n9100005\n1:9100011 # re-enabled\n")
    write(os.path.join(tmp, "disable.conf"),
          "metadata: deployment internal\ngroup:emerging-dos\nfilename:rules/*deleted*\n9100030-9100031\n"
          "re:HEARTBLEED\n")
    write(os.path.join(tmp, "modify.conf"),
          '9100007 "seconds \\d+" "seconds 3600"\nre:classtype:trojan-activity "(alert)(.*)" "drop\\\\2"\n')
    write(os.path.join(tmp, "drop.conf"), "9100032\n")
    out = os.path.join(tmp, "out", "rules")  # created by the tool
    base = ["update", "--output", out, "--source", tarball, "--source", local,
            "--enable-conf", os.path.join(tmp, "enable.conf"), "--disable-conf", os.path.join(tmp, "disable.conf"),
            "--modify-conf", os.path.join(tmp, "modify.conf"), "--drop-conf", os.path.join(tmp, "drop.conf")]
    t0 = time.time()
    if check_first_install(tool, tmp, base, out):
        check_file_content(out)
        if dp:
            check_dp_loads(dp, tmp, out)
        check_refusals(tool, tmp, base, out, tarball)
        check_changes_and_command(tool, tmp, base, out, tarball)
        check_pid_file(tool, tmp, base)
        if dp:
            check_real_dataplane_reload(tool, dp, tmp, out, tarball, base)
        else:
            print("SKIP real spectre-dp reload: spectre-dp not built")
        check_instance(tool, binary("SPECTRECTL", "ctrlplane/spectrectl"), binary("SPECTRE_CP", "ctrlplane/spectre-cp"),
                       tmp, base)
    check_et_open(tool, tmp)
    print("elapsed %.1f s" % (time.time() - t0))
    check.cleanup(tmp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
