"""Identify the task behind every CONNECT and request (407 / 403 otherwise).

Explicit proxy mode: ``Proxy-Authorization``. Transparent mode (the transparent
listener): the source address, which must belong to a registered sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from mitmproxy import connection, http
from mitmproxy.proxy import mode_specs

from addons.state import challenge, describe, record, refuse
from gateway.control.tasks import TaskInfo
from gateway.egress.verdict import refusal
from gateway.identity.base import (
    ConnectionFacts,
    IdentityRefused,
    IdentityResolver,
    refusal_rule,
)
from gateway.identity.base import Identity as TaskIdentity
from gateway.runtime import ProxyRuntime


@dataclass(frozen=True)
class Tunnel:
    identity: TaskIdentity
    host: str
    port: int


class Identity:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime
        self.tunnels: dict[str, Tunnel] = {}

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        rec.method, rec.host, rec.port = "CONNECT", flow.request.host, flow.request.port
        rec.client_addr = _peer(flow)
        identity = await self._identify(flow)
        if identity is None:
            from addons.audit import audit_now  # CONNECT refusals skip the response hook

            await audit_now(self._runtime, flow, rec.kind)
            return
        self.tunnels[flow.client_conn.id] = Tunnel(identity, flow.request.host, flow.request.port)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        describe(flow)
        rec = record(flow)
        rec.client_addr = _peer(flow)
        tunnel = self.tunnels.get(flow.client_conn.id)
        if tunnel is None:
            identity = await self._identify(flow)
            if identity is not None:
                rec.task = identity.task
            return
        rec.task = await self._runtime.identity.refresh(tunnel.identity.task)
        flow.request.headers.pop("Proxy-Authorization", None)
        status = rec.task.effective_status()
        if status != "active":
            rec.kind = "task-refused"
            rule = "airlock.identity.task_not_active"
            refuse(flow, refusal(f"task_{status}", f"task {rec.task.task_id} is {status}", rule))

    def client_disconnected(self, client: connection.Client) -> None:
        self.tunnels.pop(client.id, None)

    def tunnel_target(self, flow: http.HTTPFlow) -> tuple[str, int] | None:
        tunnel = self.tunnels.get(flow.client_conn.id)
        return (tunnel.host, tunnel.port) if tunnel else None

    async def _identify(self, flow: http.HTTPFlow) -> TaskIdentity | None:
        peer = flow.client_conn.peername or ("", 0)
        facts = ConnectionFacts(
            proxy_authorization=flow.request.headers.pop("Proxy-Authorization", None),
            client_host=str(peer[0]),
            client_port=int(peer[1]),
        )
        try:
            return await self._resolver(flow).resolve(facts)
        except IdentityRefused as refused:
            rec = record(flow)
            if refused.challenge:
                challenge(flow, refused.reason, refused.message)
                rec.status, rec.kind = 407, "proxy-auth-failure"
            else:
                refuse(flow, refusal(refused.reason, refused.message, refusal_rule(refused.reason)))
                rec.status = 403
                rec.kind = (
                    "sandbox-unknown" if refused.reason == "unknown_sandbox" else "task-refused"
                )
                rec.task_hint = refused.task_id
            rec.error = refused.reason
            return None

    def _resolver(self, flow: http.HTTPFlow) -> IdentityResolver:
        if not isinstance(flow.client_conn.proxy_mode, mode_specs.TransparentMode):
            return self._runtime.identity
        if self._runtime.transparent is None:
            return _NoSandboxes()
        return self._runtime.transparent.identity


class _NoSandboxes:
    """Transparent traffic reached a worker built without sandbox support."""

    async def resolve(self, facts: ConnectionFacts) -> TaskIdentity:
        raise IdentityRefused("unknown_sandbox", "no sandbox registry here", challenge=False)

    async def refresh(self, task: TaskInfo) -> TaskInfo:
        return task


def _peer(flow: http.HTTPFlow) -> str:
    return str(flow.client_conn.peername[0]) if flow.client_conn.peername else ""
