"""Server-side UI sessions, kept in memory and keyed by a random id.

The cookie carries only the session id. The API key the user logged in with stays
in this process's memory (never in a cookie, a log or a repr) so that every request
re-checks it: a revoked key ends its sessions at once, as it does for the API.
Sessions end after ``idle`` seconds without a request or ``lifetime`` seconds in all,
and when the store process restarts.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.control.keys import Principal

SESSION_COOKIE = "airlock_ui_session"
LOGIN_COOKIE = "airlock_ui_login"  # double-submit token of the login form
IDLE_SECONDS = 30 * 60
LIFETIME_SECONDS = 12 * 60 * 60
MAX_SESSIONS = 10_000


@dataclass
class UiSession:
    sid: str = field(repr=False)
    principal: Principal
    csrf: str = field(repr=False)
    key: str = field(repr=False)
    created: float
    seen: float

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(self.csrf, presented)


class SessionStore:
    def __init__(
        self,
        idle: float = IDLE_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._idle, self._lifetime, self._clock = idle, lifetime, clock
        self._sessions: dict[str, UiSession] = {}
        self._lock = threading.Lock()

    def create(self, principal: Principal, key: str) -> UiSession:
        now = self._clock()
        session = UiSession(
            sid=secrets.token_urlsafe(32),
            principal=principal,
            csrf=secrets.token_urlsafe(32),
            key=key,
            created=now,
            seen=now,
        )
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.seen)
                del self._sessions[oldest.sid]
            self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> UiSession | None:
        """The live session with this id (its idle clock restarted), else None."""
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.seen > self._idle or now - session.created > self._lifetime:
                del self._sessions[sid]
                return None
            session.seen = now
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def __len__(self) -> int:
        return len(self._sessions)
