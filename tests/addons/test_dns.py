"""The DNS addon: answers from policy, recorded before they are sent, stock resolver gone."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mitmproxy import dns
from mitmproxy.addons.dns_resolver import DnsResolver
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow, tutils

from addons.dns import Dns
from gateway.audit.events import AuditEvent
from gateway.runtime import ProxyRuntime
from gateway.transparent.dns import DnsGate
from gateway.transparent.names import AnswerLog, DestinationNamer, NamePolicy
from gateway.transparent.parts import TransparentParts
from tests.addons.conftest import build_runtime, spooled
from tests.transparent.conftest import CountingLookup, FakePolicy, make_task, resolver
from tests.transparent.test_dns import Sandboxes

SANDBOX = "10.200.1.2"


def with_transparent(rt: ProxyRuntime) -> CountingLookup:
    lookup = CountingLookup({"pypi.example": ["10.200.1.1", "2606:4700::1111"]})
    res = resolver(lookup)
    policy = FakePolicy(allowed={"pypi.example"}, private_ok={"pypi.example"})
    names = NamePolicy(policy, res)  # type: ignore[arg-type]
    boxes = Sandboxes({SANDBOX: make_task()})
    answers = AnswerLog()
    rt.transparent = TransparentParts(
        identity=boxes,  # type: ignore[arg-type]
        namer=DestinationNamer(names, res, answers),
        dns=DnsGate(boxes, names, res, answers),
    )
    return lookup


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProxyRuntime]:
    rt = build_runtime(tmp_path)
    with_transparent(rt)
    yield rt
    await rt.aclose()


def dns_events(runtime: ProxyRuntime) -> list[AuditEvent]:
    return [e for e in spooled(runtime) if e.kind == "dns-query"]


def query(name: str, qtype: int = dns.types.A, source: str = SANDBOX) -> dns.DNSFlow:
    flow = tflow.tdnsflow(req=tutils.tdnsreq(questions=[dns.Question(name, qtype, 1)]))
    flow.client_conn.peername = (source, 5353)
    return flow


async def test_allowed_name_gets_a_records_and_an_event(runtime: ProxyRuntime) -> None:
    flow = query("PyPI.example")
    await Dns(runtime).dns_request(flow)
    assert flow.response is not None
    assert flow.response.response_code == dns.response_codes.NOERROR
    assert [(r.name, r.ipv4_address) for r in flow.response.answers] == [
        ("PyPI.example", ipaddress.IPv4Address("10.200.1.1"))
    ]
    (event,) = dns_events(runtime)
    assert (event.kind, event.task_id, event.host, event.decision) == (
        "dns-query",
        "tsk_1",
        "pypi.example",
        "allow",
    )


@pytest.mark.parametrize(
    ("name", "source", "qtype", "reason"),
    [
        ("exfil.example", SANDBOX, dns.types.A, "destination_not_allowed"),
        ("pypi.example", "10.200.9.9", dns.types.A, "unknown_sandbox"),
        ("pypi.example", SANDBOX, dns.types.TXT, "dns_type_not_allowed"),
    ],
)
async def test_refusals_are_refused_and_recorded(
    runtime: ProxyRuntime, name: str, source: str, qtype: int, reason: str
) -> None:
    flow = query(name, qtype, source)
    await Dns(runtime).dns_request(flow)
    assert flow.response is not None
    assert flow.response.response_code == dns.response_codes.REFUSED
    assert flow.response.answers == []
    (event,) = dns_events(runtime)
    assert (event.decision, event.reasons[0], event.client_addr) == ("deny", reason, source)


async def servfail(rt: ProxyRuntime) -> CountingLookup:
    lookup = with_transparent(rt)
    flow = query("pypi.example")
    await Dns(rt).dns_request(flow)
    assert flow.response is not None
    assert flow.response.response_code == dns.response_codes.SERVFAIL
    assert flow.response.answers == []
    return lookup


async def test_full_spool_is_servfail_before_any_lookup(full_runtime: ProxyRuntime) -> None:
    assert (await servfail(full_runtime)).asked == []


async def test_unwritable_spool_is_servfail(disk_full_runtime: ProxyRuntime) -> None:
    await servfail(disk_full_runtime)


async def test_flows_from_other_listeners_are_left_alone(runtime: ProxyRuntime) -> None:
    flow = query("pypi.example")
    flow.client_conn.proxy_mode = ProxyMode.parse("regular")
    await Dns(runtime).dns_request(flow)
    assert flow.response is None and dns_events(runtime) == []


async def test_non_query_is_refused_without_policy(runtime: ProxyRuntime) -> None:
    flow = query("pypi.example")
    flow.request.op_code = dns.op_codes.UPDATE
    await Dns(runtime).dns_request(flow)
    assert flow.response is not None
    assert flow.response.response_code == dns.response_codes.REFUSED


async def test_running_removes_the_stock_resolver(runtime: ProxyRuntime) -> None:
    ours = Dns(runtime)
    with taddons.context(DnsResolver(), ours) as tctx:
        assert tctx.master.addons.get("dnsresolver") is not None
        await tctx.master.running()
        assert tctx.master.addons.get("dnsresolver") is None
        assert ours in tctx.master.addons.chain


async def test_an_answer_made_before_ours_is_replaced(runtime: ProxyRuntime) -> None:
    flow = query("exfil.example")
    flow.response = tutils.tdnsresp()
    await Dns(runtime).dns_request(flow)
    assert flow.response.response_code == dns.response_codes.REFUSED
