"""``airlock secrets``: register known secrets, list them, ask where one was seen."""

from __future__ import annotations

import click

from gateway.cli_common import emit, read_value, settings_from
from gateway.cli_query import api_get
from gateway.fingerprint import fingerprint_key
from gateway.home import init_home
from gateway.redaction import Redactor
from gateway.runtime import build_control_plane


@click.group()
def secrets() -> None:
    """Known secrets (caught in any encoding) and sightings by fingerprint."""


@secrets.command("register")
@click.argument("name")
@click.option("--from-env", "from_env", metavar="VAR", help="Read the value from $VAR.")
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the value from a file (trailing newline dropped).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def register(
    ctx: click.Context, name: str, from_env: str | None, from_file: str | None, as_json: bool
) -> None:
    """Register (or rotate) a value the proxy must always catch, by NAME.

    The value is read from --from-env, --from-file or standard input, never from the
    command line; it is stored encrypted and never printed.
    """
    value = read_value(from_env, from_file)
    settings = settings_from(ctx)
    init_home(settings)
    fp = Redactor(fingerprint_key(settings)).fingerprint(value.encode())
    info = build_control_plane(settings).known_secrets().register(name, value, fp)
    emit(
        info.as_dict(),
        as_json,
        f"Known secret {name} registered (fingerprint {fp}); "
        "a running proxy picks it up within 5 s.",
    )


@secrets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_known(ctx: click.Context, as_json: bool) -> None:
    """List known secrets: names and fingerprints, never values."""
    rows = [k.as_dict() for k in build_control_plane(settings_from(ctx)).known_secrets().names()]
    lines = [f"{r['name']:32} {r['fingerprint']}  {r['updated_at']}" for r in rows]
    emit({"known_secrets": rows}, as_json, "\n".join(lines) or "no known secrets")


@secrets.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Stop treating NAME as a known secret (a running proxy keeps it until restart)."""
    build_control_plane(settings_from(ctx)).known_secrets().remove(name)
    click.echo(f"Known secret {name} removed.")


@secrets.command("sightings")
@click.argument("fingerprint")
@click.option("--from", "since", help="From (ISO 8601 or epoch seconds).")
@click.option("--to", "until", help="To (exclusive).")
@click.option("--limit", default=100, show_default=True, help="Sightings to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sightings(
    ctx: click.Context,
    fingerprint: str,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Every finding of the secret with FINGERPRINT (16 hex, or the 8 of a marker)."""
    params = {"from": since, "to": until, "limit": limit}
    body = api_get(settings_from(ctx), f"/v1/secrets/{fingerprint}/sightings", params)
    lines = [
        f"{e['ts'][:23]} {e['agent'] or '-':12} {e['task_id']:22} {e['detail'].get('detector')} "
        f"{e['detail'].get('direction')} {e['detail'].get('location')} "
        f"{e['detail'].get('action')} {e['host']}{e['path']}"
        for e in body["sightings"]
    ]
    emit(body, as_json, "\n".join(lines) or f"no sightings of {fingerprint}")
