"""Connect to the address policy checked, never to a second lookup of the name.

Policy decides on the addresses Airlock resolved (gateway/egress/destination.py);
the deciding addon pins one of them for the client connection and destination.
When mitmproxy is about to connect, the server address becomes the pinned
address (SNI and Host stay the name, so TLS is verified for the name), and once
connected it is the name again: mitmproxy matches connections for reuse by the
address it asked for, and ``peername`` keeps the address really used. A name with
no pinned address is never connected to (fail closed); an IP literal needs none.
"""

from __future__ import annotations

import logging

from mitmproxy import connection
from mitmproxy.proxy import server_hooks

from gateway.egress.destination import ip_literal

log = logging.getLogger("airlock.pinning")

Address = tuple[str, int]


class Pinning:
    def __init__(self) -> None:
        self._pins: dict[str, dict[Address, str]] = {}  # client id -> name:port -> address
        self._named: dict[str, Address] = {}  # server id -> the name it was asked for

    def pin(self, client: connection.Client, destination: Address, address: str) -> None:
        """``destination`` exactly as mitmproxy will ask for it (request host, port)."""
        self._pins.setdefault(client.id, {})[destination] = address

    def pinned(self, client: connection.Client, destination: Address) -> str | None:
        return self._pins.get(client.id, {}).get(destination)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if server.address is None:
            return
        host, port = server.address
        address = self.pinned(data.client, (host, port))
        if address is not None:
            self._named[server.id] = (host, port)
            server.address = (address, port)
        elif ip_literal(host) is None:
            server.error = f"no checked address for {host}:{port}: not connecting"
            log.warning("refused an unchecked upstream connection to %s:%s", host, port)

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        named = self._named.pop(data.server.id, None)
        if named is not None:
            # The address mitmproxy asked for, so that it reuses this connection;
            # mitmproxy forbids changing an open connection's address, hence object's.
            object.__setattr__(data.server, "address", named)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        named = self._named.pop(data.server.id, None)
        if named is not None:
            data.server.address = named

    def client_disconnected(self, client: connection.Client) -> None:
        self._pins.pop(client.id, None)
