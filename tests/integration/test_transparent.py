"""Transparent mode end to end: sandboxes with no proxy variables reach only Airlock.

Each sandbox is a real network namespace made by deploy/sandbox-net; its traffic is
redirected by real iptables rules to a real ``airlock up`` (transparent and DNS
listeners). curl, pip, git and node run inside it with only Airlock's CA trusted.

The test servers listen on the first sandbox's gateway address (the host side of its
veth), which stands in for "the internet". Their names (``*.airlock.test``) resolve
for Airlock through a hosts file bind-mounted over /etc/hosts in a mount namespace
of its own (``unshare --mount``): a stand-in for public DNS that touches nothing
outside the Airlock processes. Sandboxes learn those names only from Airlock's DNS.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.airlock import AirlockInstance, free_port
from tests.support.env import PROXY_VARS, direct_env
from tests.support.git_server import GitHttpsServer, git_env
from tests.support.pypi_server import PROBE_MODULE, PROBE_NAME, PypiHttpsServer
from tests.support.sandbox import DNS_PROBE, SandboxNet, netns_unavailable
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

_WHY = netns_unavailable()
pytestmark = [pytest.mark.integration, pytest.mark.skipif(_WHY is not None, reason=_WHY or "")]

_N = os.getpid() % 200 + 20
BOX = SandboxNet(f"alt{os.getpid() % 100000}a", f"10.232.{_N}.2")
STRANGER = SandboxNet(f"alt{os.getpid() % 100000}b", f"10.233.{_N}.2")
OUTSIDE = BOX.gateway  # where the test servers listen
NOT_ALLOWED = {"destination_not_allowed", "port_not_allowed"}  # policy's words for it
CA_VARS = (
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
)


class Listener:
    """A TCP or UDP socket on the outside that records whatever reaches it."""

    def __init__(self, kind: int) -> None:
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((OUTSIDE, 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[str] = []
        if kind == socket.SOCK_STREAM:
            self.sock.listen()
        threading.Thread(target=self._serve, args=(kind,), daemon=True).start()

    def _serve(self, kind: int) -> None:
        while True:
            try:
                if kind == socket.SOCK_STREAM:
                    conn, peer = self.sock.accept()
                    conn.close()
                else:
                    _, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            self.seen.append(str(peer[0]))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[dict[str, Any]]:
    """Names → test servers, listening on the outside address (made by ``net``)."""
    root = tmp_path_factory.mktemp("outside")
    made: dict[str, Any] = {
        "pypi": PypiHttpsServer(root / "pypi", test_ca, host_name="pypi.airlock.test"),
        "git": GitHttpsServer(root / "git", test_ca, host_name="git.airlock.test"),
        "up": HttpsUpstream(tls=test_ca, host_name="up.airlock.test"),
        "plain": HttpsUpstream(tls=None),
    }
    yield made
    for server in made.values():
        server.stop()


@pytest.fixture(scope="module")
def airlock_t(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[AirlockInstance]:
    root = tmp_path_factory.mktemp("airlock-transparent")
    hosts = root / "hosts"
    names = " ".join(f"{n}.airlock.test" for n in ("pypi", "git", "up"))
    hosts.write_text(f"127.0.0.1 localhost\n{OUTSIDE} {names}\n")
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
    wrapper += [f'mount --bind {shlex.quote(str(hosts))} /etc/hosts && exec "$@"', "sh"]
    instance = AirlockInstance(
        root,
        upstream_ca=test_ca.cert_path,
        extra_env={
            "AIRLOCK_TRANSPARENT_LISTEN": f"0.0.0.0:{free_port()}",
            "AIRLOCK_DNS_LISTEN": f"0.0.0.0:{free_port()}",
        },
        wrapper=wrapper,
    )
    instance.start()
    yield instance
    instance.stop()


def listen_port(airlock: AirlockInstance, setting: str) -> int:
    return int(airlock.env[setting].rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def net(airlock_t: AirlockInstance, servers: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Both sandboxes (only BOX registered), the servers started, the profile loaded."""
    proxy_port = listen_port(airlock_t, "AIRLOCK_TRANSPARENT_LISTEN")
    dns_port = listen_port(airlock_t, "AIRLOCK_DNS_LISTEN")
    task = airlock_t.create_task("sandboxed", "sandbox")  # profile written below
    try:
        BOX.create(proxy_port, dns_port, task=task["task_id"], env=airlock_t.env)
        STRANGER.create(proxy_port, dns_port, env=airlock_t.env)
        for server in servers.values():
            server.bind_host = OUTSIDE
            server.start()
        yield {"task": task}
    finally:
        for box in (BOX, STRANGER):
            box.destroy(airlock_t.env)


