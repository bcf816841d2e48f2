"""Expand a Grafana ClickHouse panel query to the SQL the server would run.

Follows the official ClickHouse datasource plugin (``grafana-clickhouse-datasource``,
v4.0.3 or newer), in the plugin's order:

1. ``$__conditionalAll(condition, $var)`` (frontend): ``1=1`` when ``$var`` is *All*
   (or empty), else ``condition``. Innermost-last, like the plugin (it scans from the
   last occurrence).
2. Template variables (Grafana's ``templateSrv.replace`` with the plugin's format
   function): ``$var`` / ``${var}`` give a single value as is (unquoted) and a
   multi-value as ``'a','b'``; ``${var:singlequote}`` quotes each value with ``'``
   (escaping ``'`` as ``\\'``), ``${var:sqlstring}`` doubles ``'``, ``${var:raw}``
   joins with ``,``. An *All* value used outside ``$__conditionalAll`` is refused here:
   Grafana would expand it to every option, which the dashboards must not rely on.
3. Backend macros (``pkg/macros/macros.go``), given the time range and interval:
   ``$__timeFilter(c)`` → ``c >= toDateTime(<from>) AND c <= toDateTime(<to>)``
   (Unix seconds), ``$__timeFilter_ms(c)`` (``fromUnixTimestamp64Milli``),
   ``$__dateFilter(c)``, ``$__dateTimeFilter(d, t)`` / ``$__dt``,
   ``$__timeInterval(c)`` → ``toStartOfInterval(toDateTime(c), INTERVAL <n> second)``,
   ``$__timeInterval_ms(c)``, ``$__interval_s``, ``$__fromTime``, ``$__toTime``,
   ``$__fromTime_ms``, ``$__toTime_ms``.

Anything else that starts with ``$`` (an unknown macro or variable, a format this
module does not know, a wrong argument count) raises :class:`ExpansionError`, so a
dashboard cannot use something these tests would silently pass over.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

ALL = "$__all"  # the value Grafana stores for a variable set to "All"

Value = str | Sequence[str]


class ExpansionError(ValueError):
    """A query uses a macro, variable or form the plugin would not expand as expected."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # timezone-aware
    end: datetime
    interval_s: int = 60  # Grafana's $__interval for the panel, in seconds

    @property
    def from_s(self) -> int:
        return math.floor(self.start.timestamp())

    @property
    def to_s(self) -> int:
        return math.floor(self.end.timestamp())


def is_all(value: Value) -> bool:
    values = [value] if isinstance(value, str) else list(value)
    return not values or values == [""] or ALL in values


def macro_args(sql: str, open_paren: int) -> tuple[list[str], int]:
    """Split the arguments of the call whose ``(`` is at ``open_paren`` on top-level
    commas; returns them and the index just past the closing ``)``."""
    depth, start, args = 0, open_paren + 1, []
    for i in range(open_paren, len(sql)):
        char = sql[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:i])
                return args, i + 1
        elif char == "," and depth == 1:
            args.append(sql[start:i])
            start = i + 1
    raise ExpansionError(f"unbalanced parentheses after position {open_paren}: {sql!r}")


CONDITIONAL_ALL = "$__conditionalAll("
VAR_REF = re.compile(r"^\s*\$(?:\{(\w+)\}|(\w+))\s*$")


def expand_conditional_all(sql: str, variables: Mapping[str, Value]) -> str:
    while (at := sql.rfind(CONDITIONAL_ALL)) != -1:
        args, end = macro_args(sql, at + len(CONDITIONAL_ALL) - 1)
        if len(args) != 2:
            raise ExpansionError(f"$__conditionalAll takes 2 arguments, got {len(args)}")
        ref = VAR_REF.match(args[1])
        if ref is None:
            raise ExpansionError(f"$__conditionalAll needs a $variable, got {args[1]!r}")
        name = ref.group(1) or ref.group(2)
        if name not in variables:
            raise ExpansionError(f"unknown variable ${name} in $__conditionalAll")
        phrase = "1=1" if is_all(variables[name]) else args[0]
        sql = sql[:at] + phrase + sql[end:]
    return sql


