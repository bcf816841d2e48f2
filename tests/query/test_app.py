"""The query API over a real chDB store and a real SQLite control plane.

Events reach chDB the production way: AuditEvent records written to the spool and
shipped by the Shipper. chDB allows one data directory per process at a time, so
the whole module shares one store, which is closed at module teardown.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.spool import SpoolWriter
from gateway.audit.store import ChdbStore, open_store
from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.keys import ApiKeyService
from gateway.query.app import AppDeps, create_app
from gateway.query.events_query import encode_cursor

T0 = datetime(2026, 1, 10, tzinfo=UTC)
T1 = datetime(2026, 2, 10, tzinfo=UTC)
PAGE_EVENTS = 25


def _acme_events() -> list[AuditEvent]:
    return [
        AuditEvent(
            kind="http-request",
            ts=T0 + timedelta(minutes=1),
            tenant="acme",
            agent="a1",
            task_id="t1",
            host="pypi.org",
            decision="allow",
        ),
        AuditEvent(
            kind="http-request",
            ts=T0 + timedelta(minutes=2),
            tenant="acme",
            agent="a2",
            task_id="t2",
            host="evil.example",
            decision="deny",
        ),
        AuditEvent(
            kind="http-stream-end",
            ts=T0 + timedelta(minutes=3),
            tenant="acme",
            agent="a1",
            task_id="t1",
            host="pypi.org",
            decision="allow",
        ),
        AuditEvent(
            kind="proxy-auth-failure",
            ts=T0 + timedelta(minutes=4),
            tenant="acme",
            agent="a2",
            task_id="t3",
            host="github.com",
        ),
    ]


def _other_events() -> list[AuditEvent]:
    return [
        AuditEvent(
            kind="http-request",
            ts=T0 + timedelta(minutes=m),
            tenant="other",
            agent="a1",
            task_id="o1",
            host="pypi.org",
            decision="allow",
        )
        for m in (1, 5)
    ]


def _page_events() -> list[AuditEvent]:
    # Groups of three share a timestamp so page boundaries fall inside ties.
    return [
        AuditEvent(
            kind="http-request",
            ts=T1 + timedelta(seconds=i // 3),
            tenant="paging",
            agent="pager",
            host=f"h{i}.example",
        )
        for i in range(PAGE_EVENTS)
    ]


@dataclass
class Api:
    client: TestClient
    keys: ApiKeyService
    shipper: Shipper
    admin: str
    auditor: str
    viewer: str
    acme: str

    def get(self, path: str, key: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.client.get(path, params=params, headers=headers)

    def events(self, key: str, **params: Any) -> list[dict[str, Any]]:
        response = self.get("/v1/events", key, **params)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("query-app")
    store = open_store(None, root / "chdb")
    assert isinstance(store, ChdbStore)
    spool = root / "spool"
    writer = SpoolWriter(spool, "proxy")
    everything = _acme_events() + _other_events() + _page_events()
    writer.write([e.to_bytes() for e in everything])
    writer.close()
    shipper = Shipper(spool, store)
    assert shipper.drain() == len(everything)
    keys = ApiKeyService(make_sessionmaker(make_engine(f"sqlite:///{root}/control.db")))
    app = create_app(AppDeps(store=store, keys=keys, shipper=shipper, spool_dir=spool))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(
                client=client,
                keys=keys,
                shipper=shipper,
                admin=keys.create(role="admin")[1],
                auditor=keys.create(role="auditor")[1],
                viewer=keys.create(role="viewer")[1],
                acme=keys.create(role="viewer", tenant="acme")[1],
            )
    finally:
        store.close()


def _hosts(events: list[dict[str, Any]]) -> list[str]:
    return [e["host"] for e in events]


def _unknown_key() -> str:
    return f"alk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


# Health, metrics, schema ------------------------------------------------------


def test_healthz(api: Api) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_reports_store_and_shipper(api: Api) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"clickhouse": "ok", "shipper": "ok"}}


def test_metrics_is_prometheus_text_with_shipped_count(api: Api) -> None:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE airlock_events_shipped_total counter" in text
    shipped = api.shipper.stats.shipped
    assert shipped > 0
    assert f"airlock_events_shipped_total {float(shipped)}" in text
    assert "airlock_up 1.0" in text


def test_openapi_lists_the_events_route(api: Api) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert "/v1/events" in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/v1/events"]["get"]["parameters"]}
    assert {"from", "to", "cursor", "limit", "order", "tenant"} <= params


# Authentication and authorisation --------------------------------------------


def test_no_authorization_is_401(api: Api) -> None:
    response = api.get("/v1/events")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthenticated"
    assert "bearer" in body["message"].lower()


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda: f"Bearer {_unknown_key()}", id="unknown-key"),
        pytest.param(lambda: f"Bearer not-a-key-{secrets.token_hex(4)}", id="malformed"),
        pytest.param(lambda: f"Basic {secrets.token_hex(8)}", id="wrong-scheme"),
        pytest.param(lambda: "Bearer ", id="empty"),
    ],
)
def test_bad_credentials_are_401(api: Api, header: Any) -> None:
    response = api.client.get("/v1/events", headers={"Authorization": header()})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_revoked_key_is_401(api: Api) -> None:
    key_id, key = api.keys.create(role="admin")
    assert api.get("/v1/events", key).status_code == 200
    api.keys.revoke(key_id)
    response = api.get("/v1/events", key)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_tampered_secret_is_401(api: Api) -> None:
    _, key = api.keys.create(role="admin")
    prefix, key_id, _ = key.split("_", 2)
    forged = f"{prefix}_{key_id}_{secrets.token_urlsafe(32)}"
    assert api.get("/v1/events", forged).status_code == 401


@pytest.mark.parametrize("role", ["viewer", "auditor", "admin"])
def test_every_role_can_read(api: Api, role: str) -> None:
    key = getattr(api, role)
    assert _hosts(api.events(key, tenant="acme", order="asc")) == [
        "pypi.org",
        "evil.example",
        "pypi.org",
        "github.com",
    ]


def test_tenant_key_sees_only_its_tenant(api: Api) -> None:
    events = api.events(api.acme, limit=1000)
    assert len(events) == 4
    assert {e["tenant"] for e in events} == {"acme"}
    # Even a filter that matches other tenants' rows stays inside the scope.
    assert {e["tenant"] for e in api.events(api.acme, agent="a1")} == {"acme"}
    assert len(api.events(api.acme, tenant="acme")) == 4


def test_tenant_key_asking_for_another_tenant_is_403(api: Api) -> None:
    response = api.get("/v1/events", api.acme, tenant="other")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden"
    assert "other" in body["message"]


def test_global_key_sees_every_tenant(api: Api) -> None:
    events = api.events(api.viewer, agent="a1")
    assert sorted(e["tenant"] for e in events) == ["acme", "acme", "other", "other"]


# Filters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "hosts"),
    [
        pytest.param({"agent": "a2"}, ["evil.example", "github.com"], id="agent"),
        pytest.param({"task_id": "t1"}, ["pypi.org", "pypi.org"], id="task_id"),
        pytest.param({"host": "github.com"}, ["github.com"], id="host"),
        pytest.param({"decision": "deny"}, ["evil.example"], id="decision"),
        pytest.param({"kind": "http-stream-end"}, ["pypi.org"], id="kind"),
        pytest.param(
            {"from": (T0 + timedelta(minutes=2)).isoformat()},
            ["evil.example", "pypi.org", "github.com"],
            id="from-inclusive",
        ),
        pytest.param(
            {"to": (T0 + timedelta(minutes=2)).isoformat()}, ["pypi.org"], id="to-exclusive"
        ),
        pytest.param(
            {
                "from": (T0 + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "to": str(int((T0 + timedelta(minutes=4)).timestamp())),
            },
            ["evil.example", "pypi.org"],
            id="from-iso-to-epoch",
        ),
        pytest.param({"agent": "a1", "kind": "http-request"}, ["pypi.org"], id="combined"),
        pytest.param({"agent": "nobody"}, [], id="no-match"),
    ],
)
def test_filters_narrow_results(api: Api, params: dict[str, str], hosts: list[str]) -> None:
    events = api.events(api.admin, tenant="acme", order="asc", **params)
    assert _hosts(events) == hosts


def test_filter_value_with_quotes_is_data_not_sql(api: Api) -> None:
    assert api.events(api.admin, agent="x' OR 1=1 --") == []
    assert api.events(api.admin, tenant="acme' OR '1'='1") == []


def test_event_shape(api: Api) -> None:
    (event,) = api.events(api.admin, tenant="acme", decision="deny")
    assert event["ts"] == "2026-01-10T00:02:00.000000Z"
    assert event["kind"] == "http-request"
    assert event["code"] == "AL1000"
    assert event["detail"] == {}
    assert isinstance(event["port"], int)
    assert "spool_stream" not in event
    assert "ingested_at" not in event
    assert "ts_raw" not in event


# Pagination -------------------------------------------------------------------


def _walk(api: Api, limit: int, order: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(PAGE_EVENTS + 2):
        params: dict[str, Any] = {"tenant": "paging", "limit": limit, "order": order}
        if cursor:
            params["cursor"] = cursor
        response = api.get("/v1/events", api.admin, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["events"]) <= limit
        seen += body["events"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("limit", [10, 2])
def test_cursor_pagination_returns_every_event_once_newest_first(api: Api, limit: int) -> None:
    walked = _walk(api, limit, "desc")
    ids = [e["event_id"] for e in walked]
    assert len(ids) == PAGE_EVENTS
    assert len(set(ids)) == PAGE_EVENTS
    stamps = [e["ts"] for e in walked]
    assert stamps == sorted(stamps, reverse=True)
    one_page = api.events(api.admin, tenant="paging", limit=1000)
    assert ids == [e["event_id"] for e in one_page]


def test_ascending_pagination_is_the_reverse(api: Api) -> None:
    descending = [e["event_id"] for e in _walk(api, 10, "desc")]
    ascending = [e["event_id"] for e in _walk(api, 10, "asc")]
    assert ascending == descending[::-1]


def test_last_full_page_has_no_cursor(api: Api) -> None:
    response = api.get("/v1/events", api.admin, tenant="paging", limit=PAGE_EVENTS)
    body = response.json()
    assert len(body["events"]) == PAGE_EVENTS
    assert body["next_cursor"] is None


# Errors -----------------------------------------------------------------------


def test_invalid_from_is_400(api: Api) -> None:
    response = api.get("/v1/events", api.admin, **{"from": "last tuesday"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "from" in body["message"]


def test_limit_zero_is_422(api: Api) -> None:
    response = api.get("/v1/events", api.admin, limit=0)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "limit" in body["message"]


def test_unknown_route_is_404(api: Api) -> None:
    response = api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_cursor_with_non_uuid_event_id_is_400(api: Api) -> None:
    cursor = encode_cursor("2026-02-10 00:00:01.000000", "not-a-uuid")
    response = api.get("/v1/events", api.admin, cursor=cursor)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_every_error_has_the_same_json_shape(api: Api) -> None:
    cases: list[tuple[str, str, dict[str, Any], str | None, int, str]] = [
        ("GET", "/v1/events", {}, None, 401, "unauthenticated"),
        ("GET", "/v1/events", {}, _unknown_key(), 401, "unauthenticated"),
        ("GET", "/v1/events", {"tenant": "other"}, api.acme, 403, "forbidden"),
        ("GET", "/v1/events", {"from": "soon"}, api.admin, 400, "invalid_request"),
        ("GET", "/v1/events", {"to": "later"}, api.admin, 400, "invalid_request"),
        ("GET", "/v1/events", {"order": "sideways"}, api.admin, 400, "invalid_request"),
        ("GET", "/v1/events", {"cursor": "%%%"}, api.admin, 400, "invalid_request"),
        ("GET", "/v1/events", {"limit": 0}, api.admin, 422, "invalid_request"),
        ("GET", "/v1/events", {"limit": 1001}, api.admin, 422, "invalid_request"),
        ("GET", "/v1/events", {"limit": "many"}, api.admin, 422, "invalid_request"),
        ("GET", "/nope", {}, None, 404, "not_found"),
        ("POST", "/v1/events", {}, api.admin, 405, "method_not_allowed"),
    ]
    for method, path, params, key, status, code in cases:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = api.client.request(method, path, params=params, headers=headers)
        where = f"{method} {path} {params}"
        assert response.status_code == status, where
        assert response.headers["content-type"] == "application/json", where
        body = response.json()
        assert set(body) == {"error", "message"}, where
        assert body["error"] == code, where
        assert isinstance(body["message"], str) and body["message"], where
        if key:
            assert key not in body["message"], where
