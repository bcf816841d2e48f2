"""Reading dashboards/*.json: panels, the queries in them, and running those on a store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.audit.store import AuditStore
from tests.support.grafana import TimeRange, Value, expand

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "dashboards"
PLUGIN = "grafana-clickhouse-datasource"


def load_all() -> dict[str, dict[str, Any]]:
    """Every dashboard, by uid."""
    boards = [json.loads(p.read_text()) for p in sorted(DASHBOARDS_DIR.glob("*.json"))]
    return {board["uid"]: board for board in boards}


def panels(board: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def query_variables(board: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [v for v in board["templating"]["list"] if v["type"] == "query"]


@dataclass(frozen=True)
class Query:
    dashboard: str  # uid
    where: str  # "panel <title>", "variable <name>" or "annotation <name>"
    sql: str
    timeseries: bool

    @property
    def id(self) -> str:
        return f"{self.dashboard}: {self.where}"


def queries(board: Mapping[str, Any]) -> list[Query]:
    uid = board["uid"]
    out = [
        Query(uid, f"panel {p['title']}", t["rawSql"], t.get("format") == 0)
        for p in panels(board)
        for t in p.get("targets", [])
    ]
    out += [Query(uid, f"variable {v['name']}", v["query"], False) for v in query_variables(board)]
    out += [
        Query(uid, f"annotation {a['name']}", a["target"]["rawSql"], False)
        for a in board["annotations"]["list"]
        if a.get("datasource", {}).get("type") == PLUGIN
    ]
    return out


def panel_sql(board: Mapping[str, Any], title: str) -> str:
    [sql] = [
        t["rawSql"] for p in panels(board) if p["title"] == title for t in p.get("targets", [])
    ]
    return sql


NO_QUOTED_INTEGERS = "\nSETTINGS output_format_json_quote_64bit_integers = 0"


def run(
    store: AuditStore, sql: str, rng: TimeRange, variables: Mapping[str, Value]
) -> list[dict[str, Any]]:
    """Expand ``sql`` as the plugin would and run it; 64-bit integers come back as numbers."""
    return store.query(expand(sql, rng, variables) + NO_QUOTED_INTEGERS)


TABLE_NODE = re.compile(r"TABLE id: (\d+),.*table_name: \w+\.airlock_events\b")
COLUMN_NODE = re.compile(r"COLUMN id: \d+, column_name: (\w+),.*source_id: (\d+)")


def table_columns(store: AuditStore, sql: str) -> set[str]:
    """The columns of ``airlock_events`` a (plain) query reads, from ClickHouse's own
    analysis (EXPLAIN QUERY TREE), not from parsing the SQL text."""
    lines = [r["explain"] for r in store.query(f"EXPLAIN QUERY TREE {sql}")]
    tables = {m.group(1) for line in lines if (m := TABLE_NODE.search(line))}
    assert tables, f"query reads no airlock_events table:\n{sql}"
    return {
        m.group(1) for line in lines if (m := COLUMN_NODE.search(line)) and m.group(2) in tables
    }
