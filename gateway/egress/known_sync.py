"""Keep the redaction engine's known secrets in step with the control plane."""

from __future__ import annotations

import asyncio
import logging

from gateway.control.known import KnownSecretService
from gateway.credentials.store import CredentialService
from gateway.errors import AirlockError
from gateway.redaction import Redactor

log = logging.getLogger("airlock.known")


class KnownSync:
    """Registers every known secret with the engine; rotated values are added (the
    old value stays caught: a retired secret showing up is still a leak)."""

    def __init__(
        self,
        redactor: Redactor,
        service: KnownSecretService,
        credentials: CredentialService | None = None,
    ) -> None:
        self._redactor = redactor
        self._service = service
        self._credentials = credentials
        self._seen: set[tuple[str, str]] = set()

    def values(self) -> list[tuple[str, str]]:
        """Operator-registered values, and every version of every brokered credential."""
        out = list(self._service.values())
        if self._credentials is not None:
            out += [
                (f"credential:{n}:v{v}", value) for n, v, value in self._credentials.all_values()
            ]
        return out

    def sync(self) -> int:
        added = 0
        for name, value in self.values():
            key = (name, self._redactor.fingerprint(value.encode()))
            if key in self._seen:
                continue
            self._redactor.register_known(name, value)
            self._seen.add(key)
            added += 1
        return added

    async def run(self, interval: float) -> None:
        while True:
            try:
                added = await asyncio.to_thread(self.sync)
                if added:
                    log.warning("registered %d known secret value(s)", added)
            except (AirlockError, ValueError, OSError) as exc:
                log.error("known secrets not refreshed: %s", type(exc).__name__)
            await asyncio.sleep(interval)