def _singlequote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def _sqlstring(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


FORMATS: dict[str, Callable[[list[str]], str]] = {
    "singlequote": lambda vs: ",".join(_singlequote(v) for v in vs),
    "sqlstring": lambda vs: ",".join(_sqlstring(v) for v in vs),
    "raw": lambda vs: ",".join(vs),
}
VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")


def _plugin_default(value: Value) -> str:
    """The plugin's own format function: arrays quoted and comma-joined, scalars as is."""
    if isinstance(value, str):
        return value
    return "'" + "','".join(value) + "'"


def expand_variables(sql: str, variables: Mapping[str, Value]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        fmt = match.group(2)
        if name.startswith("__"):
            return match.group(0)  # a macro: the backend's turn
        if name not in variables:
            raise ExpansionError(f"unknown template variable ${name}")
        value = variables[name]
        if is_all(value):
            raise ExpansionError(f"${name} is All but used outside $__conditionalAll")
        if fmt is None:
            return _plugin_default(value)
        if fmt not in FORMATS:
            raise ExpansionError(f"unsupported variable format ${{{name}:{fmt}}}")
        return FORMATS[fmt]([value] if isinstance(value, str) else list(value))

    return VARIABLE.sub(replace, sql)


def _date(ts: datetime) -> str:
    return f"toDate('{ts.strftime('%Y-%m-%d')}')"


def _between(col: str, low: str, high: str) -> str:
    return f"{col} >= {low} AND {col} <= {high}"


def _macros(rng: TimeRange) -> dict[str, tuple[int, Callable[[list[str]], str]]]:
    """name -> (argument count, expansion), as in the plugin's pkg/macros/macros.go."""
    lo, hi = f"toDateTime({rng.from_s})", f"toDateTime({rng.to_s})"
    lo_ms = f"fromUnixTimestamp64Milli({math.floor(rng.start.timestamp() * 1000)})"
    hi_ms = f"fromUnixTimestamp64Milli({math.floor(rng.end.timestamp() * 1000)})"
    n = max(rng.interval_s, 1)
    date_time = (
        2,
        lambda a: (
            f"({_between(a[0], _date(rng.start), _date(rng.end))}) AND ({_between(a[1], lo, hi)})"
        ),
    )
    return {
        "fromTime": (0, lambda a: lo),
        "toTime": (0, lambda a: hi),
        "fromTime_ms": (0, lambda a: lo_ms),
        "toTime_ms": (0, lambda a: hi_ms),
        "timeFilter": (1, lambda a: _between(a[0], lo, hi)),
        "timeFilter_ms": (1, lambda a: _between(a[0], lo_ms, hi_ms)),
        "dateFilter": (1, lambda a: _between(a[0], _date(rng.start), _date(rng.end))),
        "dateTimeFilter": date_time,
        "dt": date_time,
        "timeInterval": (
            1,
            lambda a: f"toStartOfInterval(toDateTime({a[0]}), INTERVAL {n} second)",
        ),
        "timeInterval_ms": (
            1,
            lambda a: (
                f"toStartOfInterval(toDateTime64({a[0]}, 3), INTERVAL {n * 1000} millisecond)"
            ),
        ),
        "interval_s": (0, lambda a: str(n)),
    }


MACRO = re.compile(r"\$__(\w+)")


def expand_macros(sql: str, rng: TimeRange) -> str:
    macros = _macros(rng)
    out, pos = [], 0
    while (match := MACRO.search(sql, pos)) is not None:
        name = match.group(1)
        if name not in macros:
            raise ExpansionError(f"unknown macro $__{name}")
        arity, expand = macros[name]
        out.append(sql[pos : match.start()])
        if arity == 0:
            out.append(expand([]))
            pos = match.end()
            continue
        if not sql.startswith("(", match.end()):
            raise ExpansionError(f"$__{name} needs {arity} argument(s)")
        args, pos = macro_args(sql, match.end())
        args = [a.strip() for a in args]
        if len(args) != arity or not all(args):
            raise ExpansionError(f"$__{name} takes {arity} argument(s), got {args}")
        out.append(expand(args))
    out.append(sql[pos:])
    return "".join(out)


def expand(sql: str, rng: TimeRange, variables: Mapping[str, Value]) -> str:
    """The plain ClickHouse SQL for ``sql``; raises :class:`ExpansionError` on anything
    the plugin would not expand, or would expand in a way the dashboards must avoid."""
    sql = expand_conditional_all(sql, variables)
    sql = expand_variables(sql, variables)
    sql = expand_macros(sql, rng)
    if "$" in sql:
        raise ExpansionError(f"unexpanded '$' left in: {sql}")
    return sql
