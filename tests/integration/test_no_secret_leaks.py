"""No secret that passes through the proxy is ever written anywhere Airlock keeps data.

Fake secrets of several kinds (built at run time by the corpus generators, with a fresh
seed per run) go through the real proxy in headers, bodies and responses, under redact,
alert and block modes. Once their ``secret-finding`` events are queryable, none of the
raw values may appear in the events API, in any file under the Airlock home (spool,
control.db, chDB data), in the supervisor's log, or in any refusal the client got.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.redaction.corpus import TOKENS, samples
from tests.support.airlock import AirlockInstance
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration

ONE_LINE = ("github", "aws_key_id", "slack", "openai", "jwt", "url_credentials")


def pem_block(seed: int) -> str:
    for sample in samples("private_key", 20, seed=seed):
        text = sample.text[sample.start : sample.end].decode()
        if text.startswith("-----BEGIN"):  # raw, not JSON-escaped
            return text
    raise AssertionError("no raw PEM sample")


def fake_secrets() -> dict[str, str]:
    """name -> the raw secret value (what must never be stored)."""
    seed = secrets.randbelow(1 << 30)
    rng = random.Random(seed)
    cred = samples("url_credentials", 1, seed=seed)[0]
    return {
        "github": TOKENS["github_pat"](rng),
        "aws_key_id": TOKENS["aws_access_key_id"](rng),
        "slack": TOKENS["slack_token"](rng),
        "openai": TOKENS["openai_api_key"](rng),
        "jwt": TOKENS["jwt"](rng),
        "url_credentials": cred.text[cred.start : cred.end].decode(),  # the password
        "private_key": pem_block(seed),
    }


def carrier(name: str, value: str) -> str:
    """How the secret travels: URL credentials inside a URL, the rest as they are."""
    if name == "url_credentials":
        return f"postgres://svc_user:{value}@db.internal:5432/app"
    return value


def needles(name: str, value: str) -> list[bytes]:
    """Byte strings whose presence means the secret leaked (each PEM line on its own)."""
    if name == "private_key":
        lines = [ln for ln in value.splitlines() if not ln.startswith("-----")]
        return [value.encode(), *(ln.encode() for ln in lines if len(ln) >= 16)]
    return [value.encode()]


def profile(
    airlock: AirlockInstance, name: str, entry: dict[str, Any], outbound: str, inbound: str
) -> dict[str, Any]:
    target = airlock.policy_dir / f"airlock/profiles/{name}/data.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    modes = {"outbound": outbound, "inbound": inbound}
    target.write_text(json.dumps({"allow": [entry], "secrets": modes}))
    airlock.wait_policy(lambda d: d.get(name, {}).get("secrets") == modes)
    return airlock.create_task(f"{name}-agent", name)


@pytest.fixture(scope="module")
def tasks(airlock: AirlockInstance, upstream: HttpsUpstream) -> dict[str, dict[str, Any]]:
    entry = {"host": "localhost", "ports": [upstream.port], "allow_private": True}
    return {
        "redact": profile(airlock, "leak-redact", entry, "redact", "redact"),
        "alert": profile(airlock, "leak-echo", entry, "alert", "redact"),
        "block": profile(airlock, "leak-block", entry, "block", "block"),
    }


def client(task: dict[str, Any]) -> httpx.Client:
    return httpx.Client(
        proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False, timeout=30
    )


def reveal(upstream: HttpsUpstream, text: str, case: str, **extra: str) -> str:
    # Hex, not base64, in the URL: the URL is recorded as is, and the checks below
    # look for base64 forms of the secrets in the spool.
    query = "".join(f"&{k}={v}" for k, v in extra.items())
    return f"{upstream.url}/reveal?case={case}&x={text.encode().hex()}{query}"


def send_everything(
    tasks: dict[str, dict[str, Any]], upstream: HttpsUpstream, found: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Send each secret every way; returns (case markers expecting findings, refusals)."""
    run = secrets.token_hex(3)
    cases: list[str] = []
    refusals: list[str] = []
    body = json.dumps({k: carrier(k, v) for k, v in found.items()}).encode()
    text = "\n".join(f"{k} = {carrier(k, v)}" for k, v in found.items()) + "\n"
    sse = "".join(f"data: {carrier(k, v)}\n\n" for k, v in found.items() if k in ONE_LINE)
    for mode, task in tasks.items():
        with client(task) as c:
            for name in ONE_LINE:  # headers (one line each)
                case = f"leak-{run}-{mode}-hdr-{name}"
                resp = c.get(
                    f"{upstream.url}/echo?case={case}",
                    headers={"X-Leak": carrier(name, found[name])},
                )
                cases.append(case)
                if mode == "block":
                    refusals.append(resp.text)
                else:  # the upstream echoes request headers back: inbound must catch them
                    assert found[name] not in resp.text
            case = f"leak-{run}-{mode}-auth"
            resp = c.get(
                f"{upstream.url}/echo?case={case}",
                headers={"Authorization": f"Bearer {found['jwt']}"},
            )
            cases.append(case)
            assert found["jwt"] not in resp.text
            case = f"leak-{run}-{mode}-body"
            resp = c.post(
                f"{upstream.url}/echo?case={case}",
                content=body,
                headers={"content-type": "application/json"},
            )
            cases.append(case)
            if mode == "block":
                refusals.append(resp.text)
            case = f"leak-{run}-{mode}-reveal"
            resp = c.get(reveal(upstream, text, case))
            cases.append(case)
            (refusals if mode == "block" else []).append(resp.text)
            if mode != "block":
                assert all(found[k] not in resp.text for k in found)
                case = f"leak-{run}-{mode}-sse"
                resp = c.get(reveal(upstream, sse, case, sse="1", parts="4"))
                cases.append(case)
                assert all(found[k] not in resp.text for k in ONE_LINE)
    return cases, refusals


