"""Answer a sandbox's DNS query only for names its task may reach.

Order matters: who is asking (source address → sandbox → task), then may that task
reach the name at all (policy on the name alone, before anything is resolved: a
lookup of a made-up name would carry data to whoever runs its DNS), then resolve it
and ask again with its addresses (a name pointing at a private address needs an
``allow_private`` entry), then answer. Only A and AAAA questions are answered;
AAAA gets an empty answer because transparent mode carries IPv4 only.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.audit.events import AuditEvent
from gateway.control.tasks import TaskInfo
from gateway.egress.destination import Resolver, normalise_host
from gateway.egress.verdict import Verdict, refusal
from gateway.identity.base import (
    ConnectionFacts,
    IdentityRefused,
    IdentityResolver,
    refusal_rule,
)
from gateway.transparent.names import AnswerLog, NamePolicy

ANSWER_TTL = 30  # seconds; the proxy's resolver caches for as long

NOERROR, NXDOMAIN, REFUSED = "NOERROR", "NXDOMAIN", "REFUSED"


@dataclass(frozen=True)
class DnsQuestion:
    client: str  # the sandbox's source address
    client_port: int
    name: str
    qtype: str  # "A", "AAAA", "TXT", ...


@dataclass(frozen=True)
class DnsOutcome:
    rcode: str  # NOERROR | NXDOMAIN | REFUSED
    verdict: Verdict
    addresses: tuple[str, ...] = ()
    task: TaskInfo | None = None
    task_hint: str = ""

    def event(self, question: DnsQuestion, gateway_id: str) -> AuditEvent:
        task, verdict = self.task, self.verdict
        detail = {"qtype": question.qtype, "rcode": self.rcode}
        if self.addresses:
            detail["answers"] = ",".join(self.addresses)
        if not verdict.allow and verdict.message:
            detail["message"] = verdict.message
        return AuditEvent(
            kind="dns-query",
            tenant=task.tenant if task else "",
            agent=task.agent if task else "",
            task_id=task.task_id if task else self.task_hint,
            scheme="dns",
            host=normalise_host(question.name),
            decision="allow" if verdict.allow else "deny",
            rules=verdict.rules,
            reasons=verdict.reasons,
            policy_revision=verdict.revision,
            client_addr=question.client,
            gateway_id=gateway_id,
            detail=detail,
        )


class DnsGate:
    def __init__(
        self,
        identity: IdentityResolver,
        names: NamePolicy,
        resolver: Resolver,
        answers: AnswerLog,
    ) -> None:
        self._identity = identity
        self._names = names
        self._resolver = resolver
        self._answers = answers

    async def answer(self, question: DnsQuestion) -> DnsOutcome:
        facts = ConnectionFacts(None, question.client, question.client_port)
        try:
            task = (await self._identity.resolve(facts)).task
        except IdentityRefused as refused:
            rule = refusal_rule(refused.reason)
            verdict = refusal(refused.reason, refused.message, rule)
            return DnsOutcome(REFUSED, verdict, task_hint=refused.task_id)
        if question.qtype not in ("A", "AAAA"):
            message = f"DNS {question.qtype} queries are not answered in transparent mode"
            return DnsOutcome(REFUSED, refusal("dns_type_not_allowed", message), task=task)
        name = normalise_host(question.name)
        verdict = await self._names.before_lookup(task, name)
        if not verdict.allow:
            return DnsOutcome(REFUSED, verdict, task=task)
        if question.qtype == "AAAA":
            return DnsOutcome(NOERROR, verdict, task=task)  # IPv4 only: no AAAA records
        verdict = await self._names.after_lookup(task, name)
        if not verdict.allow:
            return DnsOutcome(REFUSED, verdict, task=task)
        found = await self._resolver.addresses(name, 0)
        v4 = tuple(a for a in found if ":" not in a)
        if not v4:
            return DnsOutcome(NXDOMAIN if not found else NOERROR, verdict, task=task)
        self._answers.remember(question.client, name, v4)
        return DnsOutcome(NOERROR, verdict, v4, task=task)
