"""POST alerts to configured webhooks; each delivery's outcome is returned for the record."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx


def deliver(urls: list[str], payload: dict[str, Any], timeout: float = 5.0) -> dict[str, str]:
    """POST ``payload`` to every URL; returns ``{"<n> <host:port>": status}``, never raises.

    Only the host and port name a receiver in the record: credentials in a URL stay out.
    """
    outcome: dict[str, str] = {}
    for index, url in enumerate(urls, 1):
        parts = urlsplit(url)
        host = f"{index} {parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")
        try:
            resp = httpx.post(url, json=payload, timeout=timeout, trust_env=False)
        except httpx.HTTPError as exc:
            outcome[host] = f"error: {type(exc).__name__}"
            continue
        outcome[host] = str(resp.status_code)
    return outcome
