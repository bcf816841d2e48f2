"""Apply the versioned ClickHouse migrations (gateway/audit/schema.py) once each.

The applied versions are rows of ``airlock_schema_migrations``. Statements are
idempotent (``IF NOT EXISTS``), so a migration interrupted half-way is simply
run again. A store newer than this code (an unknown version) is refused rather
than written with a schema we do not know.
"""

from __future__ import annotations

import logging
from typing import Protocol

from gateway.audit.schema import MIGRATIONS, MIGRATIONS_DDL, MIGRATIONS_TABLE, Layout
from gateway.errors import StoreUnavailableError

log = logging.getLogger("airlock.migrate")


class Executor(Protocol):
    def execute(self, sql: str) -> None: ...

    def query(
        self, sql: str, params: dict[str, object] | None = None
    ) -> list[dict[str, object]]: ...


def applied_versions(store: Executor, layout: Layout) -> set[int]:
    store.execute(layout.render(MIGRATIONS_DDL))
    rows = store.query(f"SELECT DISTINCT version FROM {MIGRATIONS_TABLE}")
    return {int(str(row["version"])) for row in rows}


def migrate(store: Executor, layout: Layout) -> list[int]:
    """Apply every pending migration in order; returns the versions applied now."""
    done = applied_versions(store, layout)
    known = {m.version for m in MIGRATIONS}
    if done - known:
        raise StoreUnavailableError(
            f"ClickHouse schema has versions {sorted(done - known)} this Airlock does not know; "
            "upgrade Airlock"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for sql in layout.statements(migration):
            store.execute(sql)
        store.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES "
            f"({migration.version}, '{migration.name}')"
        )
        log.info("applied ClickHouse migration %d: %s", migration.version, migration.name)
        applied.append(migration.version)
    return applied
