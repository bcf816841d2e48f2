"""`airlock up --opa-url`: use an OPA the operator runs instead of starting one."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.airlock import REPO, AirlockInstance, free_port
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def external_opa(
    tmp_path_factory: pytest.TempPathFactory, upstream: HttpsUpstream
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ext-opa")
    policies = root / "policies"
    shutil.copytree(REPO / "policies", policies)
    profile = policies / "airlock/profiles/ext"
    profile.mkdir()
    entry = {"host": "localhost", "ports": [upstream.port], "allow_private": True}
    (profile / "data.json").write_text(json.dumps({"allow": [entry]}))
    port = free_port()
    opa = subprocess.Popen(
        [
            str(REPO / ".bin/opa"),
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{port}",
            "--skip-version-check",
            "--bundle",
            str(policies),
        ],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    opa.terminate()
    opa.wait()


def test_airlock_uses_the_given_opa(
    tmp_path: Path, test_ca: TestCA, external_opa: str, upstream: HttpsUpstream
) -> None:
    instance = AirlockInstance(
        tmp_path, upstream_ca=test_ca.cert_path, extra_env={"AIRLOCK_OPA_URL": external_opa}
    )
    instance.start()
    try:
        assert "opa" not in instance.child_pids()  # nothing of its own was started
        task = instance.create_task("ext-agent", "ext")
        with httpx.Client(
            proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False
        ) as client:
            assert client.get(f"{upstream.url}/echo").status_code == 200
            denied = client.get(f"https://127.0.0.2:{upstream.port}/")  # listed port
        assert denied.status_code == 403
        assert denied.json()["reason"] == "destination_not_allowed"
        key = instance.api_key("auditor")
        events = instance.wait_events(
            key, lambda ev: len(ev) >= 2, task_id=task["task_id"], kind="http-request"
        )
        assert all(e["policy_revision"] for e in events)  # "unknown" without a manifest
    finally:
        assert instance.stop() == 0
