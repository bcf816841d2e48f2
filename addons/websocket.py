"""Record every WebSocket message before it is forwarded (after redaction).

Order in the chain: after Redaction (which may redact or drop the message and
records its secret findings), so the event says what was really forwarded. If
the spool cannot take the event, the message is dropped: nothing passes
unrecorded.
"""

from __future__ import annotations

import logging

from mitmproxy import http

from addons.state import record
from gateway.egress.websocket import MessageFacts, message_event
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime

log = logging.getLogger("airlock.websocket")

SEEN_KEY = "airlock-ws"  # (messages recorded, secret hits already accounted for)


class WebSocketAudit:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        rec = record(flow)
        message = flow.websocket.messages[-1]
        seq, hits_before = flow.metadata.get(SEEN_KEY, (0, 0))
        findings = len(rec.secret_hits) - hits_before
        action = rec.secret_actions[-1] if findings else "forwarded"
        facts = MessageFacts(
            seq=seq + 1,
            from_client=message.from_client,
            text=message.is_text,
            size=0 if message.dropped else len(message.content),
            findings=findings,
            action="dropped" if message.dropped else action,
        )
        flow.metadata[SEEN_KEY] = (seq + 1, len(rec.secret_hits))
        try:
            await self._runtime.spool.append(
                message_event(rec, self._runtime.settings.gateway_id, facts)
            )
        except SpoolError as exc:
            log.error("audit spool refused a WebSocket message event: %s", exc)
            message.drop()  # never forward a message unrecorded
        del flow.websocket.messages[:-1]  # recorded; a long session must not pile up
