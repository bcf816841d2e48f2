"""Tasks: the unit of identity. A task token is shown once and stored hashed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.models import Agent, Task, Tenant, utcnow
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.ids import hash_token, new_task_id, new_token, token_matches

_TTL = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_TTL = timedelta(days=30)


def parse_ttl(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``7d`` → timedelta (at most 30 days)."""
    match = _TTL.fullmatch(text.strip())
    if not match:
        raise InvalidRequestError(f"invalid ttl {text!r}: use a number and s, m, h or d, e.g. 2h")
    seconds = int(match[1]) * _UNITS[match[2]]
    if not 0 < seconds <= MAX_TTL.total_seconds():
        raise InvalidRequestError(f"invalid ttl {text!r}: must be between 1s and 30d")
    return timedelta(seconds=seconds)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_name(kind: str, value: str) -> str:
    if not _NAME.fullmatch(value):
        raise InvalidRequestError(
            f"invalid {kind} name {value!r}: letters, digits, '.', '_' and '-', up to 128"
        )
    return value


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    tenant: str
    agent: str
    profile: str
    status: str  # active | killed | expired
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None

    def effective_status(self, now: datetime | None = None) -> str:
        if self.status != "active":
            return self.status
        return "expired" if (now or utcnow()) >= self.expires_at else "active"

    def as_dict(self) -> dict[str, object]:
        return {
            "task_id": self.task_id,
            "tenant": self.tenant,
            "agent": self.agent,
            "profile": self.profile,
            "status": self.effective_status(),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }


def _info(row: Task) -> TaskInfo:
    return TaskInfo(
        task_id=row.id,
        tenant=row.tenant,
        agent=row.agent,
        profile=row.profile,
        status=row.status,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        ended_at=as_utc(row.ended_at) if row.ended_at else None,
    )


class TaskService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self, *, agent: str, profile: str, ttl: timedelta, tenant: str = "default"
    ) -> tuple[TaskInfo, str]:
        """Create a task; returns its info and the one-time plaintext token."""
        check_name("agent", agent)
        check_name("profile", profile)
        check_name("tenant", tenant)
        token = new_token()
        now = utcnow()
        with self._sessions.begin() as db:
            if db.get(Tenant, tenant) is None:
                db.add(Tenant(name=tenant))
                db.flush()
            known = db.scalar(select(Agent).where(Agent.tenant == tenant, Agent.name == agent))
            if known is None:
                db.add(Agent(tenant=tenant, name=agent))
            row = Task(
                id=new_task_id(),
                tenant=tenant,
                agent=agent,
                profile=profile,
                status="active",
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + ttl,
            )
            db.add(row)
            db.flush()
            return _info(row), token

    def get(self, task_id: str) -> TaskInfo:
        with self._sessions() as db:
            row = db.get(Task, task_id)
            if row is None:
                raise NotFoundError(f"no task {task_id!r}")
            return _info(row)

    def list(self, *, tenant: str | None = None, limit: int = 200) -> list[TaskInfo]:
        with self._sessions() as db:
            query = select(Task).order_by(Task.created_at.desc()).limit(limit)
            if tenant:
                query = query.where(Task.tenant == tenant)
            return [_info(r) for r in db.scalars(query)]

    def kill(self, task_id: str) -> TaskInfo:
        with self._sessions.begin() as db:
            row = db.get(Task, task_id)
            if row is None:
                raise NotFoundError(f"no task {task_id!r}")
            if row.status == "active":
                row.status = "killed"
                row.ended_at = utcnow()
            return _info(row)

    def authenticate(self, task_id: str, token: str) -> TaskInfo | None:
        """The task if ``token`` is its token (whatever its status), else None."""
        with self._sessions() as db:
            row = db.get(Task, task_id)
            if row is None or not token_matches(token, row.token_hash):
                return None
            return _info(row)
