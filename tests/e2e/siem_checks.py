"""SIEM settings end to end (called by test_api.py): spectre-cp with the fake
data plane's synthetic alerts (priorities 1, 2, 3 in turn, one every 300 ms)
and --syslog to a UDP receiver in JSON; PUT /siem refuses bad input with a
reason (nothing changes), then moves the running exporter to a TCP receiver
in CEF with min_level high: later alerts arrive there (octet-counted, CEF,
priority 1 only) and no more at the UDP one; the change is audited. A detect
job is running (a stand-in spectre-dp that sleeps) when spectre-cp stops;
restarted on the same store with the same --syslog options, the stored
settings win (alerts go on to the TCP receiver in CEF) and the job answers
failed ("interrupted"). PUT target "" stops the export. Every response is
validated against the served OpenAPI document."""
import os
import re
import signal
import socket
import threading
import time

from apiclient import Api

RFC5424 = re.compile(r"^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (.*)$", re.S)


class Receiver:
    """A UDP socket or a TCP listener on loopback; msgs: (arrival time, MSGID, MSG) of each syslog message."""

    def __init__(self, tcp):
        self.tcp, self.msgs, self.bad, self.stop = tcp, [], [], False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        if tcp:
            self.sock.listen(4)
        threading.Thread(target=self.run, daemon=True).start()

    def add(self, raw):
        m = RFC5424.match(raw.decode("utf-8", "replace"))
        if m:
            self.msgs.append((time.time(), m.group(6), m.group(8)))
        else:
            self.bad.append(raw[:200])

    def serve(self, conn):
        buf = b""
        conn.settimeout(0.2)
        while not self.stop:
            try:
                d = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not d:
                break
            buf += d
            while b" " in buf:  # RFC 6587 octet counting: "LEN SP MSG"
                n, rest = buf.split(b" ", 1)
                if not n.isdigit():
                    self.bad.append(buf[:200])
                    buf = b""
                    break
                if len(rest) < int(n):
                    break
                self.add(rest[:int(n)])
                buf = rest[int(n):]
        conn.close()

    def run(self):
        while not self.stop:
            try:
                if self.tcp:
                    c, _ = self.sock.accept()
                    threading.Thread(target=self.serve, args=(c,), daemon=True).start()
                else:
                    self.add(self.sock.recv(65536))
            except socket.timeout:
                continue
            except OSError:
                break

    def alerts(self, since=0.0):
        return [m for t, i, m in self.msgs if i == "alert" and t >= since]

    def close(self):
        self.stop = True
        self.sock.close()


