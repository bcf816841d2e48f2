"""Credential brokering on the flow: find placeholders, then inject real values.

``CredentialLookup`` runs before Policy (the decision needs the credentials the
request carries); ``CredentialInjection`` runs after Redaction (so the placeholder,
not the real value, is what the secret scanner saw, and the injected value never
reaches the audit trail).
"""

from __future__ import annotations

from datetime import UTC, datetime

from mitmproxy import http

from addons.state import record, refuse
from gateway.credentials.broker import swap, swap_header
from gateway.egress.verdict import refusal
from gateway.errors import AirlockError
from gateway.runtime import ProxyRuntime


def _misuse(flow: http.HTTPFlow, names: list[str], why: str) -> None:
    rec = record(flow)
    rec.misused = names
    refuse(
        flow,
        refusal(
            "credential_not_allowed",
            f"credential placeholder(s) {', '.join(names)} {why}",
            "airlock.credentials.not_allowed",
            rec.verdict.revision if rec.verdict else "",
        ),
    )


class CredentialLookup:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        broker = self._runtime.broker
        if flow.response is not None or rec.task is None or broker is None:
            return
        headers = list(flow.request.headers.items(multi=True))
        uses = await broker.uses(headers, flow.request.url)
        now = datetime.now(UTC)
        foreign = [
            u.grant.credential
            for u in uses
            if u.grant.task_id != rec.task.task_id or u.grant.expires_at <= now
        ]
        if foreign:
            _misuse(flow, sorted(set(foreign)), "belong to another task or their grant expired")
            return
        for use in uses:
            try:
                _, info = await broker.secret(use.grant.credential)
            except AirlockError:
                _misuse(flow, [use.grant.credential], "refer to a revoked credential")
                return
            rec.credential_uses[use.placeholder] = info.name
            rec.credential_input.append({"name": info.name, "hosts": list(info.hosts)})


class CredentialInjection:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        verdict, broker = rec.verdict, self._runtime.broker
        if flow.response is not None or verdict is None or broker is None:
            return
        if verdict.refuse_credentials:
            _misuse(flow, list(verdict.refuse_credentials), "may not be sent to this destination")
            return
        replacements: dict[str, str] = {}
        for placeholder, name in rec.credential_uses.items():
            if name not in verdict.inject:
                continue
            secret, _ = await broker.secret(name)
            replacements[placeholder] = secret.value
            rec.injected.append((name, secret.version))
        if not replacements:
            return
        req = flow.request
        req.headers = http.Headers(
            [
                (k.encode(), swap_header(k, v, replacements).encode())
                for k, v in req.headers.items(multi=True)
            ]
        )
        req.path = swap(req.path, replacements)
