"""The reference docs cover what the code defines.

Every CLI command and option, every setting and its environment variable, every event
kind and code, every HTTP route and every policy reason code must appear in docs/.
Each list is read from the code itself, so a new command, setting, event kind, route or
deny rule fails this test until it is documented.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import click
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from gateway.audit.events import EVENT_KINDS
from gateway.cli import main
from gateway.config import Settings
from gateway.query.app import AppDeps, create_app

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
NETWORK_REGO = REPO / "policies" / "airlock" / "network" / "network.rego"
NETWORK_RULES = sorted(p for p in NETWORK_REGO.parent.glob("*.rego") if "_test" not in p.name)

# Refusals the gateway makes itself, before or instead of asking OPA
# (gateway/egress/verdict.py, addons/*.py, gateway/identity/proxy_auth.py).
GATEWAY_REASONS = (
    "policy_unavailable",
    "audit_unavailable",
    "unknown_identity",
    "destination_mismatch",
    "sni_mismatch",
    "host_mismatch",
    "task_killed",
    "task_expired",
    "proxy_auth_required",
    "proxy_auth_malformed",
    "proxy_auth_invalid",
    "opaque_tunnel",
    "invalid_host",
    "malformed_request",
    "destination_unresolved",
    "unknown_sandbox",
    "dns_type_not_allowed",
)

_REASON_LINE = re.compile(r"^#\s+reason:\s*([a-z0-9_]+)\s*$", re.MULTILINE)


def rego_reasons(path: Path) -> tuple[str, ...]:
    """Reason codes from the ``custom.reason`` lines of the Rego METADATA annotations."""
    return tuple(_REASON_LINE.findall(path.read_text()))


POLICY_REASONS = tuple(r for path in NETWORK_RULES for r in rego_reasons(path))


def doc(name: str) -> str:
    return (DOCS / name).read_text()


def command_tree(
    group: click.Command, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every (command path, command) under ``group``, the group itself included."""
    yield prefix, group
    if isinstance(group, click.Group):
        for name, sub in group.commands.items():
            yield from command_tree(sub, (*prefix, name))


def option_names(command: click.Command) -> list[str]:
    """Long option names (``--json``) of a command; arguments and --help excluded."""
    names: list[str] = []
    for param in command.params:
        if isinstance(param, click.Option):
            names += [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
    return names


COMMANDS = list(command_tree(main))


def section(text: str, title: str) -> str:
    """The part of a Markdown document under the first heading containing ``title``."""
    lines = text.splitlines()
    for start, line in enumerate(lines):
        level = len(line) - len(line.lstrip("#"))
        if level and title in line:
            end = next(
                (
                    i
                    for i in range(start + 1, len(lines))
                    if 0 < len(lines[i]) - len(lines[i].lstrip("#")) <= level
                ),
                len(lines),
            )
            return "\n".join(lines[start:end])
    raise AssertionError(f"no heading containing {title!r}")


def command_section(path: tuple[str, ...]) -> str:
    title = f"`airlock {' '.join(path)}" if path else "Global options"
    return section(doc("cli.md"), title)


def test_reason_constant_is_read_from_rego() -> None:
    # Guards the parser: if the METADATA format changed, the list would be empty and
    # the policy test below would check nothing.
    assert set(POLICY_REASONS) >= {
        "unknown_profile",
        "private_destination",
        "destination_not_allowed",
    }


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS if p], ids=" ".join)
def test_every_command_has_a_section(path: tuple[str, ...]) -> None:
    assert f"airlock {' '.join(path)}" in command_section(path)


@pytest.mark.parametrize(
    ("path", "option"),
    [(p, o) for p, cmd in COMMANDS for o in option_names(cmd)],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_every_option_is_documented_in_its_section(path: tuple[str, ...], option: str) -> None:
    where = f"`airlock {' '.join(path)}`" if path else "Global options"
    assert f"`{option}" in command_section(path), f"{option} is not under {where} in cli.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    text = doc("configuration.md")
    assert f"`{name}`" in text
    assert f"AIRLOCK_{name.upper()}" in text


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_event_kind_is_documented(kind: str) -> None:
    code = EVENT_KINDS[kind][0]
    text = doc("events.md")
    assert f"`{kind}`" in text
    assert code in text
    assert f"### `{kind}` ({code})" in text, f"no section for {kind} in docs/events.md"


def app_routes() -> list[str]:
    # create_app only registers routes and a metrics collector; it calls nothing on the
    # store, the key service or the shipper until a request arrives. So None stands in for
    # them: listing the routes needs no chDB, control database or spool.
    unused = cast(Any, None)
    app = create_app(
        AppDeps(store=unused, keys=unused, shipper=unused, spool_dir=Path("/nonexistent"))
    )
    return sorted(r.path for r in app.routes if isinstance(r, APIRoute | Route))


def test_app_routes_found() -> None:
    assert {"/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/events"} <= set(app_routes())


@pytest.mark.parametrize("route", app_routes())
def test_every_route_is_documented(route: str) -> None:
    assert f"`{route}`" in doc("api.md")


@pytest.mark.parametrize("reason", sorted({*POLICY_REASONS, *GATEWAY_REASONS}))
def test_every_reason_code_is_documented(reason: str) -> None:
    assert f"`{reason}`" in doc("policy.md")
