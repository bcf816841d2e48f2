"""Engine and session factory: SQLite file, pragmas, schema creation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.models import Tenant


def test_make_engine_creates_parent_directory(tmp_path: Path) -> None:
    db_path = tmp_path / "a" / "b" / "control.db"
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        assert db_path.parent.is_dir()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert db_path.is_file()
    finally:
        engine.dispose()


def test_sqlite_pragmas_applied_on_connect(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_non_sqlite_url_gets_no_sqlite_pragmas() -> None:
    engine = make_engine("sqlite://")  # in-memory: not the sqlite:/// file branch
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 0
    finally:
        engine.dispose()


def test_make_sessionmaker_creates_schema(engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []
    make_sessionmaker(engine)
    assert set(inspect(engine).get_table_names()) == {
        "tenants",
        "agents",
        "tasks",
        "api_keys",
        "known_secrets",
        "credentials",
        "credential_versions",
        "grants",
        "sandboxes",
        "legal_holds",
        "export_cursors",
        "export_dead_letters",
    }


def test_make_sessionmaker_is_repeatable(engine: Engine) -> None:
    first = make_sessionmaker(engine)
    with first.begin() as db:
        db.add(Tenant(name="acme"))
    second = make_sessionmaker(engine)  # create_all must not drop or fail on existing tables
    with second() as db:
        assert db.get(Tenant, "acme") is not None


def test_objects_stay_readable_after_commit(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as db:
        tenant = Tenant(name="acme")
        db.add(tenant)
    # expire_on_commit=False: attributes are still loaded outside the session.
    assert tenant.name == "acme"
    assert tenant.created_at is not None
