"""Export file formats: events as CSV or JSON, and safe download names."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

COLUMNS = (
    "ts",
    "event_id",
    "kind",
    "code",
    "severity",
    "tenant",
    "agent",
    "task_id",
    "request_id",
    "method",
    "scheme",
    "host",
    "port",
    "path",
    "query",
    "status",
    "decision",
    "rules",
    "reasons",
    "policy_revision",
    "bytes_in",
    "bytes_out",
    "duration_ms",
    "gateway_id",
    "stream",
    "seq",
    "hash",
    "detail",
)
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # would run as a formula in a spreadsheet
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        text = " ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA) else text


def to_csv(events: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for event in events:
        writer.writerow([cell(event.get(column)) for column in COLUMNS])
    return out.getvalue()


def to_json(events: list[dict[str, Any]], query: dict[str, Any], by: str, truncated: bool) -> bytes:
    document = {
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": by,
        "query": query,
        "truncated": truncated,
        "events": events,
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def filename(prefix: str, agent: str, start: datetime, suffix: str) -> str:
    name = UNSAFE.sub("_", agent).strip("_") or "agent"
    return f"{prefix}-{name[:60]}-{start.astimezone(UTC):%Y%m%dT%H%M%SZ}.{suffix}"
