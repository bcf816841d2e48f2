"""RFC 8785 (JCS): the RFC's own samples, node's JSON.stringify, and the verifier's copy."""

from __future__ import annotations

import importlib.util
import json
import math
import random
import shutil
import struct
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway.audit.canonical import canonical_json

VERIFIER = Path(__file__).resolve().parents[2] / "verifier" / "airlock_verify.py"

# RFC 8785 Appendix B: IEEE 754 bit pattern -> canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def double(bits: str) -> float:
    return float(struct.unpack(">d", bytes.fromhex(bits))[0])


def bits_of(x: float) -> str:
    return struct.pack(">d", x).hex()


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airlock_verify_under_test", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- numbers ---------------------------------------------------------------


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_rfc_8785_appendix_b_numbers(bits: str, expected: str) -> None:
    assert canonical_json(double(bits)) == expected.encode()
    assert canonical_json({"n": double(bits)}) == b'{"n":' + expected.encode() + b"}"


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_rfc_8785_appendix_b_nan_and_infinity_are_errors(bits: str) -> None:
    with pytest.raises(ValueError, match="NaN or Infinity"):
        canonical_json(double(bits))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (0.0000012345, "0.0000012345"),
        (333333333.3333333, "333333333.3333333"),
        (9007199254740992.0, "9007199254740992"),
        (5e-324, "5e-324"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (295147905179352830000.0, "295147905179352830000"),
        (1e23, "1e+23"),
        (1e30, "1e+30"),
        (4.5, "4.5"),
        (2e-3, "0.002"),
        (1e-27, "1e-27"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123.456, "123.456"),
        (-1e-7, "-1e-7"),
    ],
)
def test_number_samples(value: float, expected: str) -> None:
    assert canonical_json(value) == expected.encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0"), (-1, "-1"), (6, "6"), (2**53, "9007199254740992"), (-(2**53), "-9007199254740992")],
)
def test_integers_within_the_exact_double_range(value: int, expected: str) -> None:
    assert canonical_json(value) == expected.encode()


def test_integers_beyond_2_53_serialise_as_the_double_they_become() -> None:
    assert canonical_json(2**64) == b"18446744073709552000"  # JSON.stringify(2**64)


def test_float_and_int_subclasses_use_their_numeric_value() -> None:
    class Loud(float):
        def __repr__(self) -> str:
            return f"Loud({float(self)})"

    class Named(int):
        def __str__(self) -> str:
            return "seven"

    assert canonical_json(Loud(2.5)) == b"2.5"
    assert canonical_json(Loud(-1e-7)) == b"-1e-7"
    assert canonical_json(Named(7)) == b"7"


# --- strings ---------------------------------------------------------------

SHORT_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@pytest.mark.parametrize("code", range(0x20))
def test_control_characters_are_escaped(code: int) -> None:
    ch = chr(code)
    expected = SHORT_ESCAPES.get(ch, f"\\u{code:04x}")
    assert canonical_json(ch) == f'"{expected}"'.encode()


def test_control_escapes_are_lowercase_hex() -> None:
    assert canonical_json("\x1f\x0b\x1b") == b'"\\u001f\\u000b\\u001b"'


def test_quote_and_backslash_are_escaped_slash_is_not() -> None:
    assert canonical_json('a"b\\c/d') == b'"a\\"b\\\\c/d"'


def test_non_ascii_is_literal_utf8() -> None:
    text = "é€\u0080\u00f6\u2028\u2029\x7f\U0001f600\ufb33"
    assert canonical_json(text) == b'"' + text.encode("utf-8") + b'"'
    assert canonical_json("\U0001f600") == b'"\xf0\x9f\x98\x80"'


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(ValueError):
        canonical_json("\ud800")
    with pytest.raises(ValueError):
        canonical_json({"\udc00": 1})


