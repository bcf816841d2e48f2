"""HTTPS POST transports: Splunk HEC, Elastic ``_bulk`` and a generic signed webhook.

A batch is acknowledged by a 2xx answer (HEC: ``{"code": 0}``; Elastic: every item
created, or already present: 409 on ``create`` with the event id as ``_id``). Timeouts,
connection errors, 408, 429, 5xx and 401/403/404 (a wrong token or URL is fixed by an
operator, not by dropping data) are transient: the batch is retried. Any other 4xx
refuses the batch for its content, and the batch is split until the bad record is found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from gateway.export.sink import BatchRejected, Record, Rejected, TransientError

RETRYABLE = frozenset({401, 403, 404, 408, 425, 429})
SIGNATURE_HEADER = "X-Airlock-Signature"
TIMESTAMP_HEADER = "X-Airlock-Timestamp"


def _client(tls: ssl.SSLContext | None, timeout: float) -> httpx.Client:
    return httpx.Client(verify=tls if tls is not None else True, timeout=timeout, trust_env=False)


def _post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    try:
        resp = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise TransientError(f"POST {_safe(url)}: {type(exc).__name__}: {exc}") from None
    if resp.status_code in RETRYABLE or resp.status_code >= 500:
        raise TransientError(f"POST {_safe(url)}: HTTP {resp.status_code}: {_excerpt(resp)}")
    if resp.status_code >= 400:
        raise BatchRejected(f"HTTP {resp.status_code}: {_excerpt(resp)}")
    return resp


def _safe(url: str) -> str:
    """The URL without credentials or query, for messages."""
    parts = httpx.URL(url)
    return str(parts.copy_with(userinfo=b"", query=None))


def _excerpt(resp: httpx.Response) -> str:
    return resp.text[:200].replace("\n", " ")


def _json_or_text(line: str) -> Any:
    try:
        value = json.loads(line)
    except ValueError:
        return line
    return value if isinstance(value, dict) else line


class HecTransport:
    """Splunk HTTP Event Collector, ``/services/collector/event``, token auth."""

    name = "hec"

    def __init__(
        self,
        url: str,
        token: SecretStr,
        *,
        fmt: str,
        tls: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url, self.fmt = url, fmt
        self._headers = {
            "Authorization": f"Splunk {token.get_secret_value()}",
            "Content-Type": "application/json",
        }
        self._client = _client(tls, timeout)

    def envelope(self, record: Record) -> str:
        """The HEC event object: the ``hec`` format already is one; others are wrapped."""
        if self.fmt == "hec":
            return record.line
        event = record.event
        return json.dumps(
            {
                "time": round(event.ts.timestamp(), 6),
                "host": event.gateway_id or "airlock",
                "source": "airlock",
                "sourcetype": f"airlock:{self.fmt}",
                "event": _json_or_text(record.line),
                "fields": {"event_id": event.event_id},
            },
            separators=(",", ":"),
        )

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        body = "\n".join(self.envelope(r) for r in batch).encode()
        resp = _post(self._client, self.url, body, self._headers)
        try:
            code = resp.json().get("code", 0)
        except (ValueError, AttributeError):
            raise TransientError(f"HEC answered {resp.status_code} without JSON") from None
        if code != 0:
            raise TransientError(f"HEC answered code {code}: {_excerpt(resp)}")
        return []

    def close(self) -> None:
        self._client.close()


class ElasticBulk:
    """Elasticsearch / OpenSearch ``_bulk`` with ``create`` and the event id as ``_id``."""

    name = "elastic"

    def __init__(
        self,
        url: str,
        index: str,
        *,
        api_key: SecretStr | None = None,
        tls: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/") + "/_bulk"
        self.index = index
        self._headers = {"Content-Type": "application/x-ndjson"}
        if api_key is not None:
            self._headers["Authorization"] = f"ApiKey {api_key.get_secret_value()}"
        self._client = _client(tls, timeout)

    def _document(self, record: Record) -> str:
        doc = _json_or_text(record.line)
        if isinstance(doc, dict):
            return record.line
        event = record.event
        return json.dumps(
            {"@timestamp": event.ts.isoformat(), "event": {"id": event.event_id}, "message": doc}
        )

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        lines: list[str] = []
        for r in batch:
            action = {"create": {"_index": self.index, "_id": r.event.event_id}}
            lines += [json.dumps(action), self._document(r)]
        resp = _post(self._client, self.url, ("\n".join(lines) + "\n").encode(), self._headers)
        try:
            body = resp.json()
            items = body.get("items", []) if body.get("errors") else []
        except (ValueError, AttributeError):
            raise TransientError("Elastic _bulk answered without JSON") from None
        return self._rejected(batch, items)

    @staticmethod
    def _rejected(batch: Sequence[Record], items: list[dict[str, Any]]) -> list[Rejected]:
        out: list[Rejected] = []
        for record, item in zip(batch, items, strict=False):
            result: dict[str, Any] = next(iter(item.values()), {})
            status = int(result.get("status", 200))
            if status < 300 or status == 409:  # 409: this event id is already indexed
                continue
            if status == 429 or status >= 500:
                raise TransientError(f"Elastic item status {status}")
            error = result.get("error") or {}
            out.append(Rejected(record, f"{status} {error.get('type')}: {error.get('reason')}"))
        return out

    def close(self) -> None:
        self._client.close()


def webhook_signature(key: SecretStr, timestamp: str, body: bytes) -> str:
    """``sha256=HEX`` of HMAC-SHA256 over ``TIMESTAMP.BODY``."""
    mac = hmac.new(key.get_secret_value().encode(), timestamp.encode() + b"." + body, "sha256")
    return "sha256=" + mac.hexdigest()


class Webhook:
    """POST NDJSON (one rendered record per line) signed with HMAC-SHA256."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        key: SecretStr,
        *,
        tls: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url, self._key = url, key
        self._client = _client(tls, timeout)

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        body = ("\n".join(r.line for r in batch) + "\n").encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-ndjson",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: webhook_signature(self._key, stamp, body),
            "Idempotency-Key": hashlib.sha256(
                "".join(r.event.event_id for r in batch).encode()
            ).hexdigest(),
        }
        _post(self._client, self.url, body, headers)
        return []

    def close(self) -> None:
        self._client.close()
