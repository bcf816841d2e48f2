"""Decide every request on its real destination; refuse with the JSON body.

Decided at ``requestheaders``: before any body byte is read or forwarded (a
streamed upload goes upstream as it arrives, so a later decision would be late).
Every name the request carries for its destination must agree
(gateway/egress/agreement.py); the decision is made on the addresses Airlock
resolved, and the connection goes to one of them (addons/pinning.py). A CONNECT
to a port no profile entry lists gets no tunnel at all.
"""

from __future__ import annotations

from mitmproxy import http

from addons.audit import audit_now
from addons.identity import Identity
from addons.pinning import Pinning
from addons.state import record, refuse
from gateway.egress.agreement import Claims, check_claims
from gateway.egress.destination import connect_address, normalise_host
from gateway.egress.framing import framing_problem
from gateway.egress.verdict import RequestFacts, Verdict, refusal
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime


class Policy:
    def __init__(
        self, runtime: ProxyRuntime, identity: Identity, pinning: Pinning | None = None
    ) -> None:
        self._runtime = runtime
        self._identity = identity
        self._pinning = pinning or Pinning()

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        """Refuse the CONNECT itself when its port is one the profile never allows."""
        tunnel = self._identity.tunnels.get(flow.client_conn.id)
        if flow.response is not None or tunnel is None:
            return
        host = normalise_host(flow.request.host)
        facts = RequestFacts("connect", host, flow.request.port, "CONNECT", "", "")
        task = tunnel.identity.task
        verdict = await self._runtime.decider.decide(task, facts, resolve=False)
        if verdict.allow or verdict.reason != "port_not_allowed":
            return  # anything else is decided per request inside, where the agent reads why
        self._identity.tunnels.pop(flow.client_conn.id, None)  # no tunnel: none to look up
        rec = record(flow)
        rec.task, rec.status = task, 403
        refuse(flow, verdict)
        await audit_now(self._runtime, flow, rec.kind)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.error is not None:  # mitmproxy refused the framing; it answers 400 itself
            self._engine_refused(flow, flow.error.msg)
            return
        if flow.response is not None:  # already refused (identity)
            return
        refused = self._precheck(flow)
        if refused is not None:
            refuse(flow, refused, status=_STATUS.get(refused.reason, 403))
            if (
                refused.reason == "malformed_request"
                and flow.response
                and not flow.request.is_http2
            ):
                flow.response.headers["Connection"] = "close"  # nothing more is read from it
            return
        rec = record(flow)
        assert rec.task is not None and rec.facts is not None
        verdict = await self._runtime.decider.decide(rec.task, rec.facts, rec.credential_input)
        if not verdict.allow:
            refuse(flow, verdict)
            return
        address = connect_address(verdict.addresses)
        if address is None:
            message = f"{rec.facts.host} does not resolve: there is no checked address to use"
            refuse(flow, refusal("destination_unresolved", message, None, verdict.revision), 502)
            return
        self._pinning.pin(flow.client_conn, (flow.request.host, flow.request.port), address)
        rec.verdict = verdict

    def _precheck(self, flow: http.HTTPFlow) -> Verdict | None:
        """Refusals that need no policy: identity, audit capacity, framing, agreement."""
        rec = record(flow)
        if rec.task is None:
            return refusal("unknown_identity", "no task identity for this request")
        try:
            self._runtime.spool.check_capacity()
        except SpoolError as exc:
            return refusal("audit_unavailable", str(exc))
        req = flow.request
        problem = framing_problem(req.headers.items(multi=True))
        if problem is not None:
            return refusal("malformed_request", f"ambiguous request framing: {problem}")
        host, mismatch = check_claims(
            Claims(
                host=req.host,
                port=req.port,
                tunnel=self._identity.tunnel_target(flow),
                sni=flow.client_conn.sni,
                authority=req.authority,
                host_headers=tuple(req.headers.get_all("host")),
            )
        )
        if mismatch is not None:
            return mismatch
        if host != rec.host:  # the audit trail shows the canonical host, and the spelling
            rec.requested_host, rec.host = rec.host, host
        method = req.method.upper()
        rec.facts = RequestFacts("http", host, req.port, method, req.scheme, rec.path)
        return None

    def _engine_refused(self, flow: http.HTTPFlow, message: str) -> None:
        """Record why; the error hook writes the event (addons/audit.py)."""
        rec = record(flow)
        if not rec.host and flow.server_conn.address:  # in a tunnel: the CONNECT target
            rec.host, rec.port = flow.server_conn.address
        rec.verdict = refusal("malformed_request", message.split(", refusing")[0])
        rec.status = 400


# Refusals made here whose status is not 403.
_STATUS = {"audit_unavailable": 503, "malformed_request": 400, "invalid_host": 400}
