"""``airlock export run|status|rewind|dead-letters``: operate the SIEM sinks.

The sinks themselves run inside ``airlock up`` (gateway/export_process.py); these
commands run one in the foreground, backfill a window, show where each sink stands,
and move a sink's durable cursor. Registered onto the ``export`` group by
:func:`register`.
"""

from __future__ import annotations

import signal
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import click

from gateway.audit import control_events
from gateway.audit.events import AuditEvent
from gateway.cli_common import emit, settings_from
from gateway.config import Settings
from gateway.errors import AirlockError
from gateway.export.cursor import CursorState, CursorStore, MemoryCursors
from gateway.export.delivery import LEASE_TTL, SinkRunner
from gateway.export.feed import WindowFeed, position_at
from gateway.export.service import Wiring, api_key, owner_id, spool_notifier
from gateway.query.events_query import parse_time
from gateway.runtime import build_control_plane, open_spool

SINK_HELP = "Sink name (from [[export.sinks]] in airlock.toml)."


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@click.command("run")
@click.option("--sink", "name", required=True, help=SINK_HELP)
@click.option("--once", is_flag=True, help="Stop when caught up instead of following.")
@click.option("--from", "since", help="Backfill events from this time (ISO 8601 or epoch).")
@click.option("--to", "until", help="End of the backfill window (exclusive; default now).")
@click.pass_context
def run(ctx: click.Context, name: str, once: bool, since: str | None, until: str | None) -> None:
    """Run one sink in the foreground (Ctrl-C stops), or backfill a window with --from."""
    settings = settings_from(ctx)
    sink = settings.export.sink(name)
    if until and not since:
        raise AirlockError("--to needs --from")
    spool = open_spool(settings, f"{control_events.CLI_STREAM_PREFIX}{uuid.uuid4().hex[:12]}")
    control = build_control_plane(settings)
    stop = threading.Event()
    wiring = Wiring(settings, control, stop, spool_notifier(spool, settings.gateway_id), owner_id())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if since:
            runner = _window_runner(wiring, sink.name, since, until)
            runner.run(once=True)
        else:
            runner = wiring.runner(sink)
            holder = wiring.cursors().load(sink.name, runner.start).owner
            if not wiring.cursors().claim(sink.name, wiring.owner, LEASE_TTL):
                raise AirlockError(f"sink {name} is being exported by {holder}; stop that first")
            runner.run(once=once)
        runner.close()
    finally:
        spool.close()
    _report(runner, bool(since))
    if runner.stats.feed_errors and (once or since):
        raise AirlockError(f"sink {name}: {runner.stats.last_error}")


def _window_runner(wiring: Wiring, name: str, since: str, until: str | None) -> SinkRunner:
    settings = wiring.settings
    start = parse_time(since, "from")
    end = parse_time(until, "to") if until else datetime.now(UTC)
    feed = WindowFeed(settings.api_url, api_key(settings, wiring.control), start, end)
    sink = settings.export.sink(name)  # the window's own cursor starts at its beginning
    return wiring.runner(sink, feed=feed, cursors=MemoryCursors(), start=("", None))


def _report(runner: SinkRunner, window: bool) -> None:
    stats = runner.stats
    what = "backfilled" if window else "delivered"
    click.echo(
        f"sink {runner.sink.name}: {stats.delivered} records {what}, "
        f"{stats.dead_letters} dead letters"
        + (f", last error: {stats.last_error}" if stats.last_error else "")
    )


def sink_status(settings: Settings, states: dict[str, CursorState]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    configured = {s.name: s for s in settings.export.sinks}
    for name in sorted(configured.keys() | states.keys()):
        sink, state = configured.get(name), states.get(name)
        row: dict[str, Any] = {
            "sink": name,
            "configured": sink is not None,
            "enabled": bool(sink and sink.enabled),
            "transport": sink.transport if sink else None,
            "format": sink.format if sink else None,
        }
        if state is not None:
            row |= {
                "position_at": _iso(state.position_at),
                "delivered": state.delivered,
                "dead_letters": state.dead_letters,
                "lag_seconds": round(state.lag_seconds, 3),
                "last_error": state.last_error,
                "failing_since": _iso(state.failing_since),
                "owner": state.owner,
                "lease_until": _iso(state.lease_until),
                "updated_at": _iso(state.updated_at),
            }
        rows.append(row)
    return rows


def _status_line(row: dict[str, Any]) -> str:
    where = f"{row['transport'] or '-'}/{row['format'] or '-'}"
    if "delivered" not in row:
        return f"{row['sink']:20} {where:22} not started"
    state = "FAILING " + row["last_error"] if row["failing_since"] else "ok"
    return (
        f"{row['sink']:20} {where:22} delivered={row['delivered']} "
        f"dead={row['dead_letters']} lag={row['lag_seconds']}s "
        f"at={row['position_at'] or 'beginning'} {state}"
    )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Where each sink stands: position, delivered, dead letters, lag, failures."""
    settings = settings_from(ctx)
    cursors = CursorStore(build_control_plane(settings).sessions)
    rows = sink_status(settings, {s.sink: s for s in cursors.all()})
    emit({"sinks": rows}, as_json, "\n".join(_status_line(r) for r in rows) or "no sinks")


@click.command("rewind")
@click.option("--sink", "name", required=True, help=SINK_HELP)
@click.option("--from", "since", required=True, help="Re-deliver from this time (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def rewind(ctx: click.Context, name: str, since: str, as_json: bool) -> None:
    """Move a sink's cursor to a time; the running exporter re-delivers from there."""
    settings = settings_from(ctx)
    settings.export.sink(name)  # must be configured
    at = parse_time(since, "from")
    cursors = CursorStore(build_control_plane(settings).sessions)
    before = next((s for s in cursors.all() if s.sink == name), None)
    state = cursors.rewind(name, position_at(at), at)
    previous = before.position_at if before else None
    detail = {"sink": name, "from": _iso(at) or "", "by": "cli", "previous": _iso(previous) or ""}
    control_events.record(
        settings, AuditEvent(kind="export-rewound", gateway_id=settings.gateway_id, detail=detail)
    )
    out = {"sink": name, "position_at": _iso(at), "generation": state.generation}
    emit(out, as_json, f"sink {name} will re-deliver events ingested since {_iso(at)}")


@click.command("dead-letters")
@click.option("--sink", "name", required=True, help=SINK_HELP)
@click.option("--limit", default=50, show_default=True, help="Newest first, at most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def dead_letters(ctx: click.Context, name: str, limit: int, as_json: bool) -> None:
    """Records a sink's receiver refused for good, newest first."""
    settings = settings_from(ctx)
    cursors = CursorStore(build_control_plane(settings).sessions)
    rows = [
        {
            "event_id": d.event_id,
            "kind": d.kind,
            "event_ts": _iso(d.event_ts),
            "reason": d.reason,
            "payload": d.payload,
            "created_at": _iso(d.created_at),
        }
        for d in cursors.dead_letters(name, limit)
    ]
    lines = [f"{r['created_at']} {r['event_id']} {r['kind']}: {r['reason']}" for r in rows]
    emit({"sink": name, "dead_letters": rows}, as_json, "\n".join(lines) or "no dead letters")


def register(group: click.Group) -> None:
    for command in (run, status, rewind, dead_letters):
        group.add_command(command)
