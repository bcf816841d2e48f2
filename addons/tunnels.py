"""Opaque tunnels: refused unless the profile allows raw TCP to that host and port.

A CONNECT that carries neither TLS nor HTTP becomes a raw TCP flow. Policy decides
it as kind ``tcp`` (an entry with ``"raw_tcp": true``); an allowed tunnel goes to
the checked address (addons/pinning.py) and is recorded when it opens and when it
closes, with byte counts. A refused flow never reaches its server: killing a TCP
flow does not stop mitmproxy from connecting, so the server connection itself is
failed before it opens. UDP flows, and DNS inside a CONNECT tunnel, are refused.
"""

from __future__ import annotations

import logging

from mitmproxy import dns, tcp, udp
from mitmproxy.proxy import mode_specs

from addons.identity import Identity
from addons.pinning import Pinning
from gateway.control.tasks import TaskInfo
from gateway.egress.destination import connect_address, normalise_host
from gateway.egress.tunnel import OPAQUE, TunnelRecord
from gateway.egress.verdict import RequestFacts, refusal
from gateway.errors import SpoolError
from gateway.identity.base import ConnectionFacts, IdentityRefused
from gateway.runtime import ProxyRuntime

log = logging.getLogger("airlock.tunnels")

META_KEY = "airlock-tunnel"
Flow = tcp.TCPFlow | udp.UDPFlow | dns.DNSFlow


class Tunnels:
    def __init__(
        self,
        runtime: ProxyRuntime,
        identity: Identity | None = None,
        pinning: Pinning | None = None,
    ) -> None:
        self._runtime = runtime
        self._identity = identity
        self._pinning = pinning or Pinning()

    async def tcp_start(self, flow: tcp.TCPFlow) -> None:
        rec = _record(flow, "tcp")
        tunnel = self._identity.tunnels.get(flow.client_conn.id) if self._identity else None
        if tunnel is not None:
            rec.task = await self._runtime.identity.refresh(tunnel.identity.task)
        else:
            rec.task = await self._sandbox_task(flow)
        if rec.task is not None:
            await self._decide(flow, rec)
        if not rec.verdict.allow:
            await self._refuse(flow, rec)
        elif not await self._append(rec, "tunnel-opened"):
            rec.verdict = refusal("audit_unavailable", "audit spool cannot record this tunnel")
            flow.server_conn.error = rec.verdict.message  # never open it unrecorded

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        rec = flow.metadata.get(META_KEY)
        message = flow.messages[-1]
        if rec is not None:
            rec.count(message.from_client, len(message.content))
        flow.messages.clear()  # counted; a long tunnel must not pile up in memory

    async def tcp_end(self, flow: tcp.TCPFlow) -> None:
        await self._closed(flow)

    async def tcp_error(self, flow: tcp.TCPFlow) -> None:
        await self._closed(flow)

    async def udp_start(self, flow: udp.UDPFlow) -> None:
        await self._refuse(flow, _record(flow, "udp"))

    async def dns_request(self, flow: dns.DNSFlow) -> None:
        """DNS inside a CONNECT tunnel (port 53) is a tunnel out; the DNS listener of
        transparent mode is answered by addons/dns.py."""
        if isinstance(flow.client_conn.proxy_mode, mode_specs.DnsMode) or flow.response:
            return
        await self._refuse(flow, _record(flow, "dns"))

    async def _sandbox_task(self, flow: tcp.TCPFlow) -> TaskInfo | None:
        """Raw TCP caught in transparent mode: the sandbox's task, by source address."""
        transparent = self._runtime.transparent
        if transparent is None or not isinstance(
            flow.client_conn.proxy_mode, mode_specs.TransparentMode
        ):
            return None
        host, port = (flow.client_conn.peername or ("", 0))[:2]
        try:
            found = await transparent.identity.resolve(ConnectionFacts(None, str(host), int(port)))
        except IdentityRefused:
            return None  # unknown source: refused as opaque, recorded with its address
        return found.task

    async def _decide(self, flow: tcp.TCPFlow, rec: TunnelRecord) -> None:
        assert rec.task is not None
        status = rec.task.effective_status()
        if status != "active":
            rule = "airlock.identity.task_not_active"
            rec.verdict = refusal(f"task_{status}", f"task {rec.task.task_id} is {status}", rule)
            return
        facts = RequestFacts("tcp", normalise_host(rec.host), rec.port, "", "tcp", "")
        verdict = await self._runtime.decider.decide(rec.task, facts)
        address = connect_address(verdict.addresses) if verdict.allow else None
        if verdict.allow and address is None:
            message = f"{facts.host} does not resolve: there is no checked address to use"
            verdict = refusal("destination_unresolved", message, None, verdict.revision)
        if address is not None and flow.server_conn.address is not None:
            self._pinning.pin(flow.client_conn, flow.server_conn.address, address)
            rec.address = address
        rec.verdict = verdict

    async def _refuse(self, flow: Flow, rec: TunnelRecord) -> None:
        tunnel = self._identity.tunnels.get(flow.client_conn.id) if self._identity else None
        if rec.task is None and tunnel is not None:
            rec.task = tunnel.identity.task  # whose tunnel it was, for the record
        if isinstance(flow, dns.DNSFlow):
            flow.kill()  # the DNS layer answers SERVFAIL and queries nobody
        else:
            flow.server_conn.error = f"refused by Airlock: {rec.verdict.reason}"
        await self._append(rec, "tunnel-refused")

    async def _closed(self, flow: tcp.TCPFlow) -> None:
        rec = flow.metadata.get(META_KEY)
        if rec is None or not rec.verdict.allow:
            return
        flow.metadata.pop(META_KEY)
        if flow.error is not None:
            rec.error = flow.error.msg
        await self._append(rec, "tunnel-closed")

    async def _append(self, rec: TunnelRecord, kind: str) -> bool:
        try:
            await self._runtime.spool.append(rec.event(kind, self._runtime.settings.gateway_id))
            return True
        except SpoolError as exc:
            log.error("audit spool refused a %s event: %s", kind, exc)
            return False


def _record(flow: Flow, transport: str) -> TunnelRecord:
    server = flow.server_conn.address or ("", 0)
    client = flow.client_conn.peername or ("", 0)
    rec = TunnelRecord(str(server[0]), int(server[1]), transport, str(client[0]), verdict=OPAQUE)
    flow.metadata[META_KEY] = rec
    return rec
