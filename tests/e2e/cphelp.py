"""Shared by the control-plane end-to-end scripts (test_api*, test_controlplane, test_cp_live_campaign,
console/test/run_against_cp): a binary from its environment variable or the
build tree, a free loopback port, the campaign scenario's alerts and the FIFO gate that holds
spectre-dp between its inputs, spectrectl calls."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Importing cphelp puts tests/gen (generators, pcaplib) and tests/live (checks) on the path.
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))


def binary(env, rel):
    """$env, else build/rel; None when the file is not there."""
    p = os.environ.get(env) or os.path.join(ROOT, "build", rel)
    return p if os.path.exists(p) else None


def ctl(ctlbin, sock, *args, timeout=30):
    """spectrectl --socket sock args...: the CompletedProcess (text)."""
    return subprocess.run([ctlbin, "--socket", sock] + list(args), capture_output=True, text=True, timeout=timeout)


def jctl(ctlbin, sock, *args, timeout=30):
    """spectrectl --json: (CompletedProcess, its first output line parsed, or None)."""
    r = ctl(ctlbin, sock, "--json", *args, timeout=timeout)
    try:
        return r, json.loads(r.stdout.strip().splitlines()[0])
    except Exception:
        return r, None


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


class Gate(threading.Thread):
    """A FIFO given to spectre-dp as an input (-r): answers each open with an empty capture;
    after the first `free` opens, only once released. spectre-dp opens each input three times
    (a check before its shared-memory segment exists, a size pass over all inputs, the read),
    so free=1 holds it before any packet, free=2 after the inputs before the FIFO were read.
    After each answer the gate waits (up to 1 s) until no process holds the FIFO open: a writer
    that opened while the last reader was still closing would otherwise count an open that never
    came, or hand the next reader an end of file without the header."""

    def __init__(self, fifo, header, free=1):
        super().__init__(daemon=True)
        self.fifo, self.header, self.free = os.path.abspath(fifo), header, free
        self.release, self.done = threading.Event(), threading.Event()
        self.opens = 0

    def held_open(self):
        """Some process other than this one has the FIFO open (a reader that has not closed yet)."""
        me = str(os.getpid())
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid == me:
                continue
            try:
                fds = os.listdir("/proc/%s/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == self.fifo:
                        return True
                except OSError:
                    pass
        return False

    def run(self):
        while not self.done.is_set():
            if self.opens >= self.free and not self.release.is_set():
                time.sleep(0.01)
                continue
            try:  # succeeds only while a reader waits in open() (the last one has closed, below)
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.01)
                continue
            try:
                os.set_blocking(fd, True)
                os.write(fd, self.header)
            except OSError:
                pass
            finally:
                os.close(fd)
            self.opens += 1
            # Bounded: spectre-dp may hold an earlier handle while it already waits in the next
            # open (its threads close and open apart); the answer then reaches the new reader.
            end = time.time() + 1.0
            while self.held_open() and not self.done.is_set() and time.time() < end:
                time.sleep(0.005)


def wait_for(cond, secs, step=0.1):
    end = time.time() + secs
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()



def stop(proc, timeout=30):
    """SIGTERM to a running `proc`, SIGKILL when it has not exited after `timeout` s; its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
