"""Answer DNS queries from sandboxes (the DNS listener) only as policy allows.

mitmproxy's own ``DnsResolver`` addon resolves every name it is asked before any
later addon sees the query; a lookup of a made-up name is itself a message to
whoever runs that name's DNS. So the worker removes it before the listeners start
(addons/worker.py), this addon removes it at ``running`` when loaded some other
way, and an answer it made anyway is replaced by ours. Every query is answered
here (gateway/transparent/dns.py) and recorded durably before the answer is sent;
if it cannot be recorded, the answer is SERVFAIL.
"""

from __future__ import annotations

import ipaddress
import logging

from mitmproxy import ctx, dns
from mitmproxy.net.dns import op_codes, response_codes, types
from mitmproxy.proxy import mode_specs

from gateway.egress.destination import ip_literal
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime
from gateway.transparent.dns import ANSWER_TTL, NOERROR, DnsOutcome, DnsQuestion

log = logging.getLogger("airlock.dns")

STOCK_RESOLVER = "dnsresolver"
_RCODES = {"NXDOMAIN": response_codes.NXDOMAIN, "REFUSED": response_codes.REFUSED}


class Dns:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime

    def running(self) -> None:
        stock = ctx.master.addons.get(STOCK_RESOLVER)
        if stock is not None:
            log.warning("removing mitmproxy's DNS resolver: Airlock answers DNS itself")
            ctx.master.addons.remove(stock)

    async def dns_request(self, flow: dns.DNSFlow) -> None:
        if not isinstance(flow.client_conn.proxy_mode, mode_specs.DnsMode):
            return
        if flow.error is not None:
            return
        message = flow.request
        parts = self._runtime.transparent
        if parts is None or not message.query or message.op_code != op_codes.QUERY:
            flow.response = message.fail(response_codes.REFUSED)
            return
        if message.question is None:
            flow.response = message.fail(response_codes.FORMERR)
            return
        peer = flow.client_conn.peername or ("", 0)
        question = DnsQuestion(
            client=ip_literal(str(peer[0])) or str(peer[0]),
            client_port=int(peer[1]),
            name=message.question.name,
            qtype=types.to_str(message.question.type),
        )
        try:
            self._runtime.spool.check_capacity()  # no answer that cannot be recorded
            outcome = await parts.dns.answer(question)
            await self._runtime.spool.append(
                outcome.event(question, self._runtime.settings.gateway_id)
            )
        except SpoolError as exc:
            log.error("audit spool refused a DNS answer: %s", exc)
            flow.response = message.fail(response_codes.SERVFAIL)
            return
        flow.response = _reply(message, outcome)


def _reply(message: dns.DNSMessage, outcome: DnsOutcome) -> dns.DNSMessage:
    if outcome.rcode != NOERROR:
        return message.fail(_RCODES.get(outcome.rcode, response_codes.REFUSED))
    assert message.question is not None
    name = message.question.name
    return message.succeed(
        [
            dns.ResourceRecord.A(name, ipaddress.IPv4Address(a), ttl=ANSWER_TTL)
            for a in outcome.addresses
        ]
    )
