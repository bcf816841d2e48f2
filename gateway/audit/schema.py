"""The ClickHouse schema, identical for chDB and a ClickHouse server.

Ordered by (tenant, agent, task_id, ts) so per-agent and per-task time ranges read
few granules. Inserts carry an ``insert_deduplication_token`` per spool batch and
the table keeps a deduplication window, so a re-shipped batch is dropped by
ClickHouse itself (exactly once without FINAL at query time). The trade-off: the
window is the last 10,000 inserts, so a batch re-shipped after more than 10,000
newer inserts would duplicate; the shipper re-ships only its one pending batch.
"""

from __future__ import annotations

EVENTS_TABLE = "airlock_events"

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
)

EVENTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
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
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, agent, task_id, ts, event_id)
SETTINGS non_replicated_deduplication_window = 10000
"""
