"""Decide every request on its real destination; refuse with the JSON body.

Decided at ``requestheaders``: before any body byte is read or forwarded (a
streamed upload goes upstream as it arrives, so a later decision would be late).
"""

from __future__ import annotations

from mitmproxy import http

from addons.identity import Identity
from addons.state import record, refuse
from gateway.egress.destination import normalise_host, split_host_header
from gateway.egress.verdict import RequestFacts, Verdict, refusal
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime


class Policy:
    def __init__(self, runtime: ProxyRuntime, identity: Identity) -> None:
        self._runtime = runtime
        self._identity = identity

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:  # already refused (identity)
            return
        rec = record(flow)
        if rec.task is None:
            refuse(flow, refusal("unknown_identity", "no task identity for this request"))
            return
        try:
            self._runtime.spool.check_capacity()
        except SpoolError as exc:
            refuse(flow, refusal("audit_unavailable", str(exc)), status=503)
            return
        host = normalise_host(flow.request.host)
        mismatch = self._mismatch(flow, host)
        if mismatch is not None:
            refuse(flow, mismatch)
            return
        facts = RequestFacts(
            kind="http",
            host=host,
            port=flow.request.port,
            method=flow.request.method.upper(),
            scheme=flow.request.scheme,
            path=rec.path,
        )
        rec.facts = facts
        verdict = await self._runtime.decider.decide(rec.task, facts, rec.credential_input)
        if verdict.allow:
            rec.verdict = verdict
        else:
            refuse(flow, verdict)

    def _mismatch(self, flow: http.HTTPFlow, host: str) -> Verdict | None:
        """The bytes must go where the tunnel, SNI and Host header all say."""
        target = self._identity.tunnel_target(flow)
        if target is not None and (normalise_host(target[0]), target[1]) != (
            host,
            flow.request.port,
        ):
            return refusal(
                "destination_mismatch",
                f"request for {host}:{flow.request.port} inside a tunnel to "
                f"{target[0]}:{target[1]}",
            )
        sni = flow.client_conn.sni
        if sni and normalise_host(sni) != host:
            return refusal("sni_mismatch", f"TLS SNI {sni!r} does not match {host!r}")
        header = flow.request.host_header
        if header and normalise_host(split_host_header(header)) != host:
            return refusal("host_mismatch", f"Host header {header!r} does not match {host!r}")
        return None
