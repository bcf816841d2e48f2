"""Transparent-mode flows: identity by source address, the verified name becomes the host.

The domain parts are real (gateway/transparent); the sandbox registry, policy and DNS
lookups are the fakes of tests/transparent/conftest.py (see its docstring for why).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import tflow

from addons.identity import Identity
from addons.state import record
from addons.transparent import Transparent
from gateway.runtime import ProxyRuntime
from gateway.transparent.dns import DnsGate
from gateway.transparent.names import AnswerLog, DestinationNamer, NamePolicy
from gateway.transparent.parts import TransparentParts
from tests.addons.conftest import build_runtime
from tests.transparent.conftest import CountingLookup, FakePolicy, make_task, resolver
from tests.transparent.test_dns import Sandboxes

SANDBOX = "10.200.1.2"


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProxyRuntime]:
    rt = build_runtime(tmp_path)
    lookup = CountingLookup({"pypi.example": ["10.200.1.1"], "other.example": ["93.184.216.34"]})
    res = resolver(lookup)
    names = NamePolicy(FakePolicy(allowed={"pypi.example", "other.example"}), res)  # type: ignore[arg-type]
    boxes = Sandboxes({SANDBOX: make_task()})
    answers = AnswerLog()
    rt.transparent = TransparentParts(
        identity=boxes,  # type: ignore[arg-type]
        namer=DestinationNamer(names, res, answers),
        dns=DnsGate(boxes, names, res, answers),
    )
    yield rt
    await rt.aclose()


def transparent_flow(
    source: str = SANDBOX,
    original: tuple[str, int] = ("10.200.1.1", 443),
    sni: str | None = "pypi.example",
    host_header: str | None = "pypi.example",
) -> tflow.HTTPFlow:
    flow = tflow.tflow()
    flow.client_conn.proxy_mode = ProxyMode.parse("transparent")
    flow.client_conn.peername = (source, 40000)
    flow.client_conn.sockname = original
    flow.client_conn.sni = sni
    flow.request.host, flow.request.port = original
    flow.request.scheme = "https"
    if host_header is None:
        flow.request.headers.pop("Host", None)
    else:
        flow.request.headers["Host"] = host_header
    return flow


async def run(runtime: ProxyRuntime, flow: tflow.HTTPFlow) -> None:
    await Identity(runtime).requestheaders(flow)
    await Transparent(runtime).requestheaders(flow)


async def test_registered_sandbox_gets_its_task_and_the_name(runtime: ProxyRuntime) -> None:
    flow = transparent_flow()
    flow.request.headers["Proxy-Authorization"] = "Basic c3B5OnNweQ=="
    await run(runtime, flow)
    assert flow.response is None
    rec = record(flow)
    assert rec.task is not None and rec.task.task_id == "tsk_1"
    assert (flow.request.host, flow.request.port) == ("pypi.example", 443)
    assert (rec.host, rec.client_addr) == ("pypi.example", SANDBOX)
    assert flow.request.headers["Host"] == "pypi.example"
    assert "Proxy-Authorization" not in flow.request.headers  # never forwarded


async def test_unregistered_source_is_403_sandbox_unknown(runtime: ProxyRuntime) -> None:
    flow = transparent_flow(source="10.200.9.9")
    await run(runtime, flow)
    assert flow.response is not None and flow.response.status_code == 403
    assert flow.response.headers["X-Airlock-Decision"] == "deny"
    assert "Proxy-Authenticate" not in flow.response.headers
    body = json.loads(flow.response.content or b"")
    assert (body["reason"], body["rule"]) == ("unknown_sandbox", "airlock.identity.unknown_sandbox")
    assert body["request_id"]
    rec = record(flow)
    assert (rec.kind, rec.status, rec.task) == ("sandbox-unknown", 403, None)


async def test_ended_task_behind_a_sandbox_is_task_refused(runtime: ProxyRuntime) -> None:
    assert runtime.transparent is not None
    boxes = runtime.transparent.identity
    assert isinstance(boxes, Sandboxes)
    boxes.known[SANDBOX] = replace(make_task(), status="killed")
    flow = transparent_flow()
    await run(runtime, flow)
    assert flow.response is not None and flow.response.status_code == 403
    assert (record(flow).kind, record(flow).task_hint) == ("task-refused", "tsk_1")


async def test_name_that_does_not_point_at_the_destination_is_refused(
    runtime: ProxyRuntime,
) -> None:
    flow = transparent_flow(sni="other.example", host_header="other.example")
    await run(runtime, flow)
    assert flow.response is not None and flow.response.status_code == 403
    assert json.loads(flow.response.content or b"")["reason"] == "destination_mismatch"


async def test_plain_http_uses_the_host_header(runtime: ProxyRuntime) -> None:
    flow = transparent_flow(original=("10.200.1.1", 80), sni=None, host_header="pypi.example")
    await run(runtime, flow)
    assert flow.response is None
    assert flow.request.host == "pypi.example"


async def test_no_name_at_all_is_decided_on_the_address(runtime: ProxyRuntime) -> None:
    flow = transparent_flow(original=("10.200.1.1", 80), sni=None, host_header=None)
    await run(runtime, flow)
    assert flow.response is None
    assert flow.request.host == "10.200.1.1"


async def test_explicit_mode_flows_are_left_alone(runtime: ProxyRuntime) -> None:
    flow = tflow.tflow()
    flow.client_conn.sockname = ("10.200.1.1", 443)
    record(flow).task = make_task()
    await Transparent(runtime).requestheaders(flow)
    assert flow.request.host == "address"
