"""``airlock store``: the ClickHouse schema — migrate it, or print it for an operator."""

from __future__ import annotations

import click

from gateway.audit.migrate import migrate
from gateway.audit.retention import ttl_statement
from gateway.audit.schema import EVENTS_TABLE, MIGRATIONS_TABLE, Layout
from gateway.audit.store import open_store
from gateway.cli_common import emit, settings_from
from gateway.control.holds import HoldService
from gateway.runtime import build_control_plane


@click.group()
def store() -> None:
    """The audit store's schema (ClickHouse or embedded chDB)."""


@store.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def store_migrate(ctx: click.Context, as_json: bool) -> None:
    """Apply pending schema migrations (chDB only while Airlock is stopped)."""
    settings = settings_from(ctx)
    target = open_store(settings.clickhouse_url, settings.chdb_dir, run_migrations=False)
    try:
        applied = migrate(target, Layout(settings.clickhouse_cluster))
    finally:
        target.close()
    human = f"applied migrations {applied}" if applied else "schema is up to date"
    emit({"applied": applied}, as_json, human)


def grants(database: str, layout: Layout) -> list[str]:
    """Least privilege: the shipper (clickhouse_url) may only INSERT; the API's reader
    (clickhouse_read_url) may SELECT and rewrite the retention TTL."""
    on = f" ON CLUSTER '{layout.cluster}'" if layout.cluster else ""
    tables = sorted({EVENTS_TABLE, layout.local})  # a cluster inserts through Distributed
    out = [
        f"CREATE USER IF NOT EXISTS {user}{on} IDENTIFIED WITH sha256_password BY '<secret>'"
        for user in ("airlock_writer", "airlock_reader")
    ]
    out += [f"GRANT{on} INSERT ON {database}.{t} TO airlock_writer" for t in tables]
    out += [f"GRANT{on} SELECT ON {database}.{t} TO airlock_reader" for t in tables]
    # retention: the store rewrites the TTL when a legal hold opens or is released
    out.append(f"GRANT{on} ALTER TTL ON {database}.{layout.local} TO airlock_reader")
    out.append(f"GRANT{on} SELECT ON {database}.{MIGRATIONS_TABLE} TO airlock_reader")
    return out


@store.command("ddl")
@click.option("--cluster", help="Render for this cluster: ReplicatedMergeTree + Distributed.")
@click.option("--database", default="airlock", show_default=True, help="Database for grants.")
@click.option("--retention-days", type=int, default=0, help="Also print the retention TTL.")
@click.pass_context
def store_ddl(ctx: click.Context, cluster: str | None, database: str, retention_days: int) -> None:
    """Print the schema, grants and retention TTL for an operator to run."""
    layout = Layout(cluster)
    statements = layout.script() + grants(database, layout)
    holds = []
    if retention_days > 0:  # never print a TTL that drops an open hold's protection
        holds = HoldService(build_control_plane(settings_from(ctx)).sessions).list(open_only=True)
    ttl = ttl_statement(layout, retention_days, holds)
    if ttl:
        statements.append(ttl)
    click.echo(";\n\n".join(statements) + ";")
