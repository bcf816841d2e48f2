"""What the proxy needs for transparent mode, built once per worker."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.control.sandboxes import SandboxService
from gateway.control.tasks import TaskService
from gateway.egress.destination import Resolver
from gateway.identity.source import SourceAddressResolver
from gateway.policy.client import PolicyClient
from gateway.transparent.dns import DnsGate
from gateway.transparent.names import AnswerLog, DestinationNamer, NamePolicy


@dataclass(frozen=True)
class TransparentParts:
    identity: SourceAddressResolver
    namer: DestinationNamer
    dns: DnsGate


def build_transparent(
    sandboxes: SandboxService,
    tasks: TaskService,
    policy: PolicyClient,
    resolver: Resolver,
    *,
    cache_seconds: float,
) -> TransparentParts:
    """``resolver`` must be the one the Decider uses: DNS answers and policy agree."""
    identity = SourceAddressResolver(sandboxes, tasks, cache_seconds=cache_seconds)
    names = NamePolicy(policy, resolver)
    answers = AnswerLog()
    return TransparentParts(
        identity=identity,
        namer=DestinationNamer(names, resolver, answers),
        dns=DnsGate(identity, names, resolver, answers),
    )
