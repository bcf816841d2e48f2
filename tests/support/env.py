"""Environment helpers so "direct" clients really bypass any proxy."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["PROXY_VARS", "direct_env"]

#: Proxy-related variables honoured by curl, requests, httpx, pip and git.
PROXY_VARS: tuple[str, ...] = tuple(
    v
    for base in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY")
    for v in (base, base.lower())
)


def direct_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``os.environ`` without proxy variables (any case), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in {p.upper() for p in PROXY_VARS}}
    env.update(extra or {})
    return env
