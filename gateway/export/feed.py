"""Reading the audit trail through the query API (chDB allows one process per data dir).

:class:`ApiFeed` follows ``/v1/export/feed`` (ingest order, for the live cursor);
:class:`WindowFeed` reads a closed time window from ``/v1/events`` in event-time order
(``airlock export run --from --to``), where no late arrival can matter any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from gateway.audit.events import AuditEvent
from gateway.errors import AirlockError
from gateway.query.events_query import CH_TIME, encode_cursor

NIL_UUID = "00000000-0000-0000-0000-000000000000"
EVENT_FIELDS = frozenset(AuditEvent.model_fields)


class FeedError(AirlockError):
    """The query API could not be read (store restarting, network): try again later."""

    code = "feed_unavailable"


@dataclass
class FeedPage:
    events: list[AuditEvent]
    cursor: str  # resume after this page; "" = the beginning
    cursor_at: datetime | None  # the time the cursor stands at
    more: bool  # a full page: more is waiting
    first_at: datetime | None = None  # the time of the page's first event


class Feed(Protocol):
    def fetch(self, after: str, limit: int) -> FeedPage: ...


def position_at(at: datetime) -> str:
    """A cursor that resumes with everything ingested at or after ``at``."""
    return encode_cursor(at.astimezone(UTC).strftime(CH_TIME), NIL_UUID)


def to_event(shaped: dict[str, Any]) -> AuditEvent:
    """An API event object back into an ``AuditEvent`` (unknown columns dropped)."""
    fields = {k: v for k, v in shaped.items() if k in EVENT_FIELDS}
    fields["detail"] = {str(k): str(v) for k, v in (fields.get("detail") or {}).items()}
    return AuditEvent.model_validate(fields)


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class _ApiReader:
    def __init__(self, api_url: str, api_key: str, timeout: float = 30.0) -> None:
        self._client = httpx.Client(
            base_url=api_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            trust_env=False,
        )

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self._client.get(path, params={k: v for k, v in params.items() if v})
            body: dict[str, Any] = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise FeedError(f"query API unreachable: {type(exc).__name__}: {exc}") from None
        if resp.status_code != 200:
            raise FeedError(f"query API {path}: {body.get('error')}: {body.get('message')}")
        return body

    def close(self) -> None:
        self._client.close()


class ApiFeed(_ApiReader):
    """``/v1/export/feed``: ingest order, rows older than ``settle_ms`` only."""

    def __init__(self, api_url: str, api_key: str, settle_ms: int, timeout: float = 30.0):
        super().__init__(api_url, api_key, timeout)
        self.settle_ms = settle_ms

    def fetch(self, after: str, limit: int) -> FeedPage:
        params = {"after": after, "limit": limit, "settle_ms": str(self.settle_ms)}
        body = self._get("/v1/export/feed", params)
        rows = body["events"]
        return FeedPage(
            events=[to_event(e) for e in rows],
            cursor=body.get("next_cursor") or after,
            cursor_at=_iso(rows[-1]["ingested_at"]) if rows else None,
            more=bool(body.get("more")),
            first_at=_iso(rows[0]["ingested_at"]) if rows else None,
        )


class WindowFeed(_ApiReader):
    """``/v1/events`` ascending over ``[since, until)``: a backfill of a past window."""

    def __init__(self, api_url: str, api_key: str, since: datetime, until: datetime | None) -> None:
        super().__init__(api_url, api_key)
        self.since, self.until = since, until

    def fetch(self, after: str, limit: int) -> FeedPage:
        params = {
            "order": "asc",
            "limit": min(limit, 1000),
            "from": self.since.isoformat(),
            "to": self.until.isoformat() if self.until else None,
            "cursor": after,
        }
        body = self._get("/v1/events", params)
        rows = body["events"]
        last = rows[-1] if rows else None
        return FeedPage(
            events=[to_event(e) for e in rows],
            cursor=encode_cursor(_ch(last["ts"]), last["event_id"]) if last else after,
            cursor_at=_iso(last["ts"]) if last else None,
            more=bool(body.get("next_cursor")),
            first_at=_iso(rows[0]["ts"]) if rows else None,
        )


def _ch(iso: str) -> str:
    return iso.rstrip("Z").replace("T", " ")
