"""The derived values every format shares."""

from __future__ import annotations

import pytest

from gateway.export.formats import fields
from tests.export.samples import sample


@pytest.mark.parametrize(
    ("overrides", "url"),
    [
        ({}, "https://pypi.org/simple/requests/?api_key=[MASKED]"),
        ({"port": 8443, "query": ""}, "https://pypi.org:8443/simple/requests/"),
        ({"scheme": "http", "port": 80, "query": ""}, "http://pypi.org/simple/requests/"),
        ({"scheme": "http", "port": 443, "query": ""}, "http://pypi.org:443/simple/requests/"),
        ({"host": "2001:db8::1", "query": ""}, "https://[2001:db8::1]/simple/requests/"),
        ({"scheme": "", "method": "CONNECT"}, ""),
        ({"host": ""}, ""),
    ],
)
def test_url(overrides: dict[str, object], url: str) -> None:
    assert fields.url(sample("http-request", **overrides)) == url


@pytest.mark.parametrize(
    ("kind", "overrides", "action", "outcome"),
    [
        ("http-request", {}, "denied", "failure"),
        ("http-stream-end", {}, "allowed", "success"),
        ("http-request", {"decision": "allow", "status": 502}, "allowed", "failure"),
        ("http-request", {"decision": "", "status": 407}, "denied", "failure"),
        ("proxy-auth-failure", {}, "denied", "failure"),
        ("secret-finding", {"detail": {"action": "redacted"}}, "redacted", "success"),
        ("secret-finding", {"detail": {"action": "blocked"}}, "denied", "failure"),
        ("secret-finding", {"detail": {"action": "refused"}}, "denied", "failure"),
        ("secret-finding", {"detail": {"action": "alerted"}}, "alerted", "success"),
        ("body-unscannable", {}, "denied", "failure"),
        ("task-created", {}, "", "success"),
        ("spool-corruption", {}, "", "failure"),
        ("export-failed", {}, "", "failure"),
        ("export-recovered", {}, "", "success"),
    ],
)
def test_action_and_outcome(
    kind: str, overrides: dict[str, object], action: str, outcome: str
) -> None:
    event = sample(kind, **overrides)
    assert (fields.action(event), fields.outcome(event)) == (action, outcome)


def test_name_and_message() -> None:
    event = sample("http-request")
    assert fields.name(event) == "http-request denied"
    assert fields.message(event) == (
        "http-request denied: GET https://pypi.org/simple/requests/?api_key=[MASKED]"
        " [destination_not_allowed]"
    )
    assert fields.message(sample("component-start")) == "component-start: proxy"


def test_airlock_fields_leave_out_empty_values_but_keep_detail_whole() -> None:
    out = fields.airlock_fields(sample("task-created", detail={"grants": "", "profile": "p"}))
    assert "request_id" not in out and "rules" not in out
    assert out["detail"] == {"grants": "", "profile": "p"}
    assert (out["seq"], out["stream"]) == (42, "gw-eu-1/proxy")


def test_times() -> None:
    event = sample("task-created")
    assert fields.epoch_ms(event) == 1795667268882
    assert fields.epoch_seconds(event) == 1795667268.882276
    assert fields.iso_time(event) == "2026-11-26T04:27:48.882276Z"
