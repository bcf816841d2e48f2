"""Write events to a spool stream as links of its hash chain, with signed checkpoints.

``ChainWriter`` owns one :class:`SpoolWriter` and the chain head. It gives each
event its ``seq``, ``prev_hash`` and ``hash`` at the moment it is written, so the
chain order is the durable order. On start it recovers the head from the newest
complete record in the spool (a torn tail is ignored: it was never acknowledged)
or, when everything was shipped and deleted, from the shipper's cursor.

A checkpoint is itself an event of the chain (kind ``audit-checkpoint``) that
signs the head before it. Checkpoints are written every ``checkpoint_seconds``
even when idle, and a ``final`` one on a clean close: a verifier then knows how
far a chain must reach, so cutting its tail off is detectable.
"""

from __future__ import annotations

from pathlib import Path

from gateway.audit.chain import Head, canonical_ts, seal
from gateway.audit.cursor import CURSOR_FILE, Cursor, preallocate
from gateway.audit.events import AuditEvent, now_utc
from gateway.audit.signing import Signer, checkpoint_message, load_signer
from gateway.audit.spool import SpoolWriter, last_record
from gateway.config import Settings
from gateway.errors import SpoolError


def recover_head(stream_dir: Path) -> Head:
    raw = last_record(stream_dir)
    if raw is not None:
        try:
            event = AuditEvent.from_bytes(raw)
        except ValueError:
            event = None
        if event is not None and event.seq:
            return Head(event.seq, event.hash)
    try:
        shipped = Cursor.load(stream_dir / CURSOR_FILE).head
    except (OSError, ValueError, KeyError, TypeError):
        shipped = None
    return Head(shipped[0], shipped[1]) if shipped else Head()


class ChainWriter:
    """Not thread-safe: one committer thread (or one CLI command) owns it."""

    def __init__(self, writer: SpoolWriter, stream: str, signer: Signer, gateway_id: str) -> None:
        self._writer = writer
        self.stream = stream
        self._signer = signer
        self._gateway_id = gateway_id
        self.head = recover_head(writer.stream_dir)
        try:
            preallocate(writer.stream_dir)  # so the shipper can save it on a full disk
        except OSError:
            pass  # the disk is full already: the shipper allocates it at its first save

    def write(self, events: list[AuditEvent]) -> list[AuditEvent]:
        """Seal and append ``events`` durably; the head moves only if the write succeeds."""
        head = self.head
        sealed = []
        for event in events:
            linked = seal(event, self.stream, head)
            sealed.append(linked)
            head = Head(linked.seq, linked.hash)
        try:
            self._writer.write([event.to_bytes() for event in sealed])
        except SpoolError as exc:
            if exc.kept:  # on disk and maybe shipped already: part of the chain now
                self.head = Head(sealed[exc.kept - 1].seq, sealed[exc.kept - 1].hash)
            raise
        self.head = head
        return sealed

    def checkpoint(self, *, final: bool = False, interval: float = 0.0) -> AuditEvent:
        """Sign the head; ``interval`` tells verifiers how often to expect the next one."""
        ts = now_utc()
        message = checkpoint_message(
            self.stream, self.head.seq, self.head.hash, canonical_ts(ts), final
        )
        event = AuditEvent(
            kind="audit-checkpoint",
            ts=ts,
            gateway_id=self._gateway_id,
            detail={
                "head_seq": str(self.head.seq),
                "head_hash": self.head.hash,
                "final": "true" if final else "false",
                "interval_s": f"{interval:g}",
                "key_id": self._signer.key_id,
                "signature": self._signer.sign(message),
            },
        )
        return self.write([event])[0]

    @property
    def stream_dir(self) -> Path:
        return self._writer.stream_dir

    def close(self) -> None:
        self._writer.close()


def open_chain(settings: Settings, stream: str) -> ChainWriter:
    """Spool stream ``stream`` written as the hash chain ``<gateway_id>/<stream>``."""
    writer = SpoolWriter(settings.spool_dir, stream, segment_bytes=settings.spool_segment_bytes)
    try:
        signer = load_signer(
            settings.audit_key_path, create=settings.audit_signing_key_file is None
        )
        return ChainWriter(writer, f"{settings.gateway_id}/{stream}", signer, settings.gateway_id)
    except BaseException:
        writer.close()
        raise
