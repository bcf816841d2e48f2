"""Explicit proxy identity: Basic credential parsing and task resolution.

Runs against a real SQLite control plane; no fakes.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.models import Task
from gateway.control.tasks import TaskInfo, TaskService
from gateway.identity.base import ConnectionFacts, Identity, IdentityRefused
from gateway.identity.proxy_auth import ProxyAuthResolver, parse_basic


def basic(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return "Basic " + base64.b64encode(data).decode()


def facts(header: str | None) -> ConnectionFacts:
    return ConnectionFacts(proxy_authorization=header, client_host="127.0.0.1", client_port=50000)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'control.db'}")
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def tasks(sessions: sessionmaker[Session]) -> TaskService:
    return TaskService(sessions)


@pytest.fixture
def task(tasks: TaskService) -> tuple[TaskInfo, str]:
    return tasks.create(agent="bot", profile="registries", ttl=timedelta(hours=1), tenant="acme")


# parse_basic --------------------------------------------------------------------


def test_parse_basic_ok() -> None:
    token = secrets.token_urlsafe(32)
    assert parse_basic(basic(f"tsk_1:{token}")) == ("tsk_1", token)


def test_parse_basic_scheme_is_case_insensitive_and_trimmed() -> None:
    value = base64.b64encode(b"tsk_1:tok").decode()
    assert parse_basic(f"  basic   {value} ") == ("tsk_1", "tok")
    assert parse_basic(f"BASIC {value}") == ("tsk_1", "tok")


def test_parse_basic_token_may_contain_colon() -> None:
    assert parse_basic(basic("tsk_1:a:b")) == ("tsk_1", "a:b")


@pytest.mark.parametrize("header", [None, ""])
def test_parse_basic_missing(header: str | None) -> None:
    with pytest.raises(IdentityRefused) as info:
        parse_basic(header)
    assert info.value.reason == "proxy_auth_required"
    assert info.value.challenge is True
    assert info.value.task_id == ""


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer abc", "must use Basic"),
        ("Digest username=x", "must use Basic"),
        ("Basic", "must use Basic"),
        ("Basic    ", "must use Basic"),
        ("Basic !!!notbase64!!!", "not valid base64"),
        ("Basic dHNrXzE6dG9", "not valid base64"),  # bad padding
        (basic(b"\xff\xfe:\xff"), "not valid base64"),  # not UTF-8
        (basic("tsk_1"), "task_id:token"),
        (basic(":tok"), "task_id:token"),
        (basic("tsk_1:"), "task_id:token"),
        (basic(":"), "task_id:token"),
    ],
)
def test_parse_basic_malformed(header: str, message: str) -> None:
    with pytest.raises(IdentityRefused, match=message) as info:
        parse_basic(header)
    assert info.value.reason == "proxy_auth_malformed"
    assert info.value.challenge is True


# resolve ---------------------------------------------------------------------------


async def test_resolve_good_token(tasks: TaskService, task: tuple[TaskInfo, str]) -> None:
    info, token = task
    identity = await ProxyAuthResolver(tasks).resolve(facts(basic(f"{info.task_id}:{token}")))
    assert isinstance(identity, Identity)
    assert identity.task == info
    assert identity.task.tenant == "acme"


async def test_resolve_wrong_token(tasks: TaskService, task: tuple[TaskInfo, str]) -> None:
    info, _ = task
    wrong = secrets.token_urlsafe(32)
    with pytest.raises(IdentityRefused) as refused:
        await ProxyAuthResolver(tasks).resolve(facts(basic(f"{info.task_id}:{wrong}")))
    assert refused.value.reason == "proxy_auth_invalid"
    assert refused.value.challenge is True
    assert refused.value.task_id == ""
    assert wrong not in str(refused.value)


async def test_resolve_unknown_task(tasks: TaskService, task: tuple[TaskInfo, str]) -> None:
    _, token = task
    with pytest.raises(IdentityRefused) as refused:
        await ProxyAuthResolver(tasks).resolve(facts(basic(f"tsk_unknown:{token}")))
    assert refused.value.reason == "proxy_auth_invalid"
    assert refused.value.challenge is True


async def test_resolve_missing_credentials(tasks: TaskService) -> None:
    with pytest.raises(IdentityRefused) as refused:
        await ProxyAuthResolver(tasks).resolve(facts(None))
    assert refused.value.reason == "proxy_auth_required"
    assert refused.value.challenge is True


async def test_resolve_killed_task(tasks: TaskService, task: tuple[TaskInfo, str]) -> None:
    info, token = task
    tasks.kill(info.task_id)
    with pytest.raises(IdentityRefused) as refused:
        await ProxyAuthResolver(tasks).resolve(facts(basic(f"{info.task_id}:{token}")))
    assert refused.value.reason == "task_killed"
    assert refused.value.challenge is False
    assert refused.value.task_id == info.task_id
    assert info.task_id in refused.value.message
    assert token not in refused.value.message


async def test_resolve_expired_task(
    tasks: TaskService, task: tuple[TaskInfo, str], sessions: sessionmaker[Session]
) -> None:
    info, token = task
    with sessions.begin() as db:
        past = datetime.now(UTC) - timedelta(seconds=1)
        db.execute(update(Task).where(Task.id == info.task_id).values(expires_at=past))
    with pytest.raises(IdentityRefused) as refused:
        await ProxyAuthResolver(tasks).resolve(facts(basic(f"{info.task_id}:{token}")))
    assert refused.value.reason == "task_expired"
    assert refused.value.challenge is False
    assert refused.value.task_id == info.task_id


async def test_kill_is_seen_at_once_without_cache(
    tasks: TaskService, task: tuple[TaskInfo, str]
) -> None:
    info, token = task
    resolver = ProxyAuthResolver(tasks, cache_seconds=0)
    header = basic(f"{info.task_id}:{token}")
    assert (await resolver.resolve(facts(header))).task.task_id == info.task_id
    tasks.kill(info.task_id)
    with pytest.raises(IdentityRefused) as refused:
        await resolver.resolve(facts(header))
    assert refused.value.reason == "task_killed"


async def test_cached_task_survives_kill_until_cache_expires(
    tasks: TaskService, task: tuple[TaskInfo, str]
) -> None:
    """Documented: a kill takes effect within ``cache_seconds``, not instantly."""
    info, token = task
    resolver = ProxyAuthResolver(tasks, cache_seconds=3600)
    header = basic(f"{info.task_id}:{token}")
    await resolver.resolve(facts(header))
    tasks.kill(info.task_id)
    identity = await resolver.resolve(facts(header))
    assert identity.task.status == "active"
    # A fresh resolver (no cache) sees the kill.
    with pytest.raises(IdentityRefused, match="killed"):
        await ProxyAuthResolver(tasks, cache_seconds=3600).resolve(facts(header))


async def test_cache_is_keyed_by_token(tasks: TaskService, task: tuple[TaskInfo, str]) -> None:
    info, token = task
    resolver = ProxyAuthResolver(tasks, cache_seconds=3600)
    await resolver.resolve(facts(basic(f"{info.task_id}:{token}")))
    wrong = secrets.token_urlsafe(32)
    with pytest.raises(IdentityRefused) as refused:
        await resolver.resolve(facts(basic(f"{info.task_id}:{wrong}")))
    assert refused.value.reason == "proxy_auth_invalid"
