"""OCSF records validate against the OCSF schema of ``OCSF_VERSION``, for every kind.

The schema is the one published for that version (schema.ocsf.io export, Apache-2.0),
as shipped by the ``ocsf-json-schema`` package, which turns a class and its profiles
into a JSON Schema (draft 2020-12) with ``additionalProperties: false``: an attribute
the class does not have, a missing required one, a wrong type or a value outside an
enum all fail.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import pytest
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from gateway.audit.events import EVENT_KINDS, AuditEvent
from gateway.export.formats import OCSF_VERSION, render
from gateway.export.formats.ocsf import to_ocsf
from tests.export.samples import EPOCH_MS, TS, sample


@cache
def schema() -> dict[str, Any]:
    return dict(get_ocsf_schema(version=OCSF_VERSION))


@cache
def validator(class_uid: int, profiles: tuple[str, ...]) -> jsonschema.Draft202012Validator:
    embedded = OcsfJsonSchemaEmbedded(schema())
    name = embedded.lookup_class_name_from_uid(class_uid)
    return jsonschema.Draft202012Validator(embedded.get_class_schema(name, list(profiles)))


def assert_valid(record: dict[str, Any]) -> None:
    profiles = tuple(record["metadata"].get("profiles", ()))
    errors = list(validator(record["class_uid"], profiles).iter_errors(record))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def captions(class_uid: int) -> dict[str, Any]:
    cls = next(c for c in schema()["classes"].values() if c["uid"] == class_uid)
    activities = {int(k): v["caption"] for k, v in cls["attributes"]["activity_id"]["enum"].items()}
    category = cls.get("category_name") or "Uncategorized"  # base_event has none
    return {"class": cls["caption"], "category": category, "activities": activities}


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_kind_validates_against_the_schema(kind: str) -> None:
    assert_valid(to_ocsf(sample(kind)))


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_a_bare_event_of_every_kind_validates(kind: str) -> None:
    assert_valid(to_ocsf(AuditEvent(kind=kind, ts=TS)))


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_kind_with_ipv6_and_odd_values_validates(kind: str) -> None:
    event = sample(kind, client_addr="::1", host="2001:db8::1", method="PROPFIND", port=8443)
    assert_valid(to_ocsf(event))


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_names_and_ids_are_the_schemas(kind: str) -> None:
    record = to_ocsf(sample(kind))
    expected = captions(record["class_uid"])
    assert record["class_name"] == expected["class"]
    assert record["category_name"] == expected["category"]
    assert record["type_uid"] == record["class_uid"] * 100 + record["activity_id"]
    if record["activity_id"] != 99:  # 99 "Other": activity_name is Airlock's own word
        assert record["activity_name"] == expected["activities"][record["activity_id"]]


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_record_carries_version_id_and_time(kind: str) -> None:
    event = sample(kind)
    record = json.loads(render("ocsf", event))
    assert record["metadata"]["version"] == OCSF_VERSION == schema()["version"]
    assert record["metadata"]["uid"] == event.event_id
    assert record["unmapped"]["airlock"]["event_id"] == event.event_id
    assert record["time"] == EPOCH_MS
    assert record["metadata"]["event_code"] == EVENT_KINDS[kind][0]


EXPECTED_CLASSES = {
    "http-request": 4002,
    "http-stream-end": 4002,
    "task-refused": 4002,
    "tunnel-refused": 4001,
    "proxy-auth-failure": 3002,
    "secret-finding": 2006,
    "body-unscannable": 2006,
    "credential-misuse": 2006,
    "task-created": 6003,
    "credential-rotated": 6003,
    "grant-created": 6003,
    "component-start": 6002,
    "policy-loaded": 6002,
    "spool-corruption": 6008,
    "audit-checkpoint": 1008,
    "export-failed": 1008,
}


@pytest.mark.parametrize(("kind", "class_uid"), sorted(EXPECTED_CLASSES.items()))
def test_kind_maps_to_its_class(kind: str, class_uid: int) -> None:
    assert to_ocsf(sample(kind))["class_uid"] == class_uid


def test_the_validator_rejects_what_the_schema_does_not_allow() -> None:
    # Guards the tests above: a record with an unknown attribute, a missing required one
    # or a value outside an enum must fail, or "validates" would mean nothing.
    good = to_ocsf(sample("http-request"))
    assert_valid(good)
    for broken in (
        {**good, "airlock_task": "x"},
        {k: v for k, v in good.items() if k != "time"},
        {**good, "activity_id": 42},
        {**good, "http_request": {**good["http_request"], "http_method": "BREW"}},
    ):
        with pytest.raises(AssertionError):
            assert_valid(broken)


def test_a_kind_added_later_falls_back_to_base_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EVENT_KINDS, "quota-exceeded", ("AL9999", "warning", "Over quota."))
    record = to_ocsf(sample("quota-exceeded"))
    assert (record["class_uid"], record["activity_id"], record["type_uid"]) == (0, 99, 99)
    assert record["activity_name"] == "quota-exceeded"
    assert_valid(record)


def test_denied_request_carries_the_security_control_profile() -> None:
    record = to_ocsf(sample("http-request"))
    assert record["metadata"]["profiles"] == ["security_control"]
    assert (record["action_id"], record["action"]) == (2, "Denied")
    assert (record["disposition_id"], record["disposition"]) == (2, "Blocked")
    assert record["policy"]["uid"] == "airlock.network.destination_not_allowed"
    assert record["policy"]["version"] == "c68be2289483"
    assert record["status_id"] == 2 and record["http_response"]["code"] == 403
    assert record["http_request"]["url"]["url_string"] == (
        "https://pypi.org/simple/requests/?api_key=[MASKED]"
    )


def test_allowed_request_and_redacted_secret_have_their_verdicts() -> None:
    allowed = to_ocsf(sample("http-stream-end"))
    assert (allowed["action"], allowed["disposition"], allowed["status"]) == (
        "Allowed",
        "Allowed",
        "Success",
    )
    finding = to_ocsf(sample("secret-finding"))
    assert (finding["action"], finding["disposition"]) == ("Modified", "Corrected")
    assert finding["data_security"]["detection_pattern"] == "github_pat"
    assert finding["finding_info"]["uid"] == finding["metadata"]["uid"]


def test_events_without_a_verdict_claim_no_profile() -> None:
    record = to_ocsf(sample("task-created"))
    assert "action" not in record and "policy" not in record
    assert "profiles" not in record["metadata"]
    assert record["api"]["operation"] == "task-created"
    assert record["resources"][0] == {
        "type": "task",
        "uid": "tsk_f9a02a472d6b5d08",
        "name": "claude-1",
    }


def test_auth_failure_is_unauthorized() -> None:
    record = to_ocsf(sample("proxy-auth-failure"))
    assert (record["activity_name"], record["status"]) == ("Logon", "Failure")
    assert (record["disposition_id"], record["status_detail"]) == (26, "proxy_auth_invalid")


def test_chain_link_and_airlock_fields_are_kept() -> None:
    record = to_ocsf(sample("http-request"))
    assert record["metadata"]["sequence"] == 42
    airlock = record["unmapped"]["airlock"]
    assert (airlock["hash"], airlock["prev_hash"]) == ("cd" * 32, "ab" * 32)
    assert airlock["task_id"] == "tsk_f9a02a472d6b5d08"
    assert airlock["reasons"] == ["destination_not_allowed"]


def test_render_is_one_compact_line() -> None:
    line = render("ocsf", sample("http-request", detail={"error": "a\nb\u00e9"}))
    assert "\n" not in line and ", " not in line.split('"message"')[0]
    assert json.loads(line)["status_detail"] == "a\nb\u00e9"


def test_export_failure_is_a_failed_export_of_the_audit_log() -> None:
    record = to_ocsf(sample("export-failed"))
    assert (record["class_name"], record["activity_name"]) == ("Event Log Activity", "Export")
    assert (record["status"], record["status_detail"]) == ("Failure", "timed out")
