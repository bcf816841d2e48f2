"""The clickhouse-connect store path, end to end.

There is no ClickHouse server on the CI machine, so the default run points
``AIRLOCK_CLICKHOUSE_URL`` at clickhouse-connect's chDB backend (``chdb:///path``):
the same client, SQL and deduplication settings as against a server, with the
API reading through a second connection (``AIRLOCK_CLICKHOUSE_READ_URL``) as it
does when the shipper's user may only INSERT. Set
``AIRLOCK_TEST_CLICKHOUSE_URL=http://writer:pass@host:8123/db`` (and optionally
``AIRLOCK_TEST_CLICKHOUSE_READ_URL`` for the reader user) to run it against a
real server as well.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.airlock import AirlockInstance
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration

TARGETS = ["chdb-backend"] + (["server"] if os.environ.get("AIRLOCK_TEST_CLICKHOUSE_URL") else [])


@pytest.fixture(scope="module", params=TARGETS)
def via_connect(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[AirlockInstance]:
    root = tmp_path_factory.mktemp("connect")
    url = (
        f"chdb://{root / 'ch'}"
        if request.param == "chdb-backend"
        else os.environ["AIRLOCK_TEST_CLICKHOUSE_URL"]
    )
    read_url = os.environ.get("AIRLOCK_TEST_CLICKHOUSE_READ_URL", url)
    instance = AirlockInstance(
        root,
        upstream_ca=test_ca.cert_path,
        extra_env={
            "AIRLOCK_CLICKHOUSE_URL": url,  # the shipper's connection (INSERT)
            "AIRLOCK_CLICKHOUSE_READ_URL": read_url,  # the API's own connection
            "AIRLOCK_CHECKPOINT_SECONDS": "1",
        },
    )
    instance.start()
    yield instance
    instance.stop()


def test_events_flow_through_clickhouse_connect(
    via_connect: AirlockInstance, upstream: HttpsUpstream
) -> None:
    via_connect.add_profile(
        "cc", [{"host": "localhost", "ports": [upstream.port], "allow_private": True}]
    )
    task = via_connect.create_task("cc-agent", "cc")
    key = via_connect.api_key("viewer")
    with httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False) as c:
        ids = [
            c.get(f"{upstream.url}/echo?i={i}").headers["x-airlock-request-id"] for i in range(5)
        ]
    events = via_connect.wait_events(
        key,
        lambda ev: {e["request_id"] for e in ev} >= set(ids),
        task_id=task["task_id"],
        kind="http-request",
    )
    assert len(events) == 5 and {e["decision"] for e in events} == {"allow"}
    ready = httpx.get(f"{via_connect.api_url}/readyz").json()
    assert ready["checks"]["clickhouse"] == "ok"
    starts = via_connect.all_events(key, kind="component-start")
    backends = {e["detail"].get("backend") for e in starts if e["detail"]["component"] == "store"}
    assert backends == {"clickhouse"}  # the clickhouse-connect store, not the direct chDB one


def test_the_chain_verifies_through_clickhouse_connect(via_connect: AirlockInstance) -> None:
    """The verification SQL is the same on a server: run it through clickhouse-connect."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    via_connect.create_task("cc-verify", "default")
    time.sleep(2.5)  # a checkpoint seals the task-created event
    out = via_connect.cli(
        "audit", "verify", "--from", start.isoformat(), "--to", datetime.now(UTC).isoformat()
    )
    assert out.stdout.startswith("VERIFIED"), out.stdout
