"""kill -9 mid-stream: nothing lost, nothing duplicated (store and proxy worker)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.airlock import AirlockInstance
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TOTAL = 2000


@pytest.fixture(scope="module")
def crashy(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA, plain_upstream: HttpsUpstream
) -> Iterator[AirlockInstance]:
    instance = AirlockInstance(tmp_path_factory.mktemp("crashy"), upstream_ca=test_ca.cert_path)
    instance.start()
    instance.add_profile(
        "crash", [{"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True}]
    )
    yield instance
    instance.stop()


def stream(task: dict[str, Any], url: str, total: int, on: int, action: Any) -> list[str]:
    """Send ``total`` requests on keep-alive connections; run ``action`` at request ``on``.

    Returns the request ids of every request that got a response.
    """
    answered: list[str] = []
    sent = 0
    fired = threading.Event()
    client = httpx.Client(proxy=task["proxy_url"], trust_env=False, timeout=10)
    try:
        while sent < total:
            if sent == on and not fired.is_set():
                fired.set()
                action()
            try:
                resp = client.get(f"{url}/echo?n={sent}")
            except httpx.HTTPError:
                time.sleep(0.05)  # proxy down: the agent retries, as agents do
                client.close()
                client = httpx.Client(proxy=task["proxy_url"], trust_env=False, timeout=10)
                continue
            assert resp.status_code == 200, resp.text
            answered.append(resp.headers["x-airlock-request-id"])
            sent += 1
    finally:
        client.close()
    return answered


def exactly_once(
    instance: AirlockInstance, key: str, task_id: str, expected: set[str]
) -> list[dict[str, Any]]:
    def complete(events: list[dict[str, Any]]) -> bool:
        return {e["request_id"] for e in events} >= expected

    events = instance.wait_events(key, complete, timeout=60, task_id=task_id, kind="http-request")
    time.sleep(1.0)  # let any late duplicate land before counting
    events = instance.all_events(key, task_id=task_id, kind="http-request")
    ids = Counter(e["event_id"] for e in events)
    assert max(ids.values()) == 1, "duplicate event ids in ClickHouse"
    per_request = Counter(e["request_id"] for e in events)
    assert all(per_request[r] == 1 for r in expected), "a request recorded twice"
    return events


def test_store_kill9_mid_stream_loses_nothing(
    crashy: AirlockInstance, plain_upstream: HttpsUpstream
) -> None:
    key = crashy.api_key("auditor")
    task = crashy.create_task("crash-store", "crash")
    old = crashy.child_pids()["store"]
    answered = stream(
        task, plain_upstream.ip_url, TOTAL, TOTAL // 2, lambda: crashy.kill_child("store")
    )
    crashy.wait_child_restarted("store", old)
    events = exactly_once(crashy, key, task["task_id"], set(answered))
    assert len(answered) == TOTAL and len(events) == TOTAL


def test_proxy_kill9_mid_stream_keeps_every_answered_request(
    crashy: AirlockInstance, plain_upstream: HttpsUpstream, tmp_path: Path
) -> None:
    key = crashy.api_key("auditor")
    task = crashy.create_task("crash-proxy", "crash")
    old = crashy.child_pids()["proxy"]
    answered = stream(
        task, plain_upstream.ip_url, TOTAL, TOTAL // 2, lambda: crashy.kill_child("proxy")
    )
    assert crashy.child_pids()["proxy"] != old  # it was restarted and traffic resumed
    exactly_once(crashy, key, task["task_id"], set(answered))
