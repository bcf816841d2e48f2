"""WebSocketAudit addon: one durable event per message, after redaction decided its fate."""

from __future__ import annotations

import pytest
from mitmproxy import http, websocket
from mitmproxy.test import tflow
from wsproto.frame_protocol import Opcode

from addons.redaction import Redaction
from addons.state import record
from addons.websocket import WebSocketAudit
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime
from tests.addons.conftest import spooled
from tests.addons.test_redaction import token, verdict


def ws_flow(outbound: str = "redact") -> http.HTTPFlow:
    flow = tflow.twebsocketflow()
    assert flow.websocket is not None
    flow.websocket.messages.clear()
    record(flow).verdict = verdict(outbound, "redact")
    return flow


async def send(runtime: ProxyRuntime, flow: http.HTTPFlow, message: websocket.WebSocketMessage):
    assert flow.websocket is not None
    flow.websocket.messages.append(message)
    await Redaction(runtime).websocket_message(flow)
    await WebSocketAudit(runtime).websocket_message(flow)
    return message


def message_events(runtime: ProxyRuntime) -> list:  # type: ignore[type-arg]
    return [e for e in spooled(runtime) if e.kind == "websocket-message"]


async def test_every_message_is_recorded_in_order(runtime: ProxyRuntime) -> None:
    flow = ws_flow()
    await send(runtime, flow, websocket.WebSocketMessage(Opcode.TEXT, True, b"hello"))
    await send(runtime, flow, websocket.WebSocketMessage(Opcode.BINARY, False, b"\x00" * 300))
    first, second = message_events(runtime)
    assert first.request_id == second.request_id == record(flow).request_id
    assert first.detail == {
        "direction": "outbound",
        "type": "text",
        "seq": "1",
        "size": "5",
        "action": "forwarded",
    }
    assert (second.detail["seq"], second.detail["direction"], second.bytes_in) == (
        "2",
        "inbound",
        300,
    )
    assert flow.websocket is not None and len(flow.websocket.messages) == 1  # not piling up


async def test_redacted_message_is_recorded_as_forwarded_redacted(runtime: ProxyRuntime) -> None:
    flow = ws_flow("redact")
    secret = token()
    msg = await send(runtime, flow, websocket.WebSocketMessage(Opcode.TEXT, True, secret.encode()))
    assert secret.encode() not in msg.content
    (event,) = message_events(runtime)
    assert event.detail["action"] == "redacted" and event.detail["secret_findings"] == "1"
    assert event.detail["size"] == str(len(msg.content))
    assert secret not in event.model_dump_json()
    assert [e.kind for e in spooled(runtime) if e.kind == "secret-finding"] == ["secret-finding"]


async def test_blocked_message_is_recorded_as_dropped(runtime: ProxyRuntime) -> None:
    flow = ws_flow("block")
    msg = await send(runtime, flow, websocket.WebSocketMessage(Opcode.TEXT, True, token().encode()))
    assert msg.dropped
    (event,) = message_events(runtime)
    assert (event.detail["action"], event.detail["size"]) == ("dropped", "0")


async def test_unrecordable_message_is_dropped(
    runtime: ProxyRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(event: object) -> None:
        raise SpoolError("spool full")

    monkeypatch.setattr(runtime.spool, "append", refuse)
    msg = await send(runtime, ws_flow(), websocket.WebSocketMessage(Opcode.TEXT, True, b"hi"))
    assert msg.dropped
