"""Lab servers, each confined to its namespace and a private work directory:
nginx (HTTP, HTTPS with a self-signed certificate made at run time, basic auth,
large files, PUT uploads), sshd (own config, host keys, pid file and a test user
seen only by that sshd through private mount and pid namespaces, so every session
process dies with it), dnsmasq
(authoritative for lab.test, no upstream), and a socat sink for exfiltration.
Nothing listens in the host's namespace and no host file is modified.
"""
import os
import subprocess
import time

from .topology import ip_of

LAB_USER = "labuser"
LAB_UID = 4242
ZONE = "lab.test"
DNS_NAMES = ["www", "mail", "intranet", "files", "git", "wiki", "vpn", "db", "ci", "cdn"]


def _write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def make_cert(d):
    key, crt = os.path.join(d, "tls.key"), os.path.join(d, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN=www.{ZONE}", "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    return key, crt


def make_site(www, rng, big_files):
    """Pages of varied sizes with links between them (wget -r follows them)."""
    os.makedirs(www, exist_ok=True)
    names = [f"page{i}.html" for i in range(40)]
    words = "lorem ipsum dolor sit amet network packet flow detect lab sample".split()
    for n in names:
        size = int(rng.choice([500, 2000, 8000, 30000, 120000]) * rng.uniform(0.5, 1.5))
        links = "".join(f'<a href="{x}">{x}</a>\n' for x in rng.sample(names, 5))
        body = " ".join(rng.choice(words) for _ in range(size // 6))
        _write(os.path.join(www, n), f"<html><body>{links}<p>{body}</p></body></html>\n")
    links = "".join(f'<a href="{x}">{x}</a>\n' for x in names[:12])
    _write(os.path.join(www, "index.html"), f"<html><body>{links}</body></html>\n")
    os.makedirs(os.path.join(www, "admin"), exist_ok=True)
    _write(os.path.join(www, "admin", "index.html"), "<html>admin</html>\n")
    os.makedirs(os.path.join(www, "api"), exist_ok=True)
    _write(os.path.join(www, "api", "beacon"), "ok\n")
    files = os.path.join(www, "files")
    os.makedirs(files, exist_ok=True)
    for name, mb in big_files.items():
        with open(os.path.join(files, name), "wb") as f:
            block = rng.randbytes(1 << 20)
            for _ in range(mb):
                f.write(block)
    os.makedirs(os.path.join(www, "upload"), exist_ok=True)


def nginx_conf(d, ip, key, crt, htpasswd):
    tmp = os.path.join(d, "tmp")
    os.makedirs(tmp, exist_ok=True)
    return f"""daemon off;
master_process on;
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 2048; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  types {{ text/html html; application/octet-stream bin; }}
  default_type text/plain;
  keepalive_timeout 20;
  server {{
    listen {ip}:80;
    listen {ip}:443 ssl;
    ssl_certificate {crt};
    ssl_certificate_key {key};
    root {d}/www;
    location /admin/ {{ auth_basic "lab"; auth_basic_user_file {htpasswd}; }}
    location /upload/ {{ dav_methods PUT; create_full_put_path on; client_max_body_size 500m; }}
  }}
}}
"""


def start_nginx(lab, host, d, rng, key, crt, big_files, admin_pw):
    os.makedirs(d, exist_ok=True)
    make_site(os.path.join(d, "www"), rng, big_files)
    hashed = subprocess.run(["openssl", "passwd", "-apr1", admin_pw], check=True,
                            capture_output=True, text=True).stdout.strip()
    htpasswd = os.path.join(d, "htpasswd")
    _write(htpasswd, f"admin:{hashed}\n")
    conf = os.path.join(d, "nginx.conf")
    _write(conf, nginx_conf(d, ip_of(host), key, crt, htpasswd))
    lab.spawn(f"nginx-{host}", ["nginx", "-p", d, "-e", f"{d}/error.log", "-c", conf], ns=lab.ns(host))
    return [(ip_of(host), 80), (ip_of(host), 443)]


def start_sshd(lab, d, password):
    """sshd on the ssh host. The test user exists only in this sshd's private mount
    namespace: /etc/passwd, /etc/shadow and /etc/group are bind-mounted copies with the
    user appended, and /run is a private tmpfs (for /run/sshd)."""
    os.makedirs(d, exist_ok=True)
    home = os.path.join(d, "home")
    os.makedirs(home, exist_ok=True)
    os.chown(home, LAB_UID, LAB_UID)
    keys = []
    for t in ("ed25519", "rsa"):
        k = os.path.join(d, f"ssh_host_{t}_key")
        subprocess.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-f", k] + (["-b", "2048"] if t == "rsa" else []),
                       check=True, capture_output=True)
        keys.append(k)
    pwhash = subprocess.run(["openssl", "passwd", "-6", password], check=True, capture_output=True,
                            text=True).stdout.strip()
    with open("/etc/passwd") as f:
        passwd = f.read()
    with open("/etc/group") as f:
        group = f.read()
    with open("/etc/shadow") as f:
        shadow = f.read()
    _write(os.path.join(d, "passwd"), passwd + f"{LAB_USER}:x:{LAB_UID}:{LAB_UID}:lab:{home}:/bin/sh\n", 0o644)
    _write(os.path.join(d, "group"), group + f"{LAB_USER}:x:{LAB_UID}:\n", 0o644)
    _write(os.path.join(d, "shadow"), shadow + f"{LAB_USER}:{pwhash}:19000:0:99999:7:::\n", 0o600)
    conf = os.path.join(d, "sshd_config")
    _write(conf, "\n".join([f"Port 22", f"ListenAddress {ip_of('ssh')}"] + [f"HostKey {k}" for k in keys] + [
        f"PidFile {d}/sshd.pid", "UsePAM no", "PasswordAuthentication yes", "KbdInteractiveAuthentication no",
        "PermitRootLogin no", f"AllowUsers {LAB_USER}", "AuthorizedKeysFile none", "StrictModes no",
        "UseDNS no", "MaxStartups 200:30:400", "MaxAuthTries 6", "LoginGraceTime 20", "PrintMotd no",
        "Subsystem sftp internal-sftp", ""]))
    script = (f"set -e; mount --bind {d}/passwd /etc/passwd; mount --bind {d}/group /etc/group; "
              f"mount --bind {d}/shadow /etc/shadow; mount -t tmpfs -o mode=755 lablrun /run; "
              f"mkdir -m 755 /run/sshd; /usr/sbin/sshd -t -f {conf}; exec /usr/sbin/sshd -D -e -f {conf}")
    lab.spawn("sshd", ["unshare", "-m", "-p", "-f", "--kill-child", "--mount-proc", "--propagation", "private", "sh", "-c", script], ns=lab.ns("ssh"))
    return [(ip_of("ssh"), 22)]


def start_dnsmasq(lab, d):
    os.makedirs(d, exist_ok=True)
    recs = [f"--host-record={n}.{ZONE},{ip_of('web')}" for n in DNS_NAMES[:6]]
    recs += [f"--host-record={n}.{ZONE},{ip_of('bulk')}" for n in DNS_NAMES[6:]]
    recs += [f"--host-record=ssh.{ZONE},{ip_of('ssh')}", f"--address=/cdn.{ZONE}/{ip_of('bulk')}",
             f"--txt-record=_info.{ZONE},lab zone", f"--mx-host={ZONE},mail.{ZONE},10"]
    cmd = ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
           "--bind-interfaces", f"--listen-address={ip_of('dns')}", "--port=53", f"--local=/{ZONE}/",
           f"--pid-file={d}/dnsmasq.pid", "--user=root", "--group=root", f"--log-facility={d}/dnsmasq.log",
           "--dns-forward-max=1000", "--cache-size=1000"] + recs
    lab.spawn("dnsmasq", cmd, ns=lab.ns("dns"))
    return [(ip_of("dns"), 53)]


def start_sink(lab, host, port):
    lab.spawn(f"sink-{host}-{port}", ["socat", "-u", f"TCP-LISTEN:{port},bind={ip_of(host)},reuseaddr,fork",
                                      "OPEN:/dev/null"], ns=lab.ns(host))
    return [(ip_of(host), port)]


def wait_listening(lab, endpoints, timeout=20):
    """Wait until every TCP (ip, port) accepts a connection (probed from inside the
    server's own namespace via a short python, so no traffic crosses the bridge)."""
    deadline = time.time() + timeout
    pending = list(endpoints)
    while pending and time.time() < deadline:
        host, ip, port = pending[0]
        probe = (f"import socket;s=socket.socket();s.settimeout(1);"
                 f"s.connect(('{ip}',{port}))")
        ok = lab.sh("/usr/bin/python3", "-c", probe, ns=lab.ns(host), check=False).returncode == 0
        if ok:
            pending.pop(0)
        else:
            time.sleep(0.2)
    if pending:
        raise RuntimeError(f"services not listening: {pending}")
