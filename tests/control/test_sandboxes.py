"""The sandbox registry: one open registration per address, kept after removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.sandboxes import Sandbox, SandboxService, canonical_address
from gateway.control.tasks import TaskInfo, TaskService
from gateway.errors import InvalidRequestError, NotFoundError


@pytest.fixture
def tasks(sessions: sessionmaker[Session]) -> TaskService:
    return TaskService(sessions)


@pytest.fixture
def boxes(sessions: sessionmaker[Session]) -> SandboxService:
    return SandboxService(sessions)


@pytest.fixture
def task(tasks: TaskService) -> TaskInfo:
    return tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.200.1.2", "10.200.1.2"),
        (" 10.200.1.2 ", "10.200.1.2"),
        ("::ffff:10.200.1.2", "10.200.1.2"),
        ("[fd00::2]", "fd00::2"),
        ("FD00:0:0::2", "fd00::2"),
    ],
)
def test_canonical_address(text: str, expected: str) -> None:
    assert canonical_address(text) == expected


@pytest.mark.parametrize("text", ["", "10.200.1", "10.200.1.2/24", "host.example", "0.0.0.0"])
def test_canonical_address_refuses_what_is_no_host_address(text: str) -> None:
    with pytest.raises(InvalidRequestError):
        canonical_address(text)


def test_register_then_lookup(boxes: SandboxService, task: TaskInfo) -> None:
    box = boxes.register("::ffff:10.200.1.2", task, "sb1")
    assert (box.address, box.task_id, box.name, box.removed_at) == (
        "10.200.1.2",
        task.task_id,
        "sb1",
        None,
    )
    assert boxes.lookup("10.200.1.2") == box
    assert boxes.lookup("::ffff:10.200.1.2") == box
    assert boxes.lookup("10.200.1.3") is None
    assert boxes.lookup("not an address") is None


def test_one_open_registration_per_address(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo
) -> None:
    other = tasks.create(agent="other", profile="default", ttl=timedelta(hours=1))[0]
    boxes.register("10.200.1.2", task)
    with pytest.raises(InvalidRequestError, match=f"registered to task {task.task_id}"):
        boxes.register("10.200.1.2", other)
    assert boxes.lookup("10.200.1.2").task_id == task.task_id  # type: ignore[union-attr]


def test_database_index_holds_uniqueness_too(
    boxes: SandboxService, sessions: sessionmaker[Session], task: TaskInfo
) -> None:
    boxes.register("10.200.1.2", task)
    with pytest.raises(IntegrityError), sessions.begin() as db:
        db.add(Sandbox(address="10.200.1.2", task_id=task.task_id))


def test_remove_keeps_the_row_and_frees_the_address(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo, sessions: sessionmaker[Session]
) -> None:
    boxes.register("10.200.1.2", task)
    removed = boxes.remove("10.200.1.2")
    assert removed.removed_at is not None
    assert boxes.lookup("10.200.1.2") is None
    with pytest.raises(NotFoundError):
        boxes.remove("10.200.1.2")
    other = tasks.create(agent="other", profile="default", ttl=timedelta(hours=1))[0]
    again = boxes.register("10.200.1.2", other)
    assert boxes.lookup("10.200.1.2") == again
    with sessions() as db:
        assert len(db.scalars(select(Sandbox)).all()) == 2
    assert [b.task_id for b in boxes.list()] == [other.task_id]
    assert {b.task_id for b in boxes.list(include_removed=True)} == {task.task_id, other.task_id}


def test_ended_or_unknown_task_cannot_be_registered(
    boxes: SandboxService, tasks: TaskService, task: TaskInfo
) -> None:
    killed = tasks.kill(task.task_id)
    with pytest.raises(InvalidRequestError, match="is killed"):
        boxes.register("10.200.1.2", killed)
    ghost = TaskInfo(**{**task.__dict__, "task_id": "tsk_nope"})
    with pytest.raises(NotFoundError):
        boxes.register("10.200.1.2", ghost)
    assert boxes.list() == []


def test_bad_name_is_refused(boxes: SandboxService, task: TaskInfo) -> None:
    with pytest.raises(InvalidRequestError):
        boxes.register("10.200.1.2", task, "no spaces please")
