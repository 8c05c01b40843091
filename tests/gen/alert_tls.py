"""Hand-built TLS ClientHello/ServerHello records and the JA3 fingerprint
of exactly the fields written (GREASE values excluded, as JA3 says)."""
import hashlib
import struct

GREASE = {0x0A0A + 0x1010 * i for i in range(16)}  # 0a0a, 1a1a, ... fafa


def _u16list(vals):
    body = b"".join(struct.pack("!H", v) for v in vals)
    return struct.pack("!H", len(body)) + body


def _ext(etype, data):
    return struct.pack("!HH", etype, len(data)) + data


def _handshake(htype, body):
    return struct.pack("!B", htype) + len(body).to_bytes(3, "big") + body


def _record(version, frag):
    return struct.pack("!BHH", 22, version, len(frag)) + frag


def client_hello(sni, rng):
    """Returns (record bytes, ja3 string, ja3 md5 hex)."""
    version = 0x0303
    ciphers = [0x0A0A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C,
               0x009C, 0x002F]
    groups = [0x2A2A, 29, 23, 24]
    point_formats = [0]
    name = sni.encode()
    sni_data = struct.pack("!H", len(name) + 3) + b"\0" + struct.pack(
        "!H", len(name)) + name
    alpn = b"".join(bytes([len(p)]) + p for p in (b"h2", b"http/1.1"))
    exts = [
        (0x1A1A, b""),                                     # GREASE
        (0, sni_data),                                     # server_name
        (23, b""),                                         # ext master secret
        (65281, b"\0"),                                    # renegotiation_info
        (10, _u16list(groups)),                            # supported_groups
        (11, bytes([len(point_formats)]) + bytes(point_formats)),
        (35, b""),                                         # session_ticket
        (16, struct.pack("!H", len(alpn)) + alpn),         # ALPN
        (13, _u16list([0x0403, 0x0804, 0x0401, 0x0503])),  # sig algs
    ]
    ext_bytes = b"".join(_ext(t, d) for t, d in exts)
    sid = rng.randbytes(32)
    body = (struct.pack("!H", version) + rng.randbytes(32)
            + bytes([len(sid)]) + sid + _u16list(ciphers) + b"\x01\x00"
            + struct.pack("!H", len(ext_bytes)) + ext_bytes)
    rec = _record(0x0301, _handshake(1, body))

    def j(vals):
        return "-".join(str(v) for v in vals if v not in GREASE)
    ja3 = "%d,%s,%s,%s,%s" % (version, j(ciphers), j(t for t, _ in exts),
                              j(groups), j(point_formats))
    return rec, ja3, hashlib.md5(ja3.encode()).hexdigest()


def server_hello(rng, cipher=0xC02F):
    """A TLS 1.2 ServerHello plus ServerHelloDone in one record."""
    exts = _ext(65281, b"\0") + _ext(11, b"\x01\x00")
    sid = rng.randbytes(32)
    body = (struct.pack("!H", 0x0303) + rng.randbytes(32) + bytes([32])
            + sid + struct.pack("!HB", cipher, 0)
            + struct.pack("!H", len(exts)) + exts)
    return _record(0x0303, _handshake(2, body) + _handshake(14, b""))
