"""Secrets through the real proxy: gone at the upstream / client, recorded by fingerprint."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
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
    return httpx.Client(
        proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False, timeout=30
    )


def seen_by_upstream(upstream: HttpsUpstream, marker: str) -> str:
    """Everything the upstream received for the request whose path carries ``marker``."""
    for req in reversed(upstream.requests):
        if marker in req.path:
            return json.dumps([req.path, req.headers])
    raise AssertionError(f"upstream never saw {marker}")


def test_secret_in_json_body_is_redacted_upstream(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
    token = github_token()
    body = json.dumps({"note": "deploy", "token": token}).encode()
    with client(redacting) as c:
        resp = c.post(
            f"{upstream.url}/echo?case=json",
            content=body,
            headers={"content-type": "application/json"},
        )
    echoed = resp.json()
    assert resp.status_code == 200
    assert echoed["body_length"] != len(body)  # the upstream got a different body
    assert token not in resp.text


def test_secret_in_query_and_header_is_redacted(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
    token = github_token()
    with client(redacting) as c:
        resp = c.get(f"{upstream.url}/echo?case=qh&key={token}", headers={"X-Debug": token})
    assert resp.status_code == 200
    seen = seen_by_upstream(upstream, "case=qh")
    assert token not in seen
    assert "REDACTED" in seen


def test_secret_in_gzip_body_is_redacted(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
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


def test_block_mode_refuses_and_names_the_detector(
    blocking: dict[str, Any], upstream: HttpsUpstream
) -> None:
    token = github_token()
    with client(blocking) as c:
        resp = c.post(f"{upstream.url}/echo?case=block", content=f"t={token}".encode())
    assert resp.status_code == 403
    refusal = resp.json()
    assert refusal["reason"] == "secret_detected"
    assert token not in resp.text
    assert all("case=block" not in r.path for r in upstream.requests)


def test_findings_are_audited_by_fingerprint_never_by_value(
    airlock: AirlockInstance,
    redacting: dict[str, Any],
    upstream: HttpsUpstream,
    auditor_key: str,
) -> None:
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


def test_binary_download_passes_byte_identical(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
    from tests.support.upstream import deterministic_bytes

    with client(redacting) as c:
        resp = c.get(f"{upstream.url}/bytes/300000")
    assert resp.content == deterministic_bytes(300000)


def test_sse_still_streams_with_redaction(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
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


def test_secret_in_response_is_redacted_at_the_client(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
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


# Uploads and downloads that must (or must not) change ---------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def post_multipart(task: dict[str, Any], url: str, files: dict[str, Any]) -> tuple[bytes, Any]:
    """POST a multipart form; returns the exact body sent and the upstream's echo."""
    with client(task) as c:
        request = c.build_request("POST", url, data={"note": "upload"}, files=files)
        body = request.read()
        resp = c.send(request)
    assert resp.status_code == 200
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    return body, resp.json()


