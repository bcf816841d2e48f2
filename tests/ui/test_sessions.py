"""In-memory UI sessions: random ids, idle and absolute expiry, no secrets in reprs."""

from __future__ import annotations

from gateway.control.keys import Principal
from gateway.ui.sessions import SessionStore

WHO = Principal(key_id="abc", role="auditor", tenant="acme")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_while_used_and_ends_when_idle() -> None:
    clock = Clock()
    store = SessionStore(idle=60, lifetime=3600, clock=clock)
    session = store.create(WHO, "alk_abc_secret")
    clock.now += 50
    assert store.get(session.sid) is session
    clock.now += 50  # 50 s since the last use: still alive
    assert store.get(session.sid) is session
    clock.now += 61
    assert store.get(session.sid) is None and len(store) == 0


def test_a_session_ends_after_its_lifetime_even_if_used() -> None:
    clock = Clock()
    store = SessionStore(idle=60, lifetime=100, clock=clock)
    session = store.create(WHO, "alk_abc_secret")
    for _ in range(3):
        clock.now += 40
        store.get(session.sid)
    assert store.get(session.sid) is None


def test_ids_and_tokens_are_random_and_never_shown() -> None:
    store = SessionStore()
    one, two = store.create(WHO, "alk_abc_secret"), store.create(WHO, "alk_abc_secret")
    assert one.sid != two.sid and one.csrf != two.csrf and len(one.sid) >= 40
    assert "secret" not in repr(one) and one.sid not in repr(one) and one.csrf not in repr(one)
    assert store.get("") is None and store.get("made-up") is None


def test_csrf_tokens_are_compared_exactly() -> None:
    session = SessionStore().create(WHO, "k")
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok(None) and not session.csrf_ok("") and not session.csrf_ok("x")


def test_drop_ends_a_session() -> None:
    store = SessionStore()
    session = store.create(WHO, "k")
    store.drop(session.sid)
    store.drop(None)
    assert store.get(session.sid) is None
