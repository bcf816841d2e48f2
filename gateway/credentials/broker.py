"""Find a task's placeholders in a request and swap in the real values.

Lookups run in a worker thread and are cached for ``cache_seconds``, so a rotation
reaches running tasks on their next request after at most that long.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from dataclasses import dataclass

from gateway.credentials.placeholder import find_placeholders
from gateway.credentials.store import CredentialInfo, CredentialService, GrantInfo


@dataclass(frozen=True)
class Use:
    placeholder: str
    grant: GrantInfo


@dataclass(frozen=True)
class Secret:
    name: str
    version: int
    value: str = ""  # never in a repr

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, v{self.version})"


def request_text(headers: list[tuple[str, str]], url: str) -> str:
    """Headers and URL as one text, with Basic credentials decoded, to look for placeholders."""
    parts = [url]
    for name, value in headers:
        parts.append(value)
        if name.lower() in ("authorization", "proxy-authorization"):
            decoded = _basic(value)
            if decoded is not None:
                parts.append(decoded)
    return "\n".join(parts)


def _basic(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def swap(text: str, replacements: dict[str, str]) -> str:
    for placeholder, real in replacements.items():
        text = text.replace(placeholder, real)
    return text


def swap_header(name: str, value: str, replacements: dict[str, str]) -> str:
    if name.lower() == "authorization":
        decoded = _basic(value)
        if decoded is not None and any(p in decoded for p in replacements):
            return "Basic " + base64.b64encode(swap(decoded, replacements).encode()).decode()
    return swap(value, replacements)


class Broker:
    def __init__(self, service: CredentialService, *, cache_seconds: float = 1.0) -> None:
        self._service = service
        self._ttl = cache_seconds
        self._grants: dict[str, tuple[float, GrantInfo | None]] = {}
        self._values: dict[str, tuple[float, Secret, CredentialInfo]] = {}

    async def uses(self, headers: list[tuple[str, str]], url: str) -> list[Use]:
        """The placeholders in this request and the grants they belong to (any task)."""
        found = sorted(set(find_placeholders(request_text(headers, url))))
        out = []
        for placeholder in found:
            grant = await self._grant(placeholder)
            if grant is not None:
                out.append(Use(placeholder, grant))
        return out

    async def secret(self, name: str) -> tuple[Secret, CredentialInfo]:
        now = time.monotonic()
        hit = self._values.get(name)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1], hit[2]
        version, value, info = await asyncio.to_thread(self._service.value, name)
        secret = Secret(name, version, value)
        self._values[name] = (now, secret, info)
        return secret, info

    async def _grant(self, placeholder: str) -> GrantInfo | None:
        now = time.monotonic()
        hit = self._grants.get(placeholder)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        grant = await asyncio.to_thread(self._service.grant_by_placeholder, placeholder)
        if len(self._grants) > 10_000:
            self._grants.clear()
        self._grants[placeholder] = (now, grant)
        return grant
