"""The audit hash chain: how an event is hashed and linked to the one before.

Each writer stream (``<gateway_id>/<spool stream>``) is one chain. An event's
``hash`` is SHA-256 over the RFC 8785 form of its *header* plus the SHA-256 of
its *body*::

    body_sha256 = sha256(JCS(body)).hex()
    hash        = sha256(JCS({**header, "body_sha256": body_sha256})).hex()

The header (``HEADER_FIELDS``) says who and when; the body is every other field.
Splitting them lets an evidence bundle prove that an event it leaves out is not
the agent's (its header is shown, its body only as a digest) without revealing
other agents' traffic. ``prev_hash`` is the previous event's ``hash`` (``GENESIS``
for ``seq`` 1), so an edit, a gap or a reordering breaks the chain.

The hashed field set is fixed per ``schema_version``; a schema that gains fields
gets a new version and a new list, so old events keep verifying.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.audit.canonical import canonical_json
from gateway.audit.events import AuditEvent

GENESIS = "0" * 64
HEADER_FIELDS = (
    "schema_version",
    "stream",
    "seq",
    "prev_hash",
    "event_id",
    "ts",
    "kind",
    "tenant",
    "agent",
    "task_id",
)
BODY_FIELDS = {
    2: (
        "code",
        "severity",
        "request_id",
        "session",
        "workflow",
        "method",
        "scheme",
        "host",
        "port",
        "path",
        "query",
        "status",
        "decision",
        "rules",
        "reasons",
        "policy_revision",
        "bytes_in",
        "bytes_out",
        "duration_ms",
        "client_addr",
        "gateway_id",
        "detail",
    )
}
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Head:
    """The last event of a chain: the next one gets ``seq + 1`` and links to ``hash``."""

    seq: int = 0
    hash: str = GENESIS


def canonical_ts(value: datetime | str) -> str:
    """Timestamps as hashed: UTC, always six fractional digits, ``Z``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TS_FORMAT)


def chain_view(fields: dict[str, Any]) -> dict[str, Any]:
    """The hashed fields of an event given as a dict (a model dump or a ClickHouse row)."""
    version = int(fields["schema_version"])
    if version not in BODY_FIELDS:
        raise ValueError(f"schema_version {version} has no hash chain")
    view = {name: fields[name] for name in (*HEADER_FIELDS, *BODY_FIELDS[version])}
    view["ts"] = canonical_ts(view["ts"])
    view["schema_version"] = version
    view["seq"] = int(view["seq"])
    view["port"], view["status"] = int(view["port"]), int(view["status"])
    view["bytes_in"], view["bytes_out"] = int(view["bytes_in"]), int(view["bytes_out"])
    view["duration_ms"] = float(view["duration_ms"])
    view["rules"], view["reasons"] = list(view["rules"]), list(view["reasons"])
    detail = view["detail"]
    view["detail"] = json.loads(detail) if isinstance(detail, str) else dict(detail)
    return view


def event_view(event: AuditEvent) -> dict[str, Any]:
    return chain_view(event.model_dump())


def split(view: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(header, body_sha256) of a chain view."""
    header = {name: view[name] for name in HEADER_FIELDS}
    body = {name: view[name] for name in BODY_FIELDS[view["schema_version"]]}
    return header, hashlib.sha256(canonical_json(body)).hexdigest()


def header_hash(header: dict[str, Any], body_sha256: str) -> str:
    return hashlib.sha256(canonical_json({**header, "body_sha256": body_sha256})).hexdigest()


def compute_hash(view: dict[str, Any]) -> str:
    header, body_sha256 = split(view)
    return header_hash(header, body_sha256)


def seal(event: AuditEvent, stream: str, head: Head) -> AuditEvent:
    """``event`` as the next link after ``head`` in ``stream``, hash included."""
    linked = event.model_copy(
        update={"stream": stream, "seq": head.seq + 1, "prev_hash": head.hash, "hash": ""}
    )
    return linked.model_copy(update={"hash": compute_hash(event_view(linked))})
