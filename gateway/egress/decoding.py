"""Incremental decoding of a streamed, content-encoded body (gzip, deflate, br, zstd).

Used to scan a streamed response as it arrives; the decoded stream is then sent
on without ``Content-Encoding``. ``max_ratio`` bounds each chunk's expansion.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli

try:
    from compression import zstd  # Python 3.14+
except ImportError:  # pragma: no cover - depends on the interpreter
    from backports import zstd

from gateway.egress.content import BodyTooLarge, UnsupportedEncoding, encodings


class _Step(Protocol):
    def __call__(self, data: bytes) -> bytes: ...


class StreamDecoder:
    def __init__(self, content_encoding: str | None, *, max_chunk_output: int = 64 << 20):
        self._limit = max_chunk_output
        self._steps = [self._step(e) for e in reversed(encodings(content_encoding))]

    def _step(self, encoding: str) -> _Step:
        if encoding == "identity":
            return lambda data: data
        if encoding in ("gzip", "x-gzip"):
            gz = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return lambda data: gz.decompress(data)
        if encoding == "deflate":
            df = zlib.decompressobj()
            return lambda data: df.decompress(data)
        if encoding == "br":
            return brotli.Decompressor().process
        if encoding == "zstd":
            return zstd.ZstdDecompressor().decompress
        raise UnsupportedEncoding(f"content encoding {encoding!r} cannot be inspected")

    def feed(self, chunk: bytes) -> bytes:
        data = chunk
        for step in self._steps:
            try:
                data = step(data)
            except (zlib.error, brotli.error, zstd.ZstdError, EOFError) as exc:
                raise UnsupportedEncoding(f"stream does not decode: {type(exc).__name__}") from None
            if len(data) > self._limit:
                raise BodyTooLarge(f"a streamed chunk decodes to more than {self._limit} bytes")
        return bytes(data)
