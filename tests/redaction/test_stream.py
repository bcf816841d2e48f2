"""Streaming equals whole-input redaction for any chunking, including split secrets."""

from __future__ import annotations

import random

import pytest

from gateway.redaction import Redactor
from tests.redaction.benign_corpus import GENERATORS
from tests.redaction.corpus import ALL_DETECTORS, samples


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    r = Redactor(b"stream-test-key")
    r.register_known("vault", "Kn0wn-Secret/Value+42")
    return r


def _document(seed: int) -> bytes:
    rng = random.Random(seed)
    parts = [s.text for d in ALL_DETECTORS for s in samples(d, 2, seed=seed)]
    parts += [gen(rng).encode() for gen in GENERATORS.values()]
    parts.append(b"raw Kn0wn-Secret/Value+42 and \xff\xfe non-utf8 bytes\n")
    rng.shuffle(parts)
    return b"\n".join(parts)


def _chunks(data: bytes, rng: random.Random, max_size: int) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = rng.randint(1, max_size)
        out.append(data[pos : pos + size])
        pos += size
    return out


def _run(redactor: Redactor, chunks: list[bytes]) -> tuple[bytes, list]:
    stream = redactor.stream()
    out = b"".join(stream.feed(c) for c in chunks) + stream.flush()
    return out, stream.findings


@pytest.mark.parametrize("seed", range(6))
def test_random_chunkings_equal_whole_redaction(redactor: Redactor, seed: int) -> None:
    data = _document(seed)
    expected, findings = redactor.redact(data)
    assert findings
    rng = random.Random(seed)
    for max_size in (1_000, 7_000, 40_000, 200_000):
        out, got = _run(redactor, _chunks(data, rng, max_size))
        assert out == expected
        assert got == findings


def test_tiny_chunks(redactor: Redactor) -> None:
    data = _document(99)[:60_000]
    expected, _ = redactor.redact(data)
    out, _ = _run(redactor, _chunks(data, random.Random(1), 13))
    assert out == expected


def test_secret_split_across_every_boundary(redactor: Redactor) -> None:
    token = "gh" + "p_" + "Ab1" * 12
    data = b"x" * 50 + f'{{"token": "{token}"}}'.encode() + b"y" * 50
    expected, _ = redactor.redact(data)
    for cut in range(1, len(data)):
        out, findings = _run(redactor, [data[:cut], data[cut:]])
        assert out == expected and len(findings) == 1


def test_output_is_incremental_and_memory_bounded(redactor: Redactor) -> None:
    stream = redactor.stream()
    emitted = 0
    for _ in range(200):
        emitted += len(stream.feed(b"plain text without anything secret in it. " * 400))
    assert emitted > 200 * 16_000 - 200_000
    assert len(stream._buf) < 4 * redactor.max_span() + 20_000  # noqa: SLF001 bounded buffer
    stream.flush()


def test_stream_offsets_are_absolute(redactor: Redactor) -> None:
    token = "AK" + "IA" + "ABCDEFGH12345678"
    data = b"a " * 50_000 + token.encode() + b" b" * 50_000
    _, findings = _run(redactor, _chunks(data, random.Random(5), 16_384))
    assert [(f.start, f.end) for f in findings] == [(100_000, 100_020)]
