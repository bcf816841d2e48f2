"""Record the agent runtime's correlation headers, then strip them.

``X-Airlock-Session`` names the conversation, ``X-Airlock-Workflow`` the workflow
run. They go on every event and never leave the gateway.
"""

from __future__ import annotations

from mitmproxy import http

from addons.state import record

SESSION_HEADER = "X-Airlock-Session"
WORKFLOW_HEADER = "X-Airlock-Workflow"
MAX_LEN = 128


def _clean(value: str | None) -> str:
    if not value:
        return ""
    return "".join(c for c in value[:MAX_LEN] if c.isprintable())


class Correlation:
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        rec.session = _clean(flow.request.headers.pop(SESSION_HEADER, None))
        rec.workflow = _clean(flow.request.headers.pop(WORKFLOW_HEADER, None))
