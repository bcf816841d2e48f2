"""SIEM formats: each a pure function from an ``AuditEvent`` to one line of text.

``render(fmt, event)`` returns one record without a trailing newline; the JSON formats
are compact. Unknown event kinds render too (OCSF Base Event, generic categories).
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.audit.events import AuditEvent
from gateway.errors import InvalidRequestError
from gateway.export.formats import cef, ecs, hec, leef, ocsf
from gateway.export.formats.ocsf import OCSF_VERSION

FORMAT_NAMES = ("ocsf", "cef", "leef", "ecs", "hec")

RENDERERS: dict[str, Callable[[AuditEvent], str]] = {
    "ocsf": ocsf.render,
    "cef": cef.render,
    "leef": leef.render,
    "ecs": ecs.render,
    "hec": hec.render,
}


def render(fmt: str, event: AuditEvent) -> str:
    """``event`` in format ``fmt`` (one of ``FORMAT_NAMES``), as one line."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise InvalidRequestError(
            f"unknown export format {fmt!r}: one of {', '.join(FORMAT_NAMES)}"
        ) from None
    return renderer(event)


__all__ = ["FORMAT_NAMES", "OCSF_VERSION", "render"]
