"""Shared fixtures: one test CA, loopback upstreams, one running Airlock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.airlock import AirlockInstance
from tests.support.tls import TestCA, make_ca
from tests.support.upstream import HttpsUpstream


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def upstream(test_ca: TestCA) -> Iterator[HttpsUpstream]:
    with HttpsUpstream(tls=test_ca) as up:
        yield up


@pytest.fixture(scope="session")
def plain_upstream() -> Iterator[HttpsUpstream]:
    with HttpsUpstream(tls=None) as up:
        yield up


@pytest.fixture(scope="session")
def airlock(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[AirlockInstance]:
    instance = AirlockInstance(tmp_path_factory.mktemp("airlock"), upstream_ca=test_ca.cert_path)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def auditor_key(airlock: AirlockInstance) -> str:
    return airlock.api_key("auditor")
