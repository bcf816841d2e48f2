"""API keys: creation, verification, revocation, and role/tenant checks."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.keys import ALL_TENANTS, ROLES, ApiKeyService, Principal
from gateway.control.models import ApiKey
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.ids import hash_token


@pytest.fixture
def keys(sessions: sessionmaker[Session]) -> ApiKeyService:
    return ApiKeyService(sessions)


@pytest.mark.parametrize("role", ROLES)
def test_create_and_verify(keys: ApiKeyService, role: str) -> None:
    key_id, plaintext = keys.create(role=role, tenant="acme", name="ci")
    assert plaintext.startswith(f"alk_{key_id}_")
    assert keys.verify(plaintext) == Principal(key_id=key_id, role=role, tenant="acme")


def test_default_tenant_is_all(keys: ApiKeyService) -> None:
    _, plaintext = keys.create(role="viewer")
    principal = keys.verify(plaintext)
    assert principal is not None
    assert principal.tenant == ALL_TENANTS == "*"


def test_create_invalid_role(keys: ApiKeyService, sessions: sessionmaker[Session]) -> None:
    with pytest.raises(InvalidRequestError, match="invalid role 'root'"):
        keys.create(role="root")
    with sessions() as db:
        assert db.query(ApiKey).count() == 0


def test_only_hash_is_stored(keys: ApiKeyService, sessions: sessionmaker[Session]) -> None:
    key_id, plaintext = keys.create(role="admin", name="ops")
    secret = plaintext.removeprefix(f"alk_{key_id}_")
    with sessions() as db:
        row = db.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": key_id}).one()
    values = [str(v) for v in row]
    assert all(secret not in v for v in values)
    assert hash_token(secret) in values


def test_keys_are_distinct(keys: ApiKeyService) -> None:
    a = keys.create(role="viewer")
    b = keys.create(role="viewer")
    assert a[0] != b[0]
    assert a[1] != b[1]


def test_verify_wrong_secret(keys: ApiKeyService) -> None:
    key_id, _ = keys.create(role="admin")
    assert keys.verify(f"alk_{key_id}_{secrets.token_urlsafe(32)}") is None


def test_verify_secret_of_other_key(keys: ApiKeyService) -> None:
    key_a, _ = keys.create(role="viewer")
    key_b, plaintext_b = keys.create(role="admin")
    secret_b = plaintext_b.removeprefix(f"alk_{key_b}_")
    assert keys.verify(f"alk_{key_a}_{secret_b}") is None


def test_verify_unknown_key_id(keys: ApiKeyService) -> None:
    assert keys.verify(f"alk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}") is None


@pytest.mark.parametrize(
    "shape", ["", "alk", "alk_", "alk__", "alk_{id}", "alk_{id}_", "xyz_{id}_{secret}", "{secret}"]
)
def test_verify_malformed(keys: ApiKeyService, shape: str) -> None:
    key_id, plaintext = keys.create(role="admin")
    secret = plaintext.removeprefix(f"alk_{key_id}_")
    assert keys.verify(shape.format(id=key_id, secret=secret)) is None


def test_revoke(keys: ApiKeyService, sessions: sessionmaker[Session]) -> None:
    key_id, plaintext = keys.create(role="admin")
    other_id, other = keys.create(role="admin")
    keys.revoke(key_id)
    assert keys.verify(plaintext) is None
    assert keys.verify(other) is not None
    with sessions() as db:
        row = db.get(ApiKey, key_id)
        assert row is not None and row.revoked_at is not None


def test_revoke_unknown(keys: ApiKeyService) -> None:
    with pytest.raises(NotFoundError):
        keys.revoke("nope")


@pytest.mark.parametrize(
    ("role", "needed", "expected"),
    [
        ("viewer", "viewer", True),
        ("viewer", "auditor", False),
        ("viewer", "admin", False),
        ("auditor", "viewer", True),
        ("auditor", "auditor", True),
        ("auditor", "admin", False),
        ("admin", "viewer", True),
        ("admin", "auditor", True),
        ("admin", "admin", True),
    ],
)
def test_has_role_ordering(role: str, needed: str, expected: bool) -> None:
    assert Principal(key_id="k", role=role, tenant="*").has_role(needed) is expected


def test_can_see_all_tenants() -> None:
    principal = Principal(key_id="k", role="viewer", tenant=ALL_TENANTS)
    assert principal.can_see("acme")
    assert principal.can_see("globex")


def test_can_see_own_tenant_only() -> None:
    principal = Principal(key_id="k", role="admin", tenant="acme")
    assert principal.can_see("acme")
    assert not principal.can_see("globex")
    assert not principal.can_see("")
    assert not principal.can_see("acme2")
