"""An agent's timeline with the time-travel control, and one flow in full."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from gateway.errors import AirlockError
from gateway.query.auth import tenant_scope
from gateway.query.events_query import EventFilter, build_query, page, parse_time
from gateway.query.state import TASK_KINDS, flow
from gateway.ui import queries
from gateway.ui.guard import Auditor, Pages, UiContext, ui_context, viewed
from gateway.ui.render import error_page
from gateway.ui.render import page as render
from gateway.ui.sessions import UiSession

AROUND = 20  # actions shown each side of the instant
FETCH = 60  # fetched each side, before views of the trail itself are left out
TICK_KINDS = (*TASK_KINDS, "grant-created", "credential-injected", "alert-raised")
EDGE_MS = 1000  # the slider reaches a second before the first and after the last action


def to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def iso_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Slider:
    min: int
    max: int
    value: int
    input: str  # ISO 8601 to the millisecond, UTC
    min_label: str
    max_label: str
    ticks: list[int]


def slider(span: queries.Span, at: datetime, ticks: list[int]) -> Slider:
    low = to_ms(parse_time(span.first, "first")) - EDGE_MS
    high = to_ms(parse_time(span.last, "last")) + EDGE_MS

    def label(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")

    return Slider(
        min=low,
        max=high,
        value=min(max(to_ms(at), low), high),
        input=at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        min_label=label(low),
        max_label=label(high),
        ticks=ticks,
    )


def ticks(ctx: UiContext, agent: str, tenant: str | None) -> list[int]:
    f = EventFilter(tenant=tenant, agent=agent, kinds=TICK_KINDS, order="asc", limit=200)
    events, _ = page(ctx.deps.store.query(*build_query(f)), f.limit)
    return sorted({to_ms(parse_time(e["ts"], "ts")) for e in events})


def state_view(ctx: UiContext, agent: str, at: datetime, tenant: str | None) -> dict[str, Any]:
    state = ctx.reader.state_at(agent, at, tenant=tenant, around=FETCH)
    before = queries.actions(state["before"])[:AROUND]
    return {
        "state": state,
        "before": list(reversed(before)),
        "after": queries.actions(state["after"])[:AROUND],
    }


def agent_response(
    request: Request, session: UiSession, agent: str, at: str, tenant: str, fragment: bool
) -> Response:
    ctx = ui_context(request)
    try:
        scope = tenant_scope(session.principal, tenant or None)
        instant = parse_time(at, "at") if at else None
    except AirlockError as exc:
        return error_page(request, session, exc.http_status, "Cannot show this agent", str(exc))
    span = queries.agent_span(ctx.deps.store, agent, scope)
    if instant is None:
        instant = parse_time(span.last, "at") if span else datetime.now(UTC)
    viewed(ctx, session, "ui-state", agent=agent, at=iso_z(instant), tenant=tenant)
    if span is None:
        message = f"No recorded actions of agent {agent!r} in your tenant scope."
        return error_page(request, session, 404, "No such agent", message)
    shown = state_view(ctx, agent, instant, scope)
    if fragment:
        return render(request, "_state.html", session, **shown)
    marks = ticks(ctx, agent, scope)
    bar = slider(span, instant, marks)
    return render(
        request, "agent.html", session, **shown, agent=agent, span=span, slider=bar, tenant=tenant
    )


def add_agent_routes(pages: Pages) -> None:
    @pages.get("/agents/{agent}")
    def agent_page(
        request: Request,
        agent: str,
        session: Auditor,
        at: str = "",
        tenant: str = "",
    ) -> Response:
        return agent_response(request, session, agent, at.strip(), tenant.strip(), False)

    @pages.get("/agents/{agent}/state")
    def agent_state(
        request: Request,
        agent: str,
        session: Auditor,
        at: str = "",
        tenant: str = "",
    ) -> Response:
        """The state panel alone, for the time-travel control to swap in."""
        return agent_response(request, session, agent, at.strip(), tenant.strip(), True)

    @pages.get("/flows/{request_id}")
    def flow_page(request: Request, request_id: str, session: Auditor) -> Response:
        ctx = ui_context(request)
        viewed(ctx, session, "ui-flow", request_id=request_id)
        found = flow(ctx.deps.store, request_id, tenant_scope(session.principal, None))
        if found is None:
            message = f"No flow {request_id!r} in your tenant scope."
            return error_page(request, session, 404, "No such flow", message)
        end = next((e for e in found["events"] if e["kind"] == "http-stream-end"), None)
        return render(request, "flow.html", session, flow=found, stream_end=end)
