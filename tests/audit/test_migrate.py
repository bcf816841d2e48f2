"""Versioned ClickHouse migrations against real chDB; the cluster DDL parsed by ClickHouse.

chDB serves one data directory per process, so the module shares one store and
gives every test its own database (``USE``), which the unqualified table names of
the migrations then land in.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator

import pytest

from gateway.audit.migrate import applied_versions, migrate
from gateway.audit.schema import (
    EVENT_COLUMNS,
    EVENTS_TABLE,
    MIGRATIONS,
    MIGRATIONS_DDL,
    MIGRATIONS_TABLE,
    Layout,
)
from gateway.audit.store import ChdbStore
from gateway.errors import StoreUnavailableError

V2_COLUMNS = {"stream", "seq", "prev_hash", "hash"}
_databases = itertools.count()

AFTER_V1 = [m.version for m in MIGRATIONS if m.version > 1]  # upgrades of a v1 install


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    s = ChdbStore(tmp_path_factory.mktemp("chdb-migrate"))
    yield s
    s.close()  # chDB refuses a second data directory while this one is open


@pytest.fixture()
def db(store: ChdbStore) -> Iterator[ChdbStore]:
    """The shared store, switched to an empty database of this test's own."""
    name = f"migrate_{next(_databases)}"
    store.execute(f"CREATE DATABASE {name}")
    store.execute(f"USE {name}")
    assert store.query("SELECT currentDatabase() AS d") == [{"d": name}]
    yield store
    store.execute("USE default")
    store.execute(f"DROP DATABASE {name}")


def columns(store: ChdbStore, table: str = EVENTS_TABLE) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in store.query(f"DESCRIBE TABLE {table}")}


def recorded(store: ChdbStore) -> list[tuple[int, str]]:
    rows = store.query(f"SELECT version, name FROM {MIGRATIONS_TABLE} ORDER BY version")
    return [(int(r["version"]), r["name"]) for r in rows]


def table_exists(store: ChdbStore, table: str) -> bool:
    return store.query(f"EXISTS TABLE {table}") == [{"result": 1}]


def v1_rows(n: int) -> list[dict[str, object]]:
    return [
        {
            "schema_version": 1,
            "event_id": str(uuid.uuid4()),
            "ts": "2024-05-01 12:00:00.000000",
            "kind": "http-request",
            "tenant": "t",
            "agent": "a",
            "host": f"h{i}.example",
            "rules": ["r1"],
        }
        for i in range(n)
    ]


