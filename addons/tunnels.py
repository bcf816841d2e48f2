"""Refuse raw TCP and UDP flows: only HTTP(S) leaves through Airlock."""

from __future__ import annotations

from mitmproxy import tcp, udp

from gateway.audit.events import AuditEvent
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime


class Tunnels:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime

    async def tcp_start(self, flow: tcp.TCPFlow) -> None:
        await self._refuse(flow, "tcp")

    async def udp_start(self, flow: udp.UDPFlow) -> None:
        await self._refuse(flow, "udp")

    async def _refuse(self, flow: tcp.TCPFlow | udp.UDPFlow, transport: str) -> None:
        flow.kill()
        server = flow.server_conn.address or ("", 0)
        client = flow.client_conn.peername or ("", 0)
        event = AuditEvent(
            kind="tunnel-refused",
            host=str(server[0]),
            port=int(server[1]),
            decision="deny",
            reasons=("opaque_tunnel",),
            rules=("airlock.gateway.opaque_tunnel",),
            client_addr=str(client[0]),
            gateway_id=self._runtime.settings.gateway_id,
            detail={"transport": transport},
        )
        try:
            await self._runtime.spool.append(event)
        except SpoolError:
            pass  # the flow is already killed: refusing needs no record to be safe
