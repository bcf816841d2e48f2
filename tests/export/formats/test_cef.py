"""CEF: header and extension escaping pinned by parsing the output back."""

from __future__ import annotations

import re

import pytest

from gateway.audit.events import EVENT_KINDS
from gateway.export.formats import render
from gateway.export.formats.cef import LIMITS
from tests.export.samples import EPOCH_MS, sample

HOSTILE = "a|b=c\\d\ne\rf g\u00e9\u4e2d\U0001f600 x=y"
UNESCAPE = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}


def split_header(line: str) -> tuple[list[str], str]:
    """The 7 header fields (unescaped) and the raw extension, splitting on unescaped |."""
    fields: list[str] = []
    current: list[str] = []
    i = 0
    while len(fields) < 7:
        char = line[i]
        if char == "\\":
            current.append(line[i + 1])
            i += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    return fields, line[i:]


def parse_extension(ext: str) -> dict[str, str]:
    """key=value pairs; every = inside a value is escaped, so an unescaped one ends a key."""
    marks = list(re.finditer(r"(?:^| )([A-Za-z0-9_]+)=", ext))
    pairs: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        raw = ext[mark.end() : following.start() if following else len(ext)]
        pairs[mark.group(1)] = re.sub(r"\\(.)", lambda m: UNESCAPE[m.group(1)], raw)
    return pairs


def parse(line: str) -> tuple[list[str], dict[str, str]]:
    assert "\n" not in line and "\r" not in line
    header, ext = split_header(line)
    return header, parse_extension(ext)


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_kind_renders_one_parsable_line(kind: str) -> None:
    event = sample(kind)
    header, ext = parse(render("cef", event))
    assert header[:5] == ["CEF:0", "Airlock", "Airlock", "0.1.0", EVENT_KINDS[kind][0]]
    assert 0 <= int(header[6]) <= 10
    assert ext["externalId"] == event.event_id
    assert ext["rt"] == str(EPOCH_MS)
    assert ext["cat"] == kind


def test_denied_request_extension() -> None:
    header, ext = parse(render("cef", sample("http-request")))
    assert header[5:] == ["http-request denied", "3"]
    assert ext["act"] == "denied" and ext["outcome"] == "failure"
    assert (ext["src"], ext["dhost"], ext["dpt"]) == ("127.0.0.1", "pypi.org", "443")
    assert ext["request"] == "https://pypi.org/simple/requests/?api_key=[MASKED]"
    assert (ext["requestMethod"], ext["app"], ext["in"]) == ("GET", "HTTPS", "312")
    assert (ext["suser"], ext["suid"]) == ("claude-1", "tsk_f9a02a472d6b5d08")
    assert (ext["cs1Label"], ext["cs1"]) == ("rules", "airlock.network.destination_not_allowed")
    assert (ext["cs2Label"], ext["cs2"]) == ("policyRevision", "c68be2289483")
    assert (ext["cn1Label"], ext["cn1"]) == ("httpStatus", "403")
    assert ext["reason"] == "destination_not_allowed"
    assert (ext["airlockSeq"], ext["airlockHash"]) == ("42", "cd" * 32)


def test_hostile_values_round_trip_through_the_escaping() -> None:
    event = sample(
        "http-request",
        agent=HOSTILE,
        session=HOSTILE,
        path="/a=b|c\\d",
        detail={"error": HOSTILE, "k=ey": "v"},
        code="AL|1\\0\n",
    )
    header, ext = parse(render("cef", event))
    assert header[4] == "AL|1\\0 "  # header: | and \ escaped, the line break a space
    assert ext["suser"] == HOSTILE and ext["cs6"] == HOSTILE
    assert ext["request"] == "https://pypi.org/a=b|c\\d?api_key=[MASKED]"
    assert HOSTILE in ext["msg"]
    assert '"k=ey": "v"' in ext["cs5"]


def test_raw_escapes_are_the_cef_ones() -> None:
    line = render("cef", sample("task-created", agent="x=1\\2\n3\r4|5"))
    assert " suser=x\\=1\\\\2\\n3\\r4|5 " in line


def test_control_characters_cannot_break_the_line() -> None:
    header, ext = parse(render("cef", sample("task-created", agent="a\x00b\x1bc\x7f")))
    assert ext["suser"] == "a\ufffdb\ufffdc\ufffd"


def test_long_values_are_cut_to_the_dictionary_length_before_escaping() -> None:
    path = "/" + "=" * 5000
    header, ext = parse(render("cef", sample("http-request", path=path, agent="\\" * 3000)))
    assert ext["request"] == ("https://pypi.org" + path)[: LIMITS["request"]]
    assert ext["suser"] == "\\" * LIMITS["suser"]


def test_ipv6_addresses_go_to_labelled_slots() -> None:
    header, ext = parse(
        render("cef", sample("http-request", client_addr="::1", host="2001:db8::1"))
    )
    assert "src" not in ext and "dst" not in ext
    assert (ext["c6a2"], ext["c6a2Label"]) == ("::1", "sourceAddress")
    assert (ext["c6a3"], ext["c6a3Label"]) == ("2001:db8::1", "destinationAddress")
    assert ext["request"].startswith("https://[2001:db8::1]/")


@pytest.mark.parametrize(("severity", "score"), [("info", "3"), ("warning", "6"), ("high", "8")])
def test_severity_scale(severity: str, score: str) -> None:
    header, _ = parse(render("cef", sample("task-created", severity=severity)))
    assert header[6] == score
