"""Operator-registered known secrets: the redaction engine catches them in any form.

Values are sealed with the vault (AES-GCM); only names and fingerprints are ever
listed or printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.models import KnownSecret, utcnow
from gateway.control.tasks import as_utc, check_name
from gateway.control.vault import Vault
from gateway.errors import InvalidRequestError, NotFoundError

MIN_LENGTH = 8


@dataclass(frozen=True)
class KnownInfo:
    name: str
    fingerprint: str
    updated_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "updated_at": self.updated_at.isoformat(),
        }


class KnownSecretService:
    def __init__(self, sessions: sessionmaker[Session], vault: Vault) -> None:
        self._sessions = sessions
        self._vault = vault

    def register(self, name: str, value: str, fingerprint: str) -> KnownInfo:
        """Add or replace (rotate) a value; the caller computes the fingerprint."""
        check_name("secret", name)
        if len(value.encode()) < MIN_LENGTH:
            raise InvalidRequestError(f"secret {name!r} is shorter than {MIN_LENGTH} bytes")
        sealed = self._vault.seal(name, value.encode())
        with self._sessions.begin() as db:
            row = db.get(KnownSecret, name)
            if row is None:
                row = KnownSecret(name=name, sealed=sealed, fingerprint=fingerprint)
                db.add(row)
            else:
                row.sealed, row.fingerprint, row.updated_at = sealed, fingerprint, utcnow()
            db.flush()
            return KnownInfo(name, fingerprint, as_utc(row.updated_at or utcnow()))

    def names(self) -> list[KnownInfo]:
        with self._sessions() as db:
            rows = db.scalars(select(KnownSecret).order_by(KnownSecret.name))
            return [KnownInfo(r.name, r.fingerprint, as_utc(r.updated_at)) for r in rows]

    def remove(self, name: str) -> None:
        with self._sessions.begin() as db:
            row = db.get(KnownSecret, name)
            if row is None:
                raise NotFoundError(f"no known secret {name!r}")
            db.delete(row)

    def values(self) -> list[tuple[str, str]]:
        """(name, plaintext) of every known secret: for the proxy's engine only."""
        with self._sessions() as db:
            rows = list(db.scalars(select(KnownSecret)))
            return [(r.name, self._vault.open(r.name, r.sealed).decode()) for r in rows]
