"""``airlock up``: run OPA, the store process and the proxy worker; restart crashes.

Start order: bundle server → OPA (ready when its bundle is active) → store
(ready when /readyz answers) → proxy (ready when its port accepts). A child that
dies is restarted with backoff and the restart is audited. SIGINT/SIGTERM stops
the proxy first (it drains in-flight requests), then the store (it ships what is
left), then OPA.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from gateway.audit.committer import GroupCommitter
from gateway.audit.events import AuditEvent
from gateway.config import Settings, parse_listen
from gateway.errors import AirlockError
from gateway.policy.bundle import Bundle
from gateway.policy.bundle_server import BundleServer, BundleSource
from gateway.policy.opa_process import find_opa, opa_command, opa_config
from gateway.runtime import open_spool

log = logging.getLogger("airlock.supervisor")


@dataclass
class Child:
    name: str
    argv: list[str]
    ready: str  # "opa" | "http:<url>" | "tcp:<host>:<port>"
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started: float = field(default=0.0)


class Supervisor:
    def __init__(self, settings: Settings, env: dict[str, str]) -> None:
        self.settings = settings
        self.env = env
        self.children: list[Child] = []
        self.bundle_server: BundleServer | None = None
        self.spool: GroupCommitter | None = None
        self._stopping = False

    # Events ------------------------------------------------------------------

    def audit(self, kind: str, **detail: str) -> None:
        assert self.spool is not None
        self.spool.append_sync(
            AuditEvent(kind=kind, gateway_id=self.settings.gateway_id, detail=detail)
        )

    def _on_policy(self, bundle: Bundle) -> None:
        self.audit("policy-loaded", revision=bundle.revision, digest=bundle.digest)

    # Start ---------------------------------------------------------------------

    def start(self) -> None:
        self.spool = open_spool(self.settings, "supervisor")
        self.audit("component-start", component="supervisor")
        py = sys.executable
        if not self.settings.opa_url:
            self._start_bundle_server()
            cfg = self.settings.home_dir / "opa-config.yaml"
            assert self.bundle_server is not None
            cfg.write_text(opa_config(self.bundle_server.url, self.settings.policy_poll_seconds))
            opa = find_opa(self.settings.opa_binary)
            self.children.append(
                Child("opa", opa_command(opa, self.settings.opa_listen, cfg), "opa")
            )
        self.children.append(
            Child(
                "store", [py, "-m", "gateway.store_process"], f"http:{self.settings.api_url}/readyz"
            )
        )
        host, port = self.settings.proxy_address()
        self.children.append(Child("proxy", [py, "-m", "addons.worker"], f"tcp:{host}:{port}"))
        if self.settings.export.enabled():  # SIEM sinks: docs/export-sinks.md
            self.children.append(Child("export", [py, "-m", "gateway.export_process"], "started"))
        for child in self.children:
            self._spawn(child)
            self._wait_ready(child, timeout=60)

    def _start_bundle_server(self) -> None:
        policy_dir = self.settings.policy_dir.resolve()
        if not policy_dir.is_dir():
            raise AirlockError(f"policy directory {policy_dir} does not exist")
        self.bundle_server = BundleServer(BundleSource(policy_dir, self._on_policy))
        self.bundle_server.start()

    def _spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, env=self.env, start_new_session=True)
        child.started = time.monotonic()
        run_dir = self.settings.home_dir / "run"
        run_dir.mkdir(exist_ok=True)
        (run_dir / f"{child.name}.pid").write_text(f"{child.proc.pid}\n")

    def _wait_ready(self, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert child.proc is not None
            if child.proc.poll() is not None:
                raise AirlockError(f"{child.name} exited with code {child.proc.returncode}")
            if self._is_ready(child):
                return
            time.sleep(0.1)
        raise AirlockError(f"{child.name} did not become ready within {timeout:.0f}s")

    def _is_ready(self, child: Child) -> bool:
        kind, _, target = child.ready.partition(":")
        try:
            if kind == "started":  # no port: running is ready
                return True
            if kind == "opa":
                url = self.settings.effective_opa_url + "/health?bundles=true"
                return httpx.get(url, timeout=1).status_code == 200
            if kind == "http":
                return httpx.get(target, timeout=2).status_code == 200
            host, port = parse_listen(target)
            with socket.create_connection((host, port), timeout=1):
                return True
        except (httpx.HTTPError, OSError):
            return False

    # Run -----------------------------------------------------------------------

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self._request_stop())
        signal.signal(signal.SIGINT, lambda *_: self._request_stop())
        while not self._stopping:
            for child in self.children:
                self._check(child)
            time.sleep(0.2)
        self.stop()
        return 0

    def _request_stop(self) -> None:
        self._stopping = True

    def _check(self, child: Child) -> None:
        assert child.proc is not None
        code = child.proc.poll()
        if code is None or self._stopping:
            return
        now = time.monotonic()
        if child.next_start == 0.0:
            backoff = min(30.0, 0.5 * (2 ** min(child.restarts, 6)))
            if now - child.started > 60:
                backoff = 0.5  # it had been healthy for a while
            child.next_start = now + backoff
            log.error("%s exited with code %s; restarting in %.1fs", child.name, code, backoff)
            return
        if now < child.next_start:
            return
        child.restarts += 1
        child.next_start = 0.0
        self._spawn(child)
        self.audit(
            "component-restart",
            component=child.name,
            exit_code=str(code),
            restarts=str(child.restarts),
        )

    def stop(self) -> None:
        for child in reversed(self.children):  # proxy, then store, then OPA
            if child.proc is None or child.proc.poll() is not None:
                continue
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(timeout=self.settings.drain_seconds + 20)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()
        if self.bundle_server:
            self.bundle_server.stop()
        if self.spool:
            self.audit("component-stop", component="supervisor")
            self.spool.close()


def child_env(settings: Settings) -> dict[str, str]:
    """Children read the same settings: pass every resolved value as AIRLOCK_*."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            env.pop(f"AIRLOCK_{name.upper()}", None)
            continue
        if isinstance(value, Path):
            value = value.expanduser().resolve()
        if isinstance(value, dict | list):  # a table ([export]) or a list: JSON
            value = json.dumps(value, default=str)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"AIRLOCK_{name.upper()}"] = str(value)
    return env
