"""Ask OPA for ``data.airlock.decision`` over its REST API (async, keep-alive).

httpx is used rather than opa-python-client: one pooled ``AsyncClient`` keeps a
warm connection to OPA and never blocks the proxy's event loop (see
tests/perf/bench_opa_client.py for the measured difference). Any failure —
refused, timed out, non-200, undefined result — raises ``PolicyUnavailableError``
so the caller fails closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gateway.errors import PolicyUnavailableError

DECISION_PATH = "/v1/data/airlock/decision"


@dataclass(frozen=True)
class Decision:
    allow: bool
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    messages: tuple[str, ...]
    revision: str

    @classmethod
    def from_opa(cls, body: dict[str, Any]) -> Decision:
        result = body.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("allow"), bool):
            raise PolicyUnavailableError("policy returned no decision (is a bundle loaded?)")
        bundles = body.get("provenance", {}).get("bundles", {})
        revision = bundles.get("airlock", {}).get("revision") or next(
            (b.get("revision", "") for b in bundles.values()), "unknown"
        )
        return cls(
            allow=result["allow"],
            reasons=tuple(str(r) for r in result.get("reasons", ())),
            rules=tuple(str(r) for r in result.get("rules", ())),
            messages=tuple(str(m) for m in result.get("messages", ())),
            revision=revision,
        )


class PolicyClient:
    def __init__(self, base_url: str, timeout_ms: int) -> None:
        self._timeout = timeout_ms / 1000
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(self._timeout),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            trust_env=False,
        )

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        try:
            resp = await self._client.post(
                DECISION_PATH, params={"provenance": "true"}, json={"input": policy_input}
            )
        except httpx.TimeoutException:
            raise PolicyUnavailableError(
                f"policy engine did not answer within {self._timeout * 1000:.0f} ms"
            ) from None
        except httpx.HTTPError as exc:
            raise PolicyUnavailableError(
                f"policy engine unreachable ({type(exc).__name__})"
            ) from None
        if resp.status_code != 200:
            raise PolicyUnavailableError(f"policy engine answered HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            raise PolicyUnavailableError("policy engine answered invalid JSON") from None
        return Decision.from_opa(body)

    async def aclose(self) -> None:
        await self._client.aclose()
