"""``GET /v1/export/feed``: the audit trail in ingest order, for SIEM exporters.

``/v1/events`` pages by event time, but an event can reach ClickHouse long after its
time (a spool backlog after a ClickHouse outage, another gateway catching up), so an
exporter following event time could step past it. This feed pages by
``(ingested_at, event_id)`` instead and only hands out rows ingested at least
``settle_ms`` ago by ClickHouse's own clock, so every insert that was still committing
when the page was read is covered by a later page. A cursor is never skipped past a
row it has not returned.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel

from gateway.audit.schema import EVENTS_TABLE
from gateway.control.keys import Principal
from gateway.query.auth import require
from gateway.query.events_query import EVENT_FIELDS, decode_cursor, encode_cursor, shape_event

FEED_ROUTE = "/v1/export/feed"


class FeedPage(BaseModel):
    events: list[dict[str, Any]]
    next_cursor: str | None
    more: bool


def feed_query(
    tenant: str | None, after: str | None, limit: int, settle_ms: int
) -> tuple[str, dict[str, Any]]:
    where = ["ingested_at <= now64(3) - toIntervalMillisecond({settle:UInt32})"]
    params: dict[str, Any] = {"settle": settle_ms}
    if tenant is not None:
        where.append("tenant = {tenant:String}")
        params["tenant"] = tenant
    if after:
        at, event_id = decode_cursor(after)
        where.append("(ingested_at, event_id) > ({cat:DateTime64(3, 'UTC')}, toUUID({cid:String}))")
        params["cat"], params["cid"] = at, event_id
    sql = (
        f"SELECT {EVENT_FIELDS}, "
        "formatDateTime(ingested_at, '%Y-%m-%d %H:%i:%S.%f') AS ingested_raw "
        f"FROM {EVENTS_TABLE} WHERE {' AND '.join(where)} "
        f"ORDER BY ingested_at ASC, event_id ASC LIMIT {limit + 1}"
    )
    return sql, params


def feed_page(rows: list[dict[str, Any]], after: str | None, limit: int) -> FeedPage:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1]["ingested_raw"], rows[-1]["event_id"]) if rows else after
    events = []
    for row in rows:
        ingested = row.pop("ingested_raw")
        event = shape_event(row)
        event["ingested_at"] = ingested.replace(" ", "T") + "Z"
        events.append(event)
    return FeedPage(events=events, next_cursor=cursor, more=more)


def add_feed_route(app: FastAPI) -> None:
    from gateway.query.app import tenant_scope  # the app module imports this one

    @app.get(FEED_ROUTE)
    def export_feed(
        principal: Annotated[Principal, Depends(require("auditor"))],
        after: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
        settle_ms: Annotated[int, Query(ge=0, le=600000)] = 2000,
        tenant: str | None = None,
    ) -> FeedPage:
        """Events in ingest order after ``after``; ``next_cursor`` resumes after this page."""
        scope = tenant_scope(principal, tenant)
        sql, params = feed_query(scope, after, limit, settle_ms)
        return feed_page(app.state.deps.store.query(sql, params), after, limit)