@pytest.fixture(scope="module")
def task(net: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any]) -> Any:
    pypi, git, up, plain = (servers[k] for k in ("pypi", "git", "up", "plain"))
    entries = [
        {"host": "pypi.airlock.test", "ports": [pypi.port], "methods": ["GET"]},
        {"host": "git.airlock.test", "ports": [git.port], "methods": ["GET", "POST"]},
        {"host": "up.airlock.test", "ports": [up.port], "methods": ["GET"]},
        {"host": OUTSIDE, "ports": [plain.port], "methods": ["GET"]},
    ]  # private addresses (the outside here is 10.x), so each entry says allow_private
    airlock_t.add_profile("sandbox", [{**e, "allow_private": True} for e in entries])
    return net["task"]


def sandbox_env(airlock: AirlockInstance) -> dict[str, str]:
    """No proxy variables at all: only trust in Airlock's CA."""
    ca = str(airlock.home / "ca" / "mitmproxy-ca-cert.pem")
    env = direct_env({name: ca for name in CA_VARS})
    assert not any(v in env for v in PROXY_VARS)
    return env


def curl(box: SandboxNet, env: dict[str, str], *args: str) -> tuple[int, str]:
    out = box.run("curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}", *args, env=env)
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body + out.stderr


# Allowed destinations --------------------------------------------------------------


def test_curl_reaches_an_allowed_name(
    task: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any]
) -> None:
    env = sandbox_env(airlock_t)
    up = servers["up"]
    code, body = curl(BOX, env, f"https://up.airlock.test:{up.port}/echo?via=curl")
    assert code == 200, body
    assert json.loads(body)["query"] == {"via": ["curl"]}
    assert any("via=curl" in r.path for r in up.requests)


def test_curl_reaches_an_allowed_address_over_plain_http(
    task: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any]
) -> None:
    code, body = curl(BOX, sandbox_env(airlock_t), f"http://{OUTSIDE}:{servers['plain'].port}/echo")
    assert code == 200, body


def test_pip_installs_from_an_allowed_index(
    task: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any], tmp_path: Path
) -> None:
    env = {**sandbox_env(airlock_t), "PIP_CONFIG_FILE": "/dev/null"}
    target = tmp_path / "site"
    out = BOX.run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--index-url",
        servers["pypi"].index_url,
        "--target",
        str(target),
        PROBE_NAME,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (target / PROBE_MODULE / "__init__.py").read_text().strip() == "VALUE = 42"


def test_git_clones_from_an_allowed_host(
    task: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any], tmp_path: Path
) -> None:
    env = git_env(sandbox_env(airlock_t))
    git = servers["git"]
    out = BOX.run("git", "clone", "-q", git.clone_url, str(tmp_path / "clone"), env=env)
    assert out.returncode == 0, out.stderr
    head = (tmp_path / "clone" / ".git" / "HEAD").read_text()
    assert head.startswith("ref: ")


def test_node_fetches_from_an_allowed_host(
    task: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any]
) -> None:
    url = f"https://up.airlock.test:{servers['up'].port}/echo?via=node"
    script = (
        "require('https').get(process.argv[1], r => { let b = '';"
        " r.on('data', c => b += c); r.on('end', () => console.log(r.statusCode, b)); })"
        ".on('error', e => { console.log('ERR', e.message); process.exit(1); });"
    )
    out = BOX.run("node", "-e", script, url, env=sandbox_env(airlock_t))
    assert out.returncode == 0, out.stdout + out.stderr
    status, _, body = out.stdout.partition(" ")
    assert status == "200" and json.loads(body)["query"] == {"via": ["node"]}


# Everything else goes nowhere ------------------------------------------------------


