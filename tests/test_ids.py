"""UUIDv7 layout and ordering; task ids, tokens and their hashes."""

from __future__ import annotations

import hashlib
import re
import time
import uuid

from gateway.ids import hash_token, new_task_id, new_token, token_matches, uuid7


def _ms(value: uuid.UUID) -> int:
    return value.int >> 80


def _next_millisecond(after_ms: int) -> None:
    """Spin until the wall clock is past ``after_ms`` (waiting, not a timing assertion)."""
    while time.time_ns() // 1_000_000 <= after_ms:
        time.sleep(0.0005)


def test_uuid7_version_and_variant() -> None:
    for _ in range(200):
        value = uuid7()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert (value.int >> 76) & 0xF == 7
        assert (value.int >> 62) & 0b11 == 0b10


def test_uuid7_timestamp_is_now() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= _ms(value) <= after


def test_uuid7_orders_across_milliseconds() -> None:
    values = []
    for _ in range(5):
        values.append(uuid7())
        _next_millisecond(_ms(values[-1]))
    assert values == sorted(values)
    assert [str(v) for v in values] == sorted(str(v) for v in values)
    assert len({_ms(v) for v in values}) == len(values)


def test_uuid7_is_unique_within_a_millisecond() -> None:
    values = {uuid7() for _ in range(2000)}
    assert len(values) == 2000


def test_task_id_shape() -> None:
    ids = {new_task_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"tsk_[0-9a-f]{16}", i) for i in ids)


def test_new_token_is_random_and_urlsafe() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)


def test_hash_token_is_sha256_hex() -> None:
    token = new_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token not in digest


def test_token_matches() -> None:
    token = new_token()
    stored = hash_token(token)
    assert token_matches(token, stored)
    assert not token_matches(new_token(), stored)
    assert not token_matches(token + "x", stored)
    assert not token_matches("", stored)
    assert not token_matches(token, stored.upper())
    assert not token_matches(token, token)  # the plaintext is not a valid stored form
