"""Opt-in body injection: only in named fields, encoded for the body's syntax."""

from __future__ import annotations

import json

from gateway.credentials.body import fields_holding, inject

PH = "sk-AIRLOCKPHabcdefghijklmnop"


def test_json_fields_holding_the_placeholder() -> None:
    body = json.dumps({"api_key": PH, "nested": {"other": f"x {PH}"}, "n": 1}).encode()
    assert sorted(fields_holding(body, "application/json", PH) or []) == ["api_key", "other"]


def test_form_fields_holding_the_placeholder() -> None:
    assert fields_holding(f"a=1&key={PH}".encode(), "application/x-www-form-urlencoded", PH) == [
        "key"
    ]


def test_unreadable_bodies_are_not_touched() -> None:
    assert fields_holding(b"{not json", "application/json", PH) is None
    assert fields_holding(PH.encode(), "text/plain", PH) is None


def test_injection_escapes_for_json_and_form() -> None:
    real = 'we"ird\\va/lue&x=1'
    as_json = inject(json.dumps({"k": PH}).encode(), "application/json", PH, real)
    assert json.loads(as_json) == {"k": real}
    as_form = inject(f"k={PH}".encode(), "application/x-www-form-urlencoded", PH, real)
    from urllib.parse import parse_qsl

    assert parse_qsl(as_form.decode()) == [("k", real)]
