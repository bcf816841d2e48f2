"""Incremental decoding of a streamed, content-encoded body (gzip, deflate, br, zstd).

Used to scan a streamed body as it arrives; the decoded stream is then sent on
without ``Content-Encoding``. Each chunk's output is bounded (a bomb stops at
``max_chunk_output``), every gzip member / zstd frame is decoded (a later one
cannot hide), and deflate with or without the zlib header is accepted.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

import brotli

try:
    from compression import zstd  # Python 3.14+
except ImportError:  # pragma: no cover - depends on the interpreter
    from backports import zstd

from gateway.egress.content import BodyTooLarge, UnsupportedEncoding, encodings


class _Step(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes: ...


class _Identity:
    def feed(self, data: bytes, limit: int) -> bytes:
        return data


class _Members:
    """zlib/zstd objects: one per gzip member or zstd frame, output bounded."""

    def __init__(self, make: Callable[[], zlib._Decompress | zstd.ZstdDecompressor]) -> None:
        self._make = make
        self._decoder = make()

    def feed(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        while data:
            out += self._decoder.decompress(data, limit + 1 - len(out))
            pending = bool(getattr(self._decoder, "unconsumed_tail", b"")) or (
                not self._decoder.eof and not getattr(self._decoder, "needs_input", True)
            )
            if len(out) > limit or pending:
                raise BodyTooLarge(f"a streamed chunk decodes to more than {limit} bytes")
            data = self._decoder.unused_data if self._decoder.eof else b""
            if data:
                self._decoder = self._make()
        return bytes(out)


class _Deflate:
    """Deflate with the zlib header, or raw deflate as some servers send it."""

    def __init__(self) -> None:
        self._inner: _Members | None = None
        self._head = b""

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._inner is None:
            self._head += data
            if len(self._head) < 2:
                return b""  # the first two bytes say which kind
            data, self._head = self._head, b""
            zlib_header = (data[0] & 0x0F) == 8 and int.from_bytes(data[:2]) % 31 == 0
            wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
            self._inner = _Members(lambda: zlib.decompressobj(wbits))
        return self._inner.feed(data, limit)


class _Brotli:
    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        out = bytes(self._decoder.process(data, output_buffer_limit=limit + 1))
        if len(out) > limit:
            raise BodyTooLarge(f"a streamed chunk decodes to more than {limit} bytes")
        return out


def _step(encoding: str) -> _Step:
    if encoding == "identity":
        return _Identity()
    if encoding in ("gzip", "x-gzip"):
        return _Members(lambda: zlib.decompressobj(16 + zlib.MAX_WBITS))
    if encoding == "deflate":
        return _Deflate()
    if encoding == "br":
        return _Brotli()
    if encoding == "zstd":
        return _Members(zstd.ZstdDecompressor)
    raise UnsupportedEncoding(f"content encoding {encoding!r} cannot be inspected")


class StreamDecoder:
    def __init__(self, content_encoding: str | None, *, max_chunk_output: int = 64 << 20):
        self._limit = max_chunk_output
        self._steps = [_step(e) for e in reversed(encodings(content_encoding))]

    def feed(self, chunk: bytes) -> bytes:
        data = chunk
        for step in self._steps:
            try:
                data = step.feed(data, self._limit)
            except (zlib.error, brotli.error, zstd.ZstdError, EOFError) as exc:
                raise UnsupportedEncoding(f"stream does not decode: {type(exc).__name__}") from None
        return data
