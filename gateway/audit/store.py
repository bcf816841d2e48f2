"""Audit stores: ClickHouse embedded (chDB) or a ClickHouse server.

Both run the same SQL with ``{name:Type}`` query parameters and receive the same
JSONEachRow batches with a deduplication token.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Protocol

from gateway.audit.migrate import migrate
from gateway.audit.schema import EVENTS_TABLE, Layout
from gateway.errors import StoreUnavailableError


class AuditStore(Protocol):
    name: str

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing (DDL, ALTER)."""

    def insert_rows(self, rows: bytes, dedup_token: str) -> None:
        """Insert JSONEachRow ``rows``; an insert with a seen token is ignored."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


def _token_literal(token: str) -> str:
    if not all(c.isalnum() or c in ":._-" for c in token):
        raise ValueError(f"bad dedup token {token!r}")
    return token


def _chdb_param(value: Any) -> Any:
    """chDB binds parameters as text: an Array(String) needs its quoted literal form."""
    if isinstance(value, list | tuple):
        quoted = (_escape(str(v)).replace("'", "\\'") for v in value)
        return "[" + ",".join(f"'{q}'" for q in quoted) + "]"
    if isinstance(value, str):  # parsed as an escaped text field
        return _escape(value)
    return value


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


class ChdbStore:
    """chDB owns its data directory: exactly one process may open it."""

    name = "chdb"

    def __init__(self, path: Path) -> None:
        from chdb import session as chdb_session

        path.mkdir(parents=True, exist_ok=True)
        self._session = chdb_session.Session(str(path))
        self._lock = threading.Lock()

    def execute(self, sql: str) -> None:
        with self._lock:
            try:
                self._session.query(sql)
            except Exception as exc:  # chDB raises plain RuntimeError
                raise StoreUnavailableError(f"chDB statement failed: {exc}") from None

    def insert_rows(self, rows: bytes, dedup_token: str) -> None:
        sql = (
            f"INSERT INTO {EVENTS_TABLE} SETTINGS insert_deduplication_token="
            f"'{_token_literal(dedup_token)}' FORMAT JSONEachRow\n"
        ) + rows.decode()
        with self._lock:
            try:
                self._session.query(sql)
            except Exception as exc:  # chDB raises plain RuntimeError
                raise StoreUnavailableError(f"chDB insert failed: {exc}") from None

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        bound = {k: _chdb_param(v) for k, v in (params or {}).items()}
        with self._lock:
            try:
                result = self._session.query(sql, "JSONEachRow", params=bound)
            except Exception as exc:
                raise StoreUnavailableError(f"chDB query failed: {exc}") from None
        text = result.data() if result is not None else ""
        return [json.loads(line) for line in text.splitlines() if line]

    def ping(self) -> bool:
        try:
            return self.query("SELECT 1 AS ok") == [{"ok": 1}]
        except StoreUnavailableError:
            return False

    def close(self) -> None:
        with self._lock:
            self._session.close()


class ClickHouseServerStore:
    """A ClickHouse server reached through clickhouse-connect (HTTP interface).

    A ``chdb:///path`` DSN selects clickhouse-connect's embedded chDB backend: the
    same client code and SQL as against a server, which is how the tests exercise
    this path on a machine without a ClickHouse server.
    """

    name = "clickhouse"

    def __init__(self, dsn: str) -> None:
        import clickhouse_connect

        try:
            if dsn.startswith("chdb:"):
                self._client = clickhouse_connect.get_client(dsn=dsn)
            else:
                self._client = clickhouse_connect.get_client(dsn=dsn, autogenerate_session_id=False)
        except Exception as exc:
            raise StoreUnavailableError(f"cannot reach ClickHouse: {type(exc).__name__}") from None
        self._lock = threading.Lock()

    def execute(self, sql: str) -> None:
        try:
            with self._lock:
                self._client.command(sql)
        except Exception as exc:
            raise StoreUnavailableError(f"ClickHouse statement failed: {exc}") from None

    def insert_rows(self, rows: bytes, dedup_token: str) -> None:
        try:
            with self._lock:
                self._client.raw_insert(
                    EVENTS_TABLE,
                    insert_block=rows,
                    fmt="JSONEachRow",
                    settings={"insert_deduplication_token": _token_literal(dedup_token)},
                )
        except Exception as exc:
            raise StoreUnavailableError(f"ClickHouse insert failed: {exc}") from None

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            with self._lock:
                raw = self._client.raw_query(sql, parameters=params or {}, fmt="JSONEachRow")
        except Exception as exc:
            raise StoreUnavailableError(f"ClickHouse query failed: {exc}") from None
        return [json.loads(line) for line in raw.decode().splitlines() if line]

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except Exception:
            return False

    def close(self) -> None:
        self._client.close()


def open_store(
    clickhouse_url: str | None,
    chdb_dir: Path,
    *,
    layout: Layout | None = None,
    run_migrations: bool = True,
) -> AuditStore:
    """Open the configured store and bring its schema up to date (unless told not to:
    an INSERT-only writer cannot run DDL, an operator migrates with ``airlock store migrate``)."""
    store: AuditStore = (
        ClickHouseServerStore(clickhouse_url) if clickhouse_url else ChdbStore(chdb_dir)
    )
    if run_migrations:
        try:
            migrate(store, layout or Layout())
        except BaseException:
            store.close()
            raise
    return store
