"""Template filters: escaping, redaction markers, times, one-line summaries."""

from __future__ import annotations

from gateway.ui.render import redacted, short, summary, when


def test_redaction_markers_are_marked_and_everything_else_escaped() -> None:
    text = "/p?q=[REDACTED:github_pat:fp=1a2b3c4d]&x=<script>&y=%5BREDACTED:jwt:fp=00ff00ff%5D"
    html = str(redacted(text))
    assert '<mark class="redaction">[REDACTED:github_pat:fp=1a2b3c4d]</mark>' in html
    assert '<mark class="redaction">%5BREDACTED:jwt:fp=00ff00ff%5D</mark>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert str(redacted(None)) == ""
    assert str(redacted("token=[MASKED]")) == 'token=<mark class="redaction">[MASKED]</mark>'


def test_times_are_shown_to_the_millisecond() -> None:
    assert when("2026-01-10T00:01:00.123456Z") == "2026-01-10 00:01:00.123"
    assert when("2026-01-10T00:01:00Z") == "2026-01-10 00:01:00"
    assert when("") == ""


def test_short_ids_keep_short_ones_whole() -> None:
    assert short("abcdefgh") == "abcdefgh"
    assert short("0194e3c1-aaaa-7bbb-8ccc-0123456789ab", 8) == "0194e3c1…"


def test_summaries_by_kind() -> None:
    request = {"kind": "http-request", "method": "GET", "host": "h", "port": 443, "path": "/p"}
    assert summary(request) == "GET h:443 /p"
    finding = {
        "kind": "secret-finding",
        "detail": {"detector": "jwt", "direction": "inbound", "location": "body", "action": "x"},
    }
    assert summary(finding) == "jwt · inbound · body · x"
    injected = {"kind": "credential-injected", "detail": {"credential": "gh", "version": "2"}}
    assert summary(injected) == "gh v2"
    assert summary({"kind": "audit-viewed", "detail": {"what": "ui-flow", "by": "k"}}) == (
        "ui-flow by k"
    )
