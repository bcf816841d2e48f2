"""Task liveness: each live task is ``active``, ``idle`` or ``stalled``.

``idle``: no traffic for ``idle_seconds``; ``stalled``: none for ``stall_seconds``
while the task is neither killed nor expired. Entering ``stalled`` raises one
``alert-raised`` event (who noticed: the store; when: the event time) and calls
every configured webhook, recording the outcome as ``alert-notified``; traffic
again resolves it (``alert-resolved``). A task past its expiry gets one
``task-expired`` event. Open alerts and recorded expiries are re-read from the
audit trail at start, so a restart neither repeats nor forgets them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.alerts.webhooks import deliver
from gateway.audit.events import AuditEvent
from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.store import AuditStore
from gateway.control.tasks import TaskInfo, TaskService

log = logging.getLogger("airlock.liveness")
TRAFFIC_KINDS = (
    "http-request",
    "http-stream-end",
    "tunnel-refused",
    "tunnel-opened",
    "tunnel-closed",
    "websocket-message",
    "dns-query",
)


@dataclass(frozen=True)
class LivenessConfig:
    idle_seconds: float
    stall_seconds: float
    webhooks: tuple[str, ...] = ()


def classify(last_activity: datetime, now: datetime, config: LivenessConfig) -> str:
    quiet = (now - last_activity).total_seconds()
    if quiet >= config.stall_seconds:
        return "stalled"
    return "idle" if quiet >= config.idle_seconds else "active"


class LivenessMonitor:
    def __init__(
        self,
        store: AuditStore,
        tasks: TaskService,
        config: LivenessConfig,
        record: Callable[[AuditEvent], None],
        gateway_id: str,
    ) -> None:
        self._store = store
        self._tasks = tasks
        self._config = config
        self._record = record
        self._gateway_id = gateway_id
        self._open: dict[str, str] = {}  # task_id -> alert_id
        self._expired: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.states: dict[str, str] = {}

    def load(self) -> None:
        """Open stall alerts and recorded expiries, from the audit trail."""
        rows = self._store.query(
            f"SELECT task_id, kind, JSONExtractString(detail, 'alert_id') AS alert_id "
            f"FROM {EVENTS_TABLE} WHERE kind IN ('alert-raised', 'alert-resolved', 'task-expired') "
            "ORDER BY ts"
        )
        for row in rows:
            if row["kind"] == "task-expired":
                self._expired.add(row["task_id"])
            elif row["kind"] == "alert-raised":
                self._open[row["task_id"]] = row["alert_id"]
            else:
                self._open.pop(row["task_id"], None)

    def last_activity(self, task_ids: list[str]) -> dict[str, datetime]:
        if not task_ids:
            return {}
        rows = self._store.query(
            "SELECT task_id, formatDateTime(max(ts), '%Y-%m-%d %H:%i:%S.%f') AS last "
            f"FROM {EVENTS_TABLE} WHERE task_id IN {{ids:Array(String)}} "
            "AND kind IN {kinds:Array(String)} GROUP BY task_id",
            {"ids": task_ids, "kinds": list(TRAFFIC_KINDS)},
        )
        return {r["task_id"]: datetime.fromisoformat(r["last"]).replace(tzinfo=UTC) for r in rows}

    def check(self, now: datetime | None = None) -> dict[str, str]:
        """One pass over the live tasks; returns task_id -> state."""
        now = now or datetime.now(UTC)
        tasks = self._tasks.list(limit=10_000)
        for task in tasks:
            if task.effective_status(now) == "expired" and task.task_id not in self._expired:
                self._expired.add(task.task_id)
                self._record(
                    self._event("task-expired", task, {"expires_at": task.expires_at.isoformat()})
                )
        for task in tasks:  # a stalled task that was then killed or expired: not stalled
            if task.effective_status(now) != "active" and task.task_id in self._open:
                self._resolve(task, task.effective_status(now))
        live = [t for t in tasks if t.effective_status(now) == "active"]
        activity = self.last_activity([t.task_id for t in live])
        states = {}
        for task in live:
            last = max(activity.get(task.task_id, task.created_at), task.created_at)
            states[task.task_id] = state = classify(last, now, self._config)
            self._transition(task, state, last)
        self.states = states
        return states

    def _transition(self, task: TaskInfo, state: str, last: datetime) -> None:
        alert_id = self._open.get(task.task_id)
        if state == "stalled" and alert_id is None:
            alert_id = f"alert-{uuid.uuid4().hex[:12]}"
            self._open[task.task_id] = alert_id
            detail = {
                "alert": "task-stalled",
                "alert_id": alert_id,
                "last_activity": last.isoformat(),
                "stall_seconds": f"{self._config.stall_seconds:g}",
                "noticed_by": f"store@{self._gateway_id}",
            }
            raised = self._event("alert-raised", task, detail)
            self._record(raised)
            self._notify(task, raised)
        elif state != "stalled" and alert_id is not None:
            self._resolve(task, "traffic", resumed_at=last.isoformat())

    def _resolve(self, task: TaskInfo, why: str, **extra: str) -> None:
        alert_id = self._open.pop(task.task_id)
        detail = {"alert": "task-stalled", "alert_id": alert_id, "resolved_by": why, **extra}
        self._record(self._event("alert-resolved", task, detail))

    def _notify(self, task: TaskInfo, raised: AuditEvent) -> None:
        if not self._config.webhooks:
            return
        payload: dict[str, Any] = raised.model_dump(mode="json")
        outcome = deliver(list(self._config.webhooks), payload)
        detail = {
            "alert_id": raised.detail["alert_id"],
            **{f"webhook {k}": v for k, v in outcome.items()},
        }
        self._record(self._event("alert-notified", task, detail))

    def _event(self, kind: str, task: TaskInfo, detail: dict[str, str]) -> AuditEvent:
        return AuditEvent(
            kind=kind,
            tenant=task.tenant,
            agent=task.agent,
            task_id=task.task_id,
            gateway_id=self._gateway_id,
            detail=detail,
        )

    def start(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check()
                except Exception:  # keep watching; the next pass retries
                    log.exception("liveness check failed")

        self._thread = threading.Thread(target=loop, name="liveness", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
