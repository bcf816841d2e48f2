"""addons.state: the per-flow record, the JSON refusal (403) and the 407 challenge."""

from __future__ import annotations

import json

from mitmproxy.test import tflow

from addons.state import META_KEY, challenge, describe, record, refuse
from gateway.egress.verdict import Verdict, refusal


def test_record_is_created_once_per_flow() -> None:
    flow = tflow.tflow()
    rec = record(flow)
    assert flow.metadata[META_KEY] is rec
    assert record(flow) is rec
    assert record(tflow.tflow()).request_id != rec.request_id


def test_refuse_answers_403_json() -> None:
    flow = tflow.tflow()
    verdict = Verdict(False, ("host_blocked", "x"), ("airlock.network.h",), "no", "rev9")
    refuse(flow, verdict)
    rec = record(flow)
    assert flow.response is not None
    assert flow.response.status_code == 403
    headers = flow.response.headers
    assert headers["X-Airlock-Decision"] == "deny"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Airlock-Request-Id"] == rec.request_id
    assert headers["Cache-Control"] == "no-store"
    body = json.loads(flow.response.content or b"")
    assert {"error", "reason", "rule", "request_id"} <= set(body)
    assert body["reason"] == "host_blocked"
    assert body["rule"] == "airlock.network.h"
    assert body["message"] == "no"
    assert body["request_id"] == rec.request_id
    assert body["policy_revision"] == "rev9"
    assert body["retryable"] is False
    assert rec.verdict is verdict


def test_refuse_with_another_status_is_retryable_when_audit_is_down() -> None:
    flow = tflow.tflow()
    refuse(flow, refusal("audit_unavailable", "spool full"), status=503)
    assert flow.response is not None
    assert flow.response.status_code == 503
    body = json.loads(flow.response.content or b"")
    assert body["rule"] == "airlock.gateway.audit_unavailable"
    assert body["retryable"] is True


def test_challenge_answers_407_with_proxy_authenticate() -> None:
    flow = tflow.tflow()
    challenge(flow, "proxy_auth_required", "send credentials")
    assert flow.response is not None
    assert flow.response.status_code == 407
    assert flow.response.headers["Proxy-Authenticate"] == 'Basic realm="airlock"'
    assert flow.response.headers["X-Airlock-Decision"] == "deny"
    body = json.loads(flow.response.content or b"")
    assert body["reason"] == "proxy_auth_required"
    assert body["message"] == "send credentials"
    assert body["rule"] == "airlock.identity.proxy_auth"
    assert body["request_id"] == record(flow).request_id
    assert record(flow).verdict is None


def test_describe_copies_the_request_line() -> None:
    flow = tflow.tflow()
    flow.request.path = "/simple/pkg/?token=abc&x=1"
    describe(flow)
    rec = record(flow)
    assert (rec.method, rec.scheme, rec.host, rec.port) == ("GET", "http", "address", 22)
    assert (rec.path, rec.query) == ("/simple/pkg/", "token=abc&x=1")
    assert rec.bytes_out == len(flow.request.raw_content or b"")
