"""Faults on the audit path: every request that reached the proxy is in ClickHouse once.

* One run of 5,000 requests (4 keep-alive agents that retry on connection
  errors, as agents do) during which, at seeded random points, the proxy worker,
  the store and both together are killed with SIGKILL, and the store is frozen
  (SIGSTOP, i.e. ClickHouse unavailable) for 30 s while the proxy keeps serving.
  Reproduce a run with ``AIRLOCK_FAULT_SEED=<the printed seed>``.
* A crash of everything with a torn record at the end of the proxy's spool.
  (tests/integration/test_audit_disk_full.py: the spool's disk fills up.)

Every request is tagged ``?attempt=N`` (tests/support/traffic.py) so an event can
be matched to the exact attempt that caused it, answered or not. A request in
flight when the proxy dies gets no answer and may or may not be recorded, but
never twice.
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.spool import encode_record
from tests.support.airlock import AirlockInstance
from tests.support.traffic import Agents, exactly_once, send
from tests.support.upstream import HttpsUpstream

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 5000
OUTAGE_SECONDS = 30.0
FAULTS = ("proxy", "store", "both", "outage")
MIN_GAP = 400  # requests between two faults


@pytest.fixture(scope="module")
def faulty(
    tmp_path_factory: pytest.TempPathFactory, plain_upstream: HttpsUpstream
) -> Iterator[AirlockInstance]:
    instance = AirlockInstance(tmp_path_factory.mktemp("faults"))
    instance.start()
    instance.add_profile(
        "faults", [{"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True}]
    )
    yield instance
    instance.stop()


# Traffic ---------------------------------------------------------------------


# Random faults during one run -----------------------------------------------


def fault_schedule(seed: int) -> list[tuple[int, str]]:
    """The four faults in random order at random request counts, ``MIN_GAP`` apart."""
    rng = random.Random(seed)
    names = list(FAULTS)
    rng.shuffle(names)
    while True:
        points = sorted(rng.sample(range(300, TOTAL - 300), len(names)))
        if all(b - a >= MIN_GAP for a, b in zip(points, points[1:], strict=False)):
            return list(zip(points, names, strict=True))


class Chaos:
    def __init__(self, instance: AirlockInstance, agents: Agents) -> None:
        self.instance = instance
        self.agents = agents
        self.outage: threading.Thread | None = None
        self.during_outage = 0  # requests answered while the store was frozen
        self.log: list[str] = []

    def fire(self, name: str) -> None:
        self.log.append(f"{name}@{self.agents.done}")
        if name == "outage":
            self._freeze_store()
            return
        if name != "proxy":
            self.end_outage()  # a frozen store is not killed: the outage stays 30 s long
        names = {"proxy": ["proxy"], "store": ["store"], "both": ["proxy", "store"]}[name]
        pids = {n: self.instance.kill_child(n) for n in names}
        for n, pid in pids.items():
            ready = self.instance.ready if n == "store" else self.instance.proxy_listening
            self.instance.wait_child_restarted(n, pid, ready=ready)

    def _freeze_store(self) -> None:
        pid = self.instance.kill_child("store", signal.SIGSTOP)
        start = self.agents.done

        def thaw() -> None:
            try:
                time.sleep(OUTAGE_SECONDS)
                self.during_outage = self.agents.done - start
            finally:
                os.kill(pid, signal.SIGCONT)

        self.outage = threading.Thread(target=thaw, daemon=True)
        self.outage.start()

    def end_outage(self) -> None:
        if self.outage is not None:
            self.outage.join()


def restart_counts(instance: AirlockInstance, key: str) -> Counter[str]:
    events = instance.all_events(key, kind="component-restart")
    return Counter(e["detail"].get("component", "") for e in events)


def test_random_kills_and_store_outage_lose_nothing(
    faulty: AirlockInstance, plain_upstream: HttpsUpstream
) -> None:
    seed = int(os.environ.get("AIRLOCK_FAULT_SEED") or time.time_ns() % 1_000_000)
    schedule = fault_schedule(seed)
    print(f"\nfault seed {seed} (AIRLOCK_FAULT_SEED={seed} to repeat): {schedule}")
    key = faulty.api_key("auditor")
    task = faulty.create_task("chaos", "faults")
    restarts_before = restart_counts(faulty, key)
    points = [point for point, _ in schedule] + [TOTAL, TOTAL]
    agents = Agents(task, plain_upstream.ip_url, TOTAL, "run", gate=points[1])
    chaos = Chaos(faulty, agents)
    t0 = time.monotonic()
    agents.start()
    try:
        for i, (point, name) in enumerate(schedule):
            agents.wait_answered(point)
            chaos.fire(name)
            agents.set_gate(points[i + 2])  # a fault fires with requests in flight
        agents.join()
    finally:
        agents.set_gate(TOTAL)
        chaos.end_outage()
    run_seconds = time.monotonic() - t0

    statuses = Counter(a.status for a in agents.answers.values())
    assert statuses == {200: TOTAL}, statuses
    assert chaos.during_outage > 0, "the proxy stopped serving while the store was frozen"
    events = exactly_once(faulty, key, task["task_id"], agents.answers)
    unanswered = len(events) - TOTAL  # recorded, but the proxy died before answering
    assert 0 <= unanswered <= agents.errors
    restarts = restart_counts(faulty, key) - restarts_before
    assert restarts["proxy"] >= 2 and restarts["store"] >= 2, restarts
    print(
        f"faults {chaos.log}; {TOTAL} answered in {run_seconds:.0f}s, "
        f"{chaos.during_outage} while the store was frozen; {agents.errors} connection "
        f"errors retried; {unanswered} recorded without an answer; restarts {dict(restarts)}"
    )


# Torn last record --------------------------------------------------------------


def corrupt_skips(instance: AirlockInstance) -> float:
    text = httpx.get(f"{instance.api_url}/metrics", timeout=10).text
    match = re.search(r"^airlock_spool_corrupt_skips_total (\S+)$", text, re.M)
    assert match, "no airlock_spool_corrupt_skips metric"
    return float(match.group(1))


def test_crash_with_torn_last_record_ships_every_complete_record_once(
    faulty: AirlockInstance, plain_upstream: HttpsUpstream
) -> None:
    key = faulty.api_key("auditor")
    task = faulty.create_task("torn", "faults")
    store = faulty.kill_child("store", signal.SIGSTOP)  # nothing ships before the crash
    crashed = False
    try:
        before = send(task, plain_upstream.ip_url, "before", 200)
        faulty.crash()
        crashed = True
    finally:
        if not crashed:
            os.kill(store, signal.SIGCONT)
    stream = faulty.home / "spool" / "proxy"
    last = max(stream.glob("*.seg"))
    torn = AuditEvent(kind="http-request", task_id=task["task_id"], request_id="torn-record")
    record = encode_record(torn.to_bytes())
    with open(last, "ab") as fh:  # the proxy died in the middle of this append
        fh.write(record[: len(record) // 2])

    faulty.start()
    after = send(task, plain_upstream.ip_url, "after", 50)
    assert {a.status for a in [*before.values(), *after.values()]} == {200}
    events = exactly_once(faulty, key, task["task_id"], {**before, **after})
    assert len(events) == 250
    assert all(e["request_id"] != "torn-record" for e in events)
    assert corrupt_skips(faulty) >= 1
