"""dashboards/*.json: well-formed for the ClickHouse plugin, and every query runs on chDB.

Every panel, template-variable and annotation query is expanded the way the plugin
expands it (tests/support/grafana.py) and executed against a real chDB store that the
real migrations created and the real shipper filled (see audit_fixture.py), under
several tenant/agent selections. The numbers panels should show are checked in
test_panel_numbers.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.audit.schema import EVENT_COLUMNS
from gateway.audit.store import ChdbStore
from tests.dashboards.audit_fixture import Shipped
from tests.dashboards.dashboards import (
    PLUGIN,
    Query,
    load_all,
    panels,
    queries,
    query_variables,
    run,
    table_columns,
)
from tests.support.grafana import ALL, TimeRange, Value, expand

BOARDS = load_all()
QUERIES = [q for board in BOARDS.values() for q in queries(board)]
SCOPED = ("airlock-overview", "airlock-agents")  # the dashboards with tenant/agent variables

# Variable selections every query must run under: All, one tenant, one agent, several of
# each, and a value with a quote in it (which must stay a string literal).
SELECTIONS: dict[str, dict[str, Value]] = {
    "all": {"tenant": ALL, "agent": ALL},
    "tenant": {"tenant": ["acme"], "agent": ALL},
    "agent": {"tenant": ["acme"], "agent": ["claude-1"]},
    "several": {"tenant": ["acme", "globex"], "agent": ["claude-2", "bot-9"]},
    "quote": {"tenant": ["o'brien"], "agent": ["x') OR ('1'='1"]},
}


def variables_for(uid: str, selection: str) -> dict[str, Value]:
    """Only the dashboard's own variables: a query naming any other one cannot expand."""
    names = [v["name"] for v in query_variables(BOARDS[uid])]
    return {name: SELECTIONS[selection][name] for name in names}


def test_the_dashboards_are_there() -> None:
    assert set(BOARDS) == {"airlock-overview", "airlock-agents", "airlock-pipeline"}


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_dashboard_shape(uid: str) -> None:
    board = BOARDS[uid]
    assert board["title"].startswith("Airlock")
    assert board["schemaVersion"] >= 39
    assert board["id"] is None  # importable anywhere
    [ds] = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert (ds["name"], ds["query"]) == ("datasource", PLUGIN)
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {uid}"
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            assert "targets" not in panel
            continue
        _check_panel(panel)


def _check_panel(panel: dict[str, Any]) -> None:
    title = panel["title"]
    assert panel["datasource"] == {"type": PLUGIN, "uid": "${datasource}"}, title
    assert panel.get("description"), f"{title}: say what the panel shows"
    targets = panel["targets"]
    assert targets, title
    assert len({t["refId"] for t in targets}) == len(targets), title
    for target in targets:
        assert target["datasource"]["type"] == PLUGIN, title
        assert target["editorType"] == "sql", title
        assert target["rawSql"].strip(), title
        # format 0 = time series, 1 = table (the plugin's sqlutil.FormatQueryOption)
        expected = (0, "timeseries") if panel["type"] == "timeseries" else (1, "table")
        assert (target["format"], target["queryType"]) == expected, title


@pytest.mark.parametrize("uid", SCOPED)
def test_tenant_and_agent_variables_come_from_clickhouse(uid: str) -> None:
    variables = {v["name"]: v for v in query_variables(BOARDS[uid])}
    assert set(variables) == {"tenant", "agent"}
    for var in variables.values():
        assert var["datasource"] == {"type": PLUGIN, "uid": "${datasource}"}
        assert var["multi"] and var["includeAll"]
        assert var["current"]["value"] == [ALL]
        assert "FROM airlock_events" in var["query"]
    assert (
        "$__conditionalAll(tenant IN (${tenant:singlequote}), $tenant)"
        in (variables["agent"]["query"])
    )


@pytest.mark.parametrize("uid", SCOPED)
def test_every_panel_honours_tenant_and_agent(uid: str) -> None:
    for panel in panels(BOARDS[uid]):
        for target in panel.get("targets", []):
            sql = target["rawSql"]
            assert "$__conditionalAll(tenant IN (${tenant:singlequote}), $tenant)" in sql
            assert "$__conditionalAll(agent IN (${agent:singlequote}), $agent)" in sql


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.id)
def test_every_query_filters_on_the_time_range(query: Query) -> None:
    assert "$__timeFilter(ts)" in query.sql
    if query.timeseries:
        assert "$__timeInterval(ts) AS time" in query.sql


@pytest.mark.parametrize(
    ("query", "selection"),
    [
        (q, s)
        for q in QUERIES
        for s in (SELECTIONS if q.dashboard in SCOPED else ["all"])  # no variables otherwise
    ],
    ids=lambda v: v.id if isinstance(v, Query) else v,
)
def test_every_query_runs(
    store: ChdbStore, shipped: Shipped, rng: TimeRange, query: Query, selection: str
) -> None:
    variables = variables_for(query.dashboard, selection)
    rows = run(store, query.sql, rng, variables)
    if selection != "quote":
        assert rows, f"{query.id} returned nothing for {selection}"
    elif query.where.startswith("panel"):  # the quoted values matched nothing at all
        assert not any(v for row in rows for v in row.values() if isinstance(v, int | float))
    if query.timeseries:
        described = store.query(f"DESCRIBE ({expand(query.sql, rng, variables)})")
        assert described[0]["name"] == "time"
        assert described[0]["type"].startswith("DateTime")


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.id)
def test_every_column_a_query_reads_is_in_the_schema(
    store: ChdbStore, rng: TimeRange, query: Query
) -> None:
    sql = expand(query.sql, rng, variables_for(query.dashboard, "agent"))
    columns = table_columns(store, sql)
    assert columns <= {*EVENT_COLUMNS, "ingested_at"}, columns - {*EVENT_COLUMNS}
    assert "ts" in columns
