"""One real chDB store for the dashboard tests, filled once with the fixture traffic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from gateway.audit.store import ChdbStore, open_store
from tests.dashboards.audit_fixture import Shipped, load
from tests.support.grafana import TimeRange


@pytest.fixture(scope="package")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    s = open_store(None, tmp_path_factory.mktemp("chdb"))  # runs the real migrations
    assert isinstance(s, ChdbStore)
    yield s
    s.close()  # chDB allows one open data directory per process


@pytest.fixture(scope="package")
def shipped(store: ChdbStore, tmp_path_factory: pytest.TempPathFactory) -> Shipped:
    return load(store, tmp_path_factory.mktemp("home") / "spool")


@pytest.fixture(scope="package")
def rng(shipped: Shipped) -> TimeRange:
    """The dashboard time range: the fixture traffic, the checkpoints and the shipping."""
    return TimeRange(
        shipped.base - timedelta(minutes=1), shipped.ship_end + timedelta(minutes=1), 60
    )