def test_direct_connections_elsewhere_are_refused(
    task: dict[str, Any], airlock_t: AirlockInstance
) -> None:
    env = sandbox_env(airlock_t)
    other = Listener(socket.SOCK_STREAM)
    try:
        code, body = curl(BOX, env, f"http://{OUTSIDE}:{other.port}/")
        assert code == 403, body
        refusal = json.loads(body)
        assert refusal["reason"] in NOT_ALLOWED and refusal["request_id"]
        code, body = curl(BOX, env, "http://93.184.216.34/")
        assert code == 403 and json.loads(body)["reason"] in NOT_ALLOWED, body
        probe = (
            "import json, socket, sys\n"
            "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
            "s.sendall(b'\\x16\\x00binary, not http\\r\\n\\r\\n')\n"
            "s.settimeout(5)\n"
            "try: got = s.recv(100)\n"
            "except OSError as e: got = type(e).__name__.encode()\n"
            "print(json.dumps(got.decode('latin-1')))"
        )
        BOX.python(probe, OUTSIDE, str(other.port), env=env)
        assert other.seen == []  # every connection ended at Airlock
        key = airlock_t.api_key("auditor")
        refused = airlock_t.wait_events(
            key, bool, kind="tunnel-refused", task_id=task["task_id"], timeout=30
        )  # the raw attempt is on the record under the sandbox's task
        assert refused[0]["port"] == other.port and refused[0]["decision"] == "deny"
    finally:
        other.close()


def dns(
    box: SandboxNet,
    server: str,
    name: str,
    qtype: str = "A",
    transport: str = "udp",
    port: int = 53,
) -> dict[str, Any]:
    return dict(box.python(DNS_PROBE, server, str(port), name, qtype, transport, env=direct_env()))


def test_dns_is_answered_by_airlock_only_for_allowed_names(task: dict[str, Any]) -> None:
    for server in (BOX.gateway, "8.8.8.8", "1.1.1.1"):
        for transport in ("udp", "tcp"):
            allowed = dns(BOX, server, "up.airlock.test", transport=transport)
            assert allowed == {"id_ok": True, "rcode": "NOERROR", "answers": [OUTSIDE]}
            refused = dns(BOX, server, "exfil-c2VjcmV0.example.com", transport=transport)
            assert refused["rcode"] == "REFUSED" and refused["answers"] == []
    assert dns(BOX, "8.8.8.8", "up.airlock.test", "TXT")["rcode"] == "REFUSED"
    assert dns(BOX, "8.8.8.8", "up.airlock.test", "AAAA") == {
        "id_ok": True,
        "rcode": "NOERROR",
        "answers": [],
    }


ICMP_ECHO = r"""
import json, socket, struct, sys
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
body = struct.pack("!HH", 0x4149, 1) + b"airlock-icmp-probe"
packet = struct.pack("!BBH", 8, 0, checksum(b"\x08\x00\x00\x00" + body)) + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
s.sendto(packet, (sys.argv[1], 0))
try:
    while True:
        data, peer = s.recvfrom(2048)
        if peer[0] == sys.argv[1] and data[20] == 0:  # an echo reply from it
            print(json.dumps("reply"))
            break
except TimeoutError:
    print(json.dumps("no reply"))
"""


def test_other_udp_icmp_and_ipv6_go_nowhere(task: dict[str, Any]) -> None:
    udp = Listener(socket.SOCK_DGRAM)
    try:
        lost = dns(BOX, OUTSIDE, "up.airlock.test", port=udp.port)  # DNS on another port
        assert lost == {"error": "TimeoutError"}
        probe = (
            "import json, socket, sys, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for port in (int(sys.argv[2]), 443, 123):\n"
            "    s.sendto(b'quic-or-anything', (sys.argv[1], port))\n"
            "out = {}\n"
            "for host in ('fd00::2', '2606:4700:4700::1111'):\n"
            "    try:\n"
            "        socket.create_connection((host, 443), timeout=3)\n"
            "        out[host] = 'connected'\n"
            "    except OSError as e:\n"
            "        out[host] = type(e).__name__\n"
            "print(json.dumps(out))"
        )
        v6 = BOX.python(probe, OUTSIDE, str(udp.port), env=direct_env())
        assert "connected" not in v6.values(), v6
        assert BOX.python(ICMP_ECHO, OUTSIDE, env=direct_env()) == "no reply"
        assert BOX.python(ICMP_ECHO, BOX.address, env=direct_env()) == "reply"  # probe works
        assert udp.seen == []
    finally:
        udp.close()


