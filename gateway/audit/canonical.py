"""RFC 8785 JSON Canonicalization Scheme (JCS), for hashing audit events.

The same bytes come out in any language that implements RFC 8785: object keys
sorted by their UTF-16 code units, no whitespace, strings escaped as ECMAScript's
``JSON.stringify`` does, numbers in ECMAScript's shortest round-trip form. The
standalone verifier (``verifier/airlock_verify.py``) carries its own copy of this
code on purpose, so an auditor does not have to trust this package; a test checks
that both agree.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 form of ``value`` (dicts, lists, str, int, float, bool, None)."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        if abs(value) > 2**53:  # beyond exact doubles JSON numbers are doubles (RFC 8785)
            return _number(float(value))
        return int.__repr__(value)  # not str(): an int subclass may override it
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            # str(k) would turn True into "True" and let 1 and "1" both become "1"
            raise TypeError("cannot canonicalise an object with non-string keys")
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(f"{_encode(k)}:{_encode(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def _number(x: float) -> str:
    """ECMAScript Number::toString for a finite double."""
    if not math.isfinite(x):
        raise ValueError("JSON has no NaN or Infinity")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _number(-x)
    # float.__repr__, not repr(): a float subclass (numpy.float64) may print otherwise
    _, digit_tuple, exponent = Decimal(float.__repr__(x)).as_tuple()
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")  # x = digits * 10**(n - k), digits minimal
    k, n = len(digits), int(exponent) + len(all_digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
