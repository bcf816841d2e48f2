"""Opaque tunnels: the events made from one, refused or allowed."""

from __future__ import annotations

from gateway.egress.tunnel import OPAQUE, TunnelRecord
from gateway.egress.verdict import Verdict
from tests.addons.conftest import make_task


def test_refused_tunnel_event_names_the_reason_and_the_task() -> None:
    rec = TunnelRecord("db.example", 5432, "tcp", "10.0.0.9", task=make_task())
    event = rec.event("tunnel-refused", "gw")
    assert (event.kind, event.code, event.decision) == ("tunnel-refused", "AL1002", "deny")
    assert event.reasons == ("opaque_tunnel",) and event.rules == OPAQUE.rules
    assert (event.task_id, event.agent, event.tenant) == ("task-1", "claude-1", "acme")
    assert (event.host, event.port, event.method, event.scheme) == (
        "db.example",
        5432,
        "CONNECT",
        "tcp",
    )
    assert event.detail == {"transport": "tcp"} and event.client_addr == "10.0.0.9"


def test_open_and_close_events_share_the_request_id_and_count_bytes() -> None:
    allowed = Verdict(True, ("allowed",), ("profile/p/allow/1",), "ok", "rev", addresses=("x",))
    rec = TunnelRecord("db.example", 5432, "tcp", task=make_task(), verdict=allowed)
    rec.address = "203.0.113.5"
    opened = rec.event("tunnel-opened", "gw")
    rec.count(True, 100)
    rec.count(False, 2500)
    rec.count(True, 1)
    rec.error = "connection reset"
    closed = rec.event("tunnel-closed", "gw")
    assert opened.request_id == closed.request_id
    assert (opened.decision, opened.bytes_out, opened.bytes_in) == ("allow", 0, 0)
    assert (closed.bytes_out, closed.bytes_in) == (101, 2500)
    assert closed.detail == {
        "transport": "tcp",
        "address": "203.0.113.5",
        "error": "connection reset",
    }
    assert closed.ts >= opened.ts and closed.code == "AL1004" and opened.code == "AL1003"
