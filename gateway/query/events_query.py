"""Filters → parameterised ClickHouse SQL with keyset (cursor) pagination."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.audit.schema import EVENTS_TABLE
from gateway.errors import InvalidRequestError

MAX_LIMIT = 1000
FINGERPRINT = re.compile(r"[0-9a-fA-F]{8,16}")
MIN_TIME = datetime(1900, 1, 1, tzinfo=UTC)  # ClickHouse DateTime64 range
MAX_TIME = datetime(2299, 12, 31, tzinfo=UTC)
CH_TIME = "%Y-%m-%d %H:%M:%S.%f"
# The columns of an event row as the API returns it (``shape_event`` turns ts_raw into ts).
EVENT_FIELDS = "* EXCEPT (ingested_at), formatDateTime(ts, '%Y-%m-%d %H:%i:%S.%f') AS ts_raw"


def parse_time(value: str, name: str) -> datetime:
    """ISO 8601 (``2026-11-24T15:14:00Z``) or epoch seconds, as UTC within 1900-2299."""
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            parsed = datetime.fromtimestamp(float(text), UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidRequestError(
            f"invalid {name} {value!r}: use ISO 8601 or epoch seconds"
        ) from None
    if not MIN_TIME <= parsed < MAX_TIME:
        raise InvalidRequestError(f"invalid {name} {value!r}: outside 1900-2299")
    return parsed


def encode_cursor(ts: str, event_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([ts, event_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        ts, event_id = json.loads(base64.urlsafe_b64decode(padded))
        datetime.strptime(ts, CH_TIME)
        return str(ts), str(uuid.UUID(str(event_id)))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequestError("invalid cursor") from None


@dataclass(frozen=True)
class EventFilter:
    tenant: str | None = None  # None = every tenant (admin scope "*")
    agent: str | None = None
    task_id: str | None = None
    host: str | None = None
    decision: str | None = None
    kind: str | None = None
    request_id: str | None = None
    fingerprint: str | None = None  # secret fingerprint (or an 8+ hex prefix of one)
    fingerprints: tuple[str, ...] = ()  # any of these exact fingerprints
    credential: str | None = None  # detail.credential (injections, misuse)
    kinds: tuple[str, ...] = ()  # any of these kinds
    since: datetime | None = None
    until: datetime | None = None
    order: str = "desc"
    limit: int = 100
    cursor: str | None = None


def build_query(f: EventFilter) -> tuple[str, dict[str, Any]]:
    if f.order not in ("asc", "desc"):
        raise InvalidRequestError(f"invalid order {f.order!r}: asc or desc")
    if not 1 <= f.limit <= MAX_LIMIT:
        raise InvalidRequestError(f"invalid limit {f.limit}: between 1 and {MAX_LIMIT}")
    where: list[str] = []
    params: dict[str, Any] = {}
    for column in ("tenant", "agent", "task_id", "host", "decision", "kind", "request_id"):
        value = getattr(f, column)
        if value is not None:
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    if f.fingerprint is not None:
        if not FINGERPRINT.fullmatch(f.fingerprint):
            raise InvalidRequestError(f"invalid fingerprint {f.fingerprint!r}: 8 to 16 hex digits")
        where.append("startsWith(JSONExtractString(detail, 'fingerprint'), {fingerprint:String})")
        params["fingerprint"] = f.fingerprint.lower()
    if f.fingerprints:
        where.append("JSONExtractString(detail, 'fingerprint') IN {fps:Array(String)}")
        params["fps"] = list(f.fingerprints)
    if f.credential is not None:
        where.append("JSONExtractString(detail, 'credential') = {credential:String}")
        params["credential"] = f.credential
    if f.kinds:
        where.append("kind IN {kinds:Array(String)}")
        params["kinds"] = list(f.kinds)
    if f.since is not None:
        where.append("ts >= {since:DateTime64(6, 'UTC')}")
        params["since"] = f.since.astimezone(UTC).strftime(CH_TIME)
    if f.until is not None:
        where.append("ts < {until:DateTime64(6, 'UTC')}")
        params["until"] = f.until.astimezone(UTC).strftime(CH_TIME)
    if f.cursor:
        ts, event_id = decode_cursor(f.cursor)
        op = "<" if f.order == "desc" else ">"
        where.append(f"(ts, event_id) {op} ({{cts:DateTime64(6, 'UTC')}}, toUUID({{cid:String}}))")
        params["cts"], params["cid"] = ts, event_id
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    direction = "DESC" if f.order == "desc" else "ASC"
    sql = (
        f"SELECT {EVENT_FIELDS} FROM {EVENTS_TABLE} {clause} "
        f"ORDER BY ts {direction}, event_id {direction} LIMIT {f.limit + 1}"
    )
    return sql, params


def shape_event(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row → the API's event object (ISO timestamps, parsed detail)."""
    out = dict(row)
    raw = out.pop("ts_raw")
    out["ts"] = raw.replace(" ", "T") + "Z"
    out.pop("spool_stream", None)
    try:
        out["detail"] = json.loads(out.get("detail") or "{}")
    except ValueError:
        out["detail"] = {}
    for key in ("port", "status", "bytes_in", "bytes_out", "schema_version"):
        out[key] = int(out.get(key, 0))
    return out


def page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1]["ts_raw"], rows[-1]["event_id"]) if more and rows else None
    return [shape_event(r) for r in rows], cursor
