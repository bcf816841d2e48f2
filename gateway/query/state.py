"""An agent's whole situation at an instant, rebuilt from the audit trail alone.

Every control-plane change is an event (task-created/-killed, grant-created,
credential-added/-rotated/-revoked, policy-loaded, sandbox-registered, alerts),
so the state at ``T`` is a fold over the events at or before ``T``:

* active tasks: created, not killed, not expired (``expires_at`` from task-created);
* policy revision in force: the last ``policy-loaded`` per gateway;
* credentials in scope: the active tasks' unexpired grants, each credential at
  the version current at ``T`` (revoked ones are listed as revoked);
* requests in flight: requests that started at or before ``T`` and ended after;
* the last N actions before ``T`` and the next N after;
* alerts raised at or before ``T`` and not resolved by then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.store import AuditStore
from gateway.query.events_query import CH_TIME, EVENT_FIELDS, shape_event

T = EVENTS_TABLE
SELECT = f"SELECT {EVENT_FIELDS} FROM {T}"
TASK_KINDS = ("task-created", "task-killed", "task-expired")
CREDENTIAL_KINDS = ("credential-added", "credential-rotated", "credential-revoked")
ALERT_KINDS = ("alert-raised", "alert-resolved")
QUIET_KINDS = ("audit-checkpoint", "audit-viewed")  # the chain's and auditors' records
LONGEST_REQUEST = timedelta(days=1)  # in-flight search reaches back this far


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(CH_TIME)


def _scope(tenant: str | None) -> tuple[str, dict[str, Any]]:
    return ("AND tenant = {tenant:String} ", {"tenant": tenant}) if tenant else ("", {})


def _iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class StateReader:
    def __init__(self, store: AuditStore) -> None:
        self._store = store

    def _events(self, where: str, params: dict[str, Any], tail: str = "") -> list[dict[str, Any]]:
        rows = self._store.query(f"{SELECT} WHERE {where} {tail}", params)
        return [shape_event(r) for r in rows]

    def state_at(
        self, agent: str, at: datetime, *, tenant: str | None = None, around: int = 10
    ) -> dict[str, Any]:
        scope, params = _scope(tenant)
        params = {**params, "agent": agent, "at": _time(at)}
        tasks = self._tasks(scope, params, at)
        credentials = self._credentials(scope, params, at, tasks)
        return {
            "agent": agent,
            "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "tenant": tenant,
            "tasks": tasks,
            "policy": self._policy(params),
            "credentials": credentials,
            "in_flight": self._in_flight(scope, params, at),
            "before": self._around(scope, params, around, before=True),
            "after": self._around(scope, params, around, before=False),
            "alerts": self._alerts(scope, params),
        }

    def _tasks(self, scope: str, params: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
        rows = self._events(
            f"agent = {{agent:String}} {scope}AND kind IN {{kinds:Array(String)}} "
            "AND ts <= {at:DateTime64(6, 'UTC')}",
            {**params, "kinds": list(TASK_KINDS)},
            "ORDER BY ts, event_id",
        )
        tasks: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["kind"] == "task-created":
                tasks[row["task_id"]] = {
                    "task_id": row["task_id"],
                    "tenant": row["tenant"],
                    "profile": row["detail"].get("profile", ""),
                    "created_at": row["ts"],
                    "expires_at": row["detail"].get("expires_at", ""),
                    "grants": [],
                }
            elif row["task_id"] in tasks:  # killed or expired: no longer active
                tasks.pop(row["task_id"])
        return [t for t in tasks.values() if not t["expires_at"] or _iso(t["expires_at"]) > at]

    def _credentials(
        self, scope: str, params: dict[str, Any], at: datetime, tasks: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        if not tasks:
            return []
        by_task = {t["task_id"]: t for t in tasks}
        grants = self._events(
            f"agent = {{agent:String}} {scope}AND kind = 'grant-created' "
            "AND ts <= {at:DateTime64(6, 'UTC')} AND task_id IN {tasks:Array(String)}",
            {**params, "tasks": list(by_task)},
            "ORDER BY ts",
        )
        live = [g for g in grants if _iso(g["detail"].get("expires_at") or "9999-12-31") > at]
        names = sorted({g["detail"].get("credential", "") for g in live} - {""})
        versions = self._versions(names, params["at"])
        out = []
        for grant in live:
            name = grant["detail"].get("credential", "")
            by_task[grant["task_id"]]["grants"].append(name)
            out.append(
                {
                    "credential": name,
                    "task_id": grant["task_id"],
                    "granted_at": grant["ts"],
                    "expires_at": grant["detail"].get("expires_at", ""),
                    **versions.get(name, {"version": None, "status": "unknown"}),
                }
            )
        return out

    def _versions(self, names: list[str], at: str) -> dict[str, dict[str, Any]]:
        if not names:
            return {}
        rows = self._events(
            "kind IN {kinds:Array(String)} AND ts <= {at:DateTime64(6, 'UTC')} "
            "AND JSONExtractString(detail, 'credential') IN {names:Array(String)}",
            {"kinds": list(CREDENTIAL_KINDS), "at": at, "names": names},
            "ORDER BY ts",
        )
        versions: dict[str, dict[str, Any]] = {}
        for row in rows:
            detail = row["detail"]
            status = "revoked" if row["kind"] == "credential-revoked" else "active"
            versions[detail["credential"]] = {
                "version": int(detail.get("version") or 0) or None,
                "status": status,
                "fingerprint": detail.get("fingerprint", ""),
                "changed_at": row["ts"],
            }
        return versions

    def _policy(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._events(
            "kind = 'policy-loaded' AND ts <= {at:DateTime64(6, 'UTC')}",
            {"at": params["at"]},
            "ORDER BY ts DESC LIMIT 1 BY gateway_id",
        )
        return [
            {
                "gateway_id": r["gateway_id"],
                "revision": r["detail"].get("revision", ""),
                "loaded_at": r["ts"],
            }
            for r in rows
        ]

    def _in_flight(self, scope: str, params: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
        """Requests begun by ``at`` and ended after it; a streamed response ends with its
        ``http-stream-end`` (same ``ts``, the whole duration), not with its headers."""
        ends = self._store.query(
            f"SELECT request_id FROM {T} WHERE agent = {{agent:String}} {scope}"
            "AND kind IN ('http-request', 'http-stream-end') "
            "AND ts <= {at:DateTime64(6, 'UTC')} AND ts >= {reach:DateTime64(6, 'UTC')} "
            "GROUP BY request_id HAVING "
            "max(addMicroseconds(ts, toInt64(duration_ms * 1000))) > {at:DateTime64(6, 'UTC')}",
            {**params, "reach": _time(at - LONGEST_REQUEST)},
        )
        ids = [str(r["request_id"]) for r in ends]
        if not ids:
            return []
        return self._events(
            f"agent = {{agent:String}} {scope}AND kind = 'http-request' "
            "AND request_id IN {ids:Array(String)} AND ts >= {reach:DateTime64(6, 'UTC')}",
            {**params, "ids": ids, "reach": _time(at - LONGEST_REQUEST)},
            "ORDER BY ts",
        )

    def _around(
        self, scope: str, params: dict[str, Any], limit: int, *, before: bool
    ) -> list[dict[str, Any]]:
        op, order = ("<=", "DESC") if before else (">", "ASC")
        return self._events(
            f"agent = {{agent:String}} {scope}AND kind NOT IN {{quiet:Array(String)}} "
            f"AND ts {op} {{at:DateTime64(6, 'UTC')}}",
            {**params, "quiet": list(QUIET_KINDS)},
            f"ORDER BY ts {order}, event_id {order} LIMIT {int(limit)}",
        )

    def _alerts(self, scope: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._events(
            f"agent = {{agent:String}} {scope}AND kind IN {{kinds:Array(String)}} "
            "AND ts <= {at:DateTime64(6, 'UTC')}",
            {**params, "kinds": list(ALERT_KINDS)},
            "ORDER BY ts",
        )
        open_alerts: dict[str, dict[str, Any]] = {}
        for row in rows:
            alert_id = row["detail"].get("alert_id", row["event_id"])
            if row["kind"] == "alert-raised":
                open_alerts[alert_id] = {
                    "alert_id": alert_id,
                    "task_id": row["task_id"],
                    "alert": row["detail"].get("alert", ""),
                    "raised_at": row["ts"],
                    "detail": row["detail"],
                }
            else:
                open_alerts.pop(alert_id, None)
        return list(open_alerts.values())


def flow(store: AuditStore, request_id: str, tenant: str | None) -> dict[str, Any] | None:
    """Everything recorded about one request: the decision, findings, injections, end."""
    scope, params = _scope(tenant)
    rows = store.query(
        f"{SELECT} WHERE request_id = {{rid:String}} {scope}ORDER BY ts, event_id",
        {**params, "rid": request_id},
    )
    events = [shape_event(r) for r in rows]
    request = next((e for e in events if e["kind"] == "http-request"), None)
    if not events:
        return None
    return {
        "request_id": request_id,
        "request": request,
        "findings": [e for e in events if e["kind"] == "secret-finding"],
        "injections": [e for e in events if e["kind"].startswith("credential-")],
        "events": events,
        "redactions": _markers(events),
    }


def _markers(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Where the redaction engine replaced something (from the findings' detail)."""
    return [
        {k: str(v) for k, v in e["detail"].items()} for e in events if e["kind"] == "secret-finding"
    ]
