"""Read hash-chain links out of the audit store (chDB or a ClickHouse server).

Chains are read by (stream, seq), never trusted in storage order: a missing
row shows up as a gap, a duplicated one as a repeated seq.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.audit.chain import chain_view
from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.store import AuditStore
from gateway.audit.verify import Link

CH_TIME = "%Y-%m-%d %H:%M:%S.%f"
T = EVENTS_TABLE


def ch_time(value: datetime) -> str:
    return value.strftime(CH_TIME)


def link_of(row: dict[str, Any]) -> Link:
    return Link.full(chain_view(row), str(row["hash"]))


@dataclass(frozen=True)
class Span:
    stream: str
    lo: int  # first and last seq of the stream inside the window
    hi: int


def window_spans(store: AuditStore, start: datetime, end: datetime) -> list[Span]:
    """Every chain whose life overlaps the window, with the seq range to check.

    A chain with links before and after the window but none inside it (all deleted,
    or re-dated) is still checked: its span is the first link after the window, whose
    predecessor then shows the hole as a gap.
    """
    inside = "ts >= {a:DateTime64(6)} AND ts <= {b:DateTime64(6)}"
    rows = store.query(
        f"SELECT stream, countIf({inside}) AS n, minIf(seq, {inside}) AS lo, "
        f"maxIf(seq, {inside}) AS hi, minIf(seq, ts > {{b:DateTime64(6)}}) AS after "
        f"FROM {T} WHERE seq > 0 GROUP BY stream "
        "HAVING min(ts) <= {b:DateTime64(6)} AND max(ts) >= {a:DateTime64(6)} ORDER BY stream",
        {"a": ch_time(start), "b": ch_time(end)},
    )
    spans = []
    for r in rows:
        if int(r["n"]):
            spans.append(Span(str(r["stream"]), int(r["lo"]), int(r["hi"])))
        else:
            spans.append(Span(str(r["stream"]), int(r["after"]), int(r["after"])))
    return spans


def links(store: AuditStore, stream: str, lo: int, hi: int) -> list[Link]:
    rows = store.query(
        f"SELECT * FROM {T} WHERE stream = {{s:String}} AND seq >= {{lo:UInt64}} "
        "AND seq <= {hi:UInt64} ORDER BY seq, event_id",
        {"s": stream, "lo": lo, "hi": hi},
    )
    return [link_of(r) for r in rows]


def predecessor(store: AuditStore, stream: str, seq: int) -> Link | None:
    """The stored link with the highest seq below ``seq`` (not necessarily ``seq - 1``)."""
    rows = store.query(
        f"SELECT * FROM {T} WHERE stream = {{s:String}} AND seq > 0 AND seq < {{q:UInt64}} "
        "ORDER BY seq DESC LIMIT 1",
        {"s": stream, "q": seq},
    )
    return link_of(rows[0]) if rows else None


def stream_end(store: AuditStore, stream: str) -> int:
    rows = store.query(f"SELECT max(seq) AS hi FROM {T} WHERE stream = {{s:String}}", {"s": stream})
    return int(rows[0]["hi"]) if rows else 0


def checkpoint_after(store: AuditStore, stream: str, seq: int) -> int | None:
    """The seq of the first checkpoint at or after ``seq``."""
    return _checkpoint(store, stream, "seq >= {q:UInt64}", "ASC", {"q": seq})


def checkpoint_before_time(store: AuditStore, stream: str, when: datetime) -> int | None:
    return _checkpoint(store, stream, "ts <= {t:DateTime64(6)}", "DESC", {"t": ch_time(when)})


def checkpoint_after_time(store: AuditStore, stream: str, when: datetime) -> int | None:
    return _checkpoint(store, stream, "ts >= {t:DateTime64(6)}", "ASC", {"t": ch_time(when)})


def _checkpoint(
    store: AuditStore, stream: str, where: str, order: str, params: dict[str, Any]
) -> int | None:
    rows = store.query(
        f"SELECT seq FROM {T} WHERE stream = {{s:String}} AND kind = 'audit-checkpoint' "
        f"AND {where} ORDER BY seq {order} LIMIT 1",
        {"s": stream, **params},
    )
    return int(rows[0]["seq"]) if rows else None
