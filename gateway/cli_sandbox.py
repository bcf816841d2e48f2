"""``airlock sandbox``: map transparent-mode source addresses to tasks."""

from __future__ import annotations

import click

from gateway.audit import control_events
from gateway.audit.events import AuditEvent
from gateway.cli_common import emit, settings_from
from gateway.config import Settings
from gateway.control.sandboxes import SandboxInfo
from gateway.control.tasks import TaskInfo
from gateway.home import init_home
from gateway.runtime import build_control_plane


@click.group()
def sandbox() -> None:
    """Register sandbox source addresses for transparent mode."""


def _event(settings: Settings, kind: str, box: SandboxInfo, task: TaskInfo) -> AuditEvent:
    return AuditEvent(
        kind=kind,
        tenant=task.tenant,
        agent=task.agent,
        task_id=task.task_id,
        client_addr=box.address,
        gateway_id=settings.gateway_id,
        detail={"address": box.address, "name": box.name},
    )


def _line(box: SandboxInfo) -> str:
    state = f"removed {box.removed_at:%Y-%m-%d %H:%M:%S}Z" if box.removed_at else "active"
    return f"{box.address:40} {box.task_id:22} {box.name or '-':20} {state}"


@sandbox.command("add")
@click.option("--task", "task_id", required=True, help="The task whose traffic this is.")
@click.option("--address", required=True, help="The sandbox's source IP address.")
@click.option("--name", default="", help="A label, e.g. the network namespace.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sandbox_add(ctx: click.Context, task_id: str, address: str, name: str, as_json: bool) -> None:
    """Map a source address to a task (transparent mode identity)."""
    settings = settings_from(ctx)
    init_home(settings)
    control = build_control_plane(settings)
    task = control.tasks.get(task_id)
    box = control.sandboxes().register(address, task, name)
    control_events.record(settings, _event(settings, "sandbox-registered", box, task))
    emit(
        box.as_dict(),
        as_json,
        f"Sandbox {box.address} is task {task.task_id} ({task.agent}, profile {task.profile}).",
    )


@sandbox.command("list")
@click.option("--all", "include_removed", is_flag=True, help="Include removed sandboxes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sandbox_list(ctx: click.Context, include_removed: bool, as_json: bool) -> None:
    """List registered sandboxes, newest first."""
    boxes = (
        build_control_plane(settings_from(ctx)).sandboxes().list(include_removed=include_removed)
    )
    header = f"{'ADDRESS':40} {'TASK':22} {'NAME':20} STATE"
    emit(
        {"sandboxes": [b.as_dict() for b in boxes]},
        as_json,
        "\n".join([header, *(_line(b) for b in boxes)]),
    )


@sandbox.command("remove")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sandbox_remove(ctx: click.Context, address: str, as_json: bool) -> None:
    """Unmap a source address: its traffic is refused from then on."""
    settings = settings_from(ctx)
    control = build_control_plane(settings)
    box = control.sandboxes().remove(address)
    task = control.tasks.get(box.task_id)
    control_events.record(settings, _event(settings, "sandbox-removed", box, task))
    emit(
        box.as_dict(),
        as_json,
        f"Sandbox {box.address} removed (in effect within {settings.identity_cache_seconds:g}s).",
    )
