"""Fakes for the transparent-mode domain tests, each standing in for a network service.

``FakePolicy`` plays OPA with the network rules that matter here (name in an allow
list; a private address needs allow_private), so these tests can check the order of
questions and lookups; the real Rego for ``kind: dns`` is tested in
policies/airlock/network/network_test.rego and end to end in
tests/integration/test_transparent.py. ``CountingLookup`` plays DNS and counts lookups.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.control.tasks import TaskInfo
from gateway.egress.destination import Resolver
from gateway.policy.client import Decision


def make_task(task_id: str = "tsk_1", status: str = "active") -> TaskInfo:
    now = datetime.now(UTC)
    return TaskInfo(task_id, "acme", "bot", "p", status, now, now + timedelta(hours=1), None)


@dataclass
class FakePolicy:
    allowed: set[str] = field(default_factory=set)
    private_ok: set[str] = field(default_factory=set)
    inputs: list[dict[str, Any]] = field(default_factory=list)

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        self.inputs.append(policy_input)
        dest = policy_input["destination"]
        host, addresses = dest["host"], dest["addresses"]
        if host not in self.allowed:
            return Decision(False, ("destination_not_allowed",), ("r.na",), ("no",), "rev")
        private = any(ipaddress.ip_address(a).is_private for a in addresses)
        if private and host not in self.private_ok:
            return Decision(False, ("private_destination",), ("r.pd",), ("private",), "rev")
        return Decision(True, ("allowed",), ("profile/p/allow/0",), ("ok",), "rev")


@dataclass
class CountingLookup:
    table: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return list(self.table.get(host, []))


def resolver(lookup: CountingLookup) -> Resolver:
    return Resolver(ttl=0.0, lookup=lookup)
