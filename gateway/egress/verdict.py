"""Turn an identity and request facts into a verdict (OPA, fail closed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.control.tasks import TaskInfo
from gateway.egress.destination import Resolver, policy_addresses
from gateway.errors import PolicyUnavailableError
from gateway.policy.client import PolicyClient


@dataclass(frozen=True)
class RequestFacts:
    kind: str  # http | connect
    host: str  # normalised real destination
    port: int
    method: str
    scheme: str
    path: str


@dataclass(frozen=True)
class Verdict:
    allow: bool
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    message: str
    revision: str
    secrets_outbound: str = "block"  # the strictest until policy says otherwise
    secrets_inbound: str = "block"
    inject: tuple[str, ...] = ()
    refuse_credentials: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()  # what the host resolved to, all checked by policy

    @property
    def reason(self) -> str:
        return self.reasons[0] if self.reasons else ""

    @property
    def rule(self) -> str:
        return self.rules[0] if self.rules else ""


def refusal(reason: str, message: str, rule: str | None = None, revision: str = "") -> Verdict:
    """A verdict made by the gateway itself, before or instead of policy."""
    return Verdict(False, (reason,), (rule or f"airlock.gateway.{reason}",), message, revision)


class Decider:
    def __init__(self, policy: PolicyClient, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver

    async def decide(
        self,
        task: TaskInfo,
        facts: RequestFacts,
        credentials: list[dict[str, Any]] | None = None,
        *,
        resolve: bool = True,
    ) -> Verdict:
        """``credentials``: ``{"name", "hosts"}`` of each granted credential in the request.
        ``resolve=False``: decide without looking the name up (no addresses)."""
        addresses = await self._resolver.addresses(facts.host, facts.port) if resolve else ()
        policy_input: dict[str, Any] = {
            "kind": facts.kind,
            "task": {
                "id": task.task_id,
                "tenant": task.tenant,
                "agent": task.agent,
                "profile": task.profile,
            },
            "destination": {
                "host": facts.host,
                "port": facts.port,
                "addresses": list(policy_addresses(addresses)),
            },
            "request": {"method": facts.method, "scheme": facts.scheme, "path": facts.path},
            "credentials": credentials or [],
        }
        try:
            decision = await self._policy.decide(policy_input)
        except PolicyUnavailableError as exc:
            return refusal("policy_unavailable", f"request denied: {exc}")
        message = "; ".join(decision.messages) or (
            "allowed" if decision.allow else "denied by policy"
        )
        return Verdict(
            decision.allow,
            decision.reasons,
            decision.rules,
            message,
            decision.revision,
            decision.secrets_outbound,
            decision.secrets_inbound,
            decision.inject,
            decision.refuse_credentials,
            addresses,
        )


def deny_body(verdict: Verdict, request_id: str) -> bytes:
    """The JSON an agent reads to learn why it was refused and to stop retrying."""
    return json.dumps(
        {
            "error": "request denied by Airlock",
            "reason": verdict.reason,
            "rule": verdict.rule,
            "message": verdict.message,
            "request_id": request_id,
            "policy_revision": verdict.revision,
            "retryable": verdict.reason in ("policy_unavailable", "audit_unavailable"),
        }
    ).encode()
