"""SecretGuard (headers, text, bodies) and StreamScan (byte and framed SSE modes).

Fake secrets come from tests/redaction/corpus.py generators, built at run time.
"""

from __future__ import annotations

import gzip
import random

import pytest

from gateway.egress.content import BodyTooLarge, encode_body
from gateway.egress.secrets import SKIP_HEADERS, SecretGuard, SecretHit, StreamScan
from gateway.redaction import Redactor
from tests.redaction.corpus import TOKENS

LIMIT = 1 << 20


def emitted(scan: object, chunk: bytes) -> bytes:
    """What the stream hook sends now: it returns a list of chunks (never b"")."""
    out = scan(chunk)  # type: ignore[operator]
    assert isinstance(out, list) and b"" not in out
    return b"".join(out)


def token(seed: int = 1, kind: str = "github_token") -> str:
    return TOKENS[kind](random.Random(f"{kind}:{seed}"))


@pytest.fixture(scope="module")
def guard() -> SecretGuard:
    return SecretGuard(Redactor(b"secrets-test-key"), scan_limit=LIMIT)


def filler(n: int) -> bytes:
    return b"".join(b"log line %d: all good\n" % i for i in range(n))


class Hits:
    """Collects what a StreamScan reports."""

    def __init__(self) -> None:
        self.hits: list[SecretHit] = []

    def __call__(self, hits: list[SecretHit]) -> None:
        self.hits += hits


# Headers and text -------------------------------------------------------------------------


def test_skipped_headers_are_untouched(guard: SecretGuard) -> None:
    secret = token()
    items = [(name.title(), f"value {secret}") for name in sorted(SKIP_HEADERS)]
    out, hits = guard.headers(items, "outbound")
    assert out == items
    assert hits == []


def test_secret_in_custom_header_is_redacted(guard: SecretGuard) -> None:
    secret = token()
    items = [("Accept", "*/*"), ("X-Debug-Token", f"tok {secret}"), ("X-Other", "plain")]
    out, hits = guard.headers(items, "outbound")
    assert out[0] == ("Accept", "*/*") and out[2] == ("X-Other", "plain")
    name, value = out[1]
    assert name == "X-Debug-Token"
    assert secret not in value and value.startswith("tok [REDACTED:github_token:fp=")
    (hit,) = hits
    assert (hit.detector, hit.direction, hit.location, hit.offset) == (
        "github_token",
        "outbound",
        "header:x-debug-token",
        4,
    )
    assert secret not in repr(hit)


def test_authorization_header_is_scanned(guard: SecretGuard) -> None:
    secret = token(2)
    out, hits = guard.headers([("Authorization", f"token {secret}")], "outbound")
    assert secret not in out[0][1]
    assert [h.location for h in hits] == ["header:authorization"]


def test_text_without_secret_is_returned_as_is(guard: SecretGuard) -> None:
    assert guard.text("/repos/acme/widgets/pulls", "outbound", "path") == (
        "/repos/acme/widgets/pulls",
        [],
    )


def test_text_with_secret(guard: SecretGuard) -> None:
    secret = token(3)
    value, hits = guard.text(f"page=2&key={secret}", "outbound", "query")
    assert secret not in value and value.startswith("page=2&key=[REDACTED:")
    assert [(h.location, h.offset, h.direction) for h in hits] == [("query", 11, "outbound")]


# Bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "image/png", "application/zip", "font/woff2"]
)
def test_binary_content_types_are_not_scanned(guard: SecretGuard, content_type: str) -> None:
    body = f"key={token()}".encode()
    assert guard.body(body, content_type, None, "inbound") == (None, [])


def test_empty_body_is_not_scanned(guard: SecretGuard) -> None:
    assert guard.body(b"", "text/plain", "gzip", "outbound") == (None, [])


def test_clean_body_is_unchanged(guard: SecretGuard) -> None:
    assert guard.body(filler(50), "text/plain", None, "outbound") == (None, [])


def test_plain_body_with_secret(guard: SecretGuard) -> None:
    secret = token(4)
    body = b'{"token": "%s"}' % secret.encode()
    new, hits = guard.body(body, "application/json", None, "inbound")
    assert new is not None and secret.encode() not in new
    assert new.startswith(b'{"token": "[REDACTED:github_token:fp=')
    assert [(h.location, h.offset, h.direction) for h in hits] == [("body", 11, "inbound")]


def test_gzip_body_is_decoded_and_redacted(guard: SecretGuard) -> None:
    secret = token(5)
    text = filler(20) + b"export GITHUB_TOKEN=" + secret.encode() + b"\n"
    new, hits = guard.body(gzip.compress(text), "text/plain", "gzip", "outbound")
    assert new is not None
    assert new.startswith(filler(20) + b"export GITHUB_TOKEN=[REDACTED:")  # decoded bytes
    assert secret.encode() not in new
    assert [h.offset for h in hits] == [len(filler(20)) + len(b"export GITHUB_TOKEN=")]


def test_stacked_encoding_body_is_redacted(guard: SecretGuard) -> None:
    secret = token(6)
    raw = encode_body(f"value: {secret}\n".encode(), "gzip, br")
    new, hits = guard.body(raw, "text/plain", "gzip, br", "outbound")
    assert new is not None and secret.encode() not in new
    assert len(hits) == 1


def test_too_large_body_raises(guard: SecretGuard) -> None:
    raw = gzip.compress(bytes(LIMIT + 1))
    with pytest.raises(BodyTooLarge):
        guard.body(raw, "text/plain", "gzip", "outbound")
    with pytest.raises(BodyTooLarge):
        guard.body(b"a" * (LIMIT + 1), "text/plain", None, "outbound")


