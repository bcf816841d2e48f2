"""Helpers shared by the ``airlock`` command modules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from gateway.config import Settings, load_settings
from gateway.errors import InvalidRequestError


def emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human)


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(ctx.obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(**base)


def read_value(value_env: str | None, value_file: str | None) -> str:
    """The secret from $VAR, a file or stdin: never from the command line."""
    if value_env:
        value = os.environ.get(value_env)
        if value is None:
            raise InvalidRequestError(f"environment variable {value_env} is not set")
        return value
    if value_file:
        return Path(value_file).read_text().rstrip("\n")
    return sys.stdin.read().rstrip("\n")
