"""tests/support/grafana.py expands as the ClickHouse plugin documents, and refuses the rest.

Expected strings are the plugin README's own examples (its time range 1415792726 to
1447328726, an interval of 20 s).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.grafana import ALL, ExpansionError, TimeRange, expand

RNG = TimeRange(
    datetime.fromtimestamp(1415792726.123, UTC), datetime.fromtimestamp(1447328726.456, UTC), 20
)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "$__timeFilter(time)",
            "time >= toDateTime(1415792726) AND time <= toDateTime(1447328726)",
        ),
        (
            "$__timeFilter_ms(time)",
            "time >= fromUnixTimestamp64Milli(1415792726123)"
            " AND time <= fromUnixTimestamp64Milli(1447328726456)",
        ),
        ("$__dateFilter(date)", "date >= toDate('2014-11-12') AND date <= toDate('2015-11-12')"),
        ("$__fromTime", "toDateTime(1415792726)"),
        ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726456)"),
        ("$__interval_s", "20"),
        ("$__timeInterval(column)", "toStartOfInterval(toDateTime(column), INTERVAL 20 second)"),
        (
            "$__timeInterval_ms(column)",
            "toStartOfInterval(toDateTime64(column, 3), INTERVAL 20000 millisecond)",
        ),
    ],
)
def test_macros_expand_as_the_plugin_documents(sql: str, expected: str) -> None:
    assert expand(sql, RNG, {}) == expected


def test_conditional_all_drops_the_condition_for_all_and_keeps_it_otherwise() -> None:
    sql = "WHERE $__conditionalAll(agent IN (${agent:singlequote}), $agent) AND x"
    assert expand(sql, RNG, {"agent": ALL}) == "WHERE 1=1 AND x"
    assert expand(sql, RNG, {"agent": []}) == "WHERE 1=1 AND x"
    assert expand(sql, RNG, {"agent": ["a", "b"]}) == "WHERE agent IN ('a','b') AND x"


def test_variable_formats() -> None:
    variables = {"one": "it's", "many": ["a", "b'c"]}
    assert expand("${one:singlequote}", RNG, variables) == "'it\\'s'"
    assert expand("${many:singlequote}", RNG, variables) == "'a','b\\'c'"
    assert expand("${one:sqlstring}", RNG, variables) == "'it''s'"
    assert expand("${many:raw}", RNG, variables) == "a,b'c"
    # the plugin's own format: single values as they are, several quoted and joined
    assert expand("$one", RNG, variables) == "it's"
    assert expand("${many}", RNG, variables) == "'a','b'c'"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("$__timeFilterz(ts)", "unknown macro"),
        ("$__timeFilter", "needs 1 argument"),
        ("$__timeFilter(a, b)", "takes 1 argument"),
        ("$__conditionalAll(x = 1)", "takes 2 arguments"),
        ("$__conditionalAll(x = 1, 1)", "needs a $variable"),
        ("$__conditionalAll(x = 1, $nope)", "unknown variable"),
        ("agent = $nope", "unknown template variable"),
        ("agent IN (${agent:singlequote})", "All but used outside"),
        ("${tenant:json}", "unsupported variable format"),
        ("$__timeInterval(toDateTime(ts)", "unbalanced"),
    ],
)
def test_anything_else_is_refused(sql: str, message: str) -> None:
    with pytest.raises(ExpansionError, match=message.replace("$", r"\$")):
        expand(sql, RNG, {"agent": ALL, "tenant": "acme"})
