"""Settings of the SIEM export: ``[export]`` and ``[[export.sinks]]`` in ``airlock.toml``.

A sink names a format, a transport and where to send, plus filters and batching. Secrets
(HEC token, Elastic API key, webhook HMAC key) are never in the file: a sink names the
environment variable or file that holds them, read once when the sink is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.audit.events import EVENT_KINDS
from gateway.errors import ConfigError

FormatName = Literal["ocsf", "cef", "leef", "ecs", "hec"]
TransportName = Literal[
    "syslog-tcp", "syslog-tls", "syslog-udp", "hec", "elastic", "webhook", "file"
]
Severity = Literal["info", "warning", "high"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "high": 2}
SYSLOG_TRANSPORTS = frozenset({"syslog-tcp", "syslog-tls", "syslog-udp"})
HTTP_TRANSPORTS = frozenset({"hec", "elastic", "webhook"})
NEEDS_SECRET = frozenset({"hec", "webhook"})
SINK_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


class SinkSettings(BaseModel):
    """One export destination. Documented in docs/export-sinks.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=SINK_NAME)
    format: FormatName
    transport: TransportName
    enabled: bool = True
    start: Literal["beginning", "now"] = "beginning"
    # Where: HOST:PORT (syslog), an http(s) URL (hec, elastic, webhook) or a file path.
    address: str | None = None
    url: str | None = None
    path: Path | None = None
    # TLS (syslog-tls, https URLs): the server is always verified.
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    server_name: str | None = None
    # Secret: HEC token, Elastic API key, webhook HMAC key.
    secret_env: str | None = None
    secret_file: Path | None = None
    # Transport details.
    facility: int = Field(default=13, ge=0, le=23)
    app_name: str = Field(default="airlock", pattern=r"^[!-~]{1,48}$")
    max_datagram: int = Field(default=8192, ge=480, le=65000)
    index: str = "airlock-events"
    file_max_bytes: int = Field(default=100 << 20, gt=0)
    file_keep: int = Field(default=10, ge=1)
    # Filters (empty = everything).
    kinds: tuple[str, ...] = ()
    min_severity: Severity = "info"
    agents: tuple[str, ...] = ()
    # Delivery.
    batch_events: int = Field(default=500, ge=1, le=10000)
    batch_ms: int = Field(default=1000, ge=0)
    timeout_ms: int = Field(default=10000, ge=100)
    retry_max_ms: int = Field(default=30000, ge=100)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(kinds) - set(EVENT_KINDS))
        if unknown:
            raise ValueError(f"unknown event kinds {unknown}")
        return kinds

    @model_validator(mode="after")
    def _destination(self) -> SinkSettings:
        if self.transport in SYSLOG_TRANSPORTS:
            _require(self, "address", self.address)
            host, _, port = (self.address or "").rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"address must be HOST:PORT, got {self.address!r}")
        elif self.transport in HTTP_TRANSPORTS:
            _require(self, "url", self.url)
            if urlsplit(self.url or "").scheme not in ("http", "https"):
                raise ValueError(f"url must be http:// or https://, got {self.url!r}")
        else:
            _require(self, "path", self.path)
        if self.transport in NEEDS_SECRET and not (self.secret_env or self.secret_file):
            raise ValueError(f"transport {self.transport} needs secret_env or secret_file")
        if self.secret_env and self.secret_file:
            raise ValueError("set secret_env or secret_file, not both")
        if bool(self.client_cert) != bool(self.client_key):
            raise ValueError("client_cert and client_key go together")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = (self.address or "").rpartition(":")
        return host.strip("[]"), int(port)

    def secret(self) -> SecretStr | None:
        """The sink's secret from its variable or file; an error names the sink, not the value."""
        if self.secret_env:
            value = os.environ.get(self.secret_env)
            if not value:
                raise ConfigError(f"sink {self.name}: environment variable {self.secret_env} unset")
            return SecretStr(value)
        if self.secret_file:
            try:
                return SecretStr(self.secret_file.read_text().strip())
            except OSError as exc:
                raise ConfigError(f"sink {self.name}: cannot read secret_file: {exc}") from None
        return None


def _require(sink: SinkSettings, field: str, value: object) -> None:
    if not value:
        raise ValueError(f"transport {sink.transport} needs {field}")


class ExportSettings(BaseModel):
    """The ``[export]`` table: sinks and how the exporter reads the audit trail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sinks: tuple[SinkSettings, ...] = ()
    poll_ms: int = Field(default=500, ge=10)
    settle_ms: int = Field(default=2000, ge=0, le=600000)
    metrics_listen: str | None = None

    @field_validator("sinks")
    @classmethod
    def _unique_names(cls, sinks: tuple[SinkSettings, ...]) -> tuple[SinkSettings, ...]:
        names = [s.name for s in sinks]
        duplicate = sorted({n for n in names if names.count(n) > 1})
        if duplicate:
            raise ValueError(f"duplicate sink names {duplicate}")
        return sinks

    @field_validator("metrics_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError(f"expected HOST:PORT, got {value!r}")
        return value

    def enabled(self) -> list[SinkSettings]:
        """The sinks ``airlock up`` runs, checked now: a missing secret or TLS file is an
        error at start-up (naming the sink), not a restart loop later."""
        sinks = [s for s in self.sinks if s.enabled]
        for sink in sinks:
            sink.secret()
            for path in (sink.ca_file, sink.client_cert, sink.client_key):
                if path is not None and not path.is_file():
                    raise ConfigError(f"sink {sink.name}: no such file {path}")
        return sinks

    def sink(self, name: str) -> SinkSettings:
        for sink in self.sinks:
            if sink.name == name:
                return sink
        known = ", ".join(s.name for s in self.sinks) or "none configured"
        raise ConfigError(f"no export sink named {name!r} ({known})")
