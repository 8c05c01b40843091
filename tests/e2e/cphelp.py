"""Shared by the control-plane end-to-end scripts (test_api*, test_controlplane,
console/test/run_against_cp): a binary from its environment variable or the
build tree, and a free loopback port."""
import os
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(env, rel):
    """$env, else build/rel; None when the file is not there."""
    p = os.environ.get(env) or os.path.join(ROOT, "build", rel)
    return p if os.path.exists(p) else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
