"""Sandboxes: the source addresses transparent mode knows, each mapped to one task.

A registration names one IP address and the task whose traffic comes from it. At
most one registration per address is open at a time (a partial unique index holds
this in the database too); removing it keeps the row, with ``removed_at``, so the
audit trail can still be read against it. Addresses are stored canonical
(``ipaddress``; an IPv4-mapped IPv6 address is stored as the IPv4 address).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from gateway.control.models import Base, Task, utcnow
from gateway.control.tasks import TaskInfo, as_utc, check_name
from gateway.errors import InvalidRequestError, NotFoundError


class Sandbox(Base):
    __tablename__ = "sandboxes"
    __table_args__ = (
        Index(
            "ix_sandboxes_open_address",
            "address",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class SandboxInfo:
    address: str
    task_id: str
    name: str
    created_at: datetime
    removed_at: datetime | None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "address": self.address,
            "task_id": self.task_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "removed_at": self.removed_at.isoformat() if self.removed_at else None,
        }


def canonical_address(text: str) -> str:
    """``10.200.1.2`` → itself; ``::ffff:10.200.1.2`` → ``10.200.1.2``; else InvalidRequest."""
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise InvalidRequestError(
            f"invalid sandbox address {text!r}: give one IPv4 or IPv6 address"
        ) from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    if addr.is_unspecified or addr.is_multicast:
        raise InvalidRequestError(f"invalid sandbox address {text!r}: not a host address")
    return str(addr)


def _info(row: Sandbox) -> SandboxInfo:
    return SandboxInfo(
        address=row.address,
        task_id=row.task_id,
        name=row.name,
        created_at=as_utc(row.created_at),
        removed_at=as_utc(row.removed_at) if row.removed_at else None,
    )


def _open(db: Session, address: str) -> Sandbox | None:
    query = select(Sandbox).where(Sandbox.address == address, Sandbox.removed_at.is_(None))
    return db.scalar(query)


class SandboxService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def register(self, address: str, task: TaskInfo, name: str = "") -> SandboxInfo:
        """Map ``address`` to ``task``; refused if the address is taken or the task ended."""
        address = canonical_address(address)
        if name:
            check_name("sandbox", name)
        status = task.effective_status()
        if status != "active":
            raise InvalidRequestError(f"task {task.task_id} is {status}")
        try:
            with self._sessions.begin() as db:
                if db.get(Task, task.task_id) is None:
                    raise NotFoundError(f"no task {task.task_id!r}")
                taken = _open(db, address)
                if taken is not None:
                    raise InvalidRequestError(
                        f"address {address} is already registered to task {taken.task_id}; "
                        "remove it first"
                    )
                row = Sandbox(address=address, task_id=task.task_id, name=name)
                db.add(row)
                db.flush()
                return _info(row)
        except IntegrityError:  # a concurrent registration won the race
            raise InvalidRequestError(f"address {address} is already registered") from None

    def remove(self, address: str) -> SandboxInfo:
        address = canonical_address(address)
        with self._sessions.begin() as db:
            row = _open(db, address)
            if row is None:
                raise NotFoundError(f"no sandbox registered at {address}")
            row.removed_at = utcnow()
            return _info(row)

    def lookup(self, address: str) -> SandboxInfo | None:
        """The open registration for ``address``, if any (unparseable → None)."""
        try:
            address = canonical_address(address)
        except InvalidRequestError:
            return None
        with self._sessions() as db:
            row = _open(db, address)
            return _info(row) if row else None

    def list(self, *, include_removed: bool = False, limit: int = 500) -> list[SandboxInfo]:
        with self._sessions() as db:
            query = select(Sandbox).order_by(Sandbox.created_at.desc()).limit(limit)
            if not include_removed:
                query = query.where(Sandbox.removed_at.is_(None))
            return [_info(r) for r in db.scalars(query)]
