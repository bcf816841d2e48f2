"""Opt-in injection into JSON and form bodies: only in the fields a credential names.

A placeholder is replaced in the raw bytes (formatting untouched), and only if every
place it occurs is the value of one of the credential's ``body_fields``; anywhere
else it is left as it is (a worthless string) and reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote_plus


def _json_strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, value) for every string value in a JSON document, keys of objects included."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _json_strings(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from _json_strings(item, key)
    elif isinstance(node, str):
        yield key, node


def fields_holding(body: bytes, content_type: str, placeholder: str) -> list[str] | None:
    """The field names whose values contain ``placeholder``; None if the body is not
    JSON or form data we can read."""
    text = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        return [k for k, v in _json_strings(doc) if placeholder in v]
    if "application/x-www-form-urlencoded" in content_type:
        return [k for k, v in parse_qsl(text, keep_blank_values=True) if placeholder in v]
    return None


def inject(body: bytes, content_type: str, placeholder: str, real: str) -> bytes:
    """Replace ``placeholder`` by ``real``, encoded as the body's syntax requires."""
    if "json" in content_type:
        encoded = json.dumps(real)[1:-1]
    else:
        encoded = quote_plus(real)
    return body.replace(placeholder.encode(), encoded.encode())
