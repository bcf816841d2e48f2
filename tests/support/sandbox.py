"""Sandbox network namespaces for transparent-mode tests (deploy/sandbox-net).

``SandboxNet`` creates a namespace with the real script, runs commands in it with
``ip netns exec`` and destroys it again. ``DNS_PROBE`` is a tiny DNS client (UDP or
TCP, any server) run inside a namespace, so a test can ask a chosen resolver
without depending on dig.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "sandbox-net"


def netns_unavailable() -> str | None:
    """Why sandbox namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "transparent mode tests need root (network namespaces, iptables)"
    for tool in ("ip", "iptables", "ip6tables", "unshare", "curl"):
        if shutil.which(tool) is None:
            return f"transparent mode tests need {tool}"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True)
    if probe.returncode != 0:
        return "`ip netns` is not available here"
    return None


class SandboxNet:
    def __init__(self, name: str, address: str, prefix: int = 24) -> None:
        self.name, self.address, self.prefix = name, address, prefix
        self.gateway = address.rsplit(".", 1)[0] + ".1"

    def create(
        self, proxy_port: int, dns_port: int, *, task: str = "", env: dict[str, str]
    ) -> None:
        argv = [str(SCRIPT), "create", self.name, "--address", f"{self.address}/{self.prefix}"]
        argv += ["--proxy-port", str(proxy_port), "--dns-port", str(dns_port)]
        argv += ["--task", task] if task else []
        cli = {"AIRLOCK_CLI": f"{sys.executable} -m gateway.cli", **env}
        subprocess.run(argv, check=True, cwd=REPO, env=cli, capture_output=True, timeout=60)

    def destroy(self, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        cli = {"AIRLOCK_CLI": f"{sys.executable} -m gateway.cli", **env}
        return subprocess.run(
            [str(SCRIPT), "destroy", self.name],
            cwd=REPO,
            env=cli,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def run(
        self, *argv: str, env: dict[str, str], timeout: float = 120, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, code: str, *args: str, env: dict[str, str]) -> Any:
        """Run ``code`` with this interpreter inside the namespace; its stdout as JSON."""
        out = self.run(sys.executable, "-c", code, *args, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


DNS_PROBE = r"""
import json, random, socket, struct, sys
server, port, name, qtype, transport = sys.argv[1:6]
port = int(port)
types = {"A": 1, "TXT": 16, "AAAA": 28}
qid = random.randrange(65536)
q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
q += struct.pack("!HH", types[qtype], 1)
try:
    if transport == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(q, (server, port))
        r = s.recv(4096)
    else:
        s = socket.create_connection((server, port), timeout=3)
        s.sendall(struct.pack("!H", len(q)) + q)
        n = struct.unpack("!H", s.recv(2))[0]
        r = b""
        while len(r) < n:
            r += s.recv(n - len(r))
except OSError as e:
    print(json.dumps({"error": type(e).__name__}))
    sys.exit(0)
rid, flags, qd, an = struct.unpack("!HHHH", r[:8])
ips = []
if an:
    off = len(q)  # the question comes back unchanged
    for _ in range(an):
        while r[off] and r[off] < 0xC0:  # the owner name: labels...
            off += r[off] + 1
        off += 2 if r[off] >= 0xC0 else 1  # ...ending in a pointer or the root
        rtype, _, _, rdlen = struct.unpack("!HHIH", r[off:off + 10])
        off += 10
        if rtype == 1:
            ips.append(socket.inet_ntoa(r[off:off + rdlen]))
        off += rdlen
rcodes = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
rcode = rcodes.get(flags & 15, flags & 15)
print(json.dumps({"id_ok": rid == qid, "rcode": rcode, "answers": ips}))
"""
