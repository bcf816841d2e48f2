"""Tasks: ttl parsing, name checks, one-time tokens, kill, expiry, listing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.models import Agent, Task, Tenant
from gateway.control.tasks import MAX_TTL, TaskInfo, TaskService, as_utc, check_name, parse_ttl
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.ids import hash_token


@pytest.fixture
def tasks(sessions: sessionmaker[Session]) -> TaskService:
    return TaskService(sessions)


def _expire(sessions: sessionmaker[Session], task_id: str) -> None:
    with sessions.begin() as db:
        past = datetime.now(UTC) - timedelta(seconds=5)
        db.execute(update(Task).where(Task.id == task_id).values(expires_at=past))


# parse_ttl -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_", "expected"),
    [
        ("1s", timedelta(seconds=1)),
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
        ("720h", timedelta(days=30)),
        (" 5m ", timedelta(minutes=5)),
    ],
)
def test_parse_ttl_valid(text_: str, expected: timedelta) -> None:
    assert parse_ttl(text_) == expected


@pytest.mark.parametrize("text_", ["", "h", "2", "2w", "1.5h", "-1h", "2 h", "2H", "h2", "abc"])
def test_parse_ttl_malformed(text_: str) -> None:
    with pytest.raises(InvalidRequestError, match="use a number and s, m, h or d") as info:
        parse_ttl(text_)
    assert info.value.http_status == 400


@pytest.mark.parametrize("text_", ["0s", "0d", "31d", "721h", "2592001s"])
def test_parse_ttl_out_of_bounds(text_: str) -> None:
    with pytest.raises(InvalidRequestError, match="between 1s and 30d"):
        parse_ttl(text_)


def test_parse_ttl_upper_bound_is_inclusive() -> None:
    assert parse_ttl(f"{int(MAX_TTL.total_seconds())}s") == MAX_TTL


def test_parse_ttl_huge_number_is_invalid_request() -> None:
    with pytest.raises(InvalidRequestError):
        parse_ttl("99999999999999999999d")


# check_name ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "agent-1", "A.b_c-d", "0day", "x" * 128])
def test_check_name_valid(name: str) -> None:
    assert check_name("agent", name) == name


@pytest.mark.parametrize(
    "name", ["", "-lead", ".hidden", "_x", "a b", "a/b", "a:b", "ünï", "x" * 129, "a\tb"]
)
def test_check_name_invalid(name: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid profile name"):
        check_name("profile", name)


def test_check_name_rejects_trailing_newline() -> None:
    with pytest.raises(InvalidRequestError):
        check_name("agent", "agent\n")


# create -----------------------------------------------------------------------


def test_create_returns_info_and_token(tasks: TaskService) -> None:
    info, token = tasks.create(agent="bot", profile="registries", ttl=timedelta(hours=2))
    assert info.task_id.startswith("tsk_")
    assert (info.tenant, info.agent, info.profile) == ("default", "bot", "registries")
    assert info.status == "active"
    assert info.ended_at is None
    assert info.expires_at - info.created_at == timedelta(hours=2)
    assert info.created_at.tzinfo is not None
    assert len(token) >= 32


def test_token_is_stored_only_as_hash(tasks: TaskService, sessions: sessionmaker[Session]) -> None:
    info, token = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    with sessions() as db:
        row = db.execute(text("SELECT * FROM tasks WHERE id = :id"), {"id": info.task_id}).one()
        values = [str(v) for v in row]
        assert all(token not in v for v in values)
        assert hash_token(token) in values
        for table in ("tenants", "agents", "api_keys"):
            for other in db.execute(text(f"SELECT * FROM {table}")):
                assert all(token not in str(v) for v in other)


def test_token_is_only_returned_by_create(tasks: TaskService) -> None:
    info, token = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    assert token not in repr(tasks.get(info.task_id))
    assert token not in repr(tasks.list())
    assert token not in repr(tasks.get(info.task_id).as_dict())


def test_each_task_gets_its_own_id_and_token(tasks: TaskService) -> None:
    a, token_a = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    b, token_b = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    assert a.task_id != b.task_id
    assert token_a != token_b


def test_create_registers_tenant_and_agent_once(
    tasks: TaskService, sessions: sessionmaker[Session]
) -> None:
    for _ in range(2):
        tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1), tenant="acme")
    tasks.create(agent="other", profile="default", ttl=timedelta(hours=1), tenant="acme")
    with sessions() as db:
        assert db.get(Tenant, "acme") is not None
        agents = sorted(a.name for a in db.query(Agent).filter_by(tenant="acme"))
        assert agents == ["bot", "other"]


@pytest.mark.parametrize(
    ("field", "kind"), [("agent", "agent"), ("profile", "profile"), ("tenant", "tenant")]
)
def test_create_validates_names(
    tasks: TaskService, sessions: sessionmaker[Session], field: str, kind: str
) -> None:
    kwargs = {"agent": "bot", "profile": "default", "tenant": "acme", field: "bad name"}
    with pytest.raises(InvalidRequestError, match=f"invalid {kind} name 'bad name'"):
        tasks.create(ttl=timedelta(hours=1), **kwargs)
    with sessions() as db:
        assert db.query(Task).count() == 0


# get / authenticate ------------------------------------------------------------


def test_get_round_trips(tasks: TaskService) -> None:
    info, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(minutes=5))
    fetched = tasks.get(info.task_id)
    assert fetched == info
    assert fetched.expires_at.tzinfo is not None


def test_get_unknown(tasks: TaskService) -> None:
    with pytest.raises(NotFoundError, match="tsk_missing") as info:
        tasks.get("tsk_missing")
    assert info.value.http_status == 404


def test_authenticate(tasks: TaskService) -> None:
    info, token = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    assert tasks.authenticate(info.task_id, token) == info
    assert tasks.authenticate(info.task_id, secrets.token_urlsafe(32)) is None
    assert tasks.authenticate(info.task_id, "") is None
    assert tasks.authenticate("tsk_unknown", token) is None


def test_authenticate_does_not_cross_tasks(tasks: TaskService) -> None:
    a, token_a = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    b, token_b = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    assert tasks.authenticate(a.task_id, token_b) is None
    assert tasks.authenticate(b.task_id, token_a) is None


def test_authenticate_returns_killed_task(tasks: TaskService) -> None:
    info, token = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    tasks.kill(info.task_id)
    found = tasks.authenticate(info.task_id, token)
    assert found is not None
    assert found.status == "killed"


# kill ----------------------------------------------------------------------------


def test_kill(tasks: TaskService) -> None:
    info, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    killed = tasks.kill(info.task_id)
    assert killed.status == "killed"
    assert killed.effective_status() == "killed"
    assert killed.ended_at is not None
    assert info.created_at <= killed.ended_at
    assert tasks.get(info.task_id) == killed


def test_kill_is_idempotent(tasks: TaskService) -> None:
    info, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    first = tasks.kill(info.task_id)
    second = tasks.kill(info.task_id)
    assert second.status == "killed"
    assert second.ended_at == first.ended_at


def test_kill_unknown(tasks: TaskService) -> None:
    with pytest.raises(NotFoundError):
        tasks.kill("tsk_missing")


def test_kill_leaves_other_tasks_alone(tasks: TaskService) -> None:
    a, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    b, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    tasks.kill(a.task_id)
    assert tasks.get(b.task_id).status == "active"


# effective status / expiry -----------------------------------------------------------


def _info(status: str = "active", expires_in: timedelta = timedelta(hours=1)) -> TaskInfo:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    return TaskInfo(
        task_id="tsk_x",
        tenant="default",
        agent="bot",
        profile="default",
        status=status,
        created_at=created,
        expires_at=created + expires_in,
        ended_at=None,
    )


def test_effective_status_boundaries() -> None:
    info = _info()
    assert info.effective_status(info.expires_at - timedelta(microseconds=1)) == "active"
    assert info.effective_status(info.expires_at) == "expired"
    assert info.effective_status(info.expires_at + timedelta(days=1)) == "expired"


def test_effective_status_killed_wins_over_expired() -> None:
    info = _info(status="killed")
    assert info.effective_status(info.created_at) == "killed"
    assert info.effective_status(info.expires_at + timedelta(days=1)) == "killed"


def test_stored_task_expires(tasks: TaskService, sessions: sessionmaker[Session]) -> None:
    info, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1))
    assert tasks.get(info.task_id).effective_status() == "active"
    _expire(sessions, info.task_id)
    expired = tasks.get(info.task_id)
    assert expired.status == "active"  # stored status is unchanged...
    assert expired.effective_status() == "expired"  # ...but the task no longer acts
    assert expired.as_dict()["status"] == "expired"


def test_as_dict() -> None:
    info = _info()
    data = info.as_dict()
    assert data == {
        "task_id": "tsk_x",
        "tenant": "default",
        "agent": "bot",
        "profile": "default",
        "status": "expired",  # 2025-01-01 + 1h is in the past
        "created_at": "2025-01-01T00:00:00+00:00",
        "expires_at": "2025-01-01T01:00:00+00:00",
        "ended_at": None,
    }


def test_as_utc() -> None:
    naive = datetime(2025, 1, 1, 12, 0)
    assert as_utc(naive) == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    aware = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert as_utc(aware) is aware


# list ------------------------------------------------------------------------------


def test_list_newest_first(tasks: TaskService) -> None:
    created = [
        tasks.create(agent=f"bot{i}", profile="default", ttl=timedelta(hours=1))[0]
        for i in range(4)
    ]
    listed = tasks.list()
    assert [t.task_id for t in listed] == [t.task_id for t in reversed(created)]


def test_list_filters_by_tenant(tasks: TaskService) -> None:
    a, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1), tenant="acme")
    b, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1), tenant="globex")
    c, _ = tasks.create(agent="bot", profile="default", ttl=timedelta(hours=1), tenant="acme")
    assert [t.task_id for t in tasks.list(tenant="acme")] == [c.task_id, a.task_id]
    assert [t.task_id for t in tasks.list(tenant="globex")] == [b.task_id]
    assert tasks.list(tenant="initech") == []
    assert len(tasks.list(tenant=None)) == 3
    assert len(tasks.list(tenant="")) == 3  # empty means every tenant


def test_list_limit(tasks: TaskService) -> None:
    made = [tasks.create(agent="bot", profile="p", ttl=timedelta(hours=1))[0] for _ in range(3)]
    assert [t.task_id for t in tasks.list(limit=2)] == [made[2].task_id, made[1].task_id]


def test_list_empty(tasks: TaskService) -> None:
    assert tasks.list() == []
