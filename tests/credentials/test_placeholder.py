"""Placeholders keep the real value's shape and are found again."""

from __future__ import annotations

import secrets
import string

from gateway.credentials.placeholder import (
    MARKER,
    find_placeholders,
    make_aws_placeholders,
    make_placeholder,
)


def test_prefix_and_length_class_are_kept() -> None:
    for prefix, length in (("ghp_", 40), ("sk-proj-", 108), ("xoxb-", 56)):
        real = prefix + "".join(
            secrets.choice(string.ascii_letters) for _ in range(length - len(prefix))
        )
        ph = make_placeholder(real)
        assert ph.startswith(prefix + MARKER) and len(ph) == len(real)
        assert find_placeholders(f"Authorization: Bearer {ph}\n") == [ph]


def test_short_values_still_get_a_recognisable_placeholder() -> None:
    ph = make_placeholder("hunter2hunter2")
    assert MARKER in ph and len(ph) >= 32
    assert make_placeholder("hunter2hunter2") != ph  # fresh each time


def test_aws_key_id_placeholder_goes_on_the_wire_the_secret_does_not() -> None:
    key_id, secret = make_aws_placeholders()
    assert key_id.startswith("AKIA" + MARKER) and find_placeholders(key_id) == [key_id]
    assert MARKER not in secret and len(secret) == 40


def test_text_without_the_marker_is_rejected_quickly() -> None:
    assert find_placeholders("ghp_" + "a" * 36) == []
