"""Durable per-sink cursors and dead letters in the control-plane database.

Moves are compare-and-set: an exporter advances a cursor only from the generation it
loaded and only while it holds the sink's lease, so a rewind (``airlock export rewind``)
or a second exporter can never be overwritten by a batch that was in flight. Dead
letters are written in the same transaction as the advance that skips them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.models import ExportCursor, ExportDeadLetter
from gateway.export.sink import Rejected

MAX_PAYLOAD = 64 << 10  # characters of a dead record kept for inspection


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were written as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CursorState:
    sink: str
    position: str
    position_at: datetime | None
    generation: int
    delivered: int
    dead_letters: int
    lag_seconds: float
    last_error: str
    failing_since: datetime | None
    owner: str
    lease_until: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, row: ExportCursor) -> CursorState:
        return cls(
            sink=row.sink,
            position=row.position,
            position_at=_aware(row.position_at),
            generation=row.generation,
            delivered=row.delivered,
            dead_letters=row.dead_letters,
            lag_seconds=row.lag_seconds,
            last_error=row.last_error,
            failing_since=_aware(row.failing_since),
            owner=row.owner,
            lease_until=_aware(row.lease_until),
            updated_at=_aware(row.updated_at) or _now(),
        )


@dataclass(frozen=True)
class DeadLetter:
    sink: str
    event_id: str
    kind: str
    event_ts: datetime
    reason: str
    payload: str
    created_at: datetime


class CursorStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, sink: str, start: tuple[str, datetime | None] = ("", None)) -> CursorState:
        """The sink's cursor, created at ``start`` (position, its time) the first time."""
        with self._sessions.begin() as s:
            row = s.get(ExportCursor, sink)
            if row is None:
                row = ExportCursor(sink=sink, position=start[0], position_at=start[1])
                row.updated_at = _now()
                s.add(row)
                s.flush()
            return CursorState.of(row)

    def all(self) -> list[CursorState]:
        with self._sessions() as s:
            rows = s.scalars(select(ExportCursor).order_by(ExportCursor.sink))
            return [CursorState.of(r) for r in rows]

    def claim(self, sink: str, owner: str, ttl: float) -> bool:
        """Take or renew the sink's lease (``load`` it first); False while another live
        exporter holds it."""
        now = _now()
        with self._sessions.begin() as s:
            result = s.execute(
                update(ExportCursor)
                .where(ExportCursor.sink == sink)
                .where(
                    or_(
                        ExportCursor.owner == owner,
                        ExportCursor.owner == "",
                        ExportCursor.lease_until < now,
                    )
                )
                .values(owner=owner, lease_until=now + timedelta(seconds=ttl))
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(self, sink: str, owner: str) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(ExportCursor)
                .where(ExportCursor.sink == sink, ExportCursor.owner == owner)
                .values(owner="", lease_until=None)
            )

    def advance(
        self,
        state: CursorState,
        owner: str,
        *,
        position: str,
        position_at: datetime | None,
        delivered: int,
        lag_seconds: float,
        rejected: Sequence[Rejected] = (),
    ) -> bool:
        """Move from ``state`` to ``position``; False (nothing written) if rewound or stolen."""
        with self._sessions.begin() as s:
            result = s.execute(
                update(ExportCursor)
                .where(
                    ExportCursor.sink == state.sink,
                    ExportCursor.generation == state.generation,
                    ExportCursor.owner == owner,
                )
                .values(
                    position=position,
                    position_at=position_at,
                    delivered=ExportCursor.delivered + delivered,
                    dead_letters=ExportCursor.dead_letters + len(rejected),
                    lag_seconds=lag_seconds,
                    updated_at=_now(),
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            s.add_all(_dead_letter_row(state.sink, r) for r in rejected)
            return True

    def set_failing(self, sink: str, error: str | None) -> None:
        """Record the sink's current failure (None: it recovered)."""
        with self._sessions.begin() as s:
            row = s.get(ExportCursor, sink)
            if row is None:
                return
            row.last_error = (error or "")[:1000]
            if error is None:
                row.failing_since = None
            elif row.failing_since is None:
                row.failing_since = _now()
            row.updated_at = _now()

    def rewind(self, sink: str, position: str, position_at: datetime | None) -> CursorState:
        """Put the cursor back (or forward) to ``position``; a running exporter follows."""
        with self._sessions.begin() as s:
            row = s.get(ExportCursor, sink)
            if row is None:
                row = ExportCursor(sink=sink)
                s.add(row)
            row.position, row.position_at = position, position_at
            row.generation = (row.generation or 0) + 1
            row.updated_at = _now()
            s.flush()
            return CursorState.of(row)

    def dead_letters(self, sink: str, limit: int = 100) -> list[DeadLetter]:
        with self._sessions() as s:
            rows = s.scalars(
                select(ExportDeadLetter)
                .where(ExportDeadLetter.sink == sink)
                .order_by(ExportDeadLetter.id.desc())
                .limit(limit)
            )
            return [
                DeadLetter(
                    sink=r.sink,
                    event_id=r.event_id,
                    kind=r.kind,
                    event_ts=_aware(r.event_ts) or _now(),
                    reason=r.reason,
                    payload=r.payload,
                    created_at=_aware(r.created_at) or _now(),
                )
                for r in rows
            ]


def _dead_letter_row(sink: str, rejected: Rejected) -> ExportDeadLetter:
    event = rejected.record.event
    return ExportDeadLetter(
        sink=sink,
        event_id=event.event_id,
        kind=event.kind,
        event_ts=event.ts,
        reason=rejected.reason[:1000],
        payload=rejected.record.line[:MAX_PAYLOAD],
        created_at=_now(),
    )


class MemoryCursors:
    """Cursors that live only as long as one command (a window backfill): no lease, no row."""

    def __init__(self) -> None:
        self._states: dict[str, CursorState] = {}

    def load(self, sink: str, start: tuple[str, datetime | None] = ("", None)) -> CursorState:
        if sink not in self._states:
            now = _now()
            self._states[sink] = CursorState(
                sink, start[0], start[1], 0, 0, 0, 0.0, "", None, "", None, now
            )
        return self._states[sink]

    def claim(self, sink: str, owner: str, ttl: float) -> bool:
        return True

    def release(self, sink: str, owner: str) -> None:
        return None

    def set_failing(self, sink: str, error: str | None) -> None:
        return None

    def advance(
        self,
        state: CursorState,
        owner: str,
        *,
        position: str,
        position_at: datetime | None,
        delivered: int,
        lag_seconds: float,
        rejected: Sequence[Rejected] = (),
    ) -> bool:
        self._states[state.sink] = replace(
            state,
            position=position,
            position_at=position_at,
            delivered=state.delivered + delivered,
            dead_letters=state.dead_letters + len(rejected),
        )
        return True
