"""The credential store: metadata, sealed versions, and per-task grants."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.models import Credential, CredentialVersion, Grant, utcnow
from gateway.control.tasks import as_utc, check_name
from gateway.control.vault import Vault
from gateway.credentials.placeholder import make_aws_placeholders, make_placeholder
from gateway.errors import InvalidRequestError, NotFoundError

KINDS = ("bearer", "basic", "header", "aws", "raw")


@dataclass(frozen=True)
class CredentialInfo:
    name: str
    kind: str
    hosts: tuple[str, ...]
    env_var: str
    header_name: str
    version: int
    status: str
    fingerprint: str
    updated_at: datetime
    body_fields: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "hosts": list(self.hosts),
            "env_var": self.env_var,
            "header_name": self.header_name,
            "version": self.version,
            "status": self.status,
            "body_fields": list(self.body_fields),
            "fingerprint": self.fingerprint,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class GrantInfo:
    task_id: str
    credential: str
    placeholder: str  # for kind aws: the access key id placeholder
    expires_at: datetime
    aws_secret_placeholder: str = ""  # kind aws only, shown once at grant time


class CredentialService:
    def __init__(
        self, sessions: sessionmaker[Session], vault: Vault, fingerprint: Callable[[bytes], str]
    ) -> None:
        self._sessions = sessions
        self._vault = vault
        self._fingerprint = fingerprint

    def add(
        self,
        name: str,
        kind: str,
        value: str,
        hosts: list[str],
        *,
        env_var: str = "",
        header_name: str = "",
        body_fields: list[str] | None = None,
    ) -> CredentialInfo:
        check_name("credential", name)
        if kind not in KINDS:
            raise InvalidRequestError(f"invalid kind {kind!r}: one of {', '.join(KINDS)}")
        if not hosts:
            raise InvalidRequestError("a credential needs at least one allowed host (--hosts)")
        if kind == "header" and not header_name:
            raise InvalidRequestError("kind header needs --header NAME")
        username = value.partition(":")[0] if kind == "basic" else ""
        with self._sessions.begin() as db:
            if db.get(Credential, name) is not None:
                raise InvalidRequestError(f"credential {name!r} exists: use `airlock cred rotate`")
            db.add(
                Credential(
                    name=name,
                    kind=kind,
                    hosts=json.dumps(hosts),
                    username=username,
                    env_var=env_var or name.upper().replace("-", "_").replace(".", "_"),
                    header_name=header_name,
                    body_fields=json.dumps(sorted(set(body_fields or []))),
                    version=1,
                )
            )
            db.flush()
            db.add(self._version(name, 1, self._secret_part(kind, value)))
        return self.get(name)

    def rotate(self, name: str, value: str) -> CredentialInfo:
        with self._sessions.begin() as db:
            row = self._active(db, name)
            row.version += 1
            row.updated_at = utcnow()
            db.add(self._version(name, row.version, self._secret_part(row.kind, value)))
        return self.get(name)

    def revoke(self, name: str) -> CredentialInfo:
        with self._sessions.begin() as db:
            row = self._active(db, name)
            row.status, row.updated_at = "revoked", utcnow()
        return self.get(name)

    def get(self, name: str) -> CredentialInfo:
        with self._sessions() as db:
            row = db.get(Credential, name)
            if row is None:
                raise NotFoundError(f"no credential {name!r}")
            return self._info(db, row)

    def names(self) -> list[CredentialInfo]:
        with self._sessions() as db:
            rows = db.scalars(select(Credential).order_by(Credential.name))
            return [self._info(db, r) for r in rows]

    def grant(self, task_id: str, name: str, expires_at: datetime) -> GrantInfo:
        with self._sessions.begin() as db:
            row = self._active(db, name)
            aws_secret = ""
            if row.kind == "aws":
                placeholder, aws_secret = make_aws_placeholders()
            else:
                sealed = self._latest(db, row).sealed
                sample = self._vault.open(self._key(name, row.version), sealed)
                placeholder = make_placeholder(sample.decode())
            db.add(
                Grant(
                    task_id=task_id, credential=name, placeholder=placeholder, expires_at=expires_at
                )
            )
        return GrantInfo(task_id, name, placeholder, expires_at, aws_secret)

    def value(self, name: str) -> tuple[int, str, CredentialInfo]:
        """(version, plaintext secret part, info) of the current version: proxy only."""
        with self._sessions() as db:
            row = self._active(db, name)
            sealed = self._latest(db, row).sealed
            return (
                row.version,
                self._vault.open(self._key(name, row.version), sealed).decode(),
                (self._info(db, row)),
            )

    def all_values(self) -> list[tuple[str, int, str]]:
        """The secret of every version of every credential (name, version, plaintext), to
        catch leaks. For kind aws only the secret access key (the key id is not secret)."""
        with self._sessions() as db:
            kinds = {c.name: c.kind for c in db.scalars(select(Credential))}
            rows = db.scalars(select(CredentialVersion))
            out = []
            for r in rows:
                value = self._open(r)
                if kinds.get(r.name) == "aws":
                    value = value.partition(":")[2]
                out.append((r.name, r.version, value))
            return out

    def _open(self, row: CredentialVersion) -> str:
        return self._vault.open(self._key(row.name, row.version), row.sealed).decode()

    def grants_of(self, name: str) -> list[GrantInfo]:
        """Every task that had ``name`` in scope, and until when."""
        with self._sessions() as db:
            rows = db.scalars(select(Grant).where(Grant.credential == name).order_by(Grant.id))
            return [
                GrantInfo(r.task_id, r.credential, r.placeholder, as_utc(r.expires_at))
                for r in rows
            ]

    def fingerprints(self, name: str) -> list[str]:
        """The fingerprint of every version of ``name`` (to find where it was seen)."""
        with self._sessions() as db:
            query = select(CredentialVersion.fingerprint).where(CredentialVersion.name == name)
            return list(db.scalars(query))

    def grant_by_placeholder(self, placeholder: str) -> GrantInfo | None:
        with self._sessions() as db:
            r = db.scalar(select(Grant).where(Grant.placeholder == placeholder))
            if r is None:
                return None
            return GrantInfo(r.task_id, r.credential, r.placeholder, as_utc(r.expires_at))

    # Helpers -----------------------------------------------------------------------

    @staticmethod
    def _secret_part(kind: str, value: str) -> str:
        if kind == "basic":
            user, sep, password = value.partition(":")
            if not sep or not password:
                raise InvalidRequestError("kind basic needs a value of the form user:password")
            return password
        if kind == "aws":
            key_id, sep, secret = value.partition(":")
            if not sep or not key_id or len(secret) < 16:
                raise InvalidRequestError("kind aws needs ACCESS_KEY_ID:SECRET_ACCESS_KEY")
            return value
        if len(value) < 8:
            raise InvalidRequestError("a credential value must be at least 8 characters")
        return value

    def _version(self, name: str, version: int, secret: str) -> CredentialVersion:
        sealed = self._vault.seal(self._key(name, version), secret.encode())
        fp = self._fingerprint(secret.encode())
        return CredentialVersion(name=name, version=version, sealed=sealed, fingerprint=fp)

    @staticmethod
    def _key(name: str, version: int) -> str:
        return f"credential:{name}:{version}"

    @staticmethod
    def _active(db: Session, name: str) -> Credential:
        row = db.get(Credential, name)
        if row is None:
            raise NotFoundError(f"no credential {name!r}")
        if row.status != "active":
            raise InvalidRequestError(f"credential {name!r} is {row.status}")
        return row

    @staticmethod
    def _latest(db: Session, row: Credential) -> CredentialVersion:
        query = select(CredentialVersion).where(
            CredentialVersion.name == row.name, CredentialVersion.version == row.version
        )
        version = db.scalar(query)
        assert version is not None
        return version

    def _info(self, db: Session, row: Credential) -> CredentialInfo:
        return CredentialInfo(
            row.name,
            row.kind,
            tuple(json.loads(row.hosts)),
            row.env_var,
            row.header_name,
            row.version,
            row.status,
            self._latest(db, row).fingerprint,
            as_utc(row.updated_at),
            tuple(json.loads(row.body_fields or "[]")),
        )


def grant_expiry(task_expires: datetime, ttl: timedelta | None) -> datetime:
    """A grant ends with its task, or earlier if it has its own TTL."""
    return min(task_expires, utcnow() + ttl) if ttl else task_expires
