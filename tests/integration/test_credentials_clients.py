"""Real clients with placeholders: git and pip against servers that demand the real secret."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.airlock import AirlockInstance, client_env
from tests.support.git_server import GitHttpsServer, git_env
from tests.support.pypi_server import PROBE_MODULE, PROBE_NAME, PypiHttpsServer
from tests.support.tls import TestCA

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def private_git(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[tuple[GitHttpsServer, str]]:
    password = "git-" + secrets.token_hex(20)
    with GitHttpsServer(tmp_path_factory.mktemp("pgit"), test_ca) as server:
        server.require_basic = ("deploy", password)
        yield server, password


@pytest.fixture(scope="module")
def private_pypi(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[tuple[PypiHttpsServer, str]]:
    token = "pypi-" + secrets.token_urlsafe(40)
    with PypiHttpsServer(tmp_path_factory.mktemp("ppypi"), test_ca) as server:
        server.require_basic = ("__token__", token)
        yield server, token


def test_git_clone_with_placeholder_password(
    airlock: AirlockInstance, tmp_path: Path, private_git: tuple[GitHttpsServer, str]
) -> None:
    server, password = private_git
    airlock.add_profile(
        "pgit",
        [
            {
                "host": "localhost",
                "ports": [server.port],
                "methods": ["GET", "POST"],
                "allow_private": True,
            }
        ],
    )
    airlock.cli(
        "cred",
        "add",
        "git-deploy",
        "--kind",
        "basic",
        "--value-env",
        "GITPW",
        "--hosts",
        "localhost",
        env={"GITPW": f"deploy:{password}"},
    )
    task = json.loads(
        airlock.cli(
            "task",
            "create",
            "--agent",
            "git-broker",
            "--profile",
            "pgit",
            "--grant",
            "git-deploy",
            "--json",
        ).stdout
    )
    placeholder = task["credentials"]["git-deploy"]
    url = server.clone_url.replace("https://", f"https://deploy:{placeholder}@")
    out = subprocess.run(
        ["git", "clone", "-q", url, str(tmp_path / "c")],
        env=git_env(client_env(task)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    head = subprocess.run(
        ["git", "-C", str(tmp_path / "c"), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert head == server.head_sha
    seen = json.dumps([r.headers for r in server.requests])
    assert placeholder not in seen  # the server never saw the placeholder


def test_pip_install_with_placeholder_token_in_index_url(
    airlock: AirlockInstance, tmp_path: Path, private_pypi: tuple[PypiHttpsServer, str]
) -> None:
    server, token = private_pypi
    airlock.add_profile(
        "ppypi",
        [{"host": "localhost", "ports": [server.port], "methods": ["GET"], "allow_private": True}],
    )
    airlock.cli(
        "cred",
        "add",
        "pypi-private",
        "--kind",
        "basic",
        "--value-env",
        "PYPITOKEN",
        "--hosts",
        "localhost",
        env={"PYPITOKEN": f"__token__:{token}"},
    )
    task = json.loads(
        airlock.cli(
            "task",
            "create",
            "--agent",
            "pip-broker",
            "--profile",
            "ppypi",
            "--grant",
            "pypi-private",
            "--json",
        ).stdout
    )
    placeholder = task["credentials"]["pypi-private"]
    index = server.index_url.replace("https://", f"https://__token__:{placeholder}@")
    env = client_env(task)
    env["PIP_CONFIG_FILE"] = "/dev/null"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            index,
            "--target",
            str(tmp_path / "site"),
            PROBE_NAME,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "site" / PROBE_MODULE).is_dir()
    assert token not in out.stdout + out.stderr
