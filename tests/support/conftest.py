"""Fixtures for the tests of tests/support itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.env import CA_OVERRIDE_VARS, PROXY_VARS
from tests.support.tls import TestCA, make_ca
from tests.support.upstream import HttpsUpstream


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients in these tests must go direct to loopback and trust only what they're told."""
    for var in (*PROXY_VARS, *CA_OVERRIDE_VARS):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def support_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("support-ca"))


@pytest.fixture(scope="module")
def https_upstream(support_ca: TestCA) -> Iterator[HttpsUpstream]:
    with HttpsUpstream(tls=support_ca) as up:
        yield up


@pytest.fixture(scope="module")
def http_upstream() -> Iterator[HttpsUpstream]:
    with HttpsUpstream(tls=None) as up:
        yield up
