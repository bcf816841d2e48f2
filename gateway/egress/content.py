"""Decode and re-encode message bodies (gzip, deflate, br, zstd) with a size bound.

Decoding stops as soon as the output would pass ``limit`` bytes, so a
decompression bomb costs at most ``limit`` bytes of memory; the caller then
refuses the message (``BodyTooLarge``) rather than pass it unscanned.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from typing import Protocol

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
        return _members(lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), data, limit)
    if encoding == "deflate":
        if len(data) >= 2 and (data[0] & 0x0F) == 8 and int.from_bytes(data[:2]) % 31 == 0:
            return _members(zlib.decompressobj, data, limit)
        return _members(lambda: zlib.decompressobj(-zlib.MAX_WBITS), data, limit)  # raw
    if encoding == "br":
        return _bounded_brotli(data, limit)
    if encoding == "zstd":
        return _members(zstd.ZstdDecompressor, data, limit)
    raise UnsupportedEncoding(f"content encoding {encoding!r} cannot be inspected")


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...


def _members(make: Callable[[], _Decompressor], data: bytes, limit: int) -> bytes:
    """Decode every gzip member / zstd frame (a later one must not hide from the scan),
    each bounded; a truncated body is undecodable, not a shorter one."""
    out = bytearray()
    rest = data
    while rest:
        decoder = make()
        try:
            out += decoder.decompress(rest, limit + 1 - len(out))
        except (zlib.error, zstd.ZstdError, EOFError) as exc:
            raise UnsupportedEncoding(f"body does not decode: {type(exc).__name__}") from None
        if len(out) > limit:
            raise BodyTooLarge(f"decoded body exceeds the {limit}-byte scan limit")
        if not decoder.eof:
            if len(out) >= limit:
                raise BodyTooLarge(f"decoded body exceeds the {limit}-byte scan limit")
            raise UnsupportedEncoding("body is truncated")
        rest = decoder.unused_data
    return bytes(out)


def _bounded_brotli(data: bytes, limit: int) -> bytes:
    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(data, output_buffer_limit=limit + 1)
    except brotli.error as exc:
        raise UnsupportedEncoding(f"body does not decode: {exc}") from None
    if len(out) > limit:
        raise BodyTooLarge(f"decoded body exceeds the {limit}-byte scan limit")
    if not decompressor.is_finished():
        if len(out) >= limit:
            raise BodyTooLarge(f"decoded body exceeds the {limit}-byte scan limit")
        raise UnsupportedEncoding("body is truncated")
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
