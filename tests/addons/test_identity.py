"""Identity addon: 407 without credentials, 403 for a refused task, tunnels remembered.

The resolver is a fake (see conftest.py): only the flow translation is tested here.
"""

from __future__ import annotations

import base64
import json
import secrets

from mitmproxy.test import tflow

from addons.identity import Identity
from addons.state import record
from gateway.identity.base import IdentityRefused
from gateway.runtime import ProxyRuntime
from tests.addons.conftest import FakeResolver, make_task, spooled


def credentials() -> str:
    raw = f"task-1:{secrets.token_urlsafe(24)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def resolver(runtime: ProxyRuntime) -> FakeResolver:
    assert isinstance(runtime.identity, FakeResolver)
    return runtime.identity


async def test_no_credentials_is_407(runtime: ProxyRuntime) -> None:
    flow = tflow.tflow()
    await Identity(runtime).requestheaders(flow)
    assert flow.response is not None
    assert flow.response.status_code == 407
    assert "Proxy-Authenticate" in flow.response.headers
    rec = record(flow)
    assert (rec.status, rec.error, rec.task) == (407, "proxy_auth_required", None)


async def test_refused_task_is_403_with_hint(runtime: ProxyRuntime) -> None:
    resolver(runtime).refusal = IdentityRefused(
        "task_killed", "task task-9 is killed", challenge=False, task_id="task-9"
    )
    flow = tflow.tflow()
    flow.request.headers["Proxy-Authorization"] = credentials()
    await Identity(runtime).requestheaders(flow)
    assert flow.response is not None
    assert flow.response.status_code == 403
    assert "Proxy-Authenticate" not in flow.response.headers
    body = json.loads(flow.response.content or b"")
    assert body["reason"] == "task_killed"
    assert body["rule"] == "airlock.identity.task_not_active"
    rec = record(flow)
    assert (rec.status, rec.error, rec.task_hint) == (403, "task_killed", "task-9")


async def test_good_identity_sets_task_and_strips_credentials(runtime: ProxyRuntime) -> None:
    flow = tflow.tflow()
    secret = credentials()
    flow.request.headers["Proxy-Authorization"] = secret
    await Identity(runtime).requestheaders(flow)
    assert flow.response is None
    assert "Proxy-Authorization" not in flow.request.headers
    assert record(flow).task == resolver(runtime).task
    (facts,) = resolver(runtime).seen
    assert facts.proxy_authorization == secret
    assert (facts.client_host, facts.client_port) == ("127.0.0.1", 22)
    assert record(flow).client_addr == "127.0.0.1"
    assert (record(flow).host, record(flow).path) == ("address", "/path")


async def test_connect_remembers_the_tunnel_for_its_requests(runtime: ProxyRuntime) -> None:
    identity = Identity(runtime)
    connect = tflow.tflow()
    connect.request.method = "CONNECT"
    connect.request.headers["Proxy-Authorization"] = credentials()
    await identity.http_connect(connect)
    assert connect.response is None
    assert identity.tunnel_target(connect) == ("address", 22)

    inner = tflow.tflow()
    inner.client_conn = connect.client_conn
    inner.request.headers["Proxy-Authorization"] = credentials()  # must not go upstream
    await identity.requestheaders(inner)
    assert inner.response is None
    assert record(inner).task == resolver(runtime).task
    assert "Proxy-Authorization" not in inner.request.headers
    assert len(resolver(runtime).seen) == 1  # resolved once, at CONNECT

    identity.client_disconnected(connect.client_conn)
    assert identity.tunnel_target(inner) is None


async def test_killed_task_inside_a_tunnel_is_refused(runtime: ProxyRuntime) -> None:
    identity = Identity(runtime)
    resolver(runtime).task = make_task(status="killed")
    connect = tflow.tflow()
    connect.request.headers["Proxy-Authorization"] = credentials()
    await identity.http_connect(connect)
    inner = tflow.tflow()
    inner.client_conn = connect.client_conn
    await identity.requestheaders(inner)
    assert inner.response is not None
    assert inner.response.status_code == 403
    assert json.loads(inner.response.content or b"")["reason"] == "task_killed"


async def test_kill_reaches_a_tunnel_opened_before_it(runtime: ProxyRuntime) -> None:
    identity = Identity(runtime)
    connect = tflow.tflow()
    connect.request.headers["Proxy-Authorization"] = credentials()
    await identity.http_connect(connect)
    first = tflow.tflow()
    first.client_conn = connect.client_conn
    await identity.requestheaders(first)
    assert first.response is None
    resolver(runtime).task = make_task(status="killed")  # `airlock task kill` meanwhile
    second = tflow.tflow()
    second.client_conn = connect.client_conn
    await identity.requestheaders(second)
    assert second.response is not None and second.response.status_code == 403
    assert json.loads(second.response.content or b"")["reason"] == "task_killed"
    assert record(second).kind == "task-refused"


async def test_refused_connect_is_audited(runtime: ProxyRuntime) -> None:
    identity = Identity(runtime)
    connect = tflow.tflow()
    connect.request.method = "CONNECT"
    await identity.http_connect(connect)
    assert connect.response is not None
    assert connect.response.status_code == 407
    assert identity.tunnel_target(connect) is None
    (event,) = spooled(runtime)
    assert event.kind == "proxy-auth-failure"
    assert (event.method, event.host, event.status) == ("CONNECT", "address", 407)
    assert event.request_id == record(connect).request_id


async def test_refused_task_connect_is_audited_as_task_refused(runtime: ProxyRuntime) -> None:
    resolver(runtime).refusal = IdentityRefused(
        "task_expired", "task task-3 is expired", challenge=False, task_id="task-3"
    )
    connect = tflow.tflow()
    connect.request.headers["Proxy-Authorization"] = credentials()
    await Identity(runtime).http_connect(connect)
    (event,) = spooled(runtime)
    assert (event.kind, event.task_id, event.status) == ("task-refused", "task-3", 403)
    assert event.detail == {"error": "task_expired"}
