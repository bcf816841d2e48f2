"""Incremental decoding of streamed, content-encoded bodies."""

from __future__ import annotations

import gzip
import random
import tracemalloc
import zlib

import brotli
import pytest

from gateway.egress.content import BodyTooLarge, UnsupportedEncoding, encode_body
from gateway.egress.decoding import StreamDecoder

ENCODINGS = ("identity", "gzip", "x-gzip", "deflate", "br", "zstd", "gzip, br", "br, zstd")
MIB = 1 << 20


def sample_body(seed: int) -> bytes:
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(1, 12)).hex().encode() for _ in range(400)]
    return b" ".join(rng.choice(words) for _ in range(30_000))


def split(data: bytes, rng: random.Random, max_size: int) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = rng.randint(1, max_size)
        out.append(data[pos : pos + size])
        pos += size
    return out


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("seed", range(3))
def test_incremental_decode_equals_one_shot(encoding: str, seed: int) -> None:
    body = sample_body(seed)
    encoded = encode_body(body, encoding)
    rng = random.Random(f"{encoding}:{seed}")
    for max_size in (1, 97, 4096, len(encoded)):
        chunks = split(encoded, rng, max_size) if max_size > 1 else split(encoded[:2000], rng, 1)
        decoder = StreamDecoder(encoding)
        out = b"".join(decoder.feed(c) for c in chunks)
        if max_size == 1:  # byte by byte, only a prefix (kept short): a prefix comes out
            assert body.startswith(out)
        else:
            assert out == body


def test_feed_returns_bytes() -> None:
    decoder = StreamDecoder("br")
    assert isinstance(decoder.feed(brotli.compress(b"hello")), bytes)


def test_unknown_encoding_is_refused_up_front() -> None:
    with pytest.raises(UnsupportedEncoding):
        StreamDecoder("gzip, compress")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_corrupt_stream_raises(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding):
        StreamDecoder(encoding).feed(b"\xff" * 64)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_bad_checksum_after_good_chunks_raises(encoding: str) -> None:
    body = sample_body(1)
    good = encode_body(body, encoding)
    tampered = good[:-4] + bytes(b ^ 0xFF for b in good[-4:])  # CRC32 / Adler-32 trailer
    decoder = StreamDecoder(encoding)
    first = decoder.feed(tampered[:-100])
    assert body.startswith(first) and first  # the good part came out
    with pytest.raises(UnsupportedEncoding):
        decoder.feed(tampered[-100:])


def test_chunk_expanding_past_the_bound_is_too_large() -> None:
    data = gzip.compress(bytes(4 * MIB))
    with pytest.raises(BodyTooLarge):
        StreamDecoder("gzip", max_chunk_output=MIB).feed(data)


def test_bomb_chunk_is_refused_with_bounded_memory() -> None:
    br = brotli.Compressor(quality=1)
    bomb = b"".join(br.process(bytes(MIB)) for _ in range(64)) + br.finish()
    assert len(bomb) < 64 * 1024  # 64 MiB of zeros in one small network chunk
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(BodyTooLarge):
            StreamDecoder("br", max_chunk_output=MIB).feed(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB


def test_multi_member_gzip_stream_is_decoded_whole() -> None:
    data = gzip.compress(b"first member\n") + gzip.compress(b"second member\n")
    decoder = StreamDecoder("gzip")
    assert decoder.feed(data) == b"first member\nsecond member\n"


def test_raw_deflate_stream_decodes() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = raw.compress(sample_body(2)) + raw.flush()
    decoder = StreamDecoder("deflate")
    assert b"".join(decoder.feed(data[i : i + 500]) for i in range(0, len(data), 500)) == (
        sample_body(2)
    )
