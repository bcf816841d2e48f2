"""Transparent-mode identity: source address → sandbox → task, against real SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.models import Task
from gateway.control.sandboxes import SandboxService
from gateway.control.tasks import TaskInfo, TaskService
from gateway.identity.base import ConnectionFacts, IdentityRefused
from gateway.identity.source import SourceAddressResolver


def facts(host: str) -> ConnectionFacts:
    return ConnectionFacts(proxy_authorization=None, client_host=host, client_port=40000)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'control.db'}")
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def tasks(sessions: sessionmaker[Session]) -> TaskService:
    return TaskService(sessions)


@pytest.fixture
def boxes(sessions: sessionmaker[Session]) -> SandboxService:
    return SandboxService(sessions)


@pytest.fixture
def task(tasks: TaskService) -> TaskInfo:
    return tasks.create(agent="bot", profile="registries", ttl=timedelta(hours=1))[0]


def resolver(boxes: SandboxService, tasks: TaskService, ttl: float = 0.0) -> SourceAddressResolver:
    return SourceAddressResolver(boxes, tasks, cache_seconds=ttl)


async def test_registered_address_is_its_task(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo
) -> None:
    boxes.register("10.200.1.2", task)
    identity = await resolver(boxes, tasks).resolve(facts("10.200.1.2"))
    assert identity.task.task_id == task.task_id
    mapped = await resolver(boxes, tasks).resolve(facts("::ffff:10.200.1.2"))
    assert mapped.task.task_id == task.task_id


async def test_unknown_address_is_refused_without_challenge(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo
) -> None:
    boxes.register("10.200.1.2", task)
    for host in ("10.200.1.3", "", "garbage"):
        with pytest.raises(IdentityRefused) as info:
            await resolver(boxes, tasks).resolve(facts(host))
        assert (info.value.reason, info.value.challenge, info.value.task_id) == (
            "unknown_sandbox",
            False,
            "",
        )


async def test_killed_and_expired_tasks_are_refused_with_their_id(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo, sessions: sessionmaker[Session]
) -> None:
    boxes.register("10.200.1.2", task)
    tasks.kill(task.task_id)
    with pytest.raises(IdentityRefused) as info:
        await resolver(boxes, tasks).resolve(facts("10.200.1.2"))
    assert (info.value.reason, info.value.task_id) == ("task_killed", task.task_id)

    other = tasks.create(agent="bot", profile="registries", ttl=timedelta(hours=1))[0]
    boxes.register("10.200.1.9", other)
    with sessions.begin() as db:
        past = datetime.now(UTC) - timedelta(seconds=1)
        db.execute(update(Task).where(Task.id == other.task_id).values(expires_at=past))
    with pytest.raises(IdentityRefused) as info:
        await resolver(boxes, tasks).resolve(facts("10.200.1.9"))
    assert info.value.reason == "task_expired"


async def test_removal_and_kill_take_effect_after_the_cache(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo
) -> None:
    boxes.register("10.200.1.2", task)
    cached = resolver(boxes, tasks, ttl=0.3)
    await cached.resolve(facts("10.200.1.2"))
    boxes.remove("10.200.1.2")
    assert (await cached.resolve(facts("10.200.1.2"))).task.task_id == task.task_id  # cached
    await asyncio.sleep(0.35)
    with pytest.raises(IdentityRefused, match="not a registered sandbox"):
        await cached.resolve(facts("10.200.1.2"))

    tasks.kill(task.task_id)
    await asyncio.sleep(0.35)
    assert (await cached.refresh(task)).status == "killed"


async def test_refresh_of_a_deleted_task_treats_it_as_killed(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo
) -> None:
    ghost = TaskInfo(**{**task.__dict__, "task_id": "tsk_gone"})
    assert (await resolver(boxes, tasks).refresh(ghost)).status == "killed"