def test_rfc_8785_section_3_2_4_sample_bytes() -> None:
    source = (
        r'{"numbers": [1E30,4.50,6,2e-3,0.000000000000000000000000001],'
        r' "escaping": "\u20ac$\u000F\u000aA'
        "'"
        r'\u0042\u0022\u005c\\\"\/", "other": [null, true, false]}'
    )
    expected = bytes.fromhex(
        "7b 22 65 73 63 61 70 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22"
        "5c 5c 5c 5c 5c 22 2f 22 2c 22 6e 75 6d 62 65 72 73 22 3a 5b 31 65 2b 33 30 2c 34 2e 35 2c"
        "36 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 6f 74 68 65 72 22 3a 5b 6e 75 6c 6c 2c 74"
        "72 75 65 2c 66 61 6c 73 65 5d 7d"
    )
    assert canonical_json(json.loads(source)) == expected


# --- objects, arrays, literals ---------------------------------------------


def test_rfc_8785_section_3_2_3_sorting_by_utf16_code_units() -> None:
    members = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    # code-point order would put U+1F600 after U+FB33; UTF-16 puts its surrogate D83D first
    assert canonical_json(members) == expected.encode("utf-8")


def test_literals() -> None:
    assert canonical_json(None) == b"null"
    assert canonical_json(True) == b"true"
    assert canonical_json(False) == b"false"
    assert canonical_json([True, 1, False, 0, None]) == b"[true,1,false,0,null]"


def test_nested_structures_sort_every_level_and_keep_array_order() -> None:
    value = {
        "b": [3, {"z": 1, "a": [{"y": None, "x": "é"}]}, []],
        "a": {"d": {}, "c": [1.5, -0.0, "s"]},
        "": 0,
    }
    assert (
        canonical_json(value)
        == (
            '{"":0,"a":{"c":[1.5,0,"s"],"d":{}},"b":[3,{"a":[{"x":"é","y":null}],"z":1},[]]}'
        ).encode()
    )
    assert canonical_json({}) == b"{}"
    assert canonical_json([]) == b"[]"
    assert canonical_json((1, "a")) == b'[1,"a"]'


def test_key_order_of_the_input_does_not_matter() -> None:
    keys = ["b", "a", "aa", "B", "\u00e9", "1", "10", "2"]
    forward = {k: i for i, k in enumerate(keys)}
    backward = {k: forward[k] for k in reversed(keys)}
    assert canonical_json(forward) == canonical_json(backward)
    assert list(json.loads(canonical_json(forward))) == ["1", "10", "2", "B", "a", "aa", "b", "é"]


@pytest.mark.parametrize(
    "value",
    [{1, 2}, b"bytes", Decimal("1.5"), datetime(2024, 1, 1, tzinfo=UTC), object(), [1, {"a": {2}}]],
)
def test_unsupported_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


@pytest.mark.parametrize("value", [{1: "a", "1": "b"}, {True: 1}, {None: 1}, {"ok": {2: 0}}])
def test_non_string_keys_are_refused(value: dict[Any, Any]) -> None:
    with pytest.raises(TypeError, match="non-string keys"):
        canonical_json(value)


def test_nan_inside_a_structure_is_refused() -> None:
    with pytest.raises(ValueError):
        canonical_json({"a": [1, math.nan]})
    with pytest.raises(ValueError):
        canonical_json([-math.inf])


# --- property checks -------------------------------------------------------


def random_doubles(rng: random.Random, n: int) -> list[float]:
    """Finite doubles over the whole range: random bit patterns, subnormals, boundaries."""
    out: list[float] = []
    while len(out) < n:
        kind = len(out) % 6
        if kind == 0:  # any bit pattern
            x = double(f"{rng.getrandbits(64):016x}")
        elif kind == 1:  # subnormal
            x = double(f"{rng.getrandbits(52) | (rng.getrandbits(1) << 63):016x}")
        elif kind == 2:  # decimal-looking values of any magnitude
            x = rng.uniform(-10, 10) * 10.0 ** rng.randint(-320, 300)
        elif kind == 3:  # around the fixed/exponent switch points 1e21 and 1e-7
            x = rng.choice([1e21, 1e-6, 1e-7, 1e20]) * rng.uniform(0.5, 20)
        elif kind == 4:  # integral doubles, some beyond 2**53
            x = float(rng.randint(-(2**62), 2**62) >> rng.randint(0, 62))
        else:  # short decimals
            x = round(rng.uniform(-1e6, 1e6), rng.randint(0, 8))
        if math.isfinite(x):
            out.append(x)
    return out


