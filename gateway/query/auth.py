"""Bearer API keys with roles (viewer < auditor < admin) and a tenant scope."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from gateway.control.keys import ApiKeyService, Principal
from gateway.errors import AuthenticationError, PermissionDeniedError


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationError("missing bearer API key (Authorization: Bearer alk_...)")
    return value.strip()


def require(role: str) -> Callable[[Request], Principal]:
    """A dependency: the caller's principal, if its key is valid and has ``role``."""

    def dependency(request: Request) -> Principal:
        keys: ApiKeyService = request.app.state.deps.keys
        principal = keys.verify(bearer(request))
        if principal is None:
            raise AuthenticationError("invalid or revoked API key")
        if not principal.has_role(role):
            raise PermissionDeniedError(f"this route needs the {role} role")
        return principal

    return dependency


def tenant_scope(principal: Principal, tenant: str | None) -> str | None:
    """The tenant to filter on; None means every tenant (a "*" key asking for all)."""
    if tenant is not None and not principal.can_see(tenant):
        raise PermissionDeniedError(f"this key may not read tenant {tenant!r}")
    if tenant is not None:
        return tenant
    return None if principal.tenant == "*" else principal.tenant
