"""Compare OPA clients on the proxy's hot path: one decision, sequential, keep-alive.

Prints per-decision wall time and client-process CPU for:
  opa-python-client AsyncOpaClient (aiohttp), httpx.AsyncClient, and Airlock's
  gateway.policy.opa_http.OpaHttp (raw asyncio streams).
Asserts nothing about time. Run: .venv/bin/python tests/perf/bench_opa_client.py
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

INPUT: dict[str, Any] = {
    "kind": "http",
    "task": {"id": "t", "tenant": "default", "agent": "a", "profile": "registries"},
    "destination": {"host": "pypi.org", "port": 443, "addresses": ["151.101.0.223"]},
    "request": {"method": "GET", "scheme": "https", "path": "/simple/"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def measure(name: str, call: Callable[[], Awaitable[Any]], n: int) -> dict[str, Any]:
    for _ in range(50):
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await call()
    return {
        "client": name,
        "wall_ms": (time.perf_counter() - wall) / n * 1000,
        "cpu_ms": (time.process_time() - cpu) / n * 1000,
    }


async def run(port: int, n: int) -> list[dict[str, Any]]:
    import httpx
    from opa_client.opa_async import AsyncOpaClient

    from gateway.policy.opa_http import OpaHttp

    results = []
    raw = OpaHttp(f"http://127.0.0.1:{port}")
    results.append(
        await measure(
            "airlock OpaHttp",
            lambda: raw.post_json("/v1/data/airlock/decision", {"input": INPUT}),
            n,
        )
    )
    await raw.aclose()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as hx:
        results.append(
            await measure(
                "httpx.AsyncClient",
                lambda: hx.post("/v1/data/airlock/decision", json={"input": INPUT}),
                n,
            )
        )
    async with AsyncOpaClient(host="127.0.0.1", port=port) as opa:
        results.append(
            await measure(
                "opa-python-client (aiohttp)",
                lambda: opa.query_rule(INPUT, "airlock", "decision"),
                n,
            )
        )
    return results


def main(n: int = 500) -> None:
    port = free_port()
    opa_bin = REPO / ".bin" / "opa"
    proc = subprocess.Popen(
        [
            str(opa_bin),
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{port}",
            "--log-level",
            "error",
            "--skip-version-check",
            str(REPO / "policies"),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        results = asyncio.run(run(port, n))
    finally:
        proc.terminate()
        proc.wait()
    print(f"{'client':28} {'wall ms/decision':>17} {'client CPU ms':>14}")
    for r in results:
        print(f"{r['client']:28} {r['wall_ms']:17.3f} {r['cpu_ms']:14.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
