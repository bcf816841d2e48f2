"""Secrets through the real proxy: gone at the upstream / client, recorded by fingerprint."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import string
import time
from typing import Any

import httpx
import pytest

from tests.support.airlock import AirlockInstance
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration

ALNUM = string.ascii_letters + string.digits


def github_token() -> str:
    """A well-formed classic GitHub token, built at run time (never committed)."""
    return "ghp" + "_" + "".join(secrets.choice(ALNUM) for _ in range(36))


@pytest.fixture(scope="module")
def redacting(airlock: AirlockInstance, upstream: HttpsUpstream) -> dict[str, Any]:
    entry = {"host": "localhost", "ports": [upstream.port], "allow_private": True}
    airlock.add_profile("redact", [entry])
    return airlock.create_task("redact-agent", "redact")


@pytest.fixture(scope="module")
def blocking(airlock: AirlockInstance, upstream: HttpsUpstream) -> dict[str, Any]:
    entry = {"host": "localhost", "ports": [upstream.port], "allow_private": True}
    target = airlock.policy_dir / "airlock/profiles/block/data.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"allow": [entry], "secrets": {"outbound": "block"}}))
    airlock.wait_policy(lambda d: d.get("block", {}).get("secrets", {}).get("outbound") == "block")
    return airlock.create_task("block-agent", "block")


def client(task: dict[str, Any]) -> httpx.Client:
    return httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False,
                        timeout=30)  # fmt: skip


def seen_by_upstream(upstream: HttpsUpstream, marker: str) -> str:
    """Everything the upstream received for the request whose path carries ``marker``."""
    for req in reversed(upstream.requests):
        if marker in req.path:
            return json.dumps([req.path, req.headers])
    raise AssertionError(f"upstream never saw {marker}")


def test_secret_in_json_body_is_redacted_upstream(redacting: dict[str, Any],
                                                   upstream: HttpsUpstream) -> None:  # fmt: skip
    token = github_token()
    body = json.dumps({"note": "deploy", "token": token}).encode()
    with client(redacting) as c:
        resp = c.post(f"{upstream.url}/echo?case=json", content=body,
                      headers={"content-type": "application/json"})  # fmt: skip
    echoed = resp.json()
    assert resp.status_code == 200
    assert echoed["body_length"] != len(body)  # the upstream got a different body
    assert token not in resp.text


def test_secret_in_query_and_header_is_redacted(redacting: dict[str, Any],
                                                upstream: HttpsUpstream) -> None:  # fmt: skip
    token = github_token()
    with client(redacting) as c:
        resp = c.get(f"{upstream.url}/echo?case=qh&key={token}", headers={"X-Debug": token})
    assert resp.status_code == 200
    seen = seen_by_upstream(upstream, "case=qh")
    assert token not in seen
    assert "REDACTED" in seen


def test_secret_in_gzip_body_is_redacted(redacting: dict[str, Any],
                                         upstream: HttpsUpstream) -> None:  # fmt: skip
    token = github_token()
    raw = gzip.compress(f"export GITHUB_TOKEN={token}\n".encode())
    with client(redacting) as c:
        resp = c.post(
            f"{upstream.url}/echo?case=gzip",
            content=raw,
            headers={"content-encoding": "gzip", "content-type": "text/plain"},
        )
    assert resp.status_code == 200
    assert resp.json()["body_length"] != len(raw)


def test_block_mode_refuses_and_names_the_detector(blocking: dict[str, Any],
                                                   upstream: HttpsUpstream) -> None:  # fmt: skip
    token = github_token()
    with client(blocking) as c:
        resp = c.post(f"{upstream.url}/echo?case=block", content=f"t={token}".encode())
    assert resp.status_code == 403
    refusal = resp.json()
    assert refusal["reason"] == "secret_detected"
    assert token not in resp.text
    assert all("case=block" not in r.path for r in upstream.requests)


def test_findings_are_audited_by_fingerprint_never_by_value(
    airlock: AirlockInstance, redacting: dict[str, Any], upstream: HttpsUpstream,
    auditor_key: str,
) -> None:  # fmt: skip
    token = github_token()
    with client(redacting) as c:
        for case in ("a", "b"):
            c.get(f"{upstream.url}/echo?case=fp{case}", headers={"X-Token": token})

    def header_hits(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["detail"].get("location") == "header:x-token"]

    found = airlock.wait_events(
        auditor_key,
        lambda ev: len(header_hits(ev)) >= 2,
        kind="secret-finding",
        task_id=redacting["task_id"],
    )
    mine = header_hits(found)
    assert len({e["detail"]["fingerprint"] for e in mine}) == 1  # same secret, same fingerprint
    assert all(e["detail"]["action"] == "redacted" for e in mine)
    everything = json.dumps(airlock.all_events(auditor_key))
    assert token not in everything
    fingerprint = mine[0]["detail"]["fingerprint"]
    out = airlock.cli("secrets", "sightings", fingerprint[:8], "--json")
    sightings = json.loads(out.stdout)["sightings"]
    assert {e["task_id"] for e in sightings} == {redacting["task_id"]}
    assert len(sightings) >= 2


def test_binary_download_passes_byte_identical(redacting: dict[str, Any],
                                               upstream: HttpsUpstream) -> None:  # fmt: skip
    from tests.support.upstream import deterministic_bytes

    with client(redacting) as c:
        resp = c.get(f"{upstream.url}/bytes/300000")
    assert resp.content == deterministic_bytes(300000)


def test_sse_still_streams_with_redaction(redacting: dict[str, Any],
                                          upstream: HttpsUpstream) -> None:  # fmt: skip
    arrivals: list[float] = []
    with client(redacting) as c:
        with c.stream("GET", f"{upstream.url}/sse?n=5&interval=0.3") as resp:
            for line in resp.iter_lines():
                if line.startswith("data:"):
                    arrivals.append(time.monotonic())
    assert len(arrivals) == 5 and arrivals[-1] - arrivals[0] > 0.9


def reveal_url(upstream: HttpsUpstream, text: str, **extra: str) -> str:
    data = base64.urlsafe_b64encode(text.encode()).decode()
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    return f"{upstream.url}/reveal?d={data}" + (f"&{query}" if query else "")


def test_secret_in_response_is_redacted_at_the_client(redacting: dict[str, Any],
                                                      upstream: HttpsUpstream) -> None:  # fmt: skip
    token = github_token()
    with client(redacting) as c:
        resp = c.get(reveal_url(upstream, f"your token is {token}\n"))
    assert resp.status_code == 200
    assert token not in resp.text and "[REDACTED:" in resp.text
    assert resp.text.startswith("your token is ")


def test_secret_split_across_sse_chunks_is_redacted_and_streamed(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
    token = github_token()
    text = f"data: hello\n\ndata: {token}\n\ndata: bye\n\n"
    received: list[tuple[float, bytes]] = []
    with client(redacting) as c:
        with c.stream("GET", reveal_url(upstream, text, sse="1", parts="3")) as resp:
            for chunk in resp.iter_raw():
                received.append((time.monotonic(), chunk))
    body = b"".join(chunk for _, chunk in received)
    assert token.encode() not in body and b"[REDACTED:" in body
    assert body.startswith(b"data: hello") and body.endswith(b"bye\n\n")
    assert received[-1][0] - received[0][0] > 0.4  # arrived in parts, not all at the end
