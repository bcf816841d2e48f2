"""Tests for tests.support.pypi_server: real ``pip install`` directly over HTTPS."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.env import direct_env
from tests.support.pypi_server import PROBE_NAME, PypiHttpsServer, build_wheel
from tests.support.tls import TestCA


@pytest.fixture(scope="module")
def pypi(support_ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiHttpsServer]:
    with PypiHttpsServer(tmp_path_factory.mktemp("pypi"), support_ca) as srv:
        yield srv


def test_wheel_layout(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    assert wheel.name == "airlock_probe_pkg-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        record = zf.read("airlock_probe_pkg-1.0.0.dist-info/RECORD").decode()
    assert {
        "airlock_probe_pkg/__init__.py",
        "airlock_probe_pkg-1.0.0.dist-info/METADATA",
        "airlock_probe_pkg-1.0.0.dist-info/WHEEL",
    } <= names
    assert "airlock_probe_pkg-1.0.0.dist-info/RECORD,," in record


def test_simple_index(pypi: PypiHttpsServer, support_ca: TestCA) -> None:
    s = requests.Session()
    s.trust_env = False
    s.verify = str(support_ca.cert_path)
    assert pypi.index_url == f"https://localhost:{pypi.port}/simple/"
    assert PROBE_NAME in s.get(pypi.index_url).text
    page = s.get(f"{pypi.index_url}Airlock_Probe.Pkg")  # redirects to normalised name
    assert page.url.endswith(f"/simple/{PROBE_NAME}/")
    assert f"#sha256={pypi.wheel_sha256}" in page.text
    wheel = s.get(f"{pypi.url}/files/{pypi.wheel_path.name}").content
    assert hashlib.sha256(wheel).hexdigest() == pypi.wheel_sha256


def test_pip_install_direct(pypi: PypiHttpsServer, support_ca: TestCA, tmp_path: Path) -> None:
    target = tmp_path / "site"
    env = direct_env({"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INPUT": "1"})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--index-url",
            pypi.index_url,
            "--cert",
            str(support_ca.cert_path),
            "--no-cache-dir",
            "--target",
            str(target),
            PROBE_NAME,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = subprocess.run(
        [sys.executable, "-c", "import airlock_probe_pkg as m; print(m.VALUE)"],
        env={**env, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.stdout.strip() == "42", check.stderr
    assert any(p.startswith("/files/") for _, p, _ in pypi.requests)
