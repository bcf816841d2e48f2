"""Query masking and the audit event built from a FlowRecord."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from gateway.audit.events import AuditEvent
from gateway.control.tasks import TaskInfo
from gateway.egress.record import FlowRecord, mask_query
from gateway.egress.verdict import Verdict, refusal
from gateway.ids import new_token


def make_task() -> TaskInfo:
    now = datetime.now(UTC)
    return TaskInfo(
        task_id="tsk_00000000000000aa",
        tenant="acme",
        agent="bot",
        profile="registries",
        status="active",
        created_at=now,
        expires_at=now + timedelta(hours=1),
        ended_at=None,
    )


# mask_query ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "access_token",
        "api_key",
        "apiKey",
        "client_secret",
        "password",
        "passwd",
        "auth",
        "Authorization",
        "sig",
        "X-Amz-Signature",
        "credential",
        "X-Amz-Credential",
        "TOKEN",
    ],
)
def test_mask_query_masks_sensitive_names(name: str) -> None:
    secret = new_token()
    masked = mask_query(f"{name}={secret}&page=2")
    assert secret not in masked
    assert parse_qsl(masked) == [(name, "[MASKED]"), ("page", "2")]


def test_mask_query_keeps_other_values_and_order() -> None:
    query = "q=airlock&page=3&sort=desc"
    assert mask_query(query) == query


def test_mask_query_mixed() -> None:
    secret = new_token()
    masked = mask_query(f"user=alice&token={secret}&lang=en&token={secret}")
    assert masked == "user=alice&token=[MASKED]&lang=en&token=[MASKED]"


def test_mask_query_percent_encoded_name_is_still_masked() -> None:
    secret = new_token()
    masked = mask_query(f"%74oken={secret}")  # %74 is "t"
    assert secret not in masked
    assert masked == "%74oken=[MASKED]"  # the name as sent, the value masked


def test_mask_query_semicolon_separated_secret_is_masked() -> None:
    secret = new_token()
    masked = mask_query(f"x=1;token={secret}")
    assert secret not in masked
    assert masked == "x=1&token=[MASKED]"


def test_mask_query_blank_values_kept() -> None:
    assert mask_query("flag=&token=") == "flag=&token=[MASKED]"


def test_mask_query_empty() -> None:
    assert mask_query("") == ""


# FlowRecord.event -------------------------------------------------------------------------


def test_event_fills_fields_from_record_task_and_verdict() -> None:
    task = make_task()
    verdict = Verdict(True, ("allowed",), ("profile/registries/allow/0",), "ok", "rev-9")
    secret = new_token()
    record = FlowRecord(
        task=task,
        client_addr="127.0.0.1:50000",
        session="s1",
        workflow="w1",
        method="GET",
        scheme="https",
        host="pypi.org",
        port=443,
        path="/simple/",
        query=f"q=x&token={secret}",
        verdict=verdict,
        status=200,
        bytes_in=10,
        bytes_out=2048,
    )
    event = record.event("http-request", "gw-1")
    assert isinstance(event, AuditEvent)
    assert event.kind == "http-request"
    assert event.code == "AL1000"
    assert (event.tenant, event.agent, event.task_id) == ("acme", "bot", task.task_id)
    assert event.request_id == record.request_id
    assert event.ts == record.ts
    assert (event.session, event.workflow) == ("s1", "w1")
    assert (event.method, event.scheme, event.host, event.port) == ("GET", "https", "pypi.org", 443)
    assert event.path == "/simple/"
    assert event.query == "q=x&token=[MASKED]"
    assert secret not in event.to_bytes().decode()
    assert event.status == 200
    assert event.decision == "allow"
    assert event.rules == ("profile/registries/allow/0",)
    assert event.reasons == ("allowed",)
    assert event.policy_revision == "rev-9"
    assert (event.bytes_in, event.bytes_out) == (10, 2048)
    assert event.duration_ms >= 0
    assert event.client_addr == "127.0.0.1:50000"
    assert event.gateway_id == "gw-1"
    assert event.detail == {}


def test_event_deny_decision() -> None:
    record = FlowRecord(task=make_task(), verdict=refusal("policy_unavailable", "down"))
    event = record.event("http-request", "gw")
    assert event.decision == "deny"
    assert event.reasons == ("policy_unavailable",)
    assert event.rules == ("airlock.gateway.policy_unavailable",)


def test_event_without_verdict_or_task() -> None:
    event = FlowRecord(task_hint="tsk_named_by_creds").event("proxy-auth-failure", "gw")
    assert event.decision == ""
    assert event.rules == ()
    assert event.reasons == ()
    assert event.policy_revision == ""
    assert (event.tenant, event.agent) == ("", "")
    assert event.task_id == "tsk_named_by_creds"
    assert event.code == "AL2000"


def test_task_wins_over_task_hint() -> None:
    task = make_task()
    event = FlowRecord(task=task, task_hint="tsk_other").event("http-request", "gw")
    assert event.task_id == task.task_id


def test_event_detail_error_and_streamed() -> None:
    record = FlowRecord(task=make_task(), error="upstream reset", streamed=True)
    event = record.event("http-stream-end", "gw", reason="closed", empty="")
    assert event.detail == {"reason": "closed", "error": "upstream reset", "streamed": "true"}


def test_event_detail_no_streamed_flag_when_not_streamed() -> None:
    event = FlowRecord().event("http-request", "gw", note="x")
    assert event.detail == {"note": "x"}


def test_each_record_has_its_own_request_id() -> None:
    a, b = FlowRecord(), FlowRecord()
    assert a.request_id != b.request_id
    assert a.event("http-request", "gw").event_id != a.event("http-request", "gw").event_id


def test_unregistered_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unregistered event kind"):
        FlowRecord().event("not-a-kind", "gw")
