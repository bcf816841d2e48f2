"""Reconstruction and liveness through a running Airlock: state at an instant over the
API and CLI, a stalled task's single alert at a local webhook, audited reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.support.airlock import AirlockInstance
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def watched(
    tmp_path_factory: pytest.TempPathFactory,
    test_ca: TestCA,
    plain_upstream: HttpsUpstream,
    hook: WebhookReceiver,
) -> Iterator[AirlockInstance]:
    instance = AirlockInstance(
        tmp_path_factory.mktemp("watched"),
        upstream_ca=test_ca.cert_path,
        extra_env={
            "AIRLOCK_IDLE_SECONDS": "1",
            "AIRLOCK_STALL_SECONDS": "3",
            "AIRLOCK_LIVENESS_INTERVAL_SECONDS": "0.5",
            "AIRLOCK_ALERT_WEBHOOKS": json.dumps([hook.url]),
        },
    )
    instance.start()
    instance.add_profile(
        "watched", [{"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True}]
    )
    yield instance
    instance.stop()


def get(instance: AirlockInstance, key: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{instance.api_url}{path}", params=params, headers={"Authorization": f"Bearer {key}"}
    )


def test_a_quiet_task_raises_one_alert_that_reaches_the_webhook(
    watched: AirlockInstance, plain_upstream: HttpsUpstream, hook: WebhookReceiver
) -> None:
    key = watched.api_key("auditor")
    task = watched.create_task("sleepy", "watched")
    with httpx.Client(proxy=task["proxy_url"], trust_env=False) as client:
        assert client.get(f"{plain_upstream.ip_url}/echo").status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not hook.received:
        time.sleep(0.2)
    time.sleep(2)  # more liveness passes: the alert must not repeat
    mine = [h for h in hook.received if h["task_id"] == task["task_id"]]
    assert len(mine) == 1 and mine[0]["detail"]["alert"] == "task-stalled"
    raised = watched.wait_events(key, bool, task_id=task["task_id"], kind="alert-raised")
    assert len(raised) == 1 and raised[0]["detail"]["noticed_by"].startswith("store@")
    notified = watched.wait_events(key, bool, task_id=task["task_id"], kind="alert-notified")
    assert list(notified[0]["detail"].values())[-1] == "204"

    now = datetime.now(UTC).isoformat()
    state = get(watched, key, "/v1/agents/sleepy/state", at=now).json()
    assert [t["task_id"] for t in state["tasks"]] == [task["task_id"]]
    assert [a["alert"] for a in state["alerts"]] == ["task-stalled"]
    assert state["policy"] and state["policy"][0]["revision"]

    out = watched.cli("audit", "at", "--agent", "sleepy", "--time", now)
    assert task["task_id"] in out.stdout and "task-stalled" in out.stdout

    viewed = watched.wait_events(key, bool, kind="audit-viewed")
    assert ("state", "sleepy") in {(e["detail"]["what"], e["detail"].get("agent")) for e in viewed}


def test_timelines_and_flows_are_scoped_to_the_tenant(
    watched: AirlockInstance, plain_upstream: HttpsUpstream
) -> None:
    key = watched.api_key("auditor")
    task = watched.create_task("walker", "watched")
    with httpx.Client(proxy=task["proxy_url"], trust_env=False) as client:
        resp = client.get(f"{plain_upstream.ip_url}/echo?x=1")
    request_id = resp.headers["x-airlock-request-id"]
    watched.wait_events(key, bool, request_id=request_id)
    page = get(watched, key, f"/v1/tasks/{task['task_id']}/timeline").json()
    assert [e["kind"] for e in page["events"]][:2] == ["task-created", "http-request"]
    agent_page = get(watched, key, "/v1/agents/walker/timeline", limit=1).json()
    assert len(agent_page["events"]) == 1 and agent_page["next_cursor"]
    found = get(watched, key, f"/v1/flows/{request_id}").json()
    assert found["request"]["decision"] == "allow" and found["request"]["agent"] == "walker"

    watched.cli("task", "create", "--agent", "x", "--profile", "watched", "--tenant", "globex")
    other = watched.api_key("auditor", tenant="globex")
    assert get(watched, other, f"/v1/flows/{request_id}").status_code == 404
    scoped = get(watched, other, f"/v1/tasks/{task['task_id']}/timeline").json()
    assert scoped["events"] == []
