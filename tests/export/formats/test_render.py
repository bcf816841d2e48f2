"""``render``: the one entry point every exporter calls."""

from __future__ import annotations

import pytest

from gateway.audit.events import EVENT_KINDS
from gateway.errors import InvalidRequestError
from gateway.export.formats import FORMAT_NAMES, RENDERERS, render
from tests.export.samples import sample


def test_format_names_are_the_contract() -> None:
    assert FORMAT_NAMES == ("ocsf", "cef", "leef", "ecs", "hec")
    assert set(RENDERERS) == set(FORMAT_NAMES)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_one_line_per_event_whatever_the_values(fmt: str, kind: str) -> None:
    line = render(fmt, sample(kind, agent="a\nb\r\nc", path="/x\ny", detail={"e": "1\n2"}))
    assert line and "\n" not in line and "\r" not in line


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_kind_added_later_renders(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EVENT_KINDS, "quota-exceeded", ("AL9999", "warning", "Over quota."))
    assert "quota-exceeded" in render(fmt, sample("quota-exceeded"))


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="unknown export format 'xml'"):
        render("xml", sample("http-request"))
