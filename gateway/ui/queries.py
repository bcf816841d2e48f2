"""The few reads the UI needs beyond the query API's: a detector filter, an agent's
time span, alerts paired with their resolution, and whole exports.

All of them take the tenant scope from ``gateway.query.auth.tenant_scope``
(``None`` = every tenant), exactly as the API routes do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.store import AuditStore
from gateway.query.events_query import EventFilter, build_query, page
from gateway.query.state import ALERT_KINDS

NOT_ACTIONS = ("audit-viewed", "audit-checkpoint")  # about the trail, not about the agent
EXPORT_CAP = 100_000
DETECTOR = "JSONExtractString(detail, 'detector') = {detector:String} AND "


def search(
    store: AuditStore, f: EventFilter, detector: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """``GET /v1/events`` plus a detector filter (which implies ``secret-finding`` events)."""
    if not detector:
        return page(store.query(*build_query(f)), f.limit)
    sql, params = build_query(replace(f, kind="secret-finding"))
    anchor = f"FROM {EVENTS_TABLE} WHERE "  # present: the kind filter is always set here
    sql = sql.replace(anchor, anchor + DETECTOR, 1)
    return page(store.query(sql, {**params, "detector": detector}), f.limit)


def _scope(tenant: str | None) -> tuple[str, dict[str, Any]]:
    return (" AND tenant = {tenant:String}", {"tenant": tenant}) if tenant else ("", {})


@dataclass(frozen=True)
class Span:
    first: str  # ISO, UTC
    last: str
    events: int


def agent_span(store: AuditStore, agent: str, tenant: str | None) -> Span | None:
    """When an agent's recorded actions begin and end (None: nothing in scope)."""
    scope, params = _scope(tenant)
    fmt = "'%Y-%m-%dT%H:%i:%S.%fZ'"
    rows = store.query(
        f"SELECT count() AS n, formatDateTime(min(ts), {fmt}) AS first, "
        f"formatDateTime(max(ts), {fmt}) AS last FROM {EVENTS_TABLE} "
        f"WHERE agent = {{agent:String}} AND kind NOT IN {{quiet:Array(String)}}{scope}",
        {**params, "agent": agent, "quiet": list(NOT_ACTIONS)},
    )
    if not rows or not int(rows[0]["n"]):
        return None
    return Span(first=rows[0]["first"], last=rows[0]["last"], events=int(rows[0]["n"]))


def detectors(store: AuditStore, tenant: str | None) -> list[str]:
    """Detector names seen in findings in scope, for the search form's suggestions."""
    scope, params = _scope(tenant)
    rows = store.query(
        f"SELECT DISTINCT JSONExtractString(detail, 'detector') AS d FROM {EVENTS_TABLE} "
        f"WHERE kind = 'secret-finding'{scope} ORDER BY d LIMIT 200",
        params,
    )
    return [str(r["d"]) for r in rows if r["d"]]


def alerts(store: AuditStore, tenant: str | None, limit: int = 1000) -> list[dict[str, Any]]:
    """Raised alerts, newest first, each with the event that resolved it (if any)."""
    f = EventFilter(tenant=tenant, kinds=ALERT_KINDS, order="desc", limit=limit)
    events, _ = page(store.query(*build_query(f)), limit)
    resolved: dict[str, dict[str, Any]] = {}
    out = []
    for event in events:  # newest first: a resolution is seen before what it resolves
        alert_id = event["detail"].get("alert_id", event["event_id"])
        if event["kind"] == "alert-resolved":
            resolved.setdefault(alert_id, event)
        else:
            out.append({"raised": event, "resolved": resolved.get(alert_id), "id": alert_id})
    return out


def export_events(store: AuditStore, f: EventFilter) -> tuple[list[dict[str, Any]], bool]:
    """Every event matching ``f`` in time order (at most ``EXPORT_CAP``; True if cut)."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        batch = replace(f, order="asc", limit=1000, cursor=cursor)
        sql, params = build_query(batch)
        events, cursor = page(store.query(sql, params), 1000)
        out += events
        if not cursor:
            return out, False
        if len(out) >= EXPORT_CAP:
            return out[:EXPORT_CAP], True


def actions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] not in NOT_ACTIONS]
