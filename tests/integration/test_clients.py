"""Real package and source clients through the proxy: pip and git over HTTPS."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.airlock import AirlockInstance, client_env
from tests.support.git_server import GitHttpsServer, git_env
from tests.support.pypi_server import PROBE_MODULE, PROBE_NAME, PypiHttpsServer
from tests.support.tls import TestCA

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pypi(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[PypiHttpsServer]:
    with PypiHttpsServer(tmp_path_factory.mktemp("pypi"), test_ca) as server:
        yield server


@pytest.fixture(scope="module")
def git_server(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[GitHttpsServer]:
    with GitHttpsServer(tmp_path_factory.mktemp("git"), test_ca) as server:
        yield server


def test_pip_install_through_proxy(
    airlock: AirlockInstance, pypi: PypiHttpsServer, tmp_path: Path, auditor_key: str
) -> None:
    airlock.add_profile(
        "pip",
        [{"host": "localhost", "ports": [pypi.port], "methods": ["GET"], "allow_private": True}],
    )
    task = airlock.create_task("pip-agent", "pip")
    env = client_env(task)
    env["PIP_CONFIG_FILE"] = "/dev/null"
    target = tmp_path / "site"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            pypi.index_url,
            "--target",
            str(target),
            PROBE_NAME,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    check = subprocess.run(
        [sys.executable, "-c", f"import {PROBE_MODULE} as m; print(m.VALUE)"],
        env={**env, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "42"
    events = airlock.wait_events(
        auditor_key,
        lambda ev: any(e["path"].endswith(".whl") for e in ev),
        task_id=task["task_id"],
        kind="http-request",
    )
    assert all(e["decision"] == "allow" and e["policy_revision"] for e in events)


def test_git_clone_through_proxy(
    airlock: AirlockInstance, git_server: GitHttpsServer, tmp_path: Path, auditor_key: str
) -> None:
    airlock.add_profile(
        "git",
        [
            {
                "host": "localhost",
                "ports": [git_server.port],
                "methods": ["GET", "POST"],
                "allow_private": True,
            }
        ],
    )
    task = airlock.create_task("git-agent", "git")
    env = git_env(client_env(task))
    dest = tmp_path / "clone"
    out = subprocess.run(
        ["git", "clone", "-q", git_server.clone_url, str(dest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    head = subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "HEAD"], capture_output=True, text=True, env=env
    ).stdout.strip()
    assert head == git_server.head_sha
    events = airlock.wait_events(
        auditor_key,
        lambda ev: any("git-upload-pack" in e["path"] for e in ev),
        task_id=task["task_id"],
    )
    assert {e["decision"] for e in events if e["kind"] == "http-request"} == {"allow"}


def test_git_push_refused_when_profile_is_read_only(
    airlock: AirlockInstance, git_server: GitHttpsServer, tmp_path: Path
) -> None:
    airlock.add_profile(
        "git-ro",
        [
            {
                "host": "localhost",
                "ports": [git_server.port],
                "methods": ["GET"],
                "allow_private": True,
            }
        ],
    )
    task: dict[str, Any] = airlock.create_task("git-ro-agent", "git-ro")
    env = git_env(client_env(task))
    out = subprocess.run(
        ["git", "clone", "-q", git_server.clone_url, str(tmp_path / "c")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "403" in out.stderr
