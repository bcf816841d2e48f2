"""Control-plane changes as audit events, written by whichever process made them.

Each CLI invocation that changes state appends its events durably to a spool
stream of its own (``cli-<uuid>``), so no two writers share a stream; the store's
shipper ships them like any other and removes the stream once it is shipped and
its writer is gone. Each such stream is a short hash chain of its own.
"""

from __future__ import annotations

import uuid

from gateway.audit.events import AuditEvent
from gateway.audit.sealer import open_chain
from gateway.config import Settings

CLI_STREAM_PREFIX = "cli-"


def record(settings: Settings, *events: AuditEvent) -> None:
    """Append ``events`` durably (fsync) and seal them with a final signed checkpoint
    before the command reports success."""
    if not events:
        return
    writer = open_chain(settings, f"{CLI_STREAM_PREFIX}{uuid.uuid4().hex[:12]}")
    try:
        writer.write(list(events))
        writer.checkpoint(final=True)
    finally:
        writer.close()
