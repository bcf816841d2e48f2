"""Build the Airlock addon chain (order matters: identity before policy before audit)."""

from __future__ import annotations

from addons.audit import Audit
from addons.correlation import Correlation
from addons.credentials import CredentialInjection, CredentialLookup
from addons.dns import Dns
from addons.drain import Drain
from addons.identity import Identity
from addons.pinning import Pinning
from addons.policy import Policy
from addons.redaction import Redaction
from addons.transparent import Transparent
from addons.tunnels import Tunnels
from addons.websocket import WebSocketAudit
from gateway.runtime import ProxyRuntime


def build_addons(runtime: ProxyRuntime) -> list[object]:
    identity = Identity(runtime)
    pinning = Pinning()  # connections go to the addresses policy checked
    return [
        Drain(),
        identity,
        Transparent(runtime),  # transparent mode: the verified name becomes the host
        Correlation(),
        CredentialLookup(runtime),
        Policy(runtime, identity, pinning),
        Redaction(runtime),
        CredentialInjection(runtime),
        Audit(runtime),
        WebSocketAudit(runtime),  # after Redaction: records what was forwarded
        Tunnels(runtime, identity, pinning),
        pinning,
        Dns(runtime),
    ]
