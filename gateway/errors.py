"""One exception hierarchy for Airlock.

Messages must never contain a secret: callers pass identifiers, never tokens.
"""

from __future__ import annotations


class AirlockError(Exception):
    """Base of every error Airlock raises on purpose."""

    code: str = "airlock_error"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(AirlockError):
    code = "config_error"


class NotFoundError(AirlockError):
    code = "not_found"
    http_status = 404


class AuthenticationError(AirlockError):
    code = "unauthenticated"
    http_status = 401


class PermissionDeniedError(AirlockError):
    code = "forbidden"
    http_status = 403


class InvalidRequestError(AirlockError):
    code = "invalid_request"
    http_status = 400


class PolicyUnavailableError(AirlockError):
    """OPA could not be asked, answered late, or answered nothing usable."""

    code = "policy_unavailable"
    http_status = 503


class SpoolError(AirlockError):
    """The audit spool cannot accept an event: traffic must stop."""

    code = "audit_unavailable"
    http_status = 503
    kept = 0  # records of a failed write that are complete on disk (they stay in the stream)


class StoreUnavailableError(AirlockError):
    code = "store_unavailable"
    http_status = 503
