"""HTTP client for the REST API e2e test: every response is checked against
the served OpenAPI document (its status must be documented for the operation,
a JSON body must validate against the response schema, Draft 2020-12).

    api = Api("127.0.0.1", port, doc)       # doc: the served openapi.json
    st, body, hdrs = api.call(check, "GET", "/alerts", token, query={"limit": 5})

and Ws, a minimal WebSocket client for /api/v1/stream.
"""
import base64
import http.client
import json
import os
import re
import socket
import ssl
import struct
import sys
import time
import urllib.parse

try:
    import jsonschema
except ImportError:  # the scripts that import this module skip without it
    print("SKIP: python3-jsonschema missing (apt install python3-jsonschema)")
    sys.exit(77)

GENERIC = {404, 405}  # no route / method: {"error"} without a documented operation


class Api:
    def __init__(self, host, port, doc, tls_ctx=None):
        self.host, self.port, self.doc, self.tls = host, port, doc, tls_ctx
        self.validated = 0
        self.ops = []  # (regex, template, path item)
        for tmpl, item in doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
            self.ops.append((re.compile(rx), tmpl, item))
        # Literal templates first (as the server routes them).
        self.ops.sort(key=lambda o: o[1].count("{"))
        self.resolver = jsonschema.RefResolver.from_schema(doc)

    def conn(self):
        if self.tls:
            return http.client.HTTPSConnection(self.host, self.port, timeout=30, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def raw(self, method, path, headers=None, body=None):
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()

    def schema_ok(self, schema, value):
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        errs = sorted(v.iter_errors(value), key=lambda e: e.path)
        return [("/".join(str(p) for p in e.path) + ": " + e.message)[:300] for e in errs[:3]]

    def check_response(self, check, method, path, status, body, ctype, what):
        rel = path[len("/api/v1"):] if path.startswith("/api/v1") else path
        rel = rel.split("?")[0]
        op = None
        for rx, tmpl, item in self.ops:
            if rx.match(rel) and method.lower() in item:
                op = item[method.lower()]
                break
        resp = op and op["responses"].get(str(status))
        if resp is None:
            if status in GENERIC or op is None:
                schema = {"$ref": "#/components/schemas/Error"}
            else:
                return check(False, what + ": status %d documented for %s %s" % (status, method, rel), body[:300])
        else:
            content = resp.get("content") or {}
            ct = (ctype or "").split(";")[0].strip()
            if not content:
                return True
            if ct not in content:
                return check(False, what + ": content type %s documented (%s)" % (ct, list(content)), body[:200])
            if ct != "application/json":
                return True
            schema = content[ct]["schema"]
        try:
            value = json.loads(body)
        except ValueError as e:
            return check(False, what + ": JSON body", "%s: %r" % (e, body[:200]))
        errs = self.schema_ok(schema, value)
        self.validated += 1
        if errs:
            return check(False, what + ": body matches the OpenAPI schema", errs)
        return True

    def call(self, check, method, path, token=None, body=None, query=None, headers=None, what=None):
        """Returns (status, parsed JSON or raw bytes, headers); validates the response."""
        full = "/api/v1" + path if not path.startswith("/api/") else path
        if query:
            full += "?" + urllib.parse.urlencode(query)
        h = dict(headers or {})
        if token:
            h.setdefault("Authorization", "Bearer " + token)
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        st, raw, hd = self.raw(method, full, h, data)
        self.check_response(check, method, full, st, raw, hd.get("content-type"), what or "%s %s" % (method, path))
        if (hd.get("content-type") or "").startswith("application/json"):
            try:
                return st, json.loads(raw), hd
            except ValueError:
                pass
        return st, raw, hd


class Ws:
    """Minimal RFC 6455 client: text frames, client-masked, no extensions."""

    def __init__(self, port, path):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=15)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            c = self.s.recv(1)
            if not c:
                break
            head += c
        self.status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
        self.buf = b""

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        hdr = bytes([0x81])
        n = len(data)
        hdr += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _need(self, n):
        while len(self.buf) < n:
            c = self.s.recv(65536)
            if not c:
                raise EOFError
            self.buf += c

    def recv(self):
        while True:
            self._need(2)
            op, ln = self.buf[0] & 0x0F, self.buf[1] & 0x7F
            off = 2
            if ln == 126:
                self._need(4)
                ln, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif ln == 127:
                self._need(10)
                ln, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            self._need(off + ln)
            payload, self.buf = self.buf[off:off + ln], self.buf[off + ln:]
            if op == 1:
                return json.loads(payload)
            if op == 8:
                raise EOFError

    def events(self, channel, until_seq, timeout=20):
        """Event messages of channel until seq >= until_seq; other messages kept apart."""
        got, other, end = [], [], time.time() + timeout
        self.s.settimeout(timeout)
        while time.time() < end:
            m = self.recv()
            if m.get("type") == "event" and m.get("channel") == channel:
                got.append(m)
                if m["seq"] >= until_seq:
                    break
            else:
                other.append(m)
        return got, other

    def close(self):
        self.s.close()


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx
