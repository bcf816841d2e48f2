"""``RebindingDns``: a loopback DNS server whose answers change between queries.

Each name maps to a list of answers (one address, or a list of addresses, per
query); query N gets answer N, and the last answer repeats. A name answering
``203.0.113.7`` first and ``127.0.0.1`` afterwards is the classic DNS rebinding
attack: whoever resolves the name a second time reaches loopback. Every query is
recorded. Unknown names get NXDOMAIN. UDP only, on 127.0.0.1, ephemeral port.
"""

from __future__ import annotations

import ipaddress
import threading
from types import TracebackType
from typing import Any, Self

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

Answer = str | list[str]


class _Resolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, owner: RebindingDns) -> None:
        self.owner = owner

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        addresses = self.owner._answer(name, qtype)
        if addresses is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if qtype == "A" and ip.version == 4:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=0))
            elif qtype == "AAAA" and ip.version == 6:
                reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(address), ttl=0))
        return reply


class RebindingDns:
    def __init__(self, names: dict[str, list[Answer]]) -> None:
        self._names = {k.lower(): v for k, v in names.items()}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self.queries: list[tuple[str, str]] = []  # (name, qtype) in arrival order
        self._server = DNSServer(
            _Resolver(self), address="127.0.0.1", port=0, logger=DNSLogger("-request,-reply")
        )

    @property
    def address(self) -> str:
        host, port = self._server.server.server_address
        return f"{host}:{port}"

    def _answer(self, name: str, qtype: str) -> list[str] | None:
        with self._lock:
            self.queries.append((name, qtype))
            answers = self._names.get(name)
            if answers is None:
                return None
            if qtype == "A":  # one step per A query (resolvers ask A and AAAA together)
                self._served[name] = self._served.get(name, 0) + 1
            step = min(max(self._served.get(name, 1), 1), len(answers)) - 1
        answer = answers[step]
        return [answer] if isinstance(answer, str) else list(answer)

    def start(self) -> Self:
        self._server.start_thread()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._server.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
