"""Find secrets in an HTTP message: headers, URL, body (decoded), streams.

The guard turns redaction-engine findings into located hits and hands back the
redacted parts; what to do with them (redact, block, alert) is the caller's
decision from policy. Offsets are within the located part (header value, path,
query, decoded body or whole stream).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from gateway.credentials.placeholder import MARKER
from gateway.egress.content import decode_body
from gateway.egress.decoding import StreamDecoder
from gateway.redaction import Finding, Redactor, is_binary_content_type, marker

PLACEHOLDER_MARKER = MARKER.encode()

# Headers whose values are protocol plumbing, never secrets an agent could leak.
SKIP_HEADERS = frozenset(
    {
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "host",
        "connection",
        "accept",
        "accept-encoding",
        "user-agent",
        "date",
        "etag",
        "if-none-match",
        "content-security-policy",
        "strict-transport-security",
        "x-airlock-request-id",
    }
)


@dataclass(frozen=True)
class SecretHit:
    detector: str
    fingerprint: str
    direction: str  # outbound (request) | inbound (response)
    location: str  # header:NAME | path | query | body | stream
    offset: int
    known_name: str = ""


def _hits(findings: list[Finding], direction: str, location: str) -> list[SecretHit]:
    return [
        SecretHit(f.detector, f.fingerprint, direction, location, f.start, f.known_name)
        for f in findings
    ]


class SecretGuard:
    def __init__(self, redactor: Redactor, *, scan_limit: int) -> None:
        self.redactor = redactor
        self.scan_limit = scan_limit

    def redact(self, data: bytes) -> tuple[bytes, list[Finding]]:
        """The engine's redaction, minus Airlock's own placeholders (they are not secrets:
        the credential broker swaps them for real values after this scan)."""
        out, found = self.redactor.redact(data)
        if not found or PLACEHOLDER_MARKER not in data:
            return out, found
        keep = [f for f in found if PLACEHOLDER_MARKER not in data[f.start : f.end]]
        if len(keep) == len(found):
            return out, found
        buf, pos = bytearray(), 0
        for f in keep:
            buf += data[pos : f.start] + marker(f.detector, f.fingerprint)
            pos = f.end
        buf += data[pos:]
        return bytes(buf), keep

    def headers(
        self, items: list[tuple[str, str]], direction: str
    ) -> tuple[list[tuple[str, str]], list[SecretHit]]:
        out: list[tuple[str, str]] = []
        hits: list[SecretHit] = []
        for name, value in items:
            if name.lower() in SKIP_HEADERS:
                out.append((name, value))
                continue
            data, found = self.redact(value.encode("utf-8", "surrogateescape"))
            hits += _hits(found, direction, f"header:{name.lower()}")
            out.append((name, data.decode("utf-8", "surrogateescape")) if found else (name, value))
        return out, hits

    def text(self, value: str, direction: str, location: str) -> tuple[str, list[SecretHit]]:
        data, found = self.redact(value.encode("utf-8", "surrogateescape"))
        if not found:
            return value, []
        return data.decode("utf-8", "surrogateescape"), _hits(found, direction, location)

    def body(
        self, raw: bytes, content_type: str, content_encoding: str | None, direction: str
    ) -> tuple[bytes | None, list[SecretHit]]:
        """The redacted *decoded* body (None if unchanged or not scanned) and the hits.

        Raises BodyTooLarge / UnsupportedEncoding when the body cannot be scanned.
        """
        if not raw or is_binary_content_type(content_type):
            return None, []
        decoded = decode_body(raw, content_encoding, self.scan_limit)
        data, found = self.redact(decoded)
        return (data if found else None), _hits(found, direction, "body")


@dataclass
class StreamScan:
    """A stream callback for mitmproxy-style chunked streaming (``b""`` ends it).

    ``framed`` (server-sent events): each event, up to its blank line, is scanned and
    released whole, so events still arrive one by one; a secret cannot hide by being
    split across network chunks. Otherwise the engine's byte-stream redactor holds
    back only the longest possible secret.
    """

    guard: SecretGuard
    direction: str
    content_encoding: str | None
    on_hits: Callable[[list[SecretHit]], None]
    apply: bool = True  # False in "alert" mode: record, pass bytes unchanged
    framed: bool = False
    max_frame: int = 1 << 20
    bytes_seen: int = 0
    _decoder: StreamDecoder = field(init=False)
    _seen: int = 0
    _pending: bytearray = field(default_factory=bytearray)
    _offset: int = 0

    def __post_init__(self) -> None:
        self._decoder = StreamDecoder(self.content_encoding)
        self._stream = self.guard.redactor.stream()

    def __call__(self, chunk: bytes) -> list[bytes]:
        """mitmproxy's stream hook: a list of chunks to send now (possibly none).

        Never ``b""``: for a chunked HTTP/1 message an empty chunk would end the body.
        """
        self.bytes_seen += len(chunk)
        decoded = self._decoder.feed(chunk) if chunk else b""
        if self.framed:
            out = self._frames(decoded, final=not chunk)
        else:
            redacted = self._stream.feed(decoded) if chunk else self._stream.flush()
            new = self._stream.findings[self._seen :]
            if new:
                self._seen = len(self._stream.findings)
                self.on_hits(_hits(list(new), self.direction, "stream"))
            out = redacted if self.apply else decoded
        return [out] if out else []

    def _frames(self, data: bytes, *, final: bool) -> bytes:
        self._pending += data
        end = _last_event_end(self._pending)
        if final or len(self._pending) > self.max_frame:
            end = len(self._pending)
        if end <= 0:
            return b""
        frame = bytes(self._pending[:end])
        del self._pending[:end]
        out, found = self.guard.redact(frame)
        if found:
            hits = _hits(found, self.direction, "stream")
            self.on_hits([replace(h, offset=h.offset + self._offset) for h in hits])
        self._offset += len(frame)
        return out if self.apply else frame


def _last_event_end(buffer: bytearray) -> int:
    """Offset just after the last complete server-sent event (blank line), or -1."""
    lf, crlf = buffer.rfind(b"\n\n"), buffer.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else -1, crlf + 4 if crlf >= 0 else -1)
