"""Bounded decoding and re-encoding of message bodies (gzip, deflate, br, zstd)."""

from __future__ import annotations

import gzip
import random
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest

from gateway.egress.content import (
    BodyTooLarge,
    UnsupportedEncoding,
    decode_body,
    encode_body,
    encodings,
)
from tests.redaction.corpus import TOKENS

try:
    from compression import zstd  # Python 3.14+
except ImportError:  # pragma: no cover - depends on the interpreter
    from backports import zstd

ENCODINGS = ("identity", "gzip", "x-gzip", "deflate", "br", "zstd")
LIMIT = 1 << 20
BOMB_BYTES = 50 << 20  # 50 MB of zeros, compressed at run time
MIB = 1 << 20


def sample_body() -> bytes:
    rng = random.Random(5)
    return b"".join(b"line %d: %s\n" % (i, rng.randbytes(24).hex().encode()) for i in range(2000))


def _stream_compress(feed: Callable[[bytes], bytes], finish: Callable[[], bytes]) -> bytes:
    """Compress ``BOMB_BYTES`` zeros one MiB at a time (the bomb is never held decoded)."""
    zeros = bytes(MIB)
    return b"".join(feed(zeros) for _ in range(BOMB_BYTES // MIB)) + finish()


def bomb(encoding: str) -> bytes:
    if encoding == "gzip":
        gz = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return _stream_compress(gz.compress, gz.flush)
    if encoding == "deflate":
        df = zlib.compressobj(9)
        return _stream_compress(df.compress, df.flush)
    if encoding == "br":
        br = brotli.Compressor(quality=1)
        return _stream_compress(br.process, br.finish)
    zs = zstd.ZstdCompressor()
    return _stream_compress(zs.compress, zs.flush)


def test_encodings_lists_the_header_in_applied_order() -> None:
    assert encodings("gzip, BR ,") == ["gzip", "br"]
    assert encodings(None) == []
    assert encodings("") == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_round_trip(encoding: str) -> None:
    body = sample_body()
    encoded = encode_body(body, encoding)
    if encoding != "identity":
        assert encoded != body and len(encoded) < len(body)
    assert decode_body(encoded, encoding, LIMIT) == body


def test_stacked_encodings_round_trip_in_header_order() -> None:
    body = sample_body()
    encoded = encode_body(body, "gzip, br")
    # "gzip, br": gzip was applied first, so brotli is the outer layer.
    assert gzip.decompress(brotli.decompress(encoded)) == body
    assert decode_body(encoded, "gzip, br", LIMIT) == body


def test_no_encoding_is_identity() -> None:
    body = sample_body()
    assert encode_body(body, None) == body
    assert decode_body(body, None, LIMIT) == body


def test_identity_body_over_the_limit_is_too_large() -> None:
    with pytest.raises(BodyTooLarge):
        decode_body(b"x" * (LIMIT + 1), None, LIMIT)


def test_body_exactly_at_the_limit_decodes() -> None:
    body = b"y" * LIMIT
    assert decode_body(encode_body(body, "gzip"), "gzip", LIMIT) == body


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_decompression_bomb_is_refused_with_bounded_memory(encoding: str) -> None:
    data = bomb(encoding)
    assert len(data) < BOMB_BYTES // 100  # really a bomb: over 100x expansion
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(BodyTooLarge) as caught:
            decode_body(data, encoding, LIMIT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "body_too_large"
    assert caught.value.http_status == 413
    # Never the 50 MB: the decoder stops a little past the limit.
    assert peak < 8 * LIMIT


def test_stacked_bomb_is_refused() -> None:
    inner = bomb("gzip")
    with pytest.raises(BodyTooLarge):
        decode_body(encode_body(inner, "br"), "gzip, br", LIMIT)


def test_unknown_encoding_is_unsupported() -> None:
    with pytest.raises(UnsupportedEncoding) as caught:
        decode_body(b"data", "compress", LIMIT)
    assert caught.value.code == "unsupported_encoding"
    assert caught.value.http_status == 415
    with pytest.raises(UnsupportedEncoding):
        encode_body(b"data", "gzip, lzma")


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "br", "zstd"])
def test_corrupt_data_is_unsupported(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding):
        decode_body(b"\xff" * 64, encoding, LIMIT)


def test_raw_deflate_without_zlib_header_decodes() -> None:
    body = sample_body()
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = raw.compress(body) + raw.flush()
    with pytest.raises(zlib.error):
        zlib.decompress(data)  # really headerless
    assert decode_body(data, "deflate", LIMIT) == body


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_every_gzip_member_and_zstd_frame_is_decoded(encoding: str) -> None:
    # Fake token built at run time: it only marks the second member's content.
    token = TOKENS["github_token"](random.Random(3)).encode()
    second = b"export GITHUB_TOKEN=" + token
    data = encode_body(b"harmless first part\n", encoding) + encode_body(second, encoding)
    whole = gzip.decompress(data) if encoding == "gzip" else zstd.decompress(data)
    assert whole.endswith(token)  # what a standard decoder upstream sees
    try:
        decoded = decode_body(data, encoding, LIMIT)
    except UnsupportedEncoding:
        return  # refusing a body with members is also safe
    assert decoded == whole


def test_truncated_brotli_is_unsupported_not_too_large() -> None:
    data = brotli.compress(sample_body())[:-8]
    with pytest.raises(UnsupportedEncoding):
        decode_body(data, "br", LIMIT)
