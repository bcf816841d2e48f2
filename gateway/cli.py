"""The ``airlock`` command line. Human-readable by default, JSON with ``--json``."""

from __future__ import annotations

import socket
import sys
from typing import Any

import click

from gateway import __version__
from gateway.audit import control_events
from gateway.audit.events import AuditEvent
from gateway.cli_audit import audit
from gateway.cli_common import emit, settings_from
from gateway.cli_cred import cred
from gateway.cli_export import export
from gateway.cli_export_sinks import register as register_sink_commands
from gateway.cli_hold import hold
from gateway.cli_query import events
from gateway.cli_sandbox import sandbox
from gateway.cli_secrets import secrets
from gateway.cli_store import store
from gateway.config import Settings
from gateway.control.keys import ROLES
from gateway.control.tasks import TaskInfo, parse_ttl
from gateway.credentials.store import grant_expiry
from gateway.errors import AirlockError, InvalidRequestError
from gateway.home import init_home, operator_key
from gateway.runtime import build_control_plane


class AirlockGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AirlockError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=AirlockGroup)
@click.option("--home", type=click.Path(), help="State directory (default $AIRLOCK_HOME).")
@click.version_option(__version__, prog_name="airlock")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """Airlock: governance and audit gateway for AI agents."""
    ctx.obj = {"home": home} if home else {}


@main.command()
@click.option("--proxy-listen", help="Proxy address HOST:PORT (default 127.0.0.1:8080).")
@click.option("--api-listen", help="Query API address HOST:PORT (default 127.0.0.1:8081).")
@click.option("--policy-dir", type=click.Path(), help="Policy bundle directory.")
@click.option("--opa-url", help="Use this OPA instead of starting one.")
@click.pass_context
def up(
    ctx: click.Context,
    proxy_listen: str | None,
    api_listen: str | None,
    policy_dir: str | None,
    opa_url: str | None,
) -> None:
    """Start OPA, the proxy and the store/API; Ctrl-C stops them cleanly."""
    from gateway.supervisor import Supervisor, child_env

    settings = settings_from(
        ctx,
        proxy_listen=proxy_listen,
        api_listen=api_listen,
        policy_dir=policy_dir,
        opa_url=opa_url,
    )
    init_home(settings)
    operator_key(settings, build_control_plane(settings))
    sup = Supervisor(settings, child_env(settings))
    try:
        sup.start()
    except AirlockError:
        sup.stop()
        raise
    click.echo(
        f"Airlock is up.\n  proxy:  http://{settings.proxy_listen}\n"
        f"  api/ui: {settings.api_url}\n  opa:    {settings.effective_opa_url}\n"
        f"  home:   {settings.home_dir}\n"
        "Create a task: airlock task create --agent NAME --profile default\n"
        "Stop with Ctrl-C."
    )
    sys.exit(sup.run())


@main.group()
def task() -> None:
    """Create, list, show and kill tasks."""


def proxy_host(settings: Settings) -> str:
    host, port = settings.proxy_address()
    public = settings.proxy_public_host or (
        socket.gethostname() if host in ("0.0.0.0", "::") else host
    )
    return f"[{public}]:{port}" if ":" in public else f"{public}:{port}"


def task_output(settings: Settings, info: TaskInfo, token: str) -> dict[str, Any]:
    proxy_url = f"http://{info.task_id}:{token}@{proxy_host(settings)}"
    ca = str(settings.ca_cert_path)
    env = {
        "HTTPS_PROXY": proxy_url,
        "HTTP_PROXY": proxy_url,
        "https_proxy": proxy_url,
        "http_proxy": proxy_url,
        "NO_PROXY": "",
        "no_proxy": "",
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "CURL_CA_BUNDLE": ca,
        "NODE_EXTRA_CA_CERTS": ca,
        "GIT_SSL_CAINFO": ca,
        "PIP_CERT": ca,
        "AWS_CA_BUNDLE": ca,
        "CARGO_HTTP_CAINFO": ca,
        "NPM_CONFIG_CAFILE": ca,
    }
    return {**info.as_dict(), "proxy_url": proxy_url, "ca_cert": ca, "env": env}


