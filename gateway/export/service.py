"""Wiring: settings → feed, transport, cursor and runner for each sink.

Used by the export process (``airlock up``) and by ``airlock export run``.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.audit.committer import GroupCommitter
from gateway.audit.events import AuditEvent
from gateway.config import Settings
from gateway.export.config import SinkSettings
from gateway.export.cursor import CursorStore
from gateway.export.delivery import Cursors, Notify, Render, SinkRunner
from gateway.export.feed import ApiFeed, Feed, position_at
from gateway.export.transports import build_transport
from gateway.home import operator_key
from gateway.runtime import ControlPlane


def owner_id() -> str:
    """Who holds a sink's lease: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def api_key(settings: Settings, control: ControlPlane) -> str:
    """``AIRLOCK_API_KEY`` (an auditor key is enough), else the local operator key."""
    return os.environ.get("AIRLOCK_API_KEY") or operator_key(settings, control)


def start_of(sink: SinkSettings) -> tuple[str, datetime | None]:
    """Where a sink's cursor starts the first time: the beginning of the trail, or now."""
    if sink.start == "beginning":
        return "", None
    now = datetime.now(UTC)
    return position_at(now), now


def load_render() -> Render:
    from gateway.export.formats import render  # the formats register themselves on import

    return render


def spool_notifier(spool: GroupCommitter, gateway_id: str) -> Notify:
    """Export events go into the audit trail like any other component's."""

    def notify(kind: str, detail: dict[str, str]) -> None:
        spool.append_sync(AuditEvent(kind=kind, gateway_id=gateway_id, detail=detail))

    return notify


@dataclass
class Wiring:
    settings: Settings
    control: ControlPlane
    stop: threading.Event
    notify: Notify
    owner: str

    def cursors(self) -> CursorStore:
        return CursorStore(self.control.sessions)

    def live_feed(self) -> Feed:
        key = api_key(self.settings, self.control)
        return ApiFeed(self.settings.api_url, key, self.settings.export.settle_ms)

    def runner(
        self,
        sink: SinkSettings,
        *,
        feed: Feed | None = None,
        cursors: Cursors | None = None,
        start: tuple[str, datetime | None] | None = None,
    ) -> SinkRunner:
        return SinkRunner(
            sink,
            feed=feed or self.live_feed(),
            transport=build_transport(sink),
            render=load_render(),
            cursors=cursors or self.cursors(),
            owner=self.owner,
            stop=self.stop,
            notify=self.notify,
            poll_s=self.settings.export.poll_ms / 1000,
            start=start or start_of(sink),
        )
