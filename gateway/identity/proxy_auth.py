"""Explicit proxy identity: ``Proxy-Authorization: Basic base64(task_id:token)``.

Lookups run in a worker thread (never on the event loop) and are cached for
``cache_seconds`` keyed by task id and token hash, so ``airlock task kill``
takes effect within that time. Expiry is checked on every call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from dataclasses import replace

from gateway.control.tasks import TaskInfo, TaskService
from gateway.errors import NotFoundError
from gateway.identity.base import ConnectionFacts, Identity, IdentityRefused
from gateway.ids import hash_token


def parse_basic(header: str | None) -> tuple[str, str]:
    """(task_id, token) from a Basic credential, or raise IdentityRefused (407)."""
    if not header:
        raise IdentityRefused("proxy_auth_required", "proxy credentials required", challenge=True)
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        raise IdentityRefused(
            "proxy_auth_malformed", "proxy credentials must use Basic", challenge=True
        )
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise IdentityRefused(
            "proxy_auth_malformed", "proxy credentials are not valid base64", challenge=True
        ) from None
    task_id, sep, token = decoded.partition(":")
    if not sep or not task_id or not token:
        raise IdentityRefused(
            "proxy_auth_malformed", "proxy credentials must be task_id:token", challenge=True
        )
    return task_id, token


class ProxyAuthResolver:
    def __init__(self, tasks: TaskService, *, cache_seconds: float = 1.0) -> None:
        self._tasks = tasks
        self._ttl = cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, TaskInfo | None]] = {}
        self._current: dict[str, tuple[float, TaskInfo]] = {}

    async def resolve(self, facts: ConnectionFacts) -> Identity:
        task_id, token = parse_basic(facts.proxy_authorization)
        task = await self._lookup(task_id, token)
        if task is None:
            raise IdentityRefused(
                "proxy_auth_invalid", "unknown task or wrong token", challenge=True
            )
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
        """Re-read a task's status (cached like logins), e.g. for an open tunnel."""
        now = time.monotonic()
        hit = self._current.get(task.task_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        try:
            current = await asyncio.to_thread(self._tasks.get, task.task_id)
        except NotFoundError:
            current = replace(task, status="killed")  # deleted: treat as revoked
        if len(self._current) > 10_000:
            self._current.clear()
        self._current[task.task_id] = (now, current)
        return current

    async def _lookup(self, task_id: str, token: str) -> TaskInfo | None:
        key = (task_id, hash_token(token))
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        task = await asyncio.to_thread(self._tasks.authenticate, task_id, token)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, task)
        return task