def files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    hits.append(str(path.relative_to(root)))
            except OSError:
                continue
    return hits


def base64_forms(value: bytes) -> list[bytes]:
    """The base64 of ``value`` at each of the three alignments it can have inside a
    longer base64 string (trimmed to the characters that do not depend on neighbours)."""
    out = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value)
        start = 4 * ((shift + 2) // 3) if shift else 0
        out.append(encoded[start : len(encoded) - 4])
    return [o for o in out if len(o) >= 12]


def test_no_secret_is_stored_logged_or_echoed(
    airlock: AirlockInstance,
    upstream: HttpsUpstream,
    tasks: dict[str, dict[str, Any]],
    auditor_key: str,
) -> None:
    found = fake_secrets()
    cases, refusals = send_everything(tasks, upstream, found)
    assert len(refusals) == len(ONE_LINE) + 2
    assert all(json.loads(r)["reason"] == "secret_detected" for r in refusals)

    def all_recorded(events: list[dict[str, Any]]) -> bool:
        queries = " ".join(e["query"] for e in events)
        return all(case in queries for case in cases)

    airlock.wait_events(auditor_key, all_recorded, timeout=30, kind="secret-finding")
    events = json.dumps(airlock.all_events(auditor_key)).encode()
    spool = b"".join(p.read_bytes() for p in (airlock.home / "spool").rglob("*") if p.is_file())
    assert spool  # the spool really has the events
    log = airlock.log.read_bytes()
    leaks = []
    for name, value in found.items():
        for needle in needles(name, value):
            if needle in events:
                leaks.append(f"{name}: events API")
            if where := files_containing(airlock.home, needle):
                leaks.append(f"{name}: files {where}")
            if needle in log:
                leaks.append(f"{name}: airlock.log")
            if any(needle.decode() in r for r in refusals):
                leaks.append(f"{name}: refusal text")
        if any(form in spool for form in base64_forms(value.encode())):
            leaks.append(f"{name}: base64 in the spool")
    assert leaks == []


def test_no_secret_from_the_url_reaches_the_events(
    airlock: AirlockInstance,
    upstream: HttpsUpstream,
    tasks: dict[str, dict[str, Any]],
    auditor_key: str,
) -> None:
    found = fake_secrets()
    case = f"leak-url-{secrets.token_hex(3)}"
    with client(tasks["redact"]) as c:
        resp = c.get(f"{upstream.url}/echo/{found['github']}?case={case}&q={found['slack']}")
    assert resp.status_code == 404  # the upstream got the (redacted) path
    airlock.wait_events(
        auditor_key,
        lambda ev: sum(case in e["query"] for e in ev) >= 2,
        kind="secret-finding",
        task_id=tasks["redact"]["task_id"],
    )
    events = json.dumps(airlock.all_events(auditor_key))
    assert found["github"] not in events
    assert found["slack"] not in events
