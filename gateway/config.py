"""Typed settings: ``airlock.toml`` plus ``AIRLOCK_*`` environment variables.

Settings are built once, at start-up, by :func:`load_settings`; nothing here runs
at import time. Environment variables win over the TOML file. The TOML file is
``$AIRLOCK_CONFIG`` if set, else ``./airlock.toml`` if it exists.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.errors import ConfigError
from gateway.export.config import ExportSettings


def parse_listen(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` for IPv6) into a tuple, or raise ValueError."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def parse_dns_server(value: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT`` or ``[v6]:PORT`` of a DNS server (default port 53), or ValueError."""
    text = value.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"expected IP or IP:PORT of a DNS server, got {value!r}") from None
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise ValueError(f"bad DNS server port in {value!r}")
    return host, int(port)


class Settings(BaseSettings):
    """Every Airlock setting. Documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="AIRLOCK_", extra="forbid", frozen=True)

    home: Path = Field(default=Path(".airlock"), description="State directory.")
    profile: Literal["dev", "prod"] = Field(default="dev", description="Deployment profile.")
    proxy_listen: str = Field(default="127.0.0.1:8080", description="Proxy listen address.")
    api_listen: str = Field(default="127.0.0.1:8081", description="Query API and UI address.")
    proxy_public_host: str | None = Field(
        default=None, description="Host name sandboxes use to reach the proxy (proxy_url)."
    )
    transparent_listen: str = Field(
        default="", description="Transparent-mode listener HOST:PORT for sandboxes; '' = off."
    )
    dns_listen: str = Field(
        default="", description="DNS listener HOST:PORT (UDP and TCP) for sandboxes; '' = off."
    )
    policy_dir: Path = Field(default=Path("policies"), description="OPA bundle directory.")
    opa_url: str | None = Field(default=None, description="Use this OPA instead of starting one.")
    opa_listen: str = Field(default="127.0.0.1:8181", description="Where `airlock up` runs OPA.")
    opa_binary: str | None = Field(default=None, description="Path to the opa binary.")
    opa_timeout_ms: int = Field(default=500, ge=10, description="Policy decision timeout.")
    policy_poll_seconds: float = Field(default=1.0, gt=0, description="Policy reload delay.")
    database_url: str | None = Field(default=None, description="Control-plane SQLAlchemy URL.")
    master_key: SecretStr | None = Field(
        default=None, description="Base64 of 32 bytes; else $AIRLOCK_HOME/master.key."
    )
    clickhouse_url: str | None = Field(
        default=None, description="ClickHouse server DSN; unset means embedded chDB."
    )
    upstream_ca: Path | None = Field(default=None, description="Extra CA trusted for upstreams.")
    gateway_id: str = Field(default_factory=socket.gethostname, description="Gateway name.")
    identity_cache_seconds: float = Field(default=1.0, ge=0, description="Task lookup cache.")
    spool_max_bytes: int = Field(default=1 << 30, gt=0, description="Spool size limit.")
    spool_segment_bytes: int = Field(default=16 << 20, gt=4096, description="Segment size.")
    spool_min_free_bytes: int = Field(
        default=32 << 20, ge=0, description="Refuse new traffic when the spool disk has less free."
    )
    ship_interval_ms: int = Field(default=500, gt=0, description="Shipper poll interval.")
    ship_batch_events: int = Field(default=5000, gt=0, description="Events per insert.")
    drain_seconds: float = Field(default=10.0, ge=0, description="Shutdown drain time.")
    scan_limit_bytes: int = Field(
        default=16 << 20, gt=0, description="Largest decoded body scanned for secrets."
    )
    stream_bytes: int = Field(
        default=1 << 20, ge=0, description="Stream response bodies larger than this."
    )
    export: ExportSettings = Field(
        default_factory=ExportSettings, description="SIEM export: [export] and [[export.sinks]]."
    )
    audit_signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 checkpoint key file (raw or PEM); else in $AIRLOCK_HOME.",
    )
    checkpoint_seconds: float = Field(
        default=30.0, gt=0, description="Signed audit checkpoint interval (also when idle)."
    )
    audit_retention_days: int = Field(
        default=0, ge=0, description="Delete audit events older than this (0 = keep forever)."
    )
    clickhouse_read_url: str | None = Field(
        default=None, description="DSN for reads (API, verify); else clickhouse_url."
    )
    clickhouse_cluster: str | None = Field(
        default=None, description="Cluster name: ReplicatedMergeTree + Distributed DDL."
    )
    clickhouse_migrate: bool = Field(
        default=True, description="Apply ClickHouse schema migrations when the store starts."
    )
    idle_seconds: float = Field(default=300.0, gt=0, description="No traffic this long: idle.")
    stall_seconds: float = Field(
        default=900.0, gt=0, description="No traffic this long on a live task: stalled (alert)."
    )
    liveness_interval_seconds: float = Field(
        default=15.0, gt=0, description="How often task liveness is checked."
    )
    dns_servers: list[str] = Field(
        default_factory=list,
        description="DNS servers (IP or IP:PORT) the proxy resolves with; else the system's.",
    )
    alert_webhooks: list[str] = Field(
        default_factory=list, description="URLs that receive alerts (JSON POST)."
    )
    evidence_margin_seconds: float = Field(
        default=300.0, ge=0, description="Chain reach before/after an evidence window."
    )

    @field_validator("dns_servers")
    @classmethod
    def _check_dns_servers(cls, value: list[str]) -> list[str]:
        for server in value:
            parse_dns_server(server)
        return value

    @field_validator("proxy_listen", "api_listen", "opa_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("transparent_listen", "dns_listen")
    @classmethod
    def _check_optional_listen(cls, value: str) -> str:
        if value:
            parse_listen(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = config_file()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # Derived values -----------------------------------------------------

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def ca_dir(self) -> Path:
        return self.home_dir / "ca"

    @property
    def ca_cert_path(self) -> Path:
        return self.ca_dir / "mitmproxy-ca-cert.pem"

    @property
    def spool_dir(self) -> Path:
        return self.home_dir / "spool"

    @property
    def chdb_dir(self) -> Path:
        return self.home_dir / "chdb"

    @property
    def audit_key_path(self) -> Path:
        return self.audit_signing_key_file or self.home_dir / "audit-signing.key"

    @property
    def operator_key_path(self) -> Path:
        return self.home_dir / "operator.key"

    @property
    def control_db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'control.db'}"

    @property
    def effective_opa_url(self) -> str:
        if self.opa_url:
            return self.opa_url.rstrip("/")
        return http_url(*parse_listen(self.opa_listen))

    @property
    def api_url(self) -> str:
        return http_url(*parse_listen(self.api_listen))

    def proxy_address(self) -> tuple[str, int]:
        return parse_listen(self.proxy_listen)


SECRET_SETTINGS = frozenset({"master_key"})  # never echoed in errors


def http_url(host: str, port: int) -> str:
    """``http://host:port``, bracketing IPv6 literals."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def config_file() -> Path | None:
    explicit = os.environ.get("AIRLOCK_CONFIG")
    if explicit:
        return Path(explicit)
    default = Path("airlock.toml")
    return default if default.exists() else None


def load_settings(**overrides: Any) -> Settings:
    """Build and validate settings once; a bad value names its key and value."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "?"
        shown = "<hidden>" if key in SECRET_SETTINGS else repr(first.get("input"))
        raise ConfigError(f"invalid setting {key}={shown}: {first['msg']}") from None
