"""Name the destination of a transparently redirected request, before policy sees it.

mitmproxy sets a transparent request's host to the original destination address
(``SO_ORIGINAL_DST``). Policy is written in names, so when the sandbox claims one
(TLS SNI, else the Host header) and that name really points at the original
destination (gateway/transparent/names.py), the request's host becomes the name and
everything after this addon (policy, credentials, redaction, audit) sees the same
request it would in explicit mode. A claim that does not hold is refused.
"""

from __future__ import annotations

from mitmproxy import http
from mitmproxy.proxy import mode_specs

from addons.state import describe, record, refuse
from gateway.egress.destination import ip_literal, split_host_header
from gateway.egress.verdict import Verdict
from gateway.runtime import ProxyRuntime


def is_transparent(flow: http.HTTPFlow) -> bool:
    return isinstance(flow.client_conn.proxy_mode, mode_specs.TransparentMode)


class Transparent:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if not is_transparent(flow) or flow.response is not None:
            return
        rec = record(flow)
        parts = self._runtime.transparent
        if rec.task is None or parts is None:
            return  # identity already refused, or Policy refuses: no task
        original = flow.client_conn.sockname or (flow.request.host, flow.request.port)
        header = flow.request.host_header
        claimed = flow.client_conn.sni or (split_host_header(header) if header else None)
        client = ip_literal(rec.client_addr) or rec.client_addr  # as the DNS listener saw it
        outcome = await parts.namer.name(
            rec.task, client, (str(original[0]), int(original[1])), claimed
        )
        if isinstance(outcome, Verdict):
            refuse(flow, outcome)
            return
        flow.request.data.host = outcome  # the Host header the client sent stays as it was
        describe(flow)
