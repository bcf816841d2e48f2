"""Ask OPA for ``data.airlock.decision`` over its REST API (async, keep-alive).

Any failure (refused, timed out, non-200, undefined result) raises
``PolicyUnavailableError`` so the caller fails closed. The transport is
:mod:`gateway.policy.opa_http`; see its docstring for why not httpx.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from gateway.errors import PolicyUnavailableError
from gateway.policy.opa_http import OpaHttp, OpaHttpError

DECISION_PATH = "/v1/data/airlock/decision"


@dataclass(frozen=True)
class Decision:
    allow: bool
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    messages: tuple[str, ...]
    revision: str
    secrets_outbound: str = "redact"  # what to do with a secret in the request
    secrets_inbound: str = "redact"  # ... and in the response
    inject: tuple[str, ...] = ()  # credentials to inject for this request
    refuse_credentials: tuple[str, ...] = ()  # placeholders sent where they may not go

    @classmethod
    def from_opa(cls, body: dict[str, Any]) -> Decision:
        result = body.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("allow"), bool):
            raise PolicyUnavailableError("policy returned no decision (is a bundle loaded?)")
        bundles = body.get("provenance", {}).get("bundles", {})
        revision = bundles.get("airlock", {}).get("revision") or next(
            (b["revision"] for b in bundles.values() if b.get("revision")), ""
        )
        revision = revision or "unknown"  # an external OPA without a bundle revision
        raw_modes = result.get("secrets")
        modes: dict[str, Any] = raw_modes if isinstance(raw_modes, dict) else {}
        raw_creds = result.get("credentials")
        creds: dict[str, Any] = raw_creds if isinstance(raw_creds, dict) else {}
        return cls(
            secrets_outbound=_mode(modes.get("outbound")),
            secrets_inbound=_mode(modes.get("inbound")),
            inject=tuple(str(n) for n in creds.get("inject", ())),
            refuse_credentials=tuple(str(n) for n in creds.get("refuse", ())),
            allow=result["allow"],
            reasons=tuple(str(r) for r in result.get("reasons", ())),
            rules=tuple(str(r) for r in result.get("rules", ())),
            messages=tuple(str(m) for m in result.get("messages", ())),
            revision=revision,
        )


def _mode(value: object) -> str:
    """A secret-handling mode: missing means the default ("redact"), an unknown value
    the strictest ("block")."""
    if value is None:
        return "redact"
    return value if isinstance(value, str) and value in ("redact", "block", "alert") else "block"


class PolicyClient:
    def __init__(self, base_url: str, timeout_ms: int) -> None:
        self._timeout = timeout_ms / 1000
        self._http = OpaHttp(base_url)

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        try:
            async with asyncio.timeout(self._timeout):  # no extra task, unlike wait_for
                status, body = await self._http.post_json(
                    DECISION_PATH + "?provenance=true", {"input": policy_input}
                )
        except TimeoutError:
            raise PolicyUnavailableError(
                f"policy engine did not answer within {self._timeout * 1000:.0f} ms"
            ) from None
        except (OSError, asyncio.IncompleteReadError, OpaHttpError, ValueError) as exc:
            raise PolicyUnavailableError(
                f"policy engine unreachable ({type(exc).__name__})"
            ) from None
        if status != 200 or not isinstance(body, dict):
            raise PolicyUnavailableError(f"policy engine answered HTTP {status}")
        return Decision.from_opa(body)

    async def aclose(self) -> None:
        await self._http.aclose()
