"""The proxies under test, as context managers, plus per-process CPU accounting.

Each context manager yields a ``Proxy``: where to connect, the credentials to
send, the CA a client must trust for intercepted TLS, and the pids whose CPU
time the benchmark reports (``/proc/<pid>/stat`` utime + stime, all threads).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.airlock import AirlockInstance, free_port
from tests.support.env import direct_env

__all__ = ["Proxy", "airlock_instance", "airlock_proxy", "bare_mitmdump", "cpu_seconds"]

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds consumed so far by ``pid`` (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields from #3 (state) on
    return (int(fields[11]) + int(fields[12])) / _TICK  # #14 utime, #15 stime


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    ca: Path
    auth: str | None = None  # "user:password" for Proxy-Authorization
    pids: dict[str, int] = field(default_factory=dict)  # label -> pid to account CPU for


def mitmdump_binary() -> str:
    beside = Path(sys.executable).parent / "mitmdump"
    found = str(beside) if beside.exists() else shutil.which("mitmdump")
    if not found:
        raise RuntimeError("mitmdump not found next to the interpreter or on PATH")
    return found


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"proxy not listening on {port}: {log.read_text()[-2000:]}")


@contextmanager
def bare_mitmdump(workdir: Path, upstream_ca: Path, timeout: float = 60) -> Iterator[Proxy]:
    """Stock ``mitmdump`` with default options, trusting only ``upstream_ca`` upstream."""
    confdir = workdir / "mitmdump-conf"
    confdir.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), workdir / "mitmdump.log"
    argv = [
        mitmdump_binary(),
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        str(port),
        "--set",
        f"ssl_verify_upstream_trusted_ca={upstream_ca}",
        "--set",
        f"confdir={confdir}",
        "-q",
    ]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv, env=direct_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_listening(port, proc, log, timeout)
        ca = confdir / "mitmproxy-ca-cert.pem"
        if not ca.exists():
            raise RuntimeError(f"mitmdump wrote no CA into {confdir}")
        yield Proxy(host="127.0.0.1", port=port, ca=ca, pids={"proxy": proc.pid})
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def airlock_instance(
    workdir: Path, upstream_ca: Path, ports: list[int]
) -> Iterator[tuple[AirlockInstance, Proxy]]:
    """A real ``airlock up`` with a ``bench`` profile allowing localhost:``ports``, and
    the ``Proxy`` of one ``bench`` task (the instance serves the query API too)."""
    # The test harness shortens the identity cache to 0.2 s; benchmark the shipped default.
    instance = AirlockInstance(
        workdir / "airlock",
        upstream_ca=upstream_ca,
        extra_env={"AIRLOCK_IDENTITY_CACHE_SECONDS": "1.0"},
    )
    try:
        instance.start()
        instance.add_profile(
            "bench", [{"host": "localhost", "ports": ports, "allow_private": True}]
        )
        task = instance.create_task("bench", "bench")
        url = urlsplit(task["proxy_url"])
        assert url.hostname and url.port, task["proxy_url"]
        children = instance.child_pids()
        pids = {"proxy": children["proxy"], "opa": children["opa"]}
        if "store" in children:
            pids["store"] = children["store"]
        yield (
            instance,
            Proxy(
                host=url.hostname,
                port=url.port,
                ca=Path(task["ca_cert"]),
                auth=f"{url.username}:{url.password}",
                pids=pids,
            ),
        )
    finally:
        instance.stop()


@contextmanager
def airlock_proxy(workdir: Path, upstream_ca: Path, ports: list[int]) -> Iterator[Proxy]:
    """A real ``airlock up`` with a ``bench`` profile allowing localhost:``ports``."""
    with airlock_instance(workdir, upstream_ca, ports) as (_, proxy):
        yield proxy