def wait_for(fn, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if fn():
            return True
        time.sleep(0.1)
    return False


def cef_sid(msg):
    m = re.match(r"CEF:0\|InfraSpectre\|spectre\|[^|]*\|1:(\d+)\|", msg)
    return int(m.group(1)) if m else None


def run_siem_checks(check, doc, env):
    cp, T, tmp = env["cp"], env["tokens"], os.path.join(env["tmp"], "siem")
    os.makedirs(tmp, exist_ok=True)
    with open(os.path.join(env["tmp"], "tokens.yaml")) as f, open(os.path.join(tmp, "tokens.yaml"), "w") as g:
        g.write(f.read())
    os.makedirs(os.path.join(tmp, "console"), exist_ok=True)
    hang = os.path.join(tmp, "hang-dp")
    with open(hang, "w") as f:
        f.write("#!/bin/sh\nexec sleep 120\n")  # a detect job that runs until spectre-cp stops
    os.chmod(hang, 0o755)
    udp, tcp = Receiver(False), Receiver(True)
    extra = ["--syslog", "udp://127.0.0.1:%d" % udp.port, "--syslog-format", "json", "--spectre-dp", hang]
    port = env["free_port"]()
    proc = env["start_cp"](cp, tmp, port, None, extra)
    try:
        api = Api("127.0.0.1", port, doc)
        env["wait_health"](api, 1, 30)
        check(wait_for(lambda: len(udp.alerts()) >= 6), "--syslog udp: the synthetic alerts arrive (RFC 5424)",
              (len(udp.msgs), udp.bad[:2]))
        check(all(m.startswith('{"') and '"event_type":"alert"' in m for m in udp.alerts()) and not udp.bad,
              "--syslog-format json: the messages are EVE alert lines", udp.alerts()[:1])
        st, b, _ = api.call(check, "GET", "/siem", T["admin"])
        running = {"target": "udp://127.0.0.1:%d" % udp.port, "format": "json", "min_level": "info"}
        check(st == 200 and b == running, "GET /siem: nothing stored yet, the running --syslog settings", b)
        for body, why in (({"target": "tcp://127.0.0.1:0"}, "port"), ({"target": "tcp://127.0.0.1"}, "HOST:PORT"),
                          ({"target": "udp://nowhere.invalid:514"}, "resolve"), ({"target": "ftp://x:1"}, "target"),
                          ({"target": "udp://127.0.0.1:514", "format": "xml"}, "format"),
                          ({"target": "udp://127.0.0.1:514", "min_level": "loud"}, "min_level")):
            st, b, _ = api.call(check, "PUT", "/siem", T["admin"], body)
            check(st == 400 and why in b.get("error", ""), "PUT /siem %s: 400 (%s)" % (body, why), (st, b))
        n_udp = len(udp.alerts())
        time.sleep(0.7)
        check(len(udp.alerts()) > n_udp and not tcp.msgs, "refused PUTs changed nothing: alerts still go to udp",
              (n_udp, len(udp.alerts()), len(tcp.msgs)))
        new = {"target": "tcp://127.0.0.1:%d" % tcp.port, "format": "cef", "min_level": "high"}
        st, b, _ = api.call(check, "PUT", "/siem", T["admin"], new)
        t_put = time.time()
        check(st == 200 and b == new, "PUT /siem tcp + cef + high: 200", (st, b))
        st, b, _ = api.call(check, "GET", "/siem", T["admin"])
        check(st == 200 and b == new, "GET /siem after the PUT: the exporter runs the new settings", b)
        check(wait_for(lambda: len(tcp.alerts()) >= 3), "after the PUT: alerts arrive at the TCP receiver (octet counting)",
              (len(tcp.msgs), tcp.bad[:2]))
        sids = [cef_sid(m) for m in tcp.alerts()]
        check(sids and all(s == 1001 for s in sids) and not tcp.bad,
              "after the PUT: CEF, priority 1 only (min_level high filters priorities 2 and 3)", tcp.alerts()[:3])
        late = udp.alerts(t_put + 0.5)
        check(not late, "after the PUT: no more alerts at the UDP receiver", late[:2])
        st, b, _ = api.call(check, "GET", "/audit", T["admin"], query={"limit": 50})
        rows = [e for e in b.get("items", []) if e["action"] == "siem"] if st == 200 else []
        check(len(rows) == 1 and rows[0]["actor"] == "admin-user" and '"format":"cef"' in rows[0]["detail"] and
              rows[0]["detail"].startswith('{"format":"json"'), "the change audited (who, before -> after)", rows)
        st, b, _ = api.call(check, "POST", "/detect", T["analyst"], b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(16),
                            headers={"Content-Type": "application/vnd.tcpdump.pcap"})
        job = b.get("job") if st == 202 else None
        check(job and wait_for(lambda: api.call(check, "GET", "/detect/" + job, T["viewer"])[1].get("state") == "running", 10),
              "a detect job running (the stand-in spectre-dp sleeps)", (st, b))
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=30) == 0, "SIGTERM with a detect job running: spectre-cp exits 0")
        # Restart: same store, same --syslog options; the stored settings win.
        n_tcp, t_restart = len(tcp.alerts()), time.time()
        port = env["free_port"]()
        proc = env["start_cp"](cp, tmp, port, None, extra)
        api = Api("127.0.0.1", port, doc)
        env["wait_health"](api, 1, 30)
        check(wait_for(lambda: len(tcp.alerts()) >= n_tcp + 2), "restarted: alerts go on to the stored TCP target",
              (n_tcp, len(tcp.alerts())))
        check(all(cef_sid(m) == 1001 for m in tcp.alerts()[n_tcp:]) and not udp.alerts(t_restart),
              "restarted: CEF, priority 1 only, nothing to the --syslog UDP receiver", (tcp.alerts()[n_tcp:][:2],
                                                                                        udp.alerts(t_restart)[:1]))
        st, b, _ = api.call(check, "GET", "/siem", T["admin"])
        check(st == 200 and b == new, "restarted: GET /siem shows the stored settings", b)
        if job:
            st, b, _ = api.call(check, "GET", "/detect/" + job, T["viewer"])
            check(st == 200 and b["state"] == "failed" and b["error"].startswith("interrupted") and
                  b.get("submitted_by") == "analyst-user", "restarted: the job running at the stop answers failed "
                                                           "(interrupted)", (st, b))
        st, b, _ = api.call(check, "PUT", "/siem", T["admin"], {"target": ""})
        check(st == 200 and b["target"] == "", "PUT /siem target '': export off", (st, b))
        time.sleep(0.5)
        n_tcp = len(tcp.alerts())
        time.sleep(1.5)
        check(len(tcp.alerts()) == n_tcp and not udp.alerts(t_restart), "export off: no more syslog messages",
              (n_tcp, len(tcp.alerts())))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except Exception:
                proc.kill()
        udp.close()
        tcp.close()
