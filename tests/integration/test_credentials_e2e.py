"""Credential brokering through the real proxy: placeholders in, real values out."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import pytest

from tests.support.airlock import AirlockInstance, curl
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def brokered(
    airlock: AirlockInstance, upstream: HttpsUpstream, plain_upstream: HttpsUpstream
) -> dict[str, Any]:
    """A bearer and a basic credential for the HTTPS upstream only; the profile also
    allows the plain upstream, where the placeholders must not go."""
    airlock.add_profile(
        "brokered",
        [
            {"host": "localhost", "ports": [upstream.port], "allow_private": True},
            {"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True},
        ],
    )
    real_token = "sk-proj-" + secrets.token_urlsafe(40)
    real_password = "pw-" + secrets.token_hex(16)
    env = {"REAL_TOKEN": real_token, "REAL_BASIC": f"deploy:{real_password}"}
    out = airlock.cli(
        "cred",
        "add",
        "api-token",
        "--kind",
        "bearer",
        "--value-env",
        "REAL_TOKEN",
        "--hosts",
        "localhost",
        "--json",
        env=env,
    )
    assert real_token not in out.stdout + out.stderr
    airlock.cli(
        "cred",
        "add",
        "git-pass",
        "--kind",
        "basic",
        "--value-env",
        "REAL_BASIC",
        "--hosts",
        "localhost",
        env=env,
    )
    task = json.loads(
        airlock.cli(
            "task",
            "create",
            "--agent",
            "broker-agent",
            "--profile",
            "brokered",
            "--grant",
            "api-token",
            "--grant",
            "git-pass",
            "--json",
        ).stdout
    )
    time.sleep(6)  # the proxy loads credential values for leak detection every 5 s
    return {"task": task, "token": real_token, "password": real_password}


def upstream_saw(upstream: HttpsUpstream, marker: str) -> dict[str, str]:
    req = next(r for r in reversed(upstream.requests) if marker in r.path)
    return {k.lower(): v for k, v in req.headers}


def test_task_json_carries_placeholders(brokered: dict[str, Any]) -> None:
    task = brokered["task"]
    placeholder = task["credentials"]["api-token"]
    assert placeholder.startswith("sk-proj-") and "AIRLOCKPH" in placeholder
    assert task["env"]["API_TOKEN"] == placeholder
    assert brokered["token"] not in json.dumps(task)


def test_bearer_placeholder_is_swapped_and_echo_redacted(
    brokered: dict[str, Any], upstream: HttpsUpstream
) -> None:
    task = brokered["task"]
    placeholder = task["credentials"]["api-token"]
    out = curl(task, "-H", f"Authorization: Bearer {placeholder}", f"{upstream.url}/echo?c=bearer")
    seen = upstream_saw(upstream, "c=bearer")
    assert seen["authorization"] == f"Bearer {brokered['token']}"
    assert brokered["token"] not in out.stdout  # the echo came back redacted
    assert "REDACTED" in out.stdout


def test_basic_placeholder_inside_base64_is_swapped(
    brokered: dict[str, Any], upstream: HttpsUpstream
) -> None:
    task = brokered["task"]
    curl(task, "-u", f"deploy:{task['credentials']['git-pass']}", f"{upstream.url}/echo?c=basic")
    seen = upstream_saw(upstream, "c=basic")
    scheme, _, value = seen["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == f"deploy:{brokered['password']}"


def test_placeholder_to_another_host_is_refused_and_flagged(
    airlock: AirlockInstance,
    brokered: dict[str, Any],
    plain_upstream: HttpsUpstream,
    auditor_key: str,
) -> None:
    task = brokered["task"]
    placeholder = task["credentials"]["api-token"]
    out = curl(
        task,
        "-i",
        "-H",
        f"Authorization: Bearer {placeholder}",
        f"{plain_upstream.ip_url}/echo?c=exfil",
    )
    assert " 403 " in out.stdout.splitlines()[0]
    body = json.loads(out.stdout.split("\n\n", 1)[1])
    assert body["reason"] == "credential_not_allowed"
    assert all("c=exfil" not in r.path for r in plain_upstream.requests)
    events = airlock.wait_events(
        auditor_key, lambda ev: bool(ev), kind="credential-misuse", task_id=task["task_id"]
    )
    assert events[0]["severity"] == "high" and events[0]["detail"]["credential"] == "api-token"


def test_rotation_reaches_the_running_task(
    airlock: AirlockInstance, brokered: dict[str, Any], upstream: HttpsUpstream, auditor_key: str
) -> None:
    task = brokered["task"]
    placeholder = task["credentials"]["api-token"]
    new_token = "sk-proj-" + secrets.token_urlsafe(40)
    airlock.cli("cred", "rotate", "api-token", "--value-env", "NEW", env={"NEW": new_token})
    time.sleep(0.5)  # the broker caches values for identity_cache_seconds (0.2 s here)
    curl(task, "-H", f"Authorization: Bearer {placeholder}", f"{upstream.url}/echo?c=rotated")
    assert upstream_saw(upstream, "c=rotated")["authorization"] == f"Bearer {new_token}"
    events = airlock.wait_events(
        auditor_key,
        lambda ev: any(e["detail"].get("version") == "2" for e in ev),
        kind="credential-injected",
        task_id=task["task_id"],
    )
    versions = {e["detail"]["version"] for e in events if e["detail"]["credential"] == "api-token"}
    assert versions >= {"1", "2"}


def test_trace_answers_who_had_it_and_where_it_went(
    airlock: AirlockInstance, brokered: dict[str, Any]
) -> None:
    result = airlock.cli("cred", "trace", "api-token", "--json", check=False)
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)
    assert brokered["task"]["task_id"] in {g["task_id"] for g in trace["grants"]}
    kinds = {e["kind"] for e in trace["events"]}
    assert {"credential-added", "grant-created", "credential-injected"} <= kinds
    dumped = json.dumps(trace)
    assert brokered["token"] not in dumped and "AIRLOCKPH" not in dumped


def test_openai_sdk_sends_the_placeholder_and_never_sees_the_key(
    brokered: dict[str, Any], upstream: HttpsUpstream
) -> None:
    import httpx
    from openai import OpenAI

    task = brokered["task"]
    placeholder = task["credentials"]["api-token"]
    http_client = httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False)
    client = OpenAI(api_key=placeholder, base_url=f"{upstream.url}/v1", http_client=http_client)
    reply = client.chat.completions.create(
        model="stand-in", messages=[{"role": "user", "content": "hello"}]
    )
    content = reply.choices[0].message.content or ""
    seen = upstream_saw(upstream, "/v1/chat/completions")
    current = seen["authorization"].removeprefix("Bearer ")
    assert current.startswith("sk-proj-") and "AIRLOCKPH" not in current  # the real key went
    assert current not in content and "[REDACTED:" in content  # and never came back


def test_boto3_with_placeholder_keys_is_resigned_with_the_real_ones(
    airlock: AirlockInstance, upstream: HttpsUpstream, auditor_key: str
) -> None:
    import boto3
    from botocore.config import Config

    real_id = "AKIA" + "".join(
        secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)
    )
    real_secret = secrets.token_urlsafe(30)
    upstream.aws_keys = (real_id, real_secret)
    airlock.add_profile(
        "aws", [{"host": "localhost", "ports": [upstream.port], "allow_private": True}]
    )
    airlock.cli(
        "cred",
        "add",
        "aws-prod",
        "--kind",
        "aws",
        "--value-env",
        "AWSKEYS",
        "--hosts",
        "localhost",
        env={"AWSKEYS": f"{real_id}:{real_secret}"},
    )
    task = json.loads(
        airlock.cli(
            "task",
            "create",
            "--agent",
            "aws-agent",
            "--profile",
            "aws",
            "--grant",
            "aws-prod",
            "--json",
        ).stdout
    )
    env = task["env"]
    assert env["AWS_ACCESS_KEY_ID"].startswith("AKIA") and "AIRLOCKPH" in env["AWS_ACCESS_KEY_ID"]
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=f"{upstream.url}/aws/",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(proxies={"https": task["proxy_url"]}, retries={"max_attempts": 1}),
        verify=task["ca_cert"],
    )
    identity = sts.get_caller_identity()  # the stand-in accepts only the real keys' signature
    assert identity["Account"] == "123456789012"
    events = airlock.wait_events(
        auditor_key, lambda ev: bool(ev), kind="credential-injected", task_id=task["task_id"]
    )
    assert events[0]["detail"]["credential"] == "aws-prod"
    assert real_secret not in json.dumps(airlock.all_events(auditor_key))


def test_grant_can_end_before_the_task(
    airlock: AirlockInstance, brokered: dict[str, Any], upstream: HttpsUpstream
) -> None:
    task = json.loads(
        airlock.cli(
            "task",
            "create",
            "--agent",
            "short-grant",
            "--profile",
            "brokered",
            "--grant",
            "api-token",
            "--grant-ttl",
            "1s",
            "--json",
        ).stdout
    )
    placeholder = task["credentials"]["api-token"]
    time.sleep(1.5)
    out = curl(
        task,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        f"Authorization: Bearer {placeholder}",
        f"{upstream.url}/echo?c=expired",
    )
    assert out.stdout == "403"  # the task lives on, its grant does not


def test_no_credential_value_lands_anywhere(
    airlock: AirlockInstance, brokered: dict[str, Any], auditor_key: str
) -> None:
    """After injections, rotation, misuse and trace: the real values are nowhere on disk
    (spool, chDB, control DB: only sealed), in the log, the API or the CLI output."""
    values = [brokered["token"].encode(), brokered["password"].encode()]
    for path in airlock.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(v in data for v in values), path
    assert not any(v in airlock.log.read_bytes() for v in values)
    api = json.dumps(airlock.all_events(auditor_key)).encode()
    assert not any(v in api for v in values)
    for args in (
        ("cred", "list", "--json"),
        ("cred", "trace", "api-token", "--json"),
        ("task", "list", "--json"),
    ):
        out = airlock.cli(*args).stdout.encode()
        assert not any(v in out for v in values), args


def test_opt_in_body_field_injection(airlock: AirlockInstance, upstream: HttpsUpstream) -> None:
    import hashlib

    real = "key-" + secrets.token_hex(20)
    airlock.cli(
        "cred",
        "add",
        "form-key",
        "--kind",
        "raw",
        "--value-env",
        "FORMKEY",
        "--hosts",
        "localhost",
        "--body-field",
        "api_key",
        env={"FORMKEY": real},
    )
    task = json.loads(
        airlock.cli(
            "task",
            "create",
            "--agent",
            "body-agent",
            "--profile",
            "brokered",
            "--grant",
            "form-key",
            "--json",
        ).stdout
    )
    placeholder = task["credentials"]["form-key"]

    def post(body: str, content_type: str) -> dict[str, Any]:
        out = curl(
            task,
            "-X",
            "POST",
            "-H",
            f"Content-Type: {content_type}",
            "--data-binary",
            body,
            f"{upstream.url}/echo?c=body",
        )
        return dict(json.loads(out.stdout))

    opted = post(json.dumps({"api_key": placeholder, "q": "hi"}), "application/json")
    expected = json.dumps({"api_key": real, "q": "hi"}).encode()
    assert opted["body_sha256"] == hashlib.sha256(expected).hexdigest()
    form = post(f"q=hi&api_key={placeholder}", "application/x-www-form-urlencoded")
    assert form["body_sha256"] == hashlib.sha256(f"q=hi&api_key={real}".encode()).hexdigest()
    other = json.dumps({"note": placeholder})  # not an opted-in field: left as it is
    assert (
        post(other, "application/json")["body_sha256"] == hashlib.sha256(other.encode()).hexdigest()
    )
