"""The credential store: sealed versions, grants, rotation, revocation."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.tasks import TaskService
from gateway.control.vault import Vault
from gateway.credentials.store import CredentialService
from gateway.errors import InvalidRequestError


@pytest.fixture
def stores(tmp_path: Path) -> tuple[CredentialService, TaskService]:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    return CredentialService(sessions, Vault(secrets.token_bytes(32)), lambda b: "f" * 16), (
        TaskService(sessions)
    )


def test_values_are_sealed_and_versions_kept(
    stores: tuple[CredentialService, TaskService], tmp_path: Path
) -> None:
    creds, _ = stores
    first, second = "tok-" + secrets.token_hex(16), "tok-" + secrets.token_hex(16)
    creds.add("api", "bearer", first, ["api.example.com"])
    assert creds.rotate("api", second).version == 2
    assert creds.value("api")[:2] == (2, second)
    assert {v for _, _, v in creds.all_values()} == {first, second}
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("c.db*"))  # the db and its WAL
    assert b"api.example.com" in raw  # the data is really there ...
    assert first.encode() not in raw and second.encode() not in raw  # ... sealed


def test_grants_give_placeholders_and_revocation_stops_use(
    stores: tuple[CredentialService, TaskService],
) -> None:
    creds, tasks = stores
    creds.add("gh", "bearer", "ghp_" + secrets.token_hex(18), ["github.com"])
    task, _ = tasks.create(agent="a", profile="p", ttl=timedelta(hours=1))
    grant = creds.grant(task.task_id, "gh", datetime.now(UTC) + timedelta(minutes=5))
    assert grant.placeholder.startswith("ghp_AIRLOCKPH")
    assert creds.grant_by_placeholder(grant.placeholder) == grant
    assert [g.task_id for g in creds.grants_of("gh")] == [task.task_id]
    creds.revoke("gh")
    with pytest.raises(InvalidRequestError, match="revoked"):
        creds.value("gh")


def test_bad_input_is_refused_clearly(stores: tuple[CredentialService, TaskService]) -> None:
    creds, _ = stores
    with pytest.raises(InvalidRequestError, match="user:password"):
        creds.add("b", "basic", "no-colon-here", ["x"])
    with pytest.raises(InvalidRequestError, match="ACCESS_KEY_ID:SECRET"):
        creds.add("w", "aws", "AKIAONLY", ["x"])
    with pytest.raises(InvalidRequestError, match="at least one allowed host"):
        creds.add("h", "bearer", "long-enough-value", [])
