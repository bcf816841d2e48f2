"""DNS answers for sandboxes: who asks, may the task reach the name, then resolve."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.control.tasks import TaskInfo
from gateway.identity.base import ConnectionFacts, Identity, IdentityRefused
from gateway.transparent.dns import DnsGate, DnsQuestion
from gateway.transparent.names import AnswerLog, NamePolicy
from tests.transparent.conftest import CountingLookup, FakePolicy, make_task, resolver

CLIENT = "10.200.1.2"


@dataclass
class Sandboxes:
    """Plays the sandbox registry (tested for real in tests/identity/test_source.py)."""

    known: dict[str, TaskInfo] = field(default_factory=dict)

    async def resolve(self, facts: ConnectionFacts) -> Identity:
        task = self.known.get(facts.client_host)
        if task is None:
            raise IdentityRefused("unknown_sandbox", "not a sandbox", challenge=False)
        if task.status != "active":
            raise IdentityRefused(
                f"task_{task.status}", "ended", challenge=False, task_id=task.task_id
            )
        return Identity(task)

    async def refresh(self, task: TaskInfo) -> TaskInfo:
        return task


def gate(
    policy: FakePolicy, lookup: CountingLookup, task: TaskInfo | None = None
) -> tuple[DnsGate, AnswerLog]:
    res = resolver(lookup)
    answers = AnswerLog()
    boxes = Sandboxes({CLIENT: task or make_task()})
    return DnsGate(boxes, NamePolicy(policy, res), res, answers), answers  # type: ignore[arg-type]


def q(name: str, qtype: str = "A", client: str = CLIENT) -> DnsQuestion:
    return DnsQuestion(client=client, client_port=5353, name=name, qtype=qtype)


async def test_allowed_name_is_answered_with_its_ipv4_addresses_and_remembered() -> None:
    lookup = CountingLookup({"pypi.example": ["93.184.216.34", "2606:4700::1111"]})
    g, answers = gate(FakePolicy(allowed={"pypi.example"}), lookup)
    out = await g.answer(q("PyPI.example."))
    assert (out.rcode, out.addresses, out.verdict.allow) == ("NOERROR", ("93.184.216.34",), True)
    assert answers.answered(CLIENT, "pypi.example", "93.184.216.34")
    event = out.event(q("PyPI.example."), "gw")
    assert (event.kind, event.task_id, event.host, event.decision) == (
        "dns-query",
        "tsk_1",
        "pypi.example",
        "allow",
    )
    assert event.detail == {"qtype": "A", "rcode": "NOERROR", "answers": "93.184.216.34"}
    assert event.client_addr == CLIENT


async def test_refused_name_is_never_resolved() -> None:
    lookup = CountingLookup({"data.exfil.example": ["198.51.100.1"]})
    g, _ = gate(FakePolicy(allowed={"pypi.example"}), lookup)
    out = await g.answer(q("data.exfil.example"))
    assert (out.rcode, out.verdict.reason) == ("REFUSED", "destination_not_allowed")
    assert lookup.asked == []
    event = out.event(q("data.exfil.example"), "gw")
    assert (event.decision, event.reasons, event.task_id) == (
        "deny",
        ("destination_not_allowed",),
        "tsk_1",
    )


async def test_private_answer_needs_allow_private() -> None:
    lookup = CountingLookup({"intra.example": ["10.1.2.3"], "ok.example": ["10.1.2.4"]})
    g, answers = gate(
        FakePolicy(allowed={"intra.example", "ok.example"}, private_ok={"ok.example"}), lookup
    )
    out = await g.answer(q("intra.example"))
    assert (out.rcode, out.verdict.reason, out.addresses) == ("REFUSED", "private_destination", ())
    assert not answers.answered(CLIENT, "intra.example", "10.1.2.3")
    assert (await g.answer(q("ok.example"))).addresses == ("10.1.2.4",)


async def test_aaaa_is_answered_empty_without_a_lookup() -> None:
    lookup = CountingLookup({"pypi.example": ["2606:4700::1111"]})
    g, _ = gate(FakePolicy(allowed={"pypi.example"}), lookup)
    out = await g.answer(q("pypi.example", "AAAA"))
    assert (out.rcode, out.addresses) == ("NOERROR", ())
    assert lookup.asked == []
    refused = await g.answer(q("other.example", "AAAA"))
    assert refused.rcode == "REFUSED"


async def test_other_query_types_are_refused() -> None:
    lookup = CountingLookup()
    policy = FakePolicy(allowed={"pypi.example"})
    g, _ = gate(policy, lookup)
    for qtype in ("TXT", "MX", "ANY", "PTR", "HTTPS"):
        out = await g.answer(q("pypi.example", qtype))
        assert (out.rcode, out.verdict.reason) == ("REFUSED", "dns_type_not_allowed")
    assert lookup.asked == [] and policy.inputs == []


async def test_unknown_source_and_ended_task_are_refused() -> None:
    lookup = CountingLookup({"pypi.example": ["93.184.216.34"]})
    policy = FakePolicy(allowed={"pypi.example"})
    g, _ = gate(policy, lookup)
    out = await g.answer(q("pypi.example", client="10.200.7.7"))
    assert (out.rcode, out.verdict.reason, out.verdict.rule) == (
        "REFUSED",
        "unknown_sandbox",
        "airlock.identity.unknown_sandbox",
    )
    assert out.event(q("pypi.example", client="10.200.7.7"), "gw").task_id == ""
    g, _ = gate(policy, lookup, make_task(status="killed"))
    out = await g.answer(q("pypi.example"))
    assert (out.verdict.reason, out.task_hint) == ("task_killed", "tsk_1")
    assert lookup.asked == []


async def test_unresolvable_allowed_name_is_nxdomain() -> None:
    g, _ = gate(FakePolicy(allowed={"gone.example"}), CountingLookup())
    out = await g.answer(q("gone.example"))
    assert (out.rcode, out.verdict.allow) == ("NXDOMAIN", True)
