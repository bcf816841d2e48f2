"""Reconstruction routes: state at an instant, timelines, one flow in full.

Each answer is recorded as an ``audit-viewed`` event (who looked at what, when),
because what an auditor saw is itself part of the record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel

from gateway.audit.events import AuditEvent
from gateway.audit.store import AuditStore
from gateway.control.keys import Principal
from gateway.errors import NotFoundError
from gateway.query.auth import require, tenant_scope
from gateway.query.events_query import EventFilter, build_query, page, parse_time
from gateway.query.state import StateReader, flow

Recorder = Callable[[AuditEvent], None]


class Timeline(BaseModel):
    events: list[dict[str, Any]]
    next_cursor: str | None


class TimelineWindow:
    """The query parameters both timelines share."""

    def __init__(
        self,
        kind: str | None = None,
        from_: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        order: str = "asc",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> None:
        self.kind, self.order, self.limit, self.cursor = kind, order, limit, cursor
        self.since = parse_time(from_, "from") if from_ else None
        self.until = parse_time(to, "to") if to else None

    def filter(self, **who: str | None) -> EventFilter:
        return EventFilter(
            kind=self.kind,
            since=self.since,
            until=self.until,
            order=self.order,
            limit=self.limit,
            cursor=self.cursor,
            **who,  # type: ignore[arg-type]
        )


def add_state_routes(app: FastAPI, store: AuditStore, record: Recorder | None) -> None:
    reader = StateReader(store)

    def viewed(principal: Principal, what: str, **detail: str) -> None:
        if record is not None:
            record(
                AuditEvent(  # what was read stays in detail: a read is not the agent's action
                    kind="audit-viewed",
                    tenant="" if principal.tenant == "*" else principal.tenant,
                    detail={"what": what, "by": principal.key_id, "role": principal.role, **detail},
                )
            )

    @app.get("/v1/agents/{agent}/state")
    def agent_state(
        agent: str,
        at: str,
        principal: Annotated[Principal, Depends(require("auditor"))],
        tenant: str | None = None,
        around: Annotated[int, Query(ge=0, le=200)] = 10,
    ) -> dict[str, Any]:
        """Tasks, policy, credentials, in-flight requests and alerts of an agent at ``at``."""
        when = parse_time(at, "at")
        state = reader.state_at(agent, when, tenant=tenant_scope(principal, tenant), around=around)
        viewed(principal, "state", agent=agent, at=state["at"])
        return state

    def timeline(principal: Principal, f: EventFilter, what: str, **detail: str) -> Timeline:
        events, cursor = page(store.query(*build_query(f)), f.limit)
        viewed(principal, what, **detail)
        return Timeline(events=events, next_cursor=cursor)

    @app.get("/v1/agents/{agent}/timeline")
    def agent_timeline(
        agent: str,
        principal: Annotated[Principal, Depends(require("auditor"))],
        window: Annotated[TimelineWindow, Depends()],
        tenant: str | None = None,
    ) -> Timeline:
        """Every event of an agent in time order, paginated by cursor."""
        f = window.filter(tenant=tenant_scope(principal, tenant), agent=agent)
        return timeline(principal, f, "agent-timeline", agent=agent)

    @app.get("/v1/tasks/{task_id}/timeline")
    def task_timeline(
        task_id: str,
        principal: Annotated[Principal, Depends(require("auditor"))],
        window: Annotated[TimelineWindow, Depends()],
    ) -> Timeline:
        """Every event of a task in time order, paginated by cursor."""
        f = window.filter(tenant=tenant_scope(principal, None), task_id=task_id)
        return timeline(principal, f, "task-timeline", task_id=task_id)

    @app.get("/v1/flows/{request_id}")
    def flow_detail(
        request_id: str, principal: Annotated[Principal, Depends(require("auditor"))]
    ) -> dict[str, Any]:
        """One request in full: decision, rules, redaction findings, injections, stream end."""
        found = flow(store, request_id, tenant_scope(principal, None))
        if found is None:
            raise NotFoundError(f"no flow {request_id!r}")
        viewed(principal, "flow", request_id=request_id)
        return found
