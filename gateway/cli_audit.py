"""``airlock audit``: the signing key, chain verification and evidence bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.bundle import BundleQuery, build_bundle, verify_bundle
from gateway.audit.signing import key_id, load_public_pem, load_signer
from gateway.audit.store import AuditStore, open_store
from gateway.audit.verify import FATAL
from gateway.audit.window import verify_window
from gateway.cli_common import emit, settings_from
from gateway.cli_query import api_get, event_line
from gateway.config import Settings
from gateway.errors import AirlockError
from gateway.query.events_query import parse_time


@click.group()
def audit() -> None:
    """Prove the audit trail complete and unaltered."""


def pinned_keys(settings: Settings, pubkeys: tuple[str, ...]) -> dict[str, Ed25519PublicKey] | None:
    """Keys to trust: the given PEM files, else this home's own key, else None."""
    keys = [load_public_pem(Path(p).read_bytes()) for p in pubkeys]
    if not keys and settings.audit_key_path.exists():
        keys = [load_signer(settings.audit_key_path, create=False).public]
    return {key_id(k): k for k in keys} if keys else None


def direct_store(settings: Settings) -> AuditStore:
    """The store itself (a ClickHouse server, or chDB while Airlock is stopped)."""
    try:
        url = settings.clickhouse_read_url or settings.clickhouse_url
        return open_store(url, settings.chdb_dir, run_migrations=False)
    except Exception as exc:  # chDB refuses a data directory another process holds
        raise AirlockError(
            f"cannot open the audit store directly ({type(exc).__name__}): with embedded "
            "chDB, stop Airlock first, or leave out --store to go through the API"
        ) from None


def problem_line(p: dict[str, Any]) -> str:
    where = f"{p['stream']} seq {p['seq']} ({p['event_id']})" if p["stream"] else "bundle"
    return f"{p['level'].upper():7} {where}: {p['code']}: {p['message']}"


def report(body: dict[str, Any], as_json: bool, what: str) -> None:
    problems = body["problems"]
    fatal = [p for p in problems if p["level"] == FATAL]
    lines = [problem_line(p) for p in (fatal + [p for p in problems if p not in fatal])]
    head = f"{'VERIFIED' if body['ok'] else 'FAILED'}: {what}"
    if fatal:
        head += f"; first bad event: {problem_line(fatal[0])}"
    emit(body, as_json, "\n".join([head, *lines]))
    if not body["ok"]:
        raise SystemExit(1)


@audit.command("pubkey")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def pubkey(ctx: click.Context, as_json: bool) -> None:
    """Print the Ed25519 public key that signs checkpoints (give it to auditors)."""
    settings = settings_from(ctx)
    if not settings.audit_key_path.exists():
        raise AirlockError(
            f"no audit signing key at {settings.audit_key_path}: it is made when Airlock "
            "first starts (airlock up)"
        )
    signer = load_signer(settings.audit_key_path, create=False)
    body = {"key_id": signer.key_id, "algorithm": "Ed25519", "public_key_pem": signer.public_pem()}
    emit(body, as_json, signer.public_pem().rstrip() + f"\n# key id {signer.key_id}")


