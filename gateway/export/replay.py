"""Replay a window of the audit trail, read through the query API, in a SIEM format.

Events are read oldest first (``order=asc``) with cursor pagination, so a window of
any size streams through in pages. API rows become ``AuditEvent``s again; columns
the model does not know (added by a newer store) are ignored. A file is written
aside and renamed into place once complete: a failed replay leaves no partial file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from gateway.audit.events import AuditEvent
from gateway.errors import AirlockError, InvalidRequestError
from gateway.export.formats import FORMAT_NAMES, render
from gateway.export.formats.fields import utc

PAGE_SIZE = 1000
ApiGet = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Window:
    """Which events to replay: ``since <= ts < until``, optionally one agent/task/kind."""

    since: datetime
    until: datetime
    agent: str | None = None
    task_id: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if utc(self.since) >= utc(self.until):
            raise InvalidRequestError("--from must be before --to")

    def params(self) -> dict[str, Any]:
        iso = "%Y-%m-%dT%H:%M:%S.%fZ"
        return {
            "from": utc(self.since).strftime(iso),
            "to": utc(self.until).strftime(iso),
            "agent": self.agent,
            "task_id": self.task_id,
            "kind": self.kind,
            "order": "asc",
            "limit": PAGE_SIZE,
        }


def row_to_event(row: Mapping[str, Any]) -> AuditEvent:
    """An event object of the query API as an ``AuditEvent``; unknown columns ignored."""
    known = {k: v for k, v in row.items() if k in AuditEvent.model_fields}
    try:
        return AuditEvent.model_validate(known)
    except ValueError as exc:  # pydantic's ValidationError is one; so is an unknown kind
        reason = str(exc).splitlines()[0]
        raise AirlockError(f"cannot read event {row.get('event_id')!r}: {reason}") from None


def fetch(get: ApiGet, window: Window) -> Iterator[AuditEvent]:
    """Every event of the window, oldest first, page by page."""
    params = window.params()
    cursor: str | None = None
    while True:
        body = get("/v1/events", {**params, "cursor": cursor})
        for row in body["events"]:
            yield row_to_event(row)
        cursor = body.get("next_cursor")
        if not cursor:
            return


def write_lines(events: Iterable[AuditEvent], fmt: str, out: TextIO) -> int:
    """One rendered record per line; returns how many."""
    count = 0
    for event in events:
        out.write(render(fmt, event) + "\n")
        count += 1
    return count


def replay(get: ApiGet, window: Window, fmt: str, out: str, stdout: TextIO) -> int:
    """Write the window in ``fmt`` to the file ``out`` (``-``: ``stdout``); returns the count."""
    if fmt not in FORMAT_NAMES:
        raise InvalidRequestError(
            f"unknown export format {fmt!r}: one of {', '.join(FORMAT_NAMES)}"
        )
    if out == "-":
        return write_lines(fetch(get, window), fmt, stdout)
    target = Path(out)
    aside = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with open(aside, "w", encoding="utf-8", newline="\n") as file:
            count = write_lines(fetch(get, window), fmt, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(aside, target)
    except OSError as exc:
        aside.unlink(missing_ok=True)
        raise AirlockError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        aside.unlink(missing_ok=True)
        raise
    return count
