"""The world the adversarial suite attacks: one real ``airlock up`` whose proxy resolves
names with a loopback DNS server the test controls, and the servers behind it.

Profile ``adversarial`` (ports are the fixtures' ephemeral ports):

0. ``localhost`` on the HTTPS upstream's port, GET/POST, private allowed
1. ``127.0.0.1`` on the plain-HTTP upstream's port, private allowed
2. ``0.0.0.0/0`` and 3. ``::/0`` on 80 and both upstream ports: any public address,
   so an IP trick aimed at a private address is a candidate and must be refused
   as private, not merely as unlisted
4. ``*.rebind.test`` on both upstream ports (public only): names the DNS server answers
5. ``pinned.test`` on the pin servers' port, private allowed (127.0.0.2 first, then
   127.0.0.1: the bytes must go to the address that was checked)
6. ``localhost`` on the WebSocket echo port, private allowed
7. ``localhost`` on the TCP echo port with ``raw_tcp``, private allowed
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.airlock import AirlockInstance
from tests.support.dns_server import RebindingDns
from tests.support.rawproxy import RawProxy
from tests.support.sockservers import TcpServer, WsEcho
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

DNS_NAMES: dict[str, list[str | list[str]]] = {
    "localhost": ["127.0.0.1"],
    "loopback.rebind.test": ["127.0.0.1"],
    "mixed.rebind.test": [["203.0.113.7", "127.0.0.1"]],  # every address is checked
    "metadata.rebind.test": ["169.254.169.254"],
    "nat64.rebind.test": ["64:ff9b::a9fe:a9fe"],  # metadata through a NAT64 prefix
    "pinned.test": ["127.0.0.2", "127.0.0.1"],  # rebinds after the first answer
}


@dataclass
class Adversary:
    airlock: AirlockInstance
    task: dict[str, Any]
    key: str
    proxy: RawProxy
    dns: RebindingDns
    upstream: HttpsUpstream
    plain: HttpsUpstream
    ws: WsEcho
    echo: TcpServer
    checked: TcpServer  # 127.0.0.2:P, the address pinned.test first resolves to
    victim: TcpServer  # 127.0.0.1:P, where a second lookup would go

    @property
    def tls_port(self) -> int:
        return self.upstream.port

    @property
    def plain_port(self) -> int:
        return self.plain.port

    def event(self, request_id: str, kind: str = "http-request") -> dict[str, Any]:
        """The audit event of a request, from the query API."""
        events = self.airlock.wait_events(
            self.key, lambda ev: any(e["kind"] == kind for e in ev), request_id=request_id
        )
        return next(e for e in events if e["kind"] == kind)


def profile(adv_ports: dict[str, int]) -> list[dict[str, Any]]:
    tls, plain = adv_ports["tls"], adv_ports["plain"]
    public = [80, tls, plain]
    return [
        {"host": "localhost", "ports": [tls], "methods": ["GET", "POST"], "allow_private": True},
        {"host": "127.0.0.1", "ports": [plain], "allow_private": True},
        {"host": "0.0.0.0/0", "ports": public},
        {"host": "::/0", "ports": public},
        {"host": "*.rebind.test", "ports": [tls, plain]},
        {"host": "pinned.test", "ports": [adv_ports["pinned"]], "allow_private": True},
        {"host": "localhost", "ports": [adv_ports["ws"]], "allow_private": True},
        {"host": "localhost", "ports": [adv_ports["echo"]], "raw_tcp": True, "allow_private": True},
    ]


def start(
    root: Path, ca: TestCA, upstream: HttpsUpstream, plain: HttpsUpstream
) -> tuple[Adversary, list[Any]]:
    """Start everything; the list holds what to stop afterwards, in order."""
    dns = RebindingDns(DNS_NAMES).start()
    ws = WsEcho(ca, root).start()
    echo = TcpServer().start()
    victim = TcpServer(reply="victim").start()
    checked = TcpServer(("127.0.0.2", victim.address[1]), reply="checked").start()
    airlock = AirlockInstance(
        root / "airlock",
        upstream_ca=ca.cert_path,
        extra_env={"AIRLOCK_DNS_SERVERS": json.dumps([dns.address])},
    )
    stop: list[Any] = [dns, ws, echo, victim, checked]
    airlock.start()
    stop.insert(0, airlock)
    ports = {
        "tls": upstream.port,
        "plain": plain.port,
        "pinned": victim.address[1],
        "ws": ws.port,
        "echo": echo.address[1],
    }
    airlock.add_profile("adversarial", profile(ports))
    task = airlock.create_task("adversary", "adversarial")
    adversary = Adversary(
        airlock=airlock,
        task=task,
        key=airlock.api_key("auditor"),
        proxy=RawProxy(airlock.proxy_port, task),
        dns=dns,
        upstream=upstream,
        plain=plain,
        ws=ws,
        echo=echo,
        checked=checked,
        victim=victim,
    )
    return adversary, stop
