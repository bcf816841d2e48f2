"""LEEF 2.0: tab-delimited attributes, escaping pinned by parsing the output back."""

from __future__ import annotations

import re

import pytest

from gateway.audit.events import EVENT_KINDS
from gateway.export.formats import render
from tests.export.samples import sample

HOSTILE = "a|b=c\\d\ne\rf\tg \u00e9\u4e2d\U0001f600"
UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def parse(line: str) -> tuple[list[str], dict[str, str]]:
    """The 6 header fields (unescaped) and the attributes."""
    assert "\n" not in line and "\r" not in line
    header: list[str] = []
    current: list[str] = []
    i = 0
    while len(header) < 6:
        if line[i] == "\\":
            current.append(line[i + 1])
            i += 2
            continue
        if line[i] == "|":
            header.append("".join(current))
            current = []
        else:
            current.append(line[i])
        i += 1
    assert header[5] == "x09"
    attrs: dict[str, str] = {}
    for pair in line[i:].split("\t"):
        key, _, value = pair.partition("=")
        assert key not in attrs, f"duplicate key {key}"
        attrs[key] = re.sub(r"\\(.)", lambda m: UNESCAPE[m.group(1)], value)
    return header, attrs


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_kind_renders_one_parsable_line(kind: str) -> None:
    event = sample(kind)
    header, attrs = parse(render("leef", event))
    assert header == ["LEEF:2.0", "Airlock", "Airlock", "0.1.0", EVENT_KINDS[kind][0], "x09"]
    assert attrs["eventId"] == event.event_id
    assert attrs["cat"] == kind
    assert attrs["devTime"] == "2026-11-26T04:27:48.882+0000"
    assert attrs["devTimeFormat"] == "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
    assert 1 <= int(attrs["sev"]) <= 10


def test_denied_request_attributes() -> None:
    _, attrs = parse(render("leef", sample("http-request")))
    assert (attrs["src"], attrs["dstHost"], attrs["dstPort"]) == ("127.0.0.1", "pypi.org", "443")
    assert "dst" not in attrs  # a host name is not an address
    assert (attrs["action"], attrs["status"], attrs["proto"]) == ("denied", "403", "TCP")
    assert attrs["policy"] == "airlock.network.destination_not_allowed"
    assert attrs["url"] == "https://pypi.org/simple/requests/?api_key=[MASKED]"
    assert (attrs["usrName"], attrs["dstBytes"]) == ("claude-1", "312")
    assert (attrs["seq"], attrs["hash"]) == ("42", "cd" * 32)


def test_hostile_values_round_trip_through_the_escaping() -> None:
    event = sample(
        "secret-finding",
        agent=HOSTILE,
        path="/p=1\t2",
        detail={"error": HOSTILE, "weird key|=": HOSTILE},
        code="AL|4\\0",
    )
    header, attrs = parse(render("leef", event))
    assert header[4] == "AL|4\\0"
    assert attrs["usrName"] == HOSTILE
    assert attrs["detail_error"] == HOSTILE
    assert attrs["detail_weird_key__"] == HOSTILE
    assert attrs["url"] == "https://pypi.org/p=1\t2?api_key=[MASKED]"


def test_raw_escapes() -> None:
    line = render("leef", sample("task-created", agent="x=1\\2\n3\r4\t5"))
    assert "\tusrName=x=1\\\\2\\n3\\r4\\t5\t" in line


def test_long_and_control_values() -> None:
    _, attrs = parse(render("leef", sample("task-created", agent="\x00" + "y" * 100_000)))
    assert attrs["usrName"] == "\ufffd" + "y" * 100_000


def test_ipv4_destination_is_dst() -> None:
    _, attrs = parse(render("leef", sample("tunnel-refused", host="10.0.0.5", port=5432)))
    assert (attrs["dst"], attrs["dstPort"], attrs["proto"]) == ("10.0.0.5", "5432", "TCP")
