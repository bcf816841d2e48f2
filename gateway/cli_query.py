"""``airlock events``: read the audit trail through the query API."""

from __future__ import annotations

import os
from typing import Any

import click
import httpx

from gateway.cli_common import emit, settings_from
from gateway.config import Settings
from gateway.errors import AirlockError
from gateway.home import operator_key
from gateway.runtime import build_control_plane


def api_get(settings: Settings, path: str, params: dict[str, Any]) -> dict[str, Any]:
    """GET an API route with ``AIRLOCK_API_KEY`` or the local operator key."""
    return api_call(settings, "GET", path, params=params)


def api_post(settings: Settings, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return api_call(settings, "POST", path, json_body=body or {})


def api_call(
    settings: Settings,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    api_key = os.environ.get("AIRLOCK_API_KEY") or operator_key(
        settings, build_control_plane(settings)
    )
    try:
        resp = httpx.request(
            method,
            f"{settings.api_url}{path}",
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=json_body,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=60,
            trust_env=False,
        )
    except httpx.HTTPError as exc:
        raise AirlockError(f"query API at {settings.api_url} unreachable: {exc}") from None
    body: dict[str, Any] = resp.json()
    if resp.status_code >= 300:
        raise AirlockError(f"query API: {body.get('error')}: {body.get('message')}")
    return body


@click.command()
@click.option("--agent", help="Agent name.")
@click.option("--task", "task_id", help="Task id.")
@click.option("--host", help="Destination host.")
@click.option("--decision", type=click.Choice(["allow", "deny"]), help="Decision.")
@click.option("--kind", help="Event kind, e.g. http-request.")
@click.option("--from", "since", help="From (ISO 8601 or epoch seconds).")
@click.option("--to", "until", help="To (exclusive).")
@click.option("--limit", default=50, show_default=True, help="Events to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def events(
    ctx: click.Context,
    agent: str | None,
    task_id: str | None,
    host: str | None,
    decision: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Query audit events through the running API (newest first)."""
    params = {
        "agent": agent,
        "task_id": task_id,
        "host": host,
        "decision": decision,
        "kind": kind,
        "from": since,
        "to": until,
        "limit": limit,
    }
    body = api_get(settings_from(ctx), "/v1/events", params)
    emit(body, as_json, "\n".join(event_line(e) for e in body["events"]) or "no events")


def event_line(e: dict[str, Any]) -> str:
    head = f"{e['ts'][:23]} {e['kind']:18} {e['decision'] or '-':5} {e['status'] or '':>3} "
    if not e["host"]:
        return head + " ".join(f"{k}={v}" for k, v in sorted(e["detail"].items()))
    why = f"  [{e['reasons'][0]}]" if e["decision"] == "deny" and e["reasons"] else ""
    return head + f"{e['agent'] or '-':12} {e['method']:6} {e['host']}:{e['port']}{e['path']}{why}"
