"""Search (agent, task, host, decision, kind, detector, time) and the alerts page."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from gateway.audit.events import EVENT_KINDS
from gateway.control.keys import Principal
from gateway.errors import AirlockError
from gateway.query.auth import tenant_scope
from gateway.query.events_query import EventFilter, parse_time
from gateway.ui import queries
from gateway.ui.guard import Pages, Viewer, ui_context, viewed
from gateway.ui.render import page

PAGE_SIZE = 50


@dataclass(frozen=True)
class SearchForm:
    agent: str = ""
    task_id: str = ""
    host: str = ""
    decision: str = ""
    kind: str = ""
    detector: str = ""
    fingerprint: str = ""
    tenant: str = ""
    from_: str = ""
    to: str = ""
    cursor: str = ""

    def to_filter(self, principal: Principal) -> EventFilter:
        return EventFilter(
            tenant=tenant_scope(principal, self.tenant or None),
            agent=self.agent or None,
            task_id=self.task_id or None,
            host=self.host or None,
            decision=self.decision or None,
            kind=self.kind or None,
            fingerprint=self.fingerprint or None,
            since=parse_time(self.from_, "from") if self.from_ else None,
            until=parse_time(self.to, "to") if self.to else None,
            limit=PAGE_SIZE,
            cursor=self.cursor or None,
        )

    def params(self) -> dict[str, str]:
        """The filled-in fields, as the URL names them."""
        named = {("from" if k == "from_" else k): v for k, v in asdict(self).items()}
        return {k: v for k, v in named.items() if v}


def search_form(
    agent: str = "",
    task_id: str = "",
    host: str = "",
    decision: str = "",
    kind: str = "",
    detector: str = "",
    fingerprint: str = "",
    tenant: str = "",
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    cursor: str = "",
) -> SearchForm:
    fields = (
        agent,
        task_id,
        host,
        decision,
        kind,
        detector,
        fingerprint,
        tenant,
        from_,
        to,
        cursor,
    )
    return SearchForm(*(f.strip() for f in fields))


def add_search_routes(pages: Pages) -> None:
    @pages.get("/search")
    def search_page(
        request: Request,
        session: Viewer,
        q: Annotated[SearchForm, Depends(search_form)],
    ) -> Response:
        ctx = ui_context(request)
        shown: dict[str, Any] = {
            "q": q,
            "kinds": sorted(EVENT_KINDS),
            "active": "search",
            "events": [],
            "next_url": "",
            "detectors": [],
        }
        try:
            event_filter = q.to_filter(session.principal)
        except AirlockError as exc:
            return page(request, "search.html", session, exc.http_status, **shown, error=str(exc))
        viewed(ctx, session, "ui-search", **q.params())
        try:
            events, cursor = queries.search(ctx.deps.store, event_filter, q.detector or None)
        except AirlockError as exc:
            return page(request, "search.html", session, exc.http_status, **shown, error=str(exc))
        next_url = ""
        if cursor:
            next_url = "/ui/search?" + urlencode({**q.params(), "cursor": cursor})
        shown.update(
            events=events,
            next_url=next_url,
            detectors=queries.detectors(ctx.deps.store, event_filter.tenant),
        )
        return page(request, "search.html", session, **shown)

    @pages.get("/alerts")
    def alerts_page(
        request: Request,
        session: Viewer,
        show: str = "open",
    ) -> Response:
        ctx = ui_context(request)
        show = "all" if show == "all" else "open"
        viewed(ctx, session, "ui-alerts", show=show)
        rows = queries.alerts(ctx.deps.store, tenant_scope(session.principal, None))
        open_rows = [r for r in rows if r["resolved"] is None]
        return page(
            request,
            "alerts.html",
            session,
            active="alerts",
            show=show,
            rows=rows if show == "all" else open_rows,
            open_count=len(open_rows),
            total=len(rows),
        )
