"""Helpers shared by the ``airlock`` command modules."""

from __future__ import annotations

import json
from typing import Any

import click

from gateway.config import Settings, load_settings


def emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human)


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(ctx.obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(**base)