def test_an_unregistered_source_address_is_refused(
    task: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any]
) -> None:
    env = sandbox_env(airlock_t)
    code, body = curl(STRANGER, env, f"http://{OUTSIDE}:{servers['plain'].port}/echo")
    assert code == 403, body
    refusal = json.loads(body)
    assert (refusal["reason"], refusal["rule"]) == (
        "unknown_sandbox",
        "airlock.identity.unknown_sandbox",
    )
    answer = dns(STRANGER, STRANGER.gateway, "up.airlock.test")
    assert answer["rcode"] == "REFUSED"


# The record ------------------------------------------------------------------------


def test_everything_is_in_the_audit_trail_under_the_task(
    task: dict[str, Any], airlock_t: AirlockInstance
) -> None:
    key = airlock_t.api_key("auditor")

    def complete(events: list[dict[str, Any]]) -> bool:
        kinds = {(e["kind"], e["decision"]) for e in events}
        paths = {e["path"] for e in events if e["kind"] == "http-request"}
        return (
            {
                ("sandbox-registered", ""),
                ("dns-query", "allow"),
                ("dns-query", "deny"),
                ("http-request", "allow"),
                ("http-request", "deny"),
            }
            <= kinds
            and any(p.endswith(".whl") for p in paths)
            and any("git-upload-pack" in p for p in paths)
        )

    events = airlock_t.wait_events(key, complete, timeout=30, task_id=task["task_id"])
    traffic = [e for e in events if e["kind"] != "task-created"]
    assert {e["client_addr"] for e in traffic} == {BOX.address}, traffic
    requests = [e for e in events if e["kind"] == "http-request"]
    assert all(e["agent"] == "sandboxed" and e["policy_revision"] for e in requests)
    assert {"up.airlock.test", "pypi.airlock.test", "git.airlock.test", OUTSIDE} <= {
        e["host"] for e in requests if e["decision"] == "allow"
    }
    denied = [e for e in requests if e["decision"] == "deny"]
    assert {"93.184.216.34", OUTSIDE} <= {e["host"] for e in denied}
    strangers = airlock_t.wait_events(key, lambda ev: len(ev) >= 1, kind="sandbox-unknown")
    assert {e["client_addr"] for e in strangers} == {STRANGER.address}
    refused_dns = airlock_t.wait_events(
        key,
        lambda ev: any(e["client_addr"] == STRANGER.address for e in ev),
        kind="dns-query",
        decision="deny",
    )
    assert any(e["reasons"] == ["unknown_sandbox"] for e in refused_dns)


def test_removing_the_sandbox_refuses_it_and_destroy_cleans_up(
    task: dict[str, Any], airlock_t: AirlockInstance, servers: dict[str, Any]
) -> None:
    airlock_t.cli("sandbox", "remove", BOX.address)
    listed = json.loads(airlock_t.cli("sandbox", "list", "--all", "--json").stdout)
    assert [b["removed_at"] is not None for b in listed["sandboxes"]] == [True]
    env = sandbox_env(airlock_t)
    deadline_code = 0
    for _ in range(20):  # the identity cache holds for 0.2 s
        deadline_code, body = curl(BOX, env, f"http://{OUTSIDE}:{servers['plain'].port}/echo")
        if deadline_code == 403:
            break
    assert deadline_code == 403 and json.loads(body)["reason"] == "unknown_sandbox"
    for box in (BOX, STRANGER):
        out = box.destroy(airlock_t.env)
        assert out.returncode == 0, out.stderr
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    rules += subprocess.run(["ip6tables-save"], capture_output=True, text=True).stdout
    for box in (BOX, STRANGER):
        assert f"AIRLOCK-{box.name}" not in rules and f"airlock-sandbox:{box.name}" not in rules
        assert not Path(f"/run/netns/{box.name}").exists()
        assert not Path(f"/sys/class/net/alh-{box.name}").exists()
        assert not Path(f"/etc/netns/{box.name}").exists()
