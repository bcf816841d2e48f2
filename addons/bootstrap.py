"""Build the Airlock addon chain (order matters: identity before policy before audit)."""

from __future__ import annotations

from addons.audit import Audit
from addons.correlation import Correlation
from addons.credentials import CredentialInjection, CredentialLookup
from addons.drain import Drain
from addons.identity import Identity
from addons.policy import Policy
from addons.redaction import Redaction
from addons.tunnels import Tunnels
from gateway.runtime import ProxyRuntime


def build_addons(runtime: ProxyRuntime) -> list[object]:
    identity = Identity(runtime)
    return [
        Drain(),
        identity,
        Correlation(),
        CredentialLookup(runtime),
        Policy(runtime, identity),
        Redaction(runtime),
        CredentialInjection(runtime),
        Audit(runtime),
        Tunnels(runtime),
    ]
