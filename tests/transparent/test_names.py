"""Naming a transparent connection: a claimed name must point at the original address."""

from __future__ import annotations

import pytest

from gateway.egress.verdict import Verdict
from gateway.transparent.names import AnswerLog, DestinationNamer, NamePolicy
from tests.transparent.conftest import CountingLookup, FakePolicy, make_task, resolver

CLIENT = "10.200.1.2"


def namer(
    policy: FakePolicy, lookup: CountingLookup, answers: AnswerLog | None = None
) -> DestinationNamer:
    res = resolver(lookup)
    return DestinationNamer(NamePolicy(policy, res), res, answers or AnswerLog())  # type: ignore[arg-type]


async def test_no_claim_means_the_original_address() -> None:
    lookup = CountingLookup()
    got = await namer(FakePolicy(), lookup).name(make_task(), CLIENT, ("10.200.1.1", 80), None)
    assert got == "10.200.1.1"
    assert lookup.asked == []


async def test_ip_literal_claim_must_be_the_original_address() -> None:
    n = namer(FakePolicy(), CountingLookup())
    assert await n.name(make_task(), CLIENT, ("10.200.1.1", 443), "10.200.1.1") == "10.200.1.1"
    assert await n.name(make_task(), CLIENT, ("10.200.1.1", 443), "0xa.200.1.1") == "10.200.1.1"
    other = await n.name(make_task(), CLIENT, ("10.200.1.1", 443), "10.200.1.7")
    assert isinstance(other, Verdict)
    assert other.reason == "destination_mismatch"


async def test_name_given_out_by_airlock_dns_needs_no_lookup() -> None:
    answers = AnswerLog()
    answers.remember(CLIENT, "pypi.example", ("10.200.1.1",))
    lookup = CountingLookup()
    n = namer(FakePolicy(), lookup, answers)
    assert await n.name(make_task(), CLIENT, ("10.200.1.1", 443), "PyPI.Example.") == "pypi.example"
    assert lookup.asked == []
    # ...but only to the sandbox it was given to
    elsewhere = await n.name(make_task(), "10.200.9.2", ("10.200.1.1", 443), "pypi.example")
    assert isinstance(elsewhere, Verdict)


async def test_name_resolving_to_the_original_address_is_believed() -> None:
    lookup = CountingLookup({"pypi.example": ["93.184.216.34", "10.200.1.1"]})
    policy = FakePolicy(allowed={"pypi.example"})
    got = await namer(policy, lookup).name(make_task(), CLIENT, ("10.200.1.1", 443), "pypi.example")
    assert got == "pypi.example"
    assert lookup.asked == ["pypi.example"]


async def test_name_pointing_elsewhere_is_a_mismatch() -> None:
    lookup = CountingLookup({"pypi.example": ["93.184.216.34"]})
    policy = FakePolicy(allowed={"pypi.example"})
    got = await namer(policy, lookup).name(
        make_task(), CLIENT, ("198.51.100.9", 443), "pypi.example"
    )
    assert isinstance(got, Verdict)
    assert got.reason == "destination_mismatch"
    assert "198.51.100.9" in got.message


async def test_a_name_policy_refuses_is_never_looked_up() -> None:
    lookup = CountingLookup({"exfil.attacker.example": ["198.51.100.9"]})
    policy = FakePolicy(allowed={"pypi.example"})
    got = await namer(policy, lookup).name(
        make_task(), CLIENT, ("198.51.100.9", 443), "c2VjcmV0.exfil.attacker.example"
    )
    assert isinstance(got, Verdict)
    assert got.reason == "destination_not_allowed"
    assert lookup.asked == []
    (asked,) = policy.inputs
    assert asked["kind"] == "dns"
    assert asked["destination"]["addresses"] == []


def test_answer_log_forgets() -> None:
    log = AnswerLog(memory_seconds=0.0)
    log.remember(CLIENT, "a.example", ("10.0.0.1",))
    assert not log.answered(CLIENT, "a.example", "10.0.0.1")
    log = AnswerLog()
    log.remember(CLIENT, "a.example", ("10.0.0.1", "10.0.0.2"))
    assert log.answered(CLIENT, "a.example", "10.0.0.2")
    assert not log.answered(CLIENT, "b.example", "10.0.0.2")


@pytest.mark.parametrize("claimed", ["", None])
async def test_empty_claim_is_no_claim(claimed: str | None) -> None:
    n = namer(FakePolicy(), CountingLookup())
    assert await n.name(make_task(), CLIENT, ("10.200.1.1", 80), claimed) == "10.200.1.1"