@task.command("create")
@click.option("--agent", required=True, help="Agent name.")
@click.option("--profile", default="default", show_default=True, help="Policy profile.")
@click.option("--ttl", default="2h", show_default=True, help="Lifetime: 90s, 30m, 2h, 7d.")
@click.option("--tenant", default="default", show_default=True, help="Tenant.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    metavar="CRED",
    help="Give the task a placeholder for credential CRED (repeatable).",
)
@click.option("--grant-ttl", help="Grants end after this (default: with the task).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def task_create(
    ctx: click.Context,
    agent: str,
    profile: str,
    ttl: str,
    tenant: str,
    grants: tuple[str, ...],
    grant_ttl: str | None,
    as_json: bool,
) -> None:
    """Create a task; prints its proxy URL (with credentials) and sandbox env."""
    settings = settings_from(ctx)
    init_home(settings)
    control = build_control_plane(settings)
    creds = control.credentials() if grants else None
    for name in grants:  # fail before creating the task
        if creds is not None and creds.get(name).status != "active":
            raise InvalidRequestError(f"credential {name!r} is not active")
    info, token = control.tasks.create(
        agent=agent, profile=profile, ttl=parse_ttl(ttl), tenant=tenant
    )
    out = task_output(settings, info, token)
    expiry = grant_expiry(info.expires_at, parse_ttl(grant_ttl) if grant_ttl else None)
    out["credentials"] = {}
    events = [
        AuditEvent(
            kind="task-created",
            tenant=info.tenant,
            agent=info.agent,
            task_id=info.task_id,
            gateway_id=settings.gateway_id,
            detail={
                "profile": profile,
                "expires_at": info.expires_at.isoformat(),
                "grants": ",".join(grants),
            },
        )
    ]
    for name in grants:
        assert creds is not None
        granted = creds.grant(info.task_id, name, expiry)
        events.append(
            AuditEvent(
                kind="grant-created",
                tenant=info.tenant,
                agent=info.agent,
                task_id=info.task_id,
                gateway_id=settings.gateway_id,
                detail={"credential": name, "expires_at": granted.expires_at.isoformat()},
            )
        )
        if granted.aws_secret_placeholder:  # an SDK signs with both: give it both
            pair = f"{granted.placeholder}:{granted.aws_secret_placeholder}"
            out["credentials"][name] = pair
            out["env"]["AWS_ACCESS_KEY_ID"] = granted.placeholder
            out["env"]["AWS_SECRET_ACCESS_KEY"] = granted.aws_secret_placeholder
            continue
        out["credentials"][name] = granted.placeholder
        out["env"][creds.get(name).env_var] = granted.placeholder
    control_events.record(settings, *events)
    exports = "\n".join(f"export {k}='{v}'" for k, v in out["env"].items() if v)
    emit(
        out,
        as_json,
        f"Task {info.task_id} ({agent}, profile {profile}, "
        f"expires {info.expires_at:%Y-%m-%d %H:%M:%S}Z)\n"
        f"The token is shown once. Sandbox environment:\n{exports}",
    )


@task.command("list")
@click.option("--tenant", help="Only this tenant.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def task_list(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List tasks, newest first."""
    tasks = build_control_plane(settings_from(ctx)).tasks.list(tenant=tenant)
    rows = [t.as_dict() for t in tasks]
    lines = [f"{'TASK':22} {'AGENT':20} {'PROFILE':14} {'STATUS':8} EXPIRES"] + [
        f"{r['task_id']:22} {r['agent']:20} {r['profile']:14} {r['status']:8} {r['expires_at']}"
        for r in rows
    ]
    emit({"tasks": rows}, as_json, "\n".join(lines))


@task.command("show")
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def task_show(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Show one task."""
    info = build_control_plane(settings_from(ctx)).tasks.get(task_id).as_dict()
    emit(info, as_json, "\n".join(f"{k}: {v}" for k, v in info.items()))


@task.command("kill")
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def task_kill(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Revoke a task at once: its next request is refused."""
    settings = settings_from(ctx)
    killed = build_control_plane(settings).tasks.kill(task_id)
    control_events.record(
        settings,
        AuditEvent(
            kind="task-killed",
            tenant=killed.tenant,
            agent=killed.agent,
            task_id=killed.task_id,
            gateway_id=settings.gateway_id,
            detail={"by": "cli"},
        ),
    )
    info = killed.as_dict()
    emit(
        info,
        as_json,
        f"Task {task_id} is {info['status']} "
        f"(in effect within {settings.identity_cache_seconds:g}s).",
    )


@main.group()
def key() -> None:
    """Create and revoke query API keys."""


@key.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Role of the key.")
@click.option("--tenant", default="*", show_default=True, help="Tenant scope ('*' = all).")
@click.option("--name", default="", help="A label for the key.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def key_create(ctx: click.Context, role: str, tenant: str, name: str, as_json: bool) -> None:
    """Create an API key (shown once)."""
    settings = settings_from(ctx)
    init_home(settings)
    key_id, plaintext = build_control_plane(settings).keys.create(
        role=role, tenant=tenant, name=name
    )
    out = {"key_id": key_id, "key": plaintext, "role": role, "tenant": tenant}
    emit(out, as_json, f"API key {key_id} ({role}, tenant {tenant}); shown once:\n{plaintext}")


@key.command("revoke")
@click.argument("key_id")
@click.pass_context
def key_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke an API key."""
    build_control_plane(settings_from(ctx)).keys.revoke(key_id)
    click.echo(f"API key {key_id} revoked.")


main.add_command(events)
main.add_command(audit)
main.add_command(hold)
main.add_command(store)
main.add_command(cred)
main.add_command(secrets)
main.add_command(sandbox)
register_sink_commands(export)  # run, status, rewind, dead-letters
main.add_command(export)


if __name__ == "__main__":
    main()
