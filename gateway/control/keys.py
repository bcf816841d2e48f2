"""API keys: ``alk_<id>_<secret>``; only a hash of the secret is stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.control.models import ApiKey, utcnow
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.ids import hash_token, token_matches

ROLES = ("viewer", "auditor", "admin")
ALL_TENANTS = "*"


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    tenant: str  # "*" means every tenant

    def has_role(self, needed: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(needed)

    def can_see(self, tenant: str) -> bool:
        return self.tenant in (ALL_TENANTS, tenant)


class ApiKeyService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(self, *, role: str, tenant: str = ALL_TENANTS, name: str = "") -> tuple[str, str]:
        """Returns ``(key_id, plaintext_key)``; the plaintext is never stored."""
        if role not in ROLES:
            raise InvalidRequestError(f"invalid role {role!r}: one of {', '.join(ROLES)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self._sessions.begin() as db:
            db.add(
                ApiKey(id=key_id, tenant=tenant, role=role, name=name, key_hash=hash_token(secret))
            )
        return key_id, f"alk_{key_id}_{secret}"

    def verify(self, presented: str) -> Principal | None:
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != "alk" or not key_id or not secret:
            return None
        with self._sessions() as db:
            row = db.get(ApiKey, key_id)
            if row is None or row.revoked_at is not None:
                return None
            if not token_matches(secret, row.key_hash):
                return None
            return Principal(key_id=row.id, role=row.role, tenant=row.tenant)

    def revoke(self, key_id: str) -> None:
        with self._sessions.begin() as db:
            row = db.get(ApiKey, key_id)
            if row is None:
                raise NotFoundError(f"no API key {key_id!r}")
            row.revoked_at = utcnow()
