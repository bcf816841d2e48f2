"""One audit event per WebSocket message."""

from __future__ import annotations

from gateway.egress.record import FlowRecord
from gateway.egress.verdict import Verdict
from gateway.egress.websocket import MessageFacts, message_event
from tests.addons.conftest import make_task


def upgraded() -> FlowRecord:
    rec = FlowRecord(task=make_task(), method="GET", scheme="https", host="ws.example", port=443)
    rec.path, rec.status, rec.bytes_in = "/socket", 101, 0
    rec.verdict = Verdict(True, ("allowed",), ("profile/p/allow/0",), "ok", "rev-1")
    return rec


def test_outbound_message_event() -> None:
    rec = upgraded()
    event = message_event(rec, "gw", MessageFacts(3, True, True, 42, 1, "redacted"))
    assert (event.kind, event.code) == ("websocket-message", "AL1005")
    assert (event.request_id, event.task_id, event.host, event.path) == (
        rec.request_id,
        "task-1",
        "ws.example",
        "/socket",
    )
    assert (event.decision, event.rules) == ("allow", ("profile/p/allow/0",))
    assert (event.bytes_out, event.bytes_in) == (42, 0)
    assert event.detail == {
        "direction": "outbound",
        "type": "text",
        "seq": "3",
        "size": "42",
        "action": "redacted",
        "secret_findings": "1",
    }


def test_inbound_binary_message_event_has_no_findings_key() -> None:
    event = message_event(upgraded(), "gw", MessageFacts(1, False, False, 7, 0, "forwarded"))
    assert (event.bytes_out, event.bytes_in) == (0, 7)
    assert event.detail["direction"] == "inbound" and event.detail["type"] == "binary"
    assert "secret_findings" not in event.detail
