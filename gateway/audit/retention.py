"""Retention as a ClickHouse TTL that never deletes inside an open legal hold.

``airlock_events`` gets ``TTL toDateTime(ts) + N days DELETE WHERE NOT (<holds>)``:
ClickHouse removes expired rows itself, at merge time, except rows that match an
open hold. The TTL is rewritten whenever the set of open holds changes (and at
start-up), before the hold is reported open; released holds drop out of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.audit.events import AuditEvent
from gateway.audit.schema import Layout
from gateway.audit.store import AuditStore
from gateway.control.holds import Hold, HoldService


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _utc(value: datetime) -> str:
    """ClickHouse literal of an instant, whatever zone the control plane returned it in."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def hold_condition(hold: Hold) -> str:
    parts = [f"ts >= toDateTime64({literal(_utc(hold.start))}, 6, 'UTC')"]
    if hold.end is not None:
        end = _utc(hold.end)
        parts.append(f"ts <= toDateTime64({literal(end)}, 6, 'UTC')")
    if hold.tenant != "*":
        parts.append(f"tenant = {literal(hold.tenant)}")
    if hold.agent:
        parts.append(f"agent = {literal(hold.agent)}")
    return "(" + " AND ".join(parts) + ")"


def ttl_statement(layout: Layout, days: int, holds: list[Hold]) -> str | None:
    """The ALTER that enforces ``days`` of retention around ``holds`` (None: keep all)."""
    if days <= 0:
        return None
    on_cluster = f" ON CLUSTER '{layout.cluster}'" if layout.cluster else ""
    ttl = f"toDateTime(ts) + toIntervalDay({int(days)}) DELETE"
    held = [hold_condition(h) for h in holds if h.open]
    if held:
        ttl += " WHERE NOT (" + " OR ".join(held) + ")"
    return f"ALTER TABLE {layout.local}{on_cluster} MODIFY TTL {ttl}"


def has_ttl(store: AuditStore, layout: Layout) -> bool:
    rows = store.query(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() "
        "AND name = {t:String}",
        {"t": layout.local},
    )
    return bool(rows) and " TTL " in str(rows[0]["engine_full"])


def apply_retention(store: AuditStore, layout: Layout, days: int, holds: list[Hold]) -> str:
    """Make the table's TTL match ``days`` and the open ``holds``; returns what was done."""
    statement = ttl_statement(layout, days, holds)
    if statement is not None:
        store.execute(statement)
        return statement
    if has_ttl(store, layout):
        on_cluster = f" ON CLUSTER '{layout.cluster}'" if layout.cluster else ""
        store.execute(f"ALTER TABLE {layout.local}{on_cluster} REMOVE TTL")
        return "REMOVE TTL"
    return ""


class RetentionManager:
    """Opens and releases holds so that the TTL is rewritten before the caller hears back."""

    def __init__(
        self,
        store: AuditStore,
        layout: Layout,
        days: int,
        holds: HoldService,
        record: Callable[[AuditEvent], None],
        gateway_id: str = "",
    ) -> None:
        self._gateway_id = gateway_id
        self._store = store
        self._layout = layout
        self._days = days
        self._holds = holds
        self._record = record
        self._lock = threading.Lock()

    def sync(self) -> str:
        with self._lock:
            return apply_retention(
                self._store, self._layout, self._days, self._holds.list(open_only=True)
            )

    def open(
        self, tenant: str, agent: str, start: datetime, end: datetime | None, reason: str, by: str
    ) -> Hold:
        """Saved, enforced in the TTL, recorded; if the TTL cannot be changed the hold is
        not kept (a listed hold that is not enforced would be worse than an error)."""
        hold = self._holds.open(tenant, agent, start, end, reason)
        try:
            self.sync()
        except BaseException:
            self._holds.delete(hold.id)
            raise
        self._record(self._event("legal-hold-opened", hold, by))
        return hold

    def release(self, hold_id: str, by: str) -> Hold:
        """The TTL drops the hold first; only then is it marked released (a failed
        rewrite leaves it open, protected and retryable)."""
        held = self._holds.list(open_only=True)
        if not any(h.id == hold_id for h in held):
            return self._holds.release(hold_id)  # unknown (raises) or already released
        with self._lock:
            rest = [h for h in held if h.id != hold_id]
            apply_retention(self._store, self._layout, self._days, rest)
        hold = self._holds.release(hold_id)
        self._record(self._event("legal-hold-released", hold, by))
        return hold

    def list(self) -> list[Hold]:
        return self._holds.list()

    def _event(self, kind: str, hold: Hold, by: str) -> AuditEvent:
        detail = {k: v or "" for k, v in hold.as_dict().items()}
        return AuditEvent(
            kind=kind,
            tenant="" if hold.tenant == "*" else hold.tenant,
            agent=hold.agent,
            gateway_id=self._gateway_id,
            detail={**detail, "by": by},
        )
