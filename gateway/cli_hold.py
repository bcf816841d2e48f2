"""``airlock hold``: legal holds that audit retention must not delete."""

from __future__ import annotations

from typing import Any

import click

from gateway.cli_common import emit, settings_from
from gateway.cli_query import api_get, api_post


def hold_line(h: dict[str, Any]) -> str:
    state = f"released {h['released_at'][:19]}" if h["released_at"] else "OPEN"
    scope = h["tenant"] + (f"/{h['agent']}" if h["agent"] else "")
    until = (h["to"] or "open-ended")[:19]
    return f"{h['id']}  {state:28} {scope:24} {h['from'][:19]} .. {until}  {h['reason']}"


@click.group()
def hold() -> None:
    """Legal holds: windows of the audit trail retention must keep."""


@hold.command("open")
@click.option("--tenant", required=True, help="Tenant, or '*' for every tenant.")
@click.option("--agent", default="", help="Only this agent (default: every agent).")
@click.option("--from", "since", required=True, help="From (ISO 8601 or epoch seconds).")
@click.option("--to", "until", help="To (default: open-ended).")
@click.option("--reason", required=True, help="The matter the hold is for.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def hold_open(
    ctx: click.Context,
    tenant: str,
    agent: str,
    since: str,
    until: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Open a hold; the retention TTL excludes it before this returns."""
    body = {"tenant": tenant, "agent": agent, "from": since, "to": until, "reason": reason}
    out = api_post(settings_from(ctx), "/v1/holds", body)
    emit(out, as_json, hold_line(out))


@hold.command("release")
@click.argument("hold_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def hold_release(ctx: click.Context, hold_id: str, as_json: bool) -> None:
    """Release a hold: its events fall under normal retention again."""
    out = api_post(settings_from(ctx), f"/v1/holds/{hold_id}/release")
    emit(out, as_json, hold_line(out))


@hold.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def hold_list(ctx: click.Context, as_json: bool) -> None:
    """Every hold, open and released."""
    out = api_get(settings_from(ctx), "/v1/holds", {})
    emit(out, as_json, "\n".join(hold_line(h) for h in out["holds"]) or "no legal holds")
