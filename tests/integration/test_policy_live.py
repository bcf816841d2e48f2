"""Policy edits reload without dropping traffic; OPA outages fail closed."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from typing import Any

import httpx
import pytest

from tests.support.airlock import AirlockInstance, client_env, git
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration


def get(task: dict[str, Any], url: str) -> httpx.Response:
    with httpx.Client(
        proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False, timeout=20
    ) as c:
        return c.get(url)


def test_policy_edit_reloads_without_dropping_traffic(
    airlock: AirlockInstance, upstream: HttpsUpstream, auditor_key: str
) -> None:
    first_rev = airlock.add_profile(
        "live",
        [
            {
                "host": "localhost",
                "ports": [upstream.port],
                "methods": ["GET"],
                "allow_private": True,
            }
        ],
    )
    task = airlock.create_task("live-agent", "live")
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(
            proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False, timeout=20
        ) as c:
            while not stop.is_set():
                try:
                    statuses.append(c.get(f"{upstream.url}/echo").status_code)
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))

    worker = threading.Thread(target=hammer)
    worker.start()
    time.sleep(0.5)
    # Uncommitted edit: allows POST too; the revision must say "dirty".
    (airlock.policy_dir / "airlock/profiles/live/data.json").write_text(
        json.dumps(
            {
                "allow": [
                    {
                        "host": "localhost",
                        "ports": [upstream.port],
                        "methods": ["GET", "POST"],
                        "allow_private": True,
                    }
                ]
            }
        )
    )
    dirty_rev = airlock.wait_policy(lambda d: "POST" in d["live"]["allow"][0]["methods"])
    time.sleep(0.5)
    stop.set()
    worker.join()
    assert errors == [] and statuses and set(statuses) == {200}
    assert first_rev != dirty_rev and "+dirty." in dirty_rev
    with httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False) as c:
        post = c.post(f"{upstream.url}/echo", content=b"x")
    assert post.status_code == 200
    events = airlock.wait_events(
        auditor_key, lambda ev: any(e["method"] == "POST" for e in ev), task_id=task["task_id"]
    )
    assert next(e for e in events if e["method"] == "POST")["policy_revision"] == dirty_rev
    assert any(e["policy_revision"] == first_rev for e in events)
    git(airlock.policy_dir, "add", "-A")
    git(airlock.policy_dir, "commit", "-qm", "allow POST")
    clean_rev = airlock.wait_policy(lambda d: True)
    deadline = time.monotonic() + 10
    while "+dirty" in clean_rev and time.monotonic() < deadline:
        time.sleep(0.3)
        clean_rev = airlock.wait_policy(lambda d: True)
    head = subprocess.run(
        ["git", "-C", str(airlock.policy_dir), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert head.startswith(clean_rev)
    loaded = airlock.wait_events(
        auditor_key,
        lambda ev: any(e["detail"].get("revision") == clean_rev for e in ev),
        kind="policy-loaded",
    )
    assert loaded


def test_opa_hang_and_crash_fail_closed_then_recover(
    airlock: AirlockInstance, upstream: HttpsUpstream, auditor_key: str
) -> None:
    airlock.add_profile(
        "outage", [{"host": "localhost", "ports": [upstream.port], "allow_private": True}]
    )
    task = airlock.create_task("outage-agent", "outage")
    assert get(task, f"{upstream.url}/echo").status_code == 200
    pid = airlock.child_pids()["opa"]
    airlock.kill_child("opa", signal.SIGSTOP)  # a hung policy engine
    try:
        hung = get(task, f"{upstream.url}/echo?during=hang")
    finally:
        airlock.kill_child("opa", signal.SIGCONT)
    assert hung.status_code == 403
    assert hung.json()["reason"] == "policy_unavailable"
    assert hung.headers["x-airlock-decision"] == "deny"
    assert upstream.requests == [] or all("during=hang" not in r.path for r in upstream.requests)
    airlock.kill_child("opa", signal.SIGKILL)  # a dead one
    dead = get(task, f"{upstream.url}/echo?during=dead")
    assert dead.status_code == 403 and dead.json()["reason"] == "policy_unavailable"
    airlock.wait_child_restarted("opa", pid)
    deadline = time.monotonic() + 30
    status = 0
    while time.monotonic() < deadline and status != 200:
        status = get(task, f"{upstream.url}/echo?after=1").status_code
        time.sleep(0.3)
    assert status == 200  # back without restarting Airlock
    events = airlock.wait_events(
        auditor_key,
        lambda ev: sum("policy_unavailable" in e["reasons"] for e in ev) >= 2,
        task_id=task["task_id"],
    )
    assert {e["query"] for e in events if "policy_unavailable" in e["reasons"]} >= {
        "during=hang",
        "during=dead",
    }
    restarts = airlock.wait_events(
        auditor_key,
        lambda ev: any(e["detail"].get("component") == "opa" for e in ev),
        kind="component-restart",
    )
    assert restarts


def test_client_env_is_complete(airlock: AirlockInstance) -> None:
    task = airlock.create_task("env-agent", "default")
    env = client_env(task)
    assert env["HTTPS_PROXY"] == task["proxy_url"] and env["SSL_CERT_FILE"] == task["ca_cert"]