def test_secret_in_multipart_file_part_is_gone_upstream(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
    token = github_token()
    env = f"# deploy settings\nGITHUB_TOKEN={token}\nREGION=eu-west-1\n".encode()
    body, echoed = post_multipart(
        redacting,
        f"{upstream.url}/echo?case=multipart-secret",
        {"config": ("deploy.env", env, "text/plain")},
    )
    assert token.encode() in body
    assert echoed["body_sha256"] != sha256(body)
    assert echoed["body_length"] != len(body)


def test_multipart_without_secrets_arrives_byte_identical(
    redacting: dict[str, Any], upstream: HttpsUpstream
) -> None:
    from tests.support.upstream import deterministic_bytes

    text = b"".join(b"row %d,ok,%d\n" % (i, i * 7) for i in range(2000))
    body, echoed = post_multipart(
        redacting,
        f"{upstream.url}/echo?case=multipart-clean",
        {
            "data": ("rows.csv", text, "text/csv"),
            "blob": ("blob.bin", deterministic_bytes(50_000), "application/octet-stream"),
        },
    )
    assert echoed["body_sha256"] == sha256(body)


def test_secret_split_across_chunks_of_a_streamed_upload(
    airlock: AirlockInstance,
    redacting: dict[str, Any],
    upstream: HttpsUpstream,
    auditor_key: str,
) -> None:
    token = github_token().encode()
    chunk = 64 * 1024
    line = b"line of ordinary upload text, nothing to see here\n"
    filler = line * (chunk // len(line) + 1)
    head = filler[: chunk - 20] + b"token="  # the token starts 14 bytes before a boundary
    body = head + token + b"\n" + filler * 24  # about 1.3 MiB: over the stream threshold
    assert len(body) > (1 << 20) and len(head) < chunk < len(head) + len(token)
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    assert token not in chunks[0] and token not in chunks[1]  # really split
    case = f"chunked-{secrets.token_hex(4)}"
    with client(redacting) as c:
        resp = c.post(
            f"{upstream.url}/echo?case={case}",
            content=iter(chunks),
            headers={"content-type": "text/plain"},
        )
    assert resp.status_code == 200, resp.text
    echoed = resp.json()
    assert echoed["headers"].get("transfer-encoding") == "chunked"
    assert echoed["body_sha256"] != sha256(body)

    def stream_hits(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if case in e["query"] and e["detail"]["location"] == "stream"]

    found = airlock.wait_events(
        auditor_key,
        lambda ev: bool(stream_hits(ev)),
        kind="secret-finding",
        task_id=redacting["task_id"],
    )
    (hit,) = stream_hits(found)
    assert hit["detail"]["detector"] in ("github_pat", "github_token")
    assert hit["detail"]["direction"] == "outbound"
    assert hit["detail"]["offset"] == str(len(head))
    assert hit["detail"]["action"] == "redacted"


def package_lock(entries: int) -> bytes:
    rng = random.Random(entries)
    packages = {
        f"node_modules/pkg-{i}": {
            "version": f"{i % 9}.{i % 13}.{i % 7}",
            "resolved": f"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.0.0.tgz",
            "integrity": "sha512-" + base64.b64encode(rng.randbytes(64)).decode(),
        }
        for i in range(entries)
    }
    return json.dumps(
        {"name": "app", "lockfileVersion": 3, "packages": packages}, indent=2
    ).encode()


def requirements(entries: int) -> bytes:
    rng = random.Random(entries)
    lines = [
        f"pkg-{i}=={i % 5}.{i % 11}.0 \\\n"
        f"    --hash=sha256:{rng.randbytes(32).hex()} \\\n"
        f"    --hash=sha256:{rng.randbytes(32).hex()}"
        for i in range(entries)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [
        ("lock-small", package_lock(300), "application/json"),
        ("lock-streamed", package_lock(6000), "application/json"),  # > 1 MiB: streamed
        ("requirements", requirements(500), "text/plain"),
    ],
)
def test_benign_hash_structures_pass_byte_identical(
    redacting: dict[str, Any],
    upstream: HttpsUpstream,
    name: str,
    body: bytes,
    content_type: str,
) -> None:
    with client(redacting) as c:
        resp = c.post(
            f"{upstream.url}/echo?case=benign-{name}",
            content=body,
            headers={"content-type": content_type},
        )
    assert resp.status_code == 200
    echoed = resp.json()
    assert echoed["body_length"] == len(body)
    assert echoed["body_sha256"] == sha256(body)


@pytest.mark.parametrize("kind", ["tgz", "whl"])
@pytest.mark.parametrize("size", [100_000, 3 << 20])  # buffered, and streamed (> 1 MiB)
def test_package_archive_download_is_byte_identical(
    redacting: dict[str, Any], upstream: HttpsUpstream, kind: str, size: int
) -> None:
    from tests.support.upstream import archive

    expected = archive(kind, size)
    with client(redacting) as c:
        resp = c.get(f"{upstream.url}/file?kind={kind}&size={size}")
    assert resp.status_code == 200
    assert resp.content == expected
