"""events_query: time parsing, cursors, and parameterised SQL (no value in the SQL text)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.errors import InvalidRequestError
from gateway.query.events_query import (
    MAX_LIMIT,
    EventFilter,
    build_query,
    decode_cursor,
    encode_cursor,
    page,
    parse_time,
)

INJECTION = "x' OR 1=1 --"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# parse_time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11-24T15:14:00Z", datetime(2026, 11, 24, 15, 14, tzinfo=UTC), id="z"),
        pytest.param(
            "2026-11-24T17:14:00+02:00",
            datetime(2026, 11, 24, 15, 14, tzinfo=UTC),
            id="offset",
        ),
        pytest.param("2026-11-24T15:14:00", datetime(2026, 11, 24, 15, 14, tzinfo=UTC), id="naive"),
        pytest.param("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), id="epoch"),
        pytest.param(
            " 1700000000.5 ",
            datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC),
            id="epoch-fraction-padded",
        ),
    ],
)
def test_parse_time_accepts_iso_and_epoch(text: str, expected: datetime) -> None:
    parsed = parse_time(text, "from")
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_parse_time_converts_an_offset_to_utc() -> None:
    parsed = parse_time("2026-11-24T17:14:00+02:00", "from")
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == datetime(2026, 11, 24, 15, 14, tzinfo=UTC)


def test_parse_time_naive_is_utc() -> None:
    assert parse_time("2026-11-24T15:14:00", "to").utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-01", "-5", "1e5", "nan", "9" * 30])
def test_parse_time_rejects_garbage_naming_the_parameter(text: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_time(text, "from")
    assert info.value.code == "invalid_request"
    assert info.value.http_status == 400
    assert "invalid from" in str(info.value)


UUID_1 = "0192f0e6-0000-7000-8000-000000000001"


# cursors ----------------------------------------------------------------------


def test_cursor_round_trip() -> None:
    ts, event_id = "2026-11-24 15:14:00.123456", "0192f0e6-0000-7000-8000-000000000001"
    cursor = encode_cursor(ts, event_id)
    assert "=" not in cursor
    assert decode_cursor(cursor) == (ts, event_id)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("%%%", id="not-base64"),
        pytest.param("a", id="bad-padding"),
        pytest.param(_b64(b"not json"), id="not-json"),
        pytest.param(_b64(b'["2026-11-24 15:14:00.000000"]'), id="one-element"),
        pytest.param(_b64(b"5"), id="not-a-list"),
        pytest.param(_b64(b'["yesterday", "id"]'), id="bad-ts"),
        pytest.param(_b64(b'[1, "id"]'), id="ts-not-string"),
        pytest.param(_b64(b"\xff\xfe"), id="not-utf8"),
    ],
)
def test_decode_cursor_rejects_garbage(cursor: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid cursor"):
        decode_cursor(cursor)


# build_query ------------------------------------------------------------------


def test_no_filter_has_no_where_and_fetches_one_extra_row() -> None:
    sql, params = build_query(EventFilter(limit=10))
    assert "WHERE" not in sql
    assert params == {}
    assert sql.endswith("LIMIT 11")
    assert "ORDER BY ts DESC, event_id DESC" in sql


@pytest.mark.parametrize(
    "column", ["tenant", "agent", "task_id", "host", "decision", "kind", "request_id"]
)
def test_every_filter_value_is_a_bound_parameter(column: str) -> None:
    sql, params = build_query(EventFilter(**{column: INJECTION}))
    assert params == {column: INJECTION}
    assert f"{column} = {{{column}:String}}" in sql
    assert INJECTION not in sql
    assert "1=1" not in sql


def test_cursor_with_injected_event_id_is_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="invalid cursor"):
        decode_cursor(encode_cursor("2026-11-24 15:14:00.000000", INJECTION))


def test_all_filters_together_are_anded_and_bound() -> None:
    cursor = encode_cursor("2026-11-24 15:14:00.000000", UUID_1)
    f = EventFilter(
        tenant=INJECTION,
        agent=INJECTION,
        task_id=INJECTION,
        host=INJECTION,
        decision=INJECTION,
        kind=INJECTION,
        request_id=INJECTION,
        since=datetime(2026, 1, 1, tzinfo=UTC),
        until=datetime(2026, 2, 1, tzinfo=UTC),
        cursor=cursor,
    )
    sql, params = build_query(f)
    assert INJECTION not in sql
    assert params["cid"] == UUID_1
    assert sql.count(" AND ") == 9  # 7 columns + since + until + cursor = 10 conditions


def test_time_bounds_are_converted_to_utc_strings() -> None:
    plus2 = timezone(timedelta(hours=2))
    sql, params = build_query(
        EventFilter(
            since=datetime(2026, 11, 24, 17, 0, tzinfo=plus2),
            until=datetime(2026, 11, 24, 18, 0, 0, 250000, tzinfo=plus2),
        )
    )
    assert params == {
        "since": "2026-11-24 15:00:00.000000",
        "until": "2026-11-24 16:00:00.250000",
    }
    assert "ts >= {since:DateTime64(6, 'UTC')}" in sql
    assert "ts < {until:DateTime64(6, 'UTC')}" in sql


@pytest.mark.parametrize(("order", "op"), [("desc", "<"), ("asc", ">")])
def test_cursor_condition_follows_the_order(order: str, op: str) -> None:
    cursor = encode_cursor("2026-11-24 15:14:00.000000", UUID_1)
    sql, params = build_query(EventFilter(order=order, cursor=cursor))
    assert f"(ts, event_id) {op} (" in sql
    assert params == {"cts": "2026-11-24 15:14:00.000000", "cid": UUID_1}
    assert f"ORDER BY ts {order.upper()}, event_id {order.upper()}" in sql


def test_invalid_cursor_is_rejected_by_build_query() -> None:
    with pytest.raises(InvalidRequestError, match="invalid cursor"):
        build_query(EventFilter(cursor="%%%"))


@pytest.mark.parametrize("order", ["DESC", "random", "asc; DROP TABLE x", ""])
def test_order_must_be_asc_or_desc(order: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid order"):
        build_query(EventFilter(order=order))


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_limit_out_of_range_is_rejected(limit: int) -> None:
    with pytest.raises(InvalidRequestError, match="invalid limit"):
        build_query(EventFilter(limit=limit))


@pytest.mark.parametrize("limit", [1, MAX_LIMIT])
def test_limit_bounds_are_accepted(limit: int) -> None:
    sql, _ = build_query(EventFilter(limit=limit))
    assert sql.endswith(f"LIMIT {limit + 1}")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "2400-01-01T00:00:00Z"])
def test_out_of_range_time_is_an_invalid_request(value: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid from"):
        parse_time(value, "from")


# page -------------------------------------------------------------------------


def _row(i: int) -> dict[str, object]:
    return {
        "event_id": f"0192f0e6-0000-7000-8000-00000000000{i}",
        "ts_raw": f"2026-11-24 15:14:0{i}.000000",
        "detail": json.dumps({"n": str(i)}),
        "spool_stream": "proxy",
        "port": "443",
        "status": "200",
        "bytes_in": "10",
        "bytes_out": "5",
        "schema_version": "1",
    }


def test_page_with_an_extra_row_returns_a_cursor_at_the_last_kept_row() -> None:
    events, cursor = page([_row(i) for i in range(3)], limit=2)
    assert [e["event_id"][-1] for e in events] == ["0", "1"]
    assert cursor is not None
    assert decode_cursor(cursor) == ("2026-11-24 15:14:01.000000", events[1]["event_id"])


def test_page_without_an_extra_row_has_no_cursor() -> None:
    events, cursor = page([_row(i) for i in range(2)], limit=2)
    assert len(events) == 2
    assert cursor is None
    assert page([], limit=5) == ([], None)


def test_page_shapes_events() -> None:
    (event,), _ = page([_row(1)], limit=5)
    assert event["ts"] == "2026-11-24T15:14:01.000000Z"
    assert "ts_raw" not in event
    assert "spool_stream" not in event
    assert event["detail"] == {"n": "1"}
    assert (event["port"], event["status"], event["bytes_in"]) == (443, 200, 10)
    assert (event["bytes_out"], event["schema_version"]) == (5, 1)


def test_page_tolerates_undecodable_detail() -> None:
    row = _row(1) | {"detail": "{not json"}
    (event,), _ = page([row], limit=5)
    assert event["detail"] == {}