# StreamScan, byte mode ----------------------------------------------------------------


def run(scan: StreamScan, chunks: list[bytes]) -> list[bytes]:
    return [emitted(scan, c) for c in chunks] + [emitted(scan, b"")]


def test_byte_mode_catches_a_secret_split_across_chunks(guard: SecretGuard) -> None:
    secret = token(7).encode()
    head = filler(300)
    body = head + b"token=" + secret + b"\n" + filler(300)
    cut = len(head) + 6 + len(secret) // 2
    hits = Hits()
    scan = StreamScan(guard, "outbound", None, hits)
    out = b"".join(run(scan, [body[:cut], body[cut:]]))
    assert secret not in out
    assert out == guard.redactor.redact(body)[0]
    assert [(h.location, h.offset, h.direction) for h in hits.hits] == [
        ("stream", len(head) + 6, "outbound")
    ]
    assert scan.bytes_seen == len(body)


def test_byte_mode_offsets_are_stream_relative(guard: SecretGuard) -> None:
    first, second = token(8).encode(), token(9).encode()
    part1 = filler(400) + first + b"\n"
    part2 = filler(400) + second + b"\n"
    hits = Hits()
    out = b"".join(run(StreamScan(guard, "inbound", None, hits), [part1, part2, filler(400)]))
    assert first not in out and second not in out
    offsets = [h.offset for h in hits.hits]
    assert offsets == [len(filler(400)), len(part1) + len(filler(400))]


def test_byte_mode_decodes_a_gzip_stream(guard: SecretGuard) -> None:
    secret = token(10).encode()
    body = filler(200) + b"key: " + secret + b"\n"
    raw = gzip.compress(body)
    hits = Hits()
    scan = StreamScan(guard, "inbound", "gzip", hits)
    out = b"".join(run(scan, [raw[i : i + 50] for i in range(0, len(raw), 50)]))
    assert out == guard.redactor.redact(body)[0]  # decoded and redacted
    assert len(hits.hits) == 1
    assert scan.bytes_seen == len(raw)


def test_alert_mode_passes_bytes_unchanged_but_reports(guard: SecretGuard) -> None:
    secret = token(11).encode()
    body = filler(300) + b"token=" + secret + b"\n" + filler(300)
    cut = len(filler(300)) + 10
    hits = Hits()
    scan = StreamScan(guard, "outbound", None, hits, apply=False)
    outs = run(scan, [body[:cut], body[cut:]])
    assert outs[:2] == [body[:cut], body[cut:]]  # released as they came, unchanged
    assert b"".join(outs) == body
    assert [h.detector for h in hits.hits] == ["github_token"]
    assert hits.hits[0].offset == len(filler(300)) + 6


# StreamScan, framed (server-sent events) ------------------------------------------------


def test_framed_mode_releases_each_complete_event_at_once(guard: SecretGuard) -> None:
    scan = StreamScan(guard, "inbound", None, Hits(), framed=True)
    first = b"event: tick\ndata: one\n\n"
    assert emitted(scan, first + b"data: tw") == first  # before any later chunk arrives
    assert emitted(scan, b"o\n\n") == b"data: two\n\n"
    assert emitted(scan, b"data: unterminated") == b""
    assert emitted(scan, b"") == b"data: unterminated"


def test_framed_mode_catches_a_secret_split_within_one_event(guard: SecretGuard) -> None:
    secret = token(12).encode()
    event1 = b"data: hello\n\n"
    event2 = b'data: {"token": "' + secret + b'"}\n\n'
    stream = event1 + event2 + b"data: bye\n\n"
    cut = len(event1) + 20
    hits = Hits()
    scan = StreamScan(guard, "inbound", None, hits, framed=True)
    outs = run(scan, [stream[:cut], stream[cut:]])
    assert outs[0] == event1
    assert secret not in b"".join(outs)
    assert b"".join(outs) == guard.redactor.redact(stream)[0]
    assert [(h.location, h.offset) for h in hits.hits] == [("stream", len(event1) + 17)]


def test_framed_offsets_are_stream_relative(guard: SecretGuard) -> None:
    secrets = [token(20 + i).encode() for i in range(3)]
    events = [b"id: %d\ndata: %s\n\n" % (i, s) for i, s in enumerate(secrets)]
    hits = Hits()
    scan = StreamScan(guard, "inbound", None, hits, framed=True)
    run(scan, events)
    expected, pos = [], 0
    for event, secret in zip(events, secrets, strict=True):
        expected.append(pos + event.index(secret))
        pos += len(event)
    assert [h.offset for h in hits.hits] == expected


def test_framed_alert_mode_passes_events_unchanged(guard: SecretGuard) -> None:
    secret = token(13).encode()
    event = b"data: " + secret + b"\n\n"
    hits = Hits()
    scan = StreamScan(guard, "inbound", None, hits, apply=False, framed=True)
    assert emitted(scan, event) == event
    assert [h.detector for h in hits.hits] == ["github_token"]


def test_oversized_frame_is_released_without_waiting(guard: SecretGuard) -> None:
    scan = StreamScan(guard, "inbound", None, Hits(), framed=True, max_frame=1000)
    big = b"data: " + b"x" * 2000
    assert emitted(scan, big) == big  # no blank line yet, but too big to hold


def test_framed_mode_releases_crlf_events_whole(guard: SecretGuard) -> None:
    scan = StreamScan(guard, "inbound", None, Hits(), framed=True)
    assert emitted(scan, b"data: one\r\n\r\n") == b"data: one\r\n\r\n"
