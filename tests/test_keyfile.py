"""Key files: created once, atomically, 0600; a damaged one is a clear error."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.keyfile import load_or_create_key


def test_created_once_with_private_mode(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.key")
    assert len(key) == 32
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path / "k.key") == key


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_or_create_key(tmp_path / "k")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["k"]  # no temporary files left


def test_wrong_size_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "k").write_bytes(b"short")
    with pytest.raises(ConfigError, match="exactly 32 bytes"):
        load_or_create_key(tmp_path / "k")
