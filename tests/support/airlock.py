"""``AirlockInstance``: a real ``airlock up`` (OPA, proxy, store) in a temp home.

Integration tests drive it exactly as a user would: the CLI creates tasks and
keys, real clients talk through the proxy, the query API answers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.support.env import direct_env

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def git(policy_dir: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(policy_dir),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            *args,
        ],
        check=True,
        capture_output=True,
    )


class AirlockInstance:
    def __init__(
        self,
        root: Path,
        *,
        upstream_ca: Path | None = None,
        extra_env: dict[str, str] | None = None,
        wrapper: list[str] | None = None,
    ) -> None:
        self.root = root
        self.wrapper = wrapper or []  # argv prefix for `airlock up`, e.g. an unshare
        self.home = root / "home"
        self.policy_dir = root / "policies"
        self.proxy_port, self.api_port, self.opa_port = free_port(), free_port(), free_port()
        shutil.copytree(REPO / "policies", self.policy_dir)
        git(self.policy_dir, "init", "-q")
        git(self.policy_dir, "add", "-A")
        git(self.policy_dir, "commit", "-qm", "policies under test")
        self.env = direct_env(
            {
                "AIRLOCK_HOME": str(self.home),
                "AIRLOCK_PROXY_LISTEN": f"127.0.0.1:{self.proxy_port}",
                "AIRLOCK_API_LISTEN": f"127.0.0.1:{self.api_port}",
                "AIRLOCK_OPA_LISTEN": f"127.0.0.1:{self.opa_port}",
                "AIRLOCK_POLICY_DIR": str(self.policy_dir),
                "AIRLOCK_GATEWAY_ID": "test-gw",
                "AIRLOCK_IDENTITY_CACHE_SECONDS": "0.2",
                **({"AIRLOCK_UPSTREAM_CA": str(upstream_ca)} if upstream_ca else {}),
                **(extra_env or {}),
            }
        )
        self.env["PATH"] = f"{REPO / '.bin'}:{self.env.get('PATH', '')}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "airlock.log"

    # Lifecycle -------------------------------------------------------------

    def start(self, timeout: float = 90) -> AirlockInstance:
        seen = self.log.stat().st_size if self.log.exists() else 0  # a restart appends
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*self.wrapper, sys.executable, "-m", "gateway.cli", "up"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airlock up exited: {self.log.read_text()[-3000:]}")
            if b"Airlock is up" in self.log.read_bytes()[seen:]:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"airlock up not ready: {self.log.read_text()[-3000:]}")

    def stop(self, timeout: float = 60) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            for pid in self.child_pids().values():
                _kill(pid)
            raise

    def child_pids(self) -> dict[str, int]:
        """Pids from ``run/*.pid``; a file being rewritten (empty for an instant) is left out."""
        run = self.home / "run"
        pids = {p.stem: p.read_text().strip() for p in run.glob("*.pid")} if run.exists() else {}
        return {name: int(pid) for name, pid in pids.items() if pid.isdigit()}

    def kill_child(self, name: str, sig: int = signal.SIGKILL) -> int:
        pid = self.child_pids()[name]
        os.kill(pid, sig)
        return pid

    def wait_child_restarted(
        self,
        name: str,
        old_pid: int,
        timeout: float = 60,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        """Wait for a new pid and ``ready()`` (default: API ready and proxy listening)."""
        check = ready or self.ready
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.child_pids().get(name, old_pid) != old_pid and check():
                return
            time.sleep(0.2)
        raise TimeoutError(f"{name} was not restarted")

    def proxy_listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.proxy_port), timeout=1):
                return True
        except OSError:
            return False

    def crash(self) -> None:
        """kill -9 the supervisor and every child at once, as a power cut would."""
        pids = self.child_pids()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in pids.values():
            _kill(pid)
        for pid in pids.values():
            _wait_gone(pid)

    def ready(self) -> bool:
        try:
            ok = httpx.get(f"{self.api_url}/readyz", timeout=2).status_code == 200
            with socket.create_connection(("127.0.0.1", self.proxy_port), timeout=1):
                return ok
        except (httpx.HTTPError, OSError):
            return False

    # CLI -------------------------------------------------------------------

    def cli(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli", *args],
            cwd=REPO,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def create_task(self, agent: str, profile: str, ttl: str = "1h") -> dict[str, Any]:
        out = self.cli(
            "task", "create", "--agent", agent, "--profile", profile, "--ttl", ttl, "--json"
        )
        return dict(json.loads(out.stdout))

    def api_key(self, role: str = "auditor", tenant: str = "*") -> str:
        out = self.cli("key", "create", "--role", role, "--tenant", tenant, "--json")
        return str(json.loads(out.stdout)["key"])

    # Policy ----------------------------------------------------------------

    def add_profile(self, name: str, allow: list[dict[str, Any]], *, commit: bool = True) -> str:
        """Write a profile into the policy dir and wait until OPA serves it."""
        target = self.policy_dir / "airlock" / "profiles" / name
        target.mkdir(parents=True, exist_ok=True)
        (target / "data.json").write_text(json.dumps({"allow": allow}))
        if commit:
            git(self.policy_dir, "add", "-A")
            git(self.policy_dir, "commit", "-qm", f"profile {name}")
        return self.wait_policy(lambda data: data.get(name, {}).get("allow") == allow)

    def wait_policy(self, check: Callable[[dict[str, Any]], bool], timeout: float = 30) -> str:
        """Wait until ``check(data.airlock.profiles)``; return the bundle revision."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = httpx.post(
                f"{self.opa_url}/v1/data/airlock/profiles?provenance=true", json={}, timeout=5
            ).json()
            if check(resp.get("result") or {}):
                return str(resp["provenance"]["bundles"]["airlock"]["revision"])
            time.sleep(0.2)
        raise TimeoutError("policy change not loaded by OPA")

    # Query API -------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def opa_url(self) -> str:
        return f"http://127.0.0.1:{self.opa_port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def events(self, key: str, **params: Any) -> dict[str, Any]:
        resp = httpx.get(
            f"{self.api_url}/v1/events",
            params=params,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        resp.raise_for_status()
        return dict(resp.json())

    def all_events(self, key: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            body = self.events(key, limit=1000, **params, **({"cursor": cursor} if cursor else {}))
            out += body["events"]
            cursor = body["next_cursor"]
            if not cursor:
                return out

    def wait_events(
        self,
        key: str,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 10,
        **params: Any,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        events: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            events = self.all_events(key, **params)
            if predicate(events):
                return events
            time.sleep(0.1)
        raise TimeoutError(f"events not as expected after {timeout}s: {events[:5]}")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float = 10) -> None:
    """Until ``pid`` is reaped or a zombie (its parent may be dead too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return
        if stat[stat.rindex(")") + 2] == "Z":
            return
        time.sleep(0.05)


def client_env(task: dict[str, Any]) -> dict[str, str]:
    """A sandbox's environment: the task's variables and nothing from this machine."""
    return direct_env({k: v for k, v in task["env"].items() if v})


def curl(task: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    """curl through the task's proxy, trusting Airlock's CA, with the sandbox's env."""
    return subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "20",
            "-x",
            task["proxy_url"],
            "--cacert",
            task["ca_cert"],
            *args,
        ],
        capture_output=True,
        text=True,
        env=client_env(task),
        timeout=30,
    )
