"""The ClickHouse schema, as versioned migrations shared by chDB and a server.

Ordered by (tenant, agent, task_id, ts) so per-agent and per-task time ranges read
few granules. Inserts carry an ``insert_deduplication_token`` per spool batch and
the table keeps a deduplication window, so a re-shipped batch is dropped by
ClickHouse itself (exactly once without FINAL at query time). The trade-off: the
window is the last 10,000 inserts, so a batch re-shipped after more than 10,000
newer inserts would duplicate; the shipper re-ships only its one pending batch.
(A ReplacingMergeTree keyed on event_id would dedupe at any distance, but only
eventually, at merge time, or with FINAL on every read.)

Single node: ``airlock_events`` is a MergeTree. Cluster (``clickhouse_cluster``):
``airlock_events_local`` is a ReplicatedMergeTree on every node and
``airlock_events`` a Distributed table over it, so every query and insert names
``airlock_events`` either way. Statements are templates: ``$local`` (the table
holding data), ``$on_cluster``, ``$engine``, ``$dedup``.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

EVENTS_TABLE = "airlock_events"
MIGRATIONS_TABLE = "airlock_schema_migrations"

EVENT_COLUMNS = (
    "schema_version",
    "event_id",
    "ts",
    "kind",
    "code",
    "severity",
    "tenant",
    "agent",
    "task_id",
    "request_id",
    "session",
    "workflow",
    "method",
    "scheme",
    "host",
    "port",
    "path",
    "query",
    "status",
    "decision",
    "rules",
    "reasons",
    "policy_revision",
    "bytes_in",
    "bytes_out",
    "duration_ms",
    "client_addr",
    "gateway_id",
    "detail",
    "spool_stream",
    "stream",
    "seq",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]  # templates, applied to the data table
    distributed: tuple[str, ...] = ()  # also applied to the Distributed table on a cluster


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "create airlock_events",
        (
            """
CREATE TABLE IF NOT EXISTS $local $on_cluster (
    schema_version UInt16,
    event_id UUID,
    ts DateTime64(6, 'UTC'),
    kind LowCardinality(String),
    code LowCardinality(String),
    severity LowCardinality(String),
    tenant LowCardinality(String),
    agent String,
    task_id String,
    request_id String,
    session String,
    workflow String,
    method LowCardinality(String),
    scheme LowCardinality(String),
    host String,
    port UInt16,
    path String,
    query String,
    status UInt16,
    decision LowCardinality(String),
    rules Array(String),
    reasons Array(String),
    policy_revision String,
    bytes_in UInt64,
    bytes_out UInt64,
    duration_ms Float64,
    client_addr String,
    gateway_id LowCardinality(String),
    detail String,
    spool_stream LowCardinality(String),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_host host TYPE bloom_filter GRANULARITY 4,
    INDEX idx_request request_id TYPE bloom_filter GRANULARITY 4
) ENGINE = $engine
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, agent, task_id, ts, event_id)
SETTINGS $dedup
""",
        ),
    ),
    Migration(
        2,
        "hash chain columns",
        (
            """
ALTER TABLE $local $on_cluster
    ADD COLUMN IF NOT EXISTS stream LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS prev_hash String DEFAULT '',
    ADD COLUMN IF NOT EXISTS hash String DEFAULT '',
    ADD INDEX IF NOT EXISTS idx_seq seq TYPE minmax GRANULARITY 1
""",
        ),
        (
            """
ALTER TABLE $table $on_cluster
    ADD COLUMN IF NOT EXISTS stream LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS prev_hash String DEFAULT '',
    ADD COLUMN IF NOT EXISTS hash String DEFAULT ''
""",
        ),
    ),
    Migration(
        3,
        "ingest-order index",
        (
            "ALTER TABLE $local $on_cluster "
            "ADD INDEX IF NOT EXISTS idx_ingested ingested_at TYPE minmax GRANULARITY 1",
        ),
    ),
    Migration(
        4,
        "task and kind indexes",  # task timelines across tenants; kind-only folds
        (
            "ALTER TABLE $local $on_cluster "
            "ADD INDEX IF NOT EXISTS idx_task task_id TYPE bloom_filter GRANULARITY 1, "
            "ADD INDEX IF NOT EXISTS idx_kind kind TYPE set(64) GRANULARITY 1",
            "ALTER TABLE $local $on_cluster MATERIALIZE INDEX idx_task",
            "ALTER TABLE $local $on_cluster MATERIALIZE INDEX idx_kind",
        ),
    ),
)

MIGRATIONS_DDL = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} $on_cluster (
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = $meta_engine ORDER BY version
"""


@dataclass(frozen=True)
class Layout:
    """Where the schema lives: one node, or a named cluster."""

    cluster: str | None = None

    @property
    def local(self) -> str:
        return f"{EVENTS_TABLE}_local" if self.cluster else EVENTS_TABLE

    def render(self, template: str) -> str:
        if self.cluster:
            on_cluster = f"ON CLUSTER '{self.cluster}'"
            engine = (
                "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/"
                f"{self.local}', '{{replica}}')"
            )
            dedup = "replicated_deduplication_window = 10000"
            # no {shard} in the path: every node of every shard shares one migrations log
            meta = "ReplicatedMergeTree('/clickhouse/tables/{database}/"
            meta += f"{MIGRATIONS_TABLE}', '{{replica}}')"
        else:
            on_cluster, engine, meta = "", "MergeTree", "MergeTree"
            dedup = "non_replicated_deduplication_window = 10000"
        return (
            Template(template)
            .substitute(
                local=self.local,
                table=EVENTS_TABLE,
                on_cluster=on_cluster,
                engine=engine,
                dedup=dedup,
                meta_engine=meta,
            )
            .strip()
        )

    def distributed_ddl(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} ON CLUSTER '{self.cluster}' "
            f"AS {self.local} ENGINE = Distributed('{self.cluster}', currentDatabase(), "
            f"{self.local}, cityHash64(tenant, agent))"
        )

    def statements(self, migration: Migration) -> list[str]:
        out = [self.render(sql) for sql in migration.statements]
        if self.cluster:
            if migration.version == 1:
                out.append(self.distributed_ddl())
            out += [self.render(sql) for sql in migration.distributed]
        return out

    def script(self) -> list[str]:
        """Every statement, in order: what ``airlock store ddl`` prints."""
        out = [self.render(MIGRATIONS_DDL)]
        for migration in MIGRATIONS:
            out += self.statements(migration)
        return out