def jsonl(rows: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


# --- single node, real chDB --------------------------------------------------


def test_migrate_applies_every_version_once_and_records_it(db: ChdbStore) -> None:
    assert migrate(db, Layout()) == [m.version for m in MIGRATIONS] == [1, *AFTER_V1]
    assert recorded(db) == [(m.version, m.name) for m in MIGRATIONS]
    assert applied_versions(db, Layout()) == {1, *AFTER_V1}
    assert migrate(db, Layout()) == []
    assert recorded(db) == [(m.version, m.name) for m in MIGRATIONS]  # no second record


def test_event_columns_match_the_schema(db: ChdbStore) -> None:
    migrate(db, Layout())
    assert len(set(EVENT_COLUMNS)) == len(EVENT_COLUMNS)
    assert set(columns(db)) == set(EVENT_COLUMNS) | {"ingested_at"}


def test_single_node_table_is_a_deduplicating_merge_tree(db: ChdbStore) -> None:
    migrate(db, Layout())
    rows = db.query(
        "SELECT engine, create_table_query AS q FROM system.tables "
        "WHERE database = currentDatabase() AND name = {t:String}",
        {"t": EVENTS_TABLE},
    )
    assert rows[0]["engine"] == "MergeTree"
    assert "non_replicated_deduplication_window = 10000" in rows[0]["q"]
    batch = jsonl(v1_rows(3))
    db.insert_rows(batch, "tok-1")
    db.insert_rows(batch, "tok-1")  # a re-shipped batch
    assert int(db.query(f"SELECT count() AS n FROM {EVENTS_TABLE}")[0]["n"]) == 3


def test_a_v1_install_is_upgraded_keeping_its_rows(db: ChdbStore) -> None:
    layout = Layout()
    db.execute(layout.render(MIGRATIONS_DDL))
    for sql in layout.statements(MIGRATIONS[0]):
        db.execute(sql)
    db.execute(f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (1, '{MIGRATIONS[0].name}')")
    rows = v1_rows(5)
    db.insert_rows(jsonl(rows), "v1-batch")
    assert not V2_COLUMNS & set(columns(db))

    assert migrate(db, layout) == AFTER_V1

    assert V2_COLUMNS <= set(columns(db))
    stored = db.query(
        f"SELECT toString(event_id) AS id, host, rules, stream, seq, prev_hash, hash "
        f"FROM {EVENTS_TABLE} ORDER BY host"
    )
    assert [(r["id"], r["host"], r["rules"]) for r in stored] == [
        (r["event_id"], r["host"], r["rules"]) for r in rows
    ]
    assert {(r["stream"], int(r["seq"]), r["prev_hash"], r["hash"]) for r in stored} == {
        ("", 0, "", "")
    }
    assert [v for v, _ in recorded(db)] == [1, *AFTER_V1]


def test_a_migration_interrupted_before_its_record_runs_again(db: ChdbStore) -> None:
    layout = Layout()
    db.execute(layout.render(MIGRATIONS_DDL))
    for migration in MIGRATIONS:  # every statement ran, then the process died
        for sql in layout.statements(migration):
            db.execute(sql)
    db.execute(f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (1, '{MIGRATIONS[0].name}')")
    assert migrate(db, layout) == AFTER_V1
    assert [v for v, _ in recorded(db)] == [1, *AFTER_V1]
    assert set(columns(db)) == set(EVENT_COLUMNS) | {"ingested_at"}


def test_an_unknown_newer_version_is_refused(db: ChdbStore) -> None:
    migrate(db, Layout())
    db.execute(f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (99, 'from the future')")
    with pytest.raises(StoreUnavailableError, match=r"\[99\].*upgrade Airlock"):
        migrate(db, Layout())


def test_an_unknown_version_is_refused_before_anything_is_created(db: ChdbStore) -> None:
    db.execute(Layout().render(MIGRATIONS_DDL))
    future = max(AFTER_V1) + 1
    db.execute(f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES ({future}, 'future')")
    with pytest.raises(StoreUnavailableError, match=rf"\[{future}\]"):
        migrate(db, Layout())
    assert not table_exists(db, EVENTS_TABLE)
    assert recorded(db) == [(future, "future")]


def test_single_node_script_has_no_cluster_parts() -> None:
    script = Layout().script()
    assert Layout().local == EVENTS_TABLE
    assert len(script) == 1 + sum(len(m.statements) for m in MIGRATIONS)
    for sql in script:
        assert "ON CLUSTER" not in sql
        assert "Replicated" not in sql and "Distributed" not in sql
        assert f"{EVENTS_TABLE}_local" not in sql
        assert "$" not in sql  # every template placeholder was filled


# --- cluster layout: parsed by real ClickHouse, never run --------------------


@pytest.fixture(scope="module")
def cluster_script() -> list[str]:
    return Layout("prod").script()


def formatted(store: ChdbStore, sql: str) -> str:
    """ClickHouse's own normal form of ``sql`` (raises if it does not parse)."""
    rows = store.query("SELECT formatQuery({q:String}) AS q", {"q": sql})
    return str(rows[0]["q"])


def test_explain_ast_rejects_a_broken_statement(store: ChdbStore) -> None:
    """The control for the next test: EXPLAIN AST really parses."""
    with pytest.raises(StoreUnavailableError, match="Syntax error"):
        store.execute("EXPLAIN AST ALTER TABLE t ON CLUSTER 'prod' ADD COLUMN")


def test_every_cluster_statement_parses(store: ChdbStore, cluster_script: list[str]) -> None:
    assert len(cluster_script) >= 5
    for sql in cluster_script:
        store.execute(f"EXPLAIN AST {sql}")
        assert "$" not in sql
        text = formatted(store, sql)
        assert re.match(r"(CREATE TABLE IF NOT EXISTS|ALTER TABLE) \w+ ON CLUSTER prod\s", text), (
            sql
        )


def test_cluster_tables_are_replicated_with_macros(cluster_script: list[str]) -> None:
    creates = [sql for sql in cluster_script if sql.startswith("CREATE TABLE")]
    replicated = [sql for sql in creates if "Distributed(" not in sql]
    assert len(replicated) == 2  # the migrations table and airlock_events_local
    for sql in replicated:
        table = sql.split()[5]
        # data is per shard; the migrations log is one for the whole cluster
        shard = "" if table == MIGRATIONS_TABLE else "{shard}/"
        assert f"ReplicatedMergeTree('/clickhouse/tables/{shard}{{database}}/{table}', " in sql
        assert "'{replica}')" in sql
        assert not re.search(r"ENGINE = MergeTree\b", sql)
    assert {sql.split()[5] for sql in replicated} == {MIGRATIONS_TABLE, f"{EVENTS_TABLE}_local"}
    assert "replicated_deduplication_window = 10000" in next(
        sql for sql in replicated if f"{EVENTS_TABLE}_local" in sql
    )
    assert all("non_replicated" not in sql for sql in cluster_script)


def test_cluster_has_a_distributed_table_over_the_local_one(
    store: ChdbStore, cluster_script: list[str]
) -> None:
    assert Layout("prod").local == f"{EVENTS_TABLE}_local"
    distributed = [sql for sql in cluster_script if "Distributed(" in sql]
    assert len(distributed) == 1
    text = formatted(store, distributed[0])
    assert text.startswith(
        f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} ON CLUSTER prod AS {EVENTS_TABLE}_local"
    )
    assert f"Distributed('prod', currentDatabase(), {EVENTS_TABLE}_local," in text
    local_create = next(
        i
        for i, s in enumerate(cluster_script)
        if s.startswith(f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE}_local")
    )
    first_alter = next(i for i, s in enumerate(cluster_script) if s.startswith("ALTER"))
    assert local_create < cluster_script.index(distributed[0]) < first_alter


def test_migration_2_alters_both_cluster_tables(store: ChdbStore) -> None:
    statements = Layout("prod").statements(MIGRATIONS[1])
    added: dict[str, set[str]] = {}
    for sql in statements:
        text = formatted(store, sql)
        match = re.match(r"ALTER TABLE (\S+) ON CLUSTER prod\b", text)
        assert match, text
        added[match.group(1)] = set(re.findall(r"ADD COLUMN IF NOT EXISTS `(\w+)`", text))
    assert added == {f"{EVENTS_TABLE}_local": V2_COLUMNS, EVENTS_TABLE: V2_COLUMNS}
