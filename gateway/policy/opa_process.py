"""Locate the ``opa`` binary and describe the ``opa run --server`` process."""

from __future__ import annotations

import shutil
from pathlib import Path

from gateway.errors import ConfigError

OPA_VERSION = "v1.22.3"


def find_opa(explicit: str | None = None) -> str:
    """``opa_binary`` setting, else ``opa`` on PATH, else ``./.bin/opa``."""
    candidates = [explicit] if explicit else []
    on_path = shutil.which("opa")
    if on_path:
        candidates.append(on_path)
    candidates += [str(Path(".bin/opa").resolve()), str(Path(__file__).parents[2] / ".bin/opa")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(
        "opa binary not found: run `make opa` (builds OPA "
        f"{OPA_VERSION} into .bin/) or set AIRLOCK_OPA_BINARY"
    )


def opa_config(bundle_url: str, poll_seconds: float) -> str:
    delay = max(1, round(poll_seconds))
    return f"""services:
  airlock:
    url: {bundle_url}
bundles:
  airlock:
    service: airlock
    resource: bundles/airlock.tar.gz
    polling:
      min_delay_seconds: {delay}
      max_delay_seconds: {delay}
"""


def opa_command(binary: str, listen: str, config_file: Path) -> list[str]:
    return [
        binary,
        "run",
        "--server",
        "--addr",
        listen,
        "--config-file",
        str(config_file),
        "--log-level",
        "error",
        "--skip-version-check",
    ]
