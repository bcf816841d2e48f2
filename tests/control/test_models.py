"""Control-plane tables: defaults and constraints, on a real SQLite database."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.models import Agent, ApiKey, Task, Tenant, utcnow
from gateway.ids import hash_token, new_token


def test_utcnow_is_timezone_aware() -> None:
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now.tzinfo == UTC


def test_defaults(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions.begin() as db:
        db.add(Tenant(name="acme"))
        db.flush()
        agent = Agent(tenant="acme", name="bot")
        task = Task(
            id="tsk_1",
            tenant="acme",
            agent="bot",
            profile="default",
            token_hash=hash_token(new_token()),
            expires_at=now + timedelta(hours=1),
        )
        key = ApiKey(id="k1", tenant="*", role="viewer", key_hash=hash_token(new_token()))
        db.add_all([agent, task, key])
    with sessions() as db:
        task = db.get(Task, "tsk_1")
        assert task is not None
        assert task.status == "active"
        assert task.ended_at is None
        assert task.created_at is not None
        key = db.get(ApiKey, "k1")
        assert key is not None
        assert key.name == ""
        assert key.revoked_at is None
        assert isinstance(db.get(Agent, 1), Agent)


def test_task_needs_an_existing_tenant(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as db:
        db.add(
            Task(
                id="tsk_orphan",
                tenant="nobody",
                agent="bot",
                profile="default",
                token_hash=hash_token(new_token()),
                expires_at=utcnow(),
            )
        )


def test_agent_name_unique_per_tenant(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as db:
        db.add_all([Tenant(name="a"), Tenant(name="b")])
        db.flush()
        db.add_all([Agent(tenant="a", name="bot"), Agent(tenant="b", name="bot")])
    with pytest.raises(IntegrityError), sessions.begin() as db:
        db.add(Agent(tenant="a", name="bot"))
