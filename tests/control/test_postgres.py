"""The control plane on a real PostgreSQL server (the production database)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.keys import ApiKeyService
from gateway.control.tasks import TaskService
from tests.support.airlock import free_port
from tests.support.postgres import PostgresServer, available

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    why = available()
    if why:
        pytest.skip(f"no PostgreSQL server can run here: {why}")
    server = PostgresServer(tmp_path_factory.mktemp("pg"), free_port()).start()
    yield server.url
    server.stop()


def test_tasks_and_keys_on_postgres(pg_url: str) -> None:
    sessions = make_sessionmaker(make_engine(pg_url))
    tasks, keys = TaskService(sessions), ApiKeyService(sessions)
    info, token = tasks.create(agent="pg-agent", profile="default", ttl=timedelta(hours=1))
    assert tasks.authenticate(info.task_id, token) == info
    assert tasks.authenticate(info.task_id, token + "x") is None
    assert tasks.kill(info.task_id).effective_status() == "killed"
    assert [t.task_id for t in tasks.list()] == [info.task_id]
    key_id, plaintext = keys.create(role="auditor", tenant="acme")
    principal = keys.verify(plaintext)
    assert principal is not None and (principal.role, principal.tenant) == ("auditor", "acme")
    keys.revoke(key_id)
    assert keys.verify(plaintext) is None
    with sessions() as db:  # only hashes are stored
        raw = db.connection().exec_driver_sql("SELECT token_hash FROM tasks").scalar_one()
        assert token not in raw and len(raw) == 64
