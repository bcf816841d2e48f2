"""Agents driving tagged traffic through the proxy, and the exactly-once check.

Every request carries ``?attempt=<tag>``; the audit event keeps the query, so an
event can be matched to the exact attempt that caused it, answered or not.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.support.airlock import AirlockInstance

AGENTS = 4


@dataclass
class Answer:
    status: int
    request_id: str
    reason: str = ""
    message: str = ""


@dataclass
class Agents:
    """``count`` agents sharing ``total`` requests. No request starts while answered +
    in flight reaches ``gate``: traffic cannot outrun a fault that is still firing."""

    task: dict[str, Any]
    url: str
    total: int
    prefix: str
    count: int = AGENTS
    pad: str = ""
    gate: int = 0
    answers: dict[str, Answer] = field(default_factory=dict)  # attempt tag -> answer
    issued: int = 0
    errors: int = 0
    _in_flight: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gate = self.gate or self.total

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._agent, daemon=True) for _ in range(self.count)
        ]
        for t in self._threads:
            t.start()

    def join(self, timeout: float = 300) -> None:
        for t in self._threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "agents did not finish"

    def set_gate(self, gate: int) -> None:
        with self._cond:
            self.gate = gate
            self._cond.notify_all()

    def wait_answered(self, n: int, timeout: float = 300) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.answers) >= n, timeout):
                raise TimeoutError(f"only {len(self.answers)} of {n} requests answered")

    @property
    def done(self) -> int:
        with self._cond:
            return len(self.answers)

    def _next(self) -> str | None:
        with self._cond:
            while len(self.answers) + self._in_flight >= min(self.gate, self.total):
                if len(self.answers) >= self.total:
                    return None
                self._cond.wait(0.2)
            self._in_flight += 1
            self.issued += 1
            return f"{self.prefix}-{self.issued}"

    def _agent(self) -> None:
        client = proxy_client(self.task)
        try:
            while (tag := self._next()) is not None:
                try:
                    resp = client.get(f"{self.url}/echo?attempt={tag}{self.pad}")
                except httpx.TransportError:
                    with self._cond:
                        self._in_flight -= 1
                        self.errors += 1
                        self._cond.notify_all()
                    client.close()
                    time.sleep(0.05)  # the proxy is down: retry, as agents do
                    client = proxy_client(self.task)
                    continue
                with self._cond:
                    self._in_flight -= 1
                    self.answers[tag] = answer_of(resp)
                    self._cond.notify_all()
        finally:
            client.close()


def proxy_client(task: dict[str, Any]) -> httpx.Client:
    return httpx.Client(proxy=task["proxy_url"], trust_env=False, timeout=20)


def answer_of(resp: httpx.Response) -> Answer:
    if resp.status_code == 200:
        return Answer(200, resp.headers["x-airlock-request-id"])
    body = resp.json()
    assert resp.headers.get("x-airlock-decision") == "deny", resp.text
    return Answer(resp.status_code, body["request_id"], body["reason"], body["message"])


def attempt_of(event: dict[str, Any]) -> str:
    return parse_qs(event["query"])["attempt"][0]


def exactly_once(
    instance: AirlockInstance, key: str, task_id: str, answered: dict[str, Answer]
) -> list[dict[str, Any]]:
    """Every answered attempt is in ClickHouse once, with its request id; nothing twice."""
    expected = {a.request_id for a in answered.values()}

    def complete(events: list[dict[str, Any]]) -> bool:
        return {e["request_id"] for e in events} >= expected

    instance.wait_events(key, complete, timeout=120, task_id=task_id, kind="http-request")
    time.sleep(1.0)  # let a late duplicate land before counting
    events = instance.all_events(key, task_id=task_id, kind="http-request")
    dup_ids = [i for i, n in Counter(e["event_id"] for e in events).items() if n > 1]
    assert not dup_ids, f"duplicate event ids in ClickHouse: {dup_ids[:5]}"
    twice = [r for r, n in Counter(e["request_id"] for e in events).items() if n > 1]
    assert not twice, f"requests recorded twice: {twice[:5]}"
    by_attempt = Counter(attempt_of(e) for e in events)
    assert max(by_attempt.values()) == 1, "an attempt recorded twice"
    recorded = {attempt_of(e): e["request_id"] for e in events}
    wrong = [t for t, a in answered.items() if recorded.get(t) != a.request_id]
    assert not wrong, f"answered attempts missing or mismatched: {wrong[:5]}"
    return events


def send(task: dict[str, Any], url: str, prefix: str, n: int) -> dict[str, Answer]:
    agents = Agents(task, url, n, prefix, count=1)
    agents.start()
    agents.join()
    return agents.answers
