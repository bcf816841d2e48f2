"""``airlock export``: the audit trail in SIEM formats.

The group is kept small so other modules can add commands to it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from gateway.cli_common import settings_from
from gateway.cli_query import api_get
from gateway.export.formats import FORMAT_NAMES
from gateway.export.replay import Window, replay
from gateway.query.events_query import parse_time


@click.group()
def export() -> None:
    """Export the audit trail to a SIEM (OCSF, CEF, LEEF, ECS, Splunk HEC)."""


@export.command("replay")
@click.option(
    "--format", "fmt", type=click.Choice(FORMAT_NAMES), required=True, help="Output format."
)
@click.option("--from", "since", required=True, help="From (ISO 8601 or epoch seconds).")
@click.option("--to", "until", required=True, help="To (exclusive).")
@click.option("--out", required=True, help="Output file; - for standard output.")
@click.option("--agent", help="Only this agent.")
@click.option("--task", "task_id", help="Only this task id.")
@click.option("--kind", help="Only this event kind, e.g. http-request.")
@click.pass_context
def replay_command(
    ctx: click.Context,
    fmt: str,
    since: str,
    until: str,
    out: str,
    agent: str | None,
    task_id: str | None,
    kind: str | None,
) -> None:
    """Write a time window of the audit trail in a SIEM format, one record per line."""
    settings = settings_from(ctx)
    window = Window(
        since=parse_time(since, "--from"),
        until=parse_time(until, "--to"),
        agent=agent,
        task_id=task_id,
        kind=kind,
    )

    def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
        return api_get(settings, path, params)

    count = replay(get, window, fmt, out, sys.stdout)
    where = "standard output" if out == "-" else out
    click.echo(f"{count} events written to {where} ({fmt}).", err=True)
