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
from gateway.credentials import body, sigv4
from gateway.credentials.broker import swap, swap_header
from gateway.credentials.placeholder import MARKER
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
            secret, info = await broker.secret(name)
            if info.kind == "aws":
                rec.aws_pending = (placeholder, name)
                continue
            replacements[placeholder] = secret.value
            rec.injected.append((name, secret.version))
        if replacements:
            req = flow.request
            req.headers = http.Headers(
                [
                    (k.encode(), swap_header(k, v, replacements).encode())
                    for k, v in req.headers.items(multi=True)
                ]
            )
            req.path = swap(req.path, replacements)
        if rec.aws_pending and flow.request.headers.get("x-amz-content-sha256"):
            await self._sign_aws(flow)  # the declared payload hash: no need for the body

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        await self._inject_body(flow)
        if flow.response is None and record(flow).aws_pending:
            await self._sign_aws(flow)

    async def _inject_body(self, flow: http.HTTPFlow) -> None:
        """Opt-in: placeholders in the JSON/form fields a credential names (policy-checked)."""
        rec, broker, req = record(flow), self._runtime.broker, flow.request
        raw = req.raw_content or b""
        if broker is None or rec.task is None or rec.facts is None or MARKER.encode() not in raw:
            return
        if req.headers.get("content-encoding"):
            return  # only plain bodies are rewritten
        content_type = req.headers.get("content-type", "")
        uses = await broker.uses([], raw.decode("utf-8", "replace"))
        wanted: dict[str, tuple[str, tuple[str, ...]]] = {}
        for use in uses:
            if use.grant.task_id != rec.task.task_id or use.placeholder in rec.credential_uses:
                continue
            _, info = await broker.secret(use.grant.credential)
            fields = body.fields_holding(raw, content_type, use.placeholder)
            if info.body_fields and fields and set(fields) <= set(info.body_fields):
                wanted[use.placeholder] = (info.name, info.hosts)
        if not wanted:
            return
        creds = [{"name": n, "hosts": list(h)} for n, h in set(wanted.values())]
        verdict = await self._runtime.decider.decide(rec.task, rec.facts, creds)
        if verdict.refuse_credentials or not verdict.allow:
            _misuse(flow, sorted({n for n, _ in wanted.values()}), "may not go to this destination")
            return
        for placeholder, (name, _) in wanted.items():
            if name in verdict.inject:
                secret, _ = await broker.secret(name)
                raw = body.inject(raw, content_type, placeholder, secret.value)
                rec.injected.append((name, secret.version))
        req.content = raw

    async def _sign_aws(self, flow: http.HTTPFlow) -> None:
        """Re-sign a SigV4 request made with the placeholder keys, with the real ones."""
        rec = record(flow)
        assert rec.aws_pending is not None and self._runtime.broker is not None
        placeholder, name = rec.aws_pending
        rec.aws_pending = None
        req = flow.request
        auth = sigv4.parse(req.headers.get("authorization", ""))
        if auth is None or auth.key_id != placeholder:
            _misuse(flow, [name], "were not used in an AWS SigV4 signature")
            return
        secret, _ = await self._runtime.broker.secret(name)
        key_id, _, secret_key = secret.value.partition(":")
        headers = {k.lower(): v for k, v in req.headers.items()}
        req.headers["authorization"] = sigv4.resign(
            auth, req.method, req.url, headers, req.raw_content or b"", key_id, secret_key
        )
        rec.injected.append((name, secret.version))
