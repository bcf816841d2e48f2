"""Transparent-mode identity: the connection's source address names a sandbox.

A sandbox (gateway/control/sandboxes.py) maps one source address to one task. The
address is only worth something because the sandbox network (deploy/sandbox-net)
drops packets from a sandbox's interface whose source is not that sandbox's own
address. Lookups run in a worker thread and are cached for ``cache_seconds``, so a
``sandbox remove`` or ``task kill`` takes effect within that time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from gateway.control.sandboxes import SandboxService
from gateway.control.tasks import TaskInfo, TaskService
from gateway.errors import NotFoundError
from gateway.identity.base import ConnectionFacts, Identity, IdentityRefused

_MAX_CACHE = 10_000


class SourceAddressResolver:
    def __init__(
        self, sandboxes: SandboxService, tasks: TaskService, *, cache_seconds: float = 1.0
    ) -> None:
        self._sandboxes = sandboxes
        self._tasks = tasks
        self._ttl = cache_seconds
        self._by_address: dict[str, tuple[float, str | None]] = {}  # address -> task id
        self._current: dict[str, tuple[float, TaskInfo]] = {}

    async def resolve(self, facts: ConnectionFacts) -> Identity:
        task_id = await self._task_id(facts.client_host)
        if task_id is None:
            raise IdentityRefused(
                "unknown_sandbox",
                f"source address {facts.client_host or '(none)'} is not a registered sandbox",
                challenge=False,
            )
        task = await self._task(task_id)
        status = task.effective_status()
        if status != "active":
            raise IdentityRefused(
                f"task_{status}",
                f"task {task.task_id} is {status}",
                challenge=False,
                task_id=task.task_id,
            )
        return Identity(task=task)

    async def refresh(self, task: TaskInfo) -> TaskInfo:
        return await self._task(task.task_id, fallback=task)

    async def _task_id(self, address: str) -> str | None:
        now = time.monotonic()
        hit = self._by_address.get(address)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        sandbox = await asyncio.to_thread(self._sandboxes.lookup, address)
        task_id = sandbox.task_id if sandbox else None
        if len(self._by_address) > _MAX_CACHE:
            self._by_address.clear()
        self._by_address[address] = (now, task_id)
        return task_id

    async def _task(self, task_id: str, fallback: TaskInfo | None = None) -> TaskInfo:
        now = time.monotonic()
        hit = self._current.get(task_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        try:
            current = await asyncio.to_thread(self._tasks.get, task_id)
        except NotFoundError:
            if fallback is None:
                raise IdentityRefused(
                    "unknown_sandbox",
                    f"the task of this sandbox ({task_id}) is gone",
                    challenge=False,
                ) from None
            current = replace(fallback, status="killed")  # deleted: treat as revoked
        if len(self._current) > _MAX_CACHE:
            self._current.clear()
        self._current[task_id] = (now, current)
        return current