@audit.command("verify")
@click.option("--from", "since", required=True, help="From (ISO 8601 or epoch seconds).")
@click.option("--to", "until", required=True, help="To (ISO 8601 or epoch seconds).")
@click.option("--store", "use_store", is_flag=True, help="Read the store directly, not the API.")
@click.option("--pubkey", multiple=True, type=click.Path(exists=True), help="Trusted PEM key.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def verify(
    ctx: click.Context,
    since: str,
    until: str,
    use_store: bool,
    pubkey: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check every chain in a window: hashes, links, signatures, gaps, truncation."""
    settings = settings_from(ctx)
    if pubkey and not use_store:
        raise AirlockError("--pubkey pins keys for a local check: add --store")
    if use_store:
        keys = pinned_keys(settings, pubkey)
        if keys is None:
            raise AirlockError("no key to verify with: pass --pubkey FILE")
        store = direct_store(settings)
        try:
            result = verify_window(
                store,
                parse_time(since, "from"),
                parse_time(until, "to"),
                keys,
                interval=settings.checkpoint_seconds,
            )
        finally:
            store.close()
        body: dict[str, Any] = result.as_dict()
    else:
        body = api_get(settings, "/v1/audit/verify", {"from": since, "to": until})
    report(body, as_json, f"{body['events']} event(s) in {len(body['streams'])} chain(s)")


@audit.command("export")
@click.option("--agent", required=True, help="Agent name.")
@click.option("--task", "task_id", help="Only this task.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--from", "since", required=True, help="From (ISO 8601 or epoch seconds).")
@click.option("--to", "until", required=True, help="To (ISO 8601 or epoch seconds).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Bundle file.")
@click.option("--store", "use_store", is_flag=True, help="Read the store directly, not the API.")
@click.pass_context
def export(
    ctx: click.Context,
    agent: str,
    task_id: str | None,
    tenant: str | None,
    since: str,
    until: str,
    out: str,
    use_store: bool,
) -> None:
    """Write a self-contained evidence bundle for one agent (and task)."""
    settings = settings_from(ctx)
    if use_store:
        signer = load_signer(settings.audit_key_path, create=False)
        query = BundleQuery(
            agent, parse_time(since, "from"), parse_time(until, "to"), task_id, tenant
        )
        store = direct_store(settings)
        try:
            bundle = build_bundle(
                store,
                query,
                {signer.key_id: signer.public_pem()},
                settings.evidence_margin_seconds,
            )
        finally:
            store.close()
    else:
        params = {"agent": agent, "task_id": task_id, "tenant": tenant, "from": since, "to": until}
        bundle = api_get(settings, "/v1/audit/bundle", params)
    Path(out).write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")
    links = sum(len(s["links"]) for s in bundle["streams"])
    events = sum(1 for s in bundle["streams"] for link in s["links"] if "event" in link)
    click.echo(f"wrote {out}: {events} full event(s), {links} chain link(s)")


@audit.command("verify-bundle")
@click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--pubkey", multiple=True, type=click.Path(exists=True), help="Trusted PEM key.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def verify_bundle_cmd(
    ctx: click.Context, bundle_file: str, pubkey: tuple[str, ...], as_json: bool
) -> None:
    """Verify an evidence bundle offline (pinning --pubkey, else this home's key)."""
    try:
        bundle = json.loads(Path(bundle_file).read_text())
    except ValueError as exc:
        raise AirlockError(f"{bundle_file} is not JSON: {exc}") from None
    if not isinstance(bundle, dict):
        raise AirlockError(f"{bundle_file} is not an evidence bundle (not a JSON object)")
    result = verify_bundle(bundle, pinned_keys(settings_from(ctx), pubkey))
    body = {
        "ok": result.ok,
        "events": result.events,
        "links": result.links,
        "streams": result.streams,
        "key_ids": result.key_ids,
        "problems": [p.__dict__ for p in result.problems],
    }
    report(body, as_json, f"{result.events} event(s), {result.links} link(s)")


def state_text(state: dict[str, Any]) -> str:
    lines = [f"agent {state['agent']} at {state['at']}"]
    policy = ", ".join(f"{p['revision']} ({p['gateway_id']})" for p in state["policy"]) or "-"
    lines.append(f"policy in force: {policy}")
    lines.append(f"active tasks: {len(state['tasks'])}")
    for t in state["tasks"]:
        grants = ", ".join(t["grants"]) or "no grants"
        lines.append(
            f"  {t['task_id']}  profile {t['profile']}  until {t['expires_at'][:19]}  {grants}"
        )
    for c in state["credentials"]:
        lines.append(
            f"  credential {c['credential']} v{c['version']} ({c['status']}) for {c['task_id']}"
        )
    lines.append(f"in flight: {len(state['in_flight'])}")
    lines += [f"  {e['ts'][:23]} {e['method']} {e['host']}{e['path']}" for e in state["in_flight"]]
    lines.append(f"open alerts: {len(state['alerts'])}")
    lines += [
        f"  {a['alert']} since {a['raised_at'][:19]} ({a['task_id']})" for a in state["alerts"]
    ]
    lines.append("before:")
    lines += [f"  {event_line(e)}" for e in reversed(state["before"])]
    lines.append("after:")
    lines += [f"  {event_line(e)}" for e in state["after"]]
    return "\n".join(lines)


@audit.command("at")
@click.option("--agent", required=True, help="Agent name.")
@click.option("--time", "when", required=True, help="The instant (ISO 8601 or epoch seconds).")
@click.option("--tenant", help="Only this tenant.")
@click.option("--around", default=10, show_default=True, help="Actions shown before and after.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def audit_at(
    ctx: click.Context, agent: str, when: str, tenant: str | None, around: int, as_json: bool
) -> None:
    """What an agent's situation was at an instant: tasks, policy, credentials, in flight."""
    params = {"at": when, "tenant": tenant, "around": around}
    state = api_get(settings_from(ctx), f"/v1/agents/{agent}/state", params)
    emit(state, as_json, state_text(state))
