"""Legal holds: windows of the audit trail that retention must never delete.

A hold names a tenant (or ``*``), optionally one agent, and a time range (open
ended while ``end`` is unset). While it is open, the ClickHouse TTL that enforces
retention excludes its rows (gateway/audit/retention.py). Released holds stay
listed, with who released them and when.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from gateway.control.models import Base, utcnow
from gateway.control.tasks import as_utc
from gateway.errors import InvalidRequestError, NotFoundError


class LegalHold(Base):
    __tablename__ = "legal_holds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))  # "*" = every tenant
    agent: Mapped[str] = mapped_column(String(128), default="")  # "" = every agent
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Hold:
    id: str
    tenant: str
    agent: str
    start: datetime
    end: datetime | None
    reason: str
    opened_at: datetime
    released_at: datetime | None

    @property
    def open(self) -> bool:
        return self.released_at is None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "agent": self.agent,
            "from": self.start.isoformat(),
            "to": self.end.isoformat() if self.end else None,
            "reason": self.reason,
            "opened_at": self.opened_at.isoformat(),
            "released_at": self.released_at.isoformat() if self.released_at else None,
        }


def _info(row: LegalHold) -> Hold:
    return Hold(
        row.id,
        row.tenant,
        row.agent,
        as_utc(row.start),
        as_utc(row.end) if row.end else None,
        row.reason,
        as_utc(row.opened_at),
        as_utc(row.released_at) if row.released_at else None,
    )


class HoldService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def open(
        self, tenant: str, agent: str, start: datetime, end: datetime | None, reason: str
    ) -> Hold:
        if end is not None and end < start:
            raise InvalidRequestError("a hold's end is before its start")
        if not reason.strip():
            raise InvalidRequestError("a legal hold needs a reason (the matter it is for)")
        row = LegalHold(
            id=f"hold-{uuid.uuid4().hex[:12]}",
            tenant=tenant,
            agent=agent,
            start=start,
            end=end,
            reason=reason.strip()[:500],
        )
        with self._sessions.begin() as session:
            session.add(row)
        return _info(row)

    def release(self, hold_id: str) -> Hold:
        with self._sessions.begin() as session:
            row = session.get(LegalHold, hold_id)
            if row is None:
                raise NotFoundError(f"no legal hold {hold_id!r}")
            if row.released_at is None:
                row.released_at = utcnow()
            return _info(row)

    def delete(self, hold_id: str) -> None:
        """Undo an ``open`` whose enforcement failed (never for a hold in force)."""
        with self._sessions.begin() as session:
            row = session.get(LegalHold, hold_id)
            if row is not None:
                session.delete(row)

    def list(self, *, open_only: bool = False) -> list[Hold]:
        with self._sessions() as session:
            rows = session.scalars(select(LegalHold).order_by(LegalHold.opened_at)).all()
            holds = [_info(r) for r in rows]
        return [h for h in holds if h.open] if open_only else holds
