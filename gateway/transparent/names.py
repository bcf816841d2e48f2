"""Which name a transparently redirected connection is for, checked against where it goes.

In transparent mode the proxy learns the real destination address from the
socket (``SO_ORIGINAL_DST``) and a name only from what the sandbox claims: the TLS
SNI or the Host header. A claim is believed only if the original destination is an
address of that name: one that Airlock's DNS listener gave this sandbox for it
(``AnswerLog``), or, failing that, one the name resolves to now. Before that second
lookup the task's policy must allow the name at all, so a made-up name is never
looked up (a lookup is itself a message to whoever runs that name's DNS).
"""

from __future__ import annotations

import time

from gateway.control.tasks import TaskInfo
from gateway.egress.destination import Resolver, ip_literal, normalise_host
from gateway.egress.verdict import Decider, RequestFacts, Verdict, refusal
from gateway.policy.client import PolicyClient

ANSWER_MEMORY_SECONDS = 600.0
_MAX_CLIENTS = 10_000
_MAX_PER_CLIENT = 4_096


class _NoLookup(Resolver):
    """Answers only for IP literals: a policy question asked before any DNS lookup."""

    async def addresses(self, host: str, port: int) -> tuple[str, ...]:
        literal = ip_literal(host)
        return (literal,) if literal else ()


class NamePolicy:
    """May a task reach a name at all (any port, any method)?"""

    def __init__(self, policy: PolicyClient, resolver: Resolver) -> None:
        self._offline = Decider(policy, _NoLookup())
        self._online = Decider(policy, resolver)

    async def before_lookup(self, task: TaskInfo, name: str) -> Verdict:
        """Decided on the name alone; nothing is resolved."""
        return await self._offline.decide(task, _facts(name))

    async def after_lookup(self, task: TaskInfo, name: str) -> Verdict:
        """Decided with the name's addresses too (private destinations need allow_private)."""
        return await self._online.decide(task, _facts(name))


def _facts(name: str) -> RequestFacts:
    return RequestFacts(kind="dns", host=name, port=0, method="", scheme="dns", path="")


class AnswerLog:
    """Which names Airlock's DNS answered with which addresses, per sandbox address."""

    def __init__(self, memory_seconds: float = ANSWER_MEMORY_SECONDS) -> None:
        self._memory = memory_seconds
        self._log: dict[str, dict[tuple[str, str], float]] = {}

    def remember(self, client: str, name: str, addresses: tuple[str, ...]) -> None:
        entries = self._log.get(client)
        if entries is None:
            if len(self._log) >= _MAX_CLIENTS:
                self._log.clear()
            entries = self._log[client] = {}
        if len(entries) >= _MAX_PER_CLIENT:
            self._expire(entries)
        until = time.monotonic() + self._memory
        for address in addresses:
            entries[(address, name)] = until

    def answered(self, client: str, name: str, address: str) -> bool:
        until = self._log.get(client, {}).get((address, name))
        return until is not None and until > time.monotonic()

    def _expire(self, entries: dict[tuple[str, str], float]) -> None:
        now = time.monotonic()
        for key in [k for k, until in entries.items() if until <= now]:
            del entries[key]
        if len(entries) >= _MAX_PER_CLIENT:
            entries.clear()


class DestinationNamer:
    """The host a transparent request is decided on: the verified name, or the IP."""

    def __init__(self, names: NamePolicy, resolver: Resolver, answers: AnswerLog) -> None:
        self._names = names
        self._resolver = resolver
        self._answers = answers

    async def name(
        self, task: TaskInfo, client: str, original: tuple[str, int], claimed: str | None
    ) -> str | Verdict:
        """``claimed`` (SNI or Host) if ``original`` is one of its addresses, else a refusal."""
        address = ip_literal(original[0]) or original[0]
        if not claimed:
            return address
        name = normalise_host(claimed)
        literal = ip_literal(name)
        if literal is not None:
            return address if literal == address else _mismatch(name, address)
        if self._answers.answered(client, name, address):
            return name
        verdict = await self._names.before_lookup(task, name)
        if not verdict.allow:
            return verdict
        if address in await self._resolver.addresses(name, original[1]):
            return name
        return _mismatch(name, address)


def _mismatch(name: str, address: str) -> Verdict:
    return refusal(
        "destination_mismatch",
        f"the connection goes to {address}, which is not an address of {name!r}",
    )