def random_string(rng: random.Random) -> str:
    pool = (
        [chr(c) for c in range(0x20)]
        + list("\"\\/abcAZ09 '<>&\x7f")
        + ["é", "ö", "\u0080", "€", "\u2028", "\ufb33", "\uffff", "\U0001f600", "\U00010000"]
    )
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, 8)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randint(0, 9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind in (1, 2):
        return random_doubles(rng, 1)[0]
    if kind == 3:
        return rng.randint(-(2**53), 2**53)
    if kind in (4, 5, 6):
        return random_string(rng)
    if kind in (7, 8):
        return {random_string(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]


@pytest.fixture(scope="module")
def doubles() -> list[float]:
    return random_doubles(random.Random(8785), 20_000)


@pytest.fixture(scope="module")
def documents() -> list[Any]:
    rng = random.Random(1234)
    return [random_value(rng) for _ in range(2_000)]


def test_numbers_round_trip(doubles: list[float]) -> None:
    assert sum(1 for x in doubles if 0 < abs(x) < 2.2250738585072014e-308) > 3000
    for x in doubles:
        text = canonical_json(x).decode()
        assert float(text) == x, (bits_of(x), text)
        assert json.loads(text, parse_int=float) == x
        assert text == text.strip() and "E" not in text and "+" not in text.split("e")[0]


def test_documents_round_trip(documents: list[Any]) -> None:
    for doc in documents:
        out = canonical_json(doc)
        assert json.loads(out, parse_int=float) == doc  # ints stay within 2**53
        assert canonical_json(json.loads(out)) == out


NODE_JCS = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const view = new DataView(new ArrayBuffer(8));
const num = (bits) => { view.setBigUint64(0, BigInt("0x" + bits)); return view.getFloat64(0); };
const jcs = (v) => {
  if (Array.isArray(v)) return "[" + v.map(jcs).join(",") + "]";
  if (v !== null && typeof v === "object") {
    const members = Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + jcs(v[k]));
    return "{" + members.join(",") + "}";
  }
  return JSON.stringify(v);
};
process.stdout.write(JSON.stringify({
  numbers: input.numbers.map((b) => JSON.stringify(num(b))),
  documents: input.documents.map(jcs),
}));
"""


def test_output_equals_node_json_stringify(doubles: list[float], documents: list[Any]) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    payload = json.dumps({"numbers": [bits_of(x) for x in doubles], "documents": documents})
    done = subprocess.run(
        [node, "-e", NODE_JCS], input=payload, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert len(answer["numbers"]) == len(doubles)
    for x, expected in zip(doubles, answer["numbers"], strict=True):
        assert canonical_json(x).decode() == expected, bits_of(x)
    for doc, expected in zip(documents, answer["documents"], strict=True):
        assert canonical_json(doc) == expected.encode("utf-8")


# --- the standalone verifier's copy ----------------------------------------


def test_verifier_copy_produces_identical_bytes(doubles: list[float], documents: list[Any]) -> None:
    verifier = load_verifier()
    for x in doubles:
        assert verifier.number(x) == canonical_json(x).decode(), bits_of(x)
        assert verifier.jcs(x).encode() == canonical_json(x)
    for doc in documents:
        assert verifier.jcs(doc).encode("utf-8") == canonical_json(doc)
    for bits, expected in APPENDIX_B:
        assert verifier.jcs(double(bits)) == expected


def test_verifier_copy_refuses_nan_too() -> None:
    verifier = load_verifier()
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            verifier.jcs([bad])
