"""Ambiguous request framing is refused (request smuggling)."""

from __future__ import annotations

import pytest

from gateway.egress.framing import framing_problem


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ([("X-A", "a\r\n b")], "line break"),  # obs-fold, as mitmproxy keeps it
        ([("X-A", "a\nb")], "line break"),
        ([("X-A", "a\x00b")], "NUL"),
        ([("Host", "a.example"), ("host", "a.example")], "more than one Host"),
        ([("Content-Length", "4"), ("Transfer-Encoding", "chunked")], "both"),
        ([("Content-Length", "4"), ("content-length", "4")], "repeated"),
        ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], "repeated"),
    ],
)
def test_ambiguous_framing(headers: list[tuple[str, str]], problem: str) -> None:
    found = framing_problem(headers)
    assert found is not None and problem in found


def test_ordinary_requests_pass() -> None:
    assert framing_problem([("Host", "a.example"), ("Content-Length", "12")]) is None
    assert framing_problem([("Host", "a.example"), ("Transfer-Encoding", "chunked")]) is None
    assert framing_problem([]) is None
