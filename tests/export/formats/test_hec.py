"""Splunk HEC: event objects that concatenate into a batch."""

from __future__ import annotations

import json

import pytest

from gateway.audit.events import EVENT_KINDS
from gateway.export.formats import render
from tests.export.samples import sample


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_kind_is_a_hec_event(kind: str) -> None:
    event = sample(kind)
    obj = json.loads(render("hec", event))
    assert set(obj) == {"time", "host", "source", "sourcetype", "event", "fields"}
    assert obj["time"] == 1795667268.882276
    assert (obj["source"], obj["sourcetype"]) == ("airlock", "airlock:audit")
    assert obj["event"]["event_id"] == obj["fields"]["event_id"] == event.event_id
    assert obj["event"]["kind"] == obj["fields"]["kind"] == kind
    assert all(isinstance(v, str) for v in obj["fields"].values())


def test_event_is_the_api_shape() -> None:
    event = sample("http-request")
    obj = json.loads(render("hec", event))
    assert obj["host"] == "gw-eu-1"
    assert obj["event"]["ts"] == "2026-11-26T04:27:48.882276Z"
    assert obj["event"]["rules"] == ["airlock.network.destination_not_allowed"]
    assert obj["event"]["detail"] == {}
    assert obj["event"] == {**event.model_dump(mode="json"), "ts": obj["event"]["ts"]}
    assert obj["fields"]["decision"] == "deny"


def test_host_falls_back_when_no_gateway_id() -> None:
    assert json.loads(render("hec", sample("spool-corruption")))["host"] == "airlock"


def test_batch_of_concatenated_objects_parses_back() -> None:
    events = [sample(k) for k in sorted(EVENT_KINDS)]
    batch = "".join(render("hec", e) for e in events)
    decoder = json.JSONDecoder()
    parsed, pos = [], 0
    while pos < len(batch):
        obj, pos = decoder.raw_decode(batch, pos)
        parsed.append(obj)
    assert [p["event"]["event_id"] for p in parsed] == [e.event_id for e in events]
