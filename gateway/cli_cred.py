"""``airlock cred``: credentials agents never see; placeholders stand in for them."""

from __future__ import annotations

import click

from gateway.audit import control_events
from gateway.audit.events import AuditEvent
from gateway.cli_common import emit, read_value, settings_from
from gateway.cli_query import api_get
from gateway.config import Settings
from gateway.credentials.store import KINDS, CredentialInfo
from gateway.home import init_home
from gateway.runtime import build_control_plane


def _record(settings: Settings, kind: str, info: CredentialInfo) -> None:
    control_events.record(
        settings,
        AuditEvent(
            kind=kind,
            gateway_id=settings.gateway_id,
            detail={
                "credential": info.name,
                "version": str(info.version),
                "kind": info.kind,
                "hosts": ",".join(info.hosts),
                "fingerprint": info.fingerprint,
            },
        ),
    )


@click.group()
def cred() -> None:
    """Add, list, rotate, revoke and trace brokered credentials."""


@cred.command("add")
@click.argument("name")
@click.argument("more_hosts", nargs=-1, metavar="[H...]")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="How it is used.")
@click.option("--value-env", metavar="VAR", help="Read the value from $VAR.")
@click.option(
    "--value-file", type=click.Path(exists=True, dir_okay=False), help="Read the value from a file."
)
@click.option(
    "--hosts",
    "hosts",
    multiple=True,
    metavar="H",
    help="Allowed destination (exact, *.suffix, IP or CIDR); more may follow.",
)
@click.option("--header", "header_name", default="", help="Header name (kind header).")
@click.option(
    "--body-field",
    "body_fields",
    multiple=True,
    metavar="FIELD",
    help="Also inject into this JSON/form field of request bodies (repeatable).",
)
@click.option("--env-var", default="", help="Sandbox variable for the placeholder.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def add(
    ctx: click.Context,
    name: str,
    more_hosts: tuple[str, ...],
    kind: str,
    value_env: str | None,
    value_file: str | None,
    hosts: tuple[str, ...],
    header_name: str,
    body_fields: tuple[str, ...],
    env_var: str,
    as_json: bool,
) -> None:
    """Store credential NAME (encrypted); tasks get it only through --grant."""
    settings = settings_from(ctx)
    init_home(settings)
    value = read_value(value_env, value_file)
    info = (
        build_control_plane(settings)
        .credentials()
        .add(
            name,
            kind,
            value,
            [*hosts, *more_hosts],
            env_var=env_var,
            header_name=header_name,
            body_fields=list(body_fields),
        )
    )
    _record(settings, "credential-added", info)
    emit(
        info.as_dict(),
        as_json,
        f"Credential {name} v{info.version} ({kind}) for "
        f"{', '.join(info.hosts)}; fingerprint {info.fingerprint}.",
    )


@cred.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_creds(ctx: click.Context, as_json: bool) -> None:
    """Credentials by name, kind, hosts and version; never values."""
    infos = build_control_plane(settings_from(ctx)).credentials().names()
    lines = [
        f"{c.name:24} {c.kind:7} v{c.version:<3} {c.status:8} {','.join(c.hosts)}" for c in infos
    ]
    emit({"credentials": [c.as_dict() for c in infos]}, as_json, "\n".join(lines) or "none")


@cred.command("rotate")
@click.argument("name")
@click.option("--value-env", metavar="VAR", help="Read the new value from $VAR.")
@click.option(
    "--value-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the new value from a file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def rotate(
    ctx: click.Context, name: str, value_env: str | None, value_file: str | None, as_json: bool
) -> None:
    """New version of NAME; running tasks keep their placeholders and get it next request."""
    value = read_value(value_env, value_file)
    settings = settings_from(ctx)
    info = build_control_plane(settings).credentials().rotate(name, value)
    _record(settings, "credential-rotated", info)
    emit(info.as_dict(), as_json, f"Credential {name} is now v{info.version}.")


@cred.command("revoke")
@click.argument("name")
@click.pass_context
def revoke(ctx: click.Context, name: str) -> None:
    """Stop injecting NAME at once; its placeholders are refused from now on."""
    settings = settings_from(ctx)
    info = build_control_plane(settings).credentials().revoke(name)
    _record(settings, "credential-revoked", info)
    click.echo(f"Credential {name} revoked.")


@cred.command("trace")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def trace(ctx: click.Context, name: str, as_json: bool) -> None:
    """Who had NAME, every injection, every misuse and every sighting of its values."""
    body = api_get(settings_from(ctx), f"/v1/credentials/{name}/trace", {})
    lines = [f"credential {name}: v{body['version']} {body['status']}"]
    lines += [f"  grant  {g['task_id']} until {g['expires_at']}" for g in body["grants"]]
    lines += [
        f"  {e['kind']:20} {e['ts'][:23]} {e['task_id']} {e['host']}{e['path']} "
        f"v{e['detail'].get('version', '?')}"
        for e in body["events"]
    ]
    lines += [
        f"  sighting {e['ts'][:23]} {e['task_id']} {e['detail'].get('direction')} "
        f"{e['detail'].get('location')} {e['host']}"
        for e in body["sightings"]
    ]
    emit(body, as_json, "\n".join(lines))
