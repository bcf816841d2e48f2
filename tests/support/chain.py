"""Audit test helpers: chain writers over real spool files with a real signing key."""

from __future__ import annotations

from pathlib import Path

from gateway.audit.sealer import ChainWriter
from gateway.audit.signing import Signer, load_signer
from gateway.audit.spool import SpoolWriter


def signer_in(directory: Path) -> Signer:
    return load_signer(directory / "audit-signing.key")


def chain_in(spool: Path, stream: str, *, segment_bytes: int = 16 << 20) -> ChainWriter:
    """A chain writer for ``spool/stream`` named ``gw/<stream>``, keyed in ``spool/..``."""
    writer = SpoolWriter(spool, stream, segment_bytes=segment_bytes)
    return ChainWriter(writer, f"gw/{stream}", signer_in(spool.parent), "gw")
