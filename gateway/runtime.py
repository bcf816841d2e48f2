"""Factories that wire domain objects together for each process.

Nothing is built at import time; each process calls one factory at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.committer import GroupCommitter
from gateway.audit.sealer import open_chain
from gateway.config import Settings
from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.keys import ApiKeyService
from gateway.control.known import KnownSecretService
from gateway.control.sandboxes import SandboxService
from gateway.control.tasks import TaskService
from gateway.control.vault import Vault, load_master_key
from gateway.credentials.broker import Broker
from gateway.credentials.store import CredentialService
from gateway.egress.destination import Resolver, build_lookup
from gateway.egress.secrets import SecretGuard
from gateway.egress.verdict import Decider
from gateway.fingerprint import fingerprint_key
from gateway.identity.base import IdentityResolver
from gateway.identity.proxy_auth import ProxyAuthResolver
from gateway.policy.client import PolicyClient
from gateway.redaction import Redactor
from gateway.transparent.parts import TransparentParts, build_transparent


@dataclass
class ControlPlane:
    tasks: TaskService
    keys: ApiKeyService
    sessions: sessionmaker[Session]
    settings: Settings

    def vault(self) -> Vault:
        """Built on demand: it needs the master key, which lives in the home."""
        self.settings.home_dir.mkdir(parents=True, exist_ok=True)
        env_key = self.settings.master_key
        key = load_master_key(
            self.settings.home_dir, env_key.get_secret_value() if env_key else None
        )
        return Vault(key)

    def known_secrets(self) -> KnownSecretService:
        return KnownSecretService(self.sessions, self.vault())

    def credentials(self) -> CredentialService:
        fingerprints = Redactor(fingerprint_key(self.settings))
        return CredentialService(self.sessions, self.vault(), fingerprints.fingerprint)

    def sandboxes(self) -> SandboxService:
        return SandboxService(self.sessions)


def build_control_plane(settings: Settings) -> ControlPlane:
    sessions = make_sessionmaker(make_engine(settings.control_db_url))
    return ControlPlane(
        tasks=TaskService(sessions),
        keys=ApiKeyService(sessions),
        sessions=sessions,
        settings=settings,
    )


def open_spool(settings: Settings, stream: str) -> GroupCommitter:
    return GroupCommitter(
        open_chain(settings, stream),
        settings.spool_dir,
        max_bytes=settings.spool_max_bytes,
        checkpoint_seconds=settings.checkpoint_seconds,
        min_free_bytes=settings.spool_min_free_bytes,
    )


@dataclass
class ProxyRuntime:
    settings: Settings
    identity: IdentityResolver
    decider: Decider
    spool: GroupCommitter
    policy: PolicyClient
    secrets: SecretGuard
    known: KnownSecretService | None = None  # operator-registered values, reloaded live
    credentials: CredentialService | None = None
    broker: Broker | None = None
    transparent: TransparentParts | None = None  # source-address identity, names, DNS

    async def aclose(self) -> None:
        await self.policy.aclose()
        self.spool.close()


def build_proxy_runtime(settings: Settings, stream: str = "proxy") -> ProxyRuntime:
    control = build_control_plane(settings)
    credentials = control.credentials()
    policy = PolicyClient(settings.effective_opa_url, settings.opa_timeout_ms)
    resolver = Resolver(lookup=build_lookup(settings.dns_servers))
    return ProxyRuntime(
        settings=settings,
        identity=ProxyAuthResolver(control.tasks, cache_seconds=settings.identity_cache_seconds),
        decider=Decider(policy, resolver),
        spool=open_spool(settings, stream),
        policy=policy,
        secrets=SecretGuard(
            Redactor(fingerprint_key(settings)), scan_limit=settings.scan_limit_bytes
        ),
        known=control.known_secrets(),
        credentials=credentials,
        broker=Broker(credentials, cache_seconds=settings.identity_cache_seconds),
        transparent=build_transparent(
            control.sandboxes(),
            control.tasks,
            policy,
            resolver,
            cache_seconds=settings.identity_cache_seconds,
        ),
    )
