"""The identity-resolver interface.

Explicit proxy mode resolves from ``Proxy-Authorization`` (proxy_auth.py);
transparent mode maps the connection's source address to a sandbox (source.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.control.tasks import TaskInfo


@dataclass(frozen=True)
class ConnectionFacts:
    proxy_authorization: str | None
    client_host: str
    client_port: int


@dataclass(frozen=True)
class Identity:
    task: TaskInfo


class IdentityRefused(Exception):
    """Not an AirlockError on purpose: it is an answer, not a fault.

    ``challenge`` means the client should retry with credentials (HTTP 407);
    otherwise the identity is known but may not act (HTTP 403).
    """

    def __init__(self, reason: str, message: str, *, challenge: bool, task_id: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.challenge = challenge
        self.task_id = task_id


def refusal_rule(reason: str) -> str:
    """The rule id a non-challenge identity refusal is recorded under."""
    if reason.startswith("task_"):
        return "airlock.identity.task_not_active"
    return f"airlock.identity.{reason}"


class IdentityResolver(Protocol):
    async def resolve(self, facts: ConnectionFacts) -> Identity:
        """Return the identity or raise ``IdentityRefused``."""
        ...

    async def refresh(self, task: TaskInfo) -> TaskInfo:
        """The task's current state (a kill must reach connections opened before it)."""
        ...
