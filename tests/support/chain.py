"""Audit test helpers: chain writers over real spool files with a real signing key."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from gateway.audit.events import AuditEvent
from gateway.audit.sealer import ChainWriter
from gateway.audit.signing import Signer, load_signer
from gateway.audit.spool import SpoolWriter


def signer_in(directory: Path) -> Signer:
    return load_signer(directory / "audit-signing.key")


def chain_in(spool: Path, stream: str, *, segment_bytes: int = 16 << 20) -> ChainWriter:
    """A chain writer for ``spool/stream`` named ``gw/<stream>``, keyed in ``spool/..``."""
    writer = SpoolWriter(spool, stream, segment_bytes=segment_bytes)
    return ChainWriter(writer, f"gw/{stream}", signer_in(spool.parent), "gw")


def requests(agent_of: list[str], start: datetime, task: str = "t") -> list[AuditEvent]:
    """One http-request per entry of ``agent_of``, a second apart from ``start``."""
    return [
        AuditEvent(
            kind="http-request",
            ts=start + timedelta(seconds=i),
            tenant="acme",
            agent=agent,
            task_id=f"{task}-{agent}",
            host=f"host{i}.example",
            path=f"/p/{i}",
            decision="allow",
            status=200,
            duration_ms=i / 7,
            rules=("network.allow",),
            detail={"note": f"n{i}"},
        )
        for i, agent in enumerate(agent_of)
    ]


def write_chain(
    spool: Path, stream: str, batches: list[list[AuditEvent]], *, final: bool = True
) -> ChainWriter:
    """Write each batch followed by a checkpoint (the last one final if asked); closed."""
    writer = chain_in(spool, stream)
    writer.checkpoint(interval=1)
    for i, batch in enumerate(batches):
        writer.write(batch)
        writer.checkpoint(final=final and i == len(batches) - 1, interval=1)
    writer.close()
    return writer
