"""Track in-flight requests so shutdown can wait for them to finish."""

from __future__ import annotations

import asyncio

from mitmproxy import http


class Drain:
    def __init__(self) -> None:
        self.live: set[str] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self.live.add(flow.id)
        self._idle.clear()

    def response(self, flow: http.HTTPFlow) -> None:
        self._done(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._done(flow)

    def _done(self, flow: http.HTTPFlow) -> None:
        self.live.discard(flow.id)
        if not self.live:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False
