"""Create-once key files in ``$AIRLOCK_HOME``: atomic, 0600, never half-written."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.errors import ConfigError


def load_or_create_key(path: Path, size: int = 32) -> bytes:
    """The key in ``path``; made from ``size`` random bytes if missing.

    The file appears whole or not at all (written aside, then hard-linked into
    place), so two processes starting together agree on one key.
    """
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(size))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won: use its key
        finally:
            tmp.unlink()
    key = path.read_bytes()
    if len(key) != size:
        raise ConfigError(f"{path} must hold exactly {size} bytes, found {len(key)}")
    return key
