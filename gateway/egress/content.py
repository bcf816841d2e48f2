"""Decode and re-encode message bodies (gzip, deflate, br, zstd) with a size bound.

Decoding stops as soon as the output would pass ``limit`` bytes, so a
decompression bomb costs at most ``limit`` bytes of memory; the caller then
refuses the message (``BodyTooLarge``) rather than pass it unscanned.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli

try:
    from compression import zstd  # Python 3.14+
except ImportError:  # pragma: no cover - depends on the interpreter
    from backports import zstd

from gateway.errors import AirlockError

SUPPORTED = ("identity", "gzip", "x-gzip", "deflate", "br", "zstd")


class BodyTooLarge(AirlockError):
    code = "body_too_large"
    http_status = 413


class UnsupportedEncoding(AirlockError):
    code = "unsupported_encoding"
    http_status = 415


def encodings(header: str | None) -> list[str]:
    """``Content-Encoding`` as a list, outermost last (the order they were applied)."""
    return [e.strip().lower() for e in (header or "").split(",") if e.strip()]


def decode_body(raw: bytes, content_encoding: str | None, limit: int) -> bytes:
    data = raw
    for encoding in reversed(encodings(content_encoding)):
        data = _decode_one(data, encoding, limit)
    if len(data) > limit:
        raise BodyTooLarge(f"body of {len(data)} bytes exceeds the {limit}-byte scan limit")
    return data


def encode_body(data: bytes, content_encoding: str | None) -> bytes:
    for encoding in encodings(content_encoding):
        data = _encode_one(data, encoding)
    return data


def _decode_one(data: bytes, encoding: str, limit: int) -> bytes:
    if encoding == "identity":
        return data
    if encoding in ("gzip", "x-gzip"):
        return _bounded(zlib.decompressobj(16 + zlib.MAX_WBITS).decompress, data, limit)
    if encoding == "deflate":
        try:
            return _bounded(zlib.decompressobj().decompress, data, limit)
        except zlib.error:  # raw deflate without the zlib header, as some servers send
            return _bounded(zlib.decompressobj(-zlib.MAX_WBITS).decompress, data, limit)
    if encoding == "br":
        return _bounded_brotli(data, limit)
    if encoding == "zstd":
        return _bounded(zstd.ZstdDecompressor().decompress, data, limit)
    raise UnsupportedEncoding(f"content encoding {encoding!r} cannot be inspected")


def _bounded(decompress: Callable[[bytes, int], bytes], data: bytes, limit: int) -> bytes:
    try:
        out = decompress(data, limit + 1)
    except (zlib.error, zstd.ZstdError, EOFError) as exc:
        raise UnsupportedEncoding(f"body does not decode: {type(exc).__name__}") from None
    if len(out) > limit:
        raise BodyTooLarge(f"decoded body exceeds the {limit}-byte scan limit")
    return out


def _bounded_brotli(data: bytes, limit: int) -> bytes:
    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(data, output_buffer_limit=limit + 1)
    except brotli.error as exc:
        raise UnsupportedEncoding(f"body does not decode: {exc}") from None
    if len(out) > limit or not decompressor.is_finished():
        raise BodyTooLarge(f"decoded body exceeds the {limit}-byte scan limit")
    return bytes(out)


def _encode_one(data: bytes, encoding: str) -> bytes:
    if encoding == "identity":
        return data
    if encoding in ("gzip", "x-gzip"):
        return gzip.compress(data, mtime=0)
    if encoding == "deflate":
        return zlib.compress(data)
    if encoding == "br":
        return bytes(brotli.compress(data))
    if encoding == "zstd":
        return bytes(zstd.compress(data))
    raise UnsupportedEncoding(f"content encoding {encoding!r} cannot be re-encoded")
