"""ChdbStore parameters reach ClickHouse exactly as given (chDB binds them as text)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit.store import ChdbStore

AWKWARD = ["a\\tb", "C:\\new", "line\nbreak", "tab\there", "q'uote", 'd"q', "ünï", "plain", ""]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    s = ChdbStore(Path(tmp_path_factory.mktemp("chdb")))
    yield s
    s.close()


@pytest.mark.parametrize("value", AWKWARD)
def test_string_parameters_round_trip(store: ChdbStore, value: str) -> None:
    assert store.query("SELECT {v:String} AS v", {"v": value}) == [{"v": value}]


def test_array_parameters_round_trip(store: ChdbStore) -> None:
    rows = store.query("SELECT {v:Array(String)} AS v", {"v": AWKWARD})
    assert rows == [{"v": AWKWARD}]
