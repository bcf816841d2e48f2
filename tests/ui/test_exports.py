"""CSV/JSON export formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from gateway.ui.exports import COLUMNS, filename, to_csv, to_json

EVENT = {
    "ts": "2026-03-02T10:00:00.000000Z",
    "kind": "http-request",
    "agent": "=cmd|' /C calc'!A0",
    "rules": ["a.b", "c.d"],
    "detail": {"note": "x"},
}


def test_csv_has_every_column_and_defuses_formulas() -> None:
    rows = list(csv.reader(io.StringIO(to_csv([EVENT]))))
    assert tuple(rows[0]) == COLUMNS
    row = dict(zip(COLUMNS, rows[1], strict=True))
    assert row["agent"] == "'=cmd|' /C calc'!A0"
    assert row["rules"] == "a.b c.d" and json.loads(row["detail"]) == {"note": "x"}
    assert row["ts"] == EVENT["ts"] and row["status"] == ""


def test_json_says_who_exported_what() -> None:
    doc = json.loads(to_json([EVENT], {"agent": "a"}, "key1", truncated=False))
    assert doc["exported_by"] == "key1" and doc["query"] == {"agent": "a"}
    assert doc["events"] == [EVENT] and doc["truncated"] is False


def test_filenames_are_safe() -> None:
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert filename("x", 'a/../"b c', start, "csv") == "x-a_.._b_c-20260302T100000Z.csv"
    assert filename("x", "///", start, "json") == "x-agent-20260302T100000Z.json"
