"""Added latency of a 1 MB request body through Airlock (scanned for secrets) vs direct.

Prints median and p90 wall time per POST of a 1 MB JSON-like body (no secrets) with
keep-alive, direct to a loopback upstream and through a real `airlock up` whose
profile redacts. Asserts nothing about time.
Run: .venv/bin/python tests/perf/bench_body.py [N]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.airlock import AirlockInstance  # noqa: E402
from tests.support.tls import make_ca  # noqa: E402
from tests.support.upstream import HttpsUpstream  # noqa: E402

SIZE = 1_000_000


def body(size: int = SIZE) -> bytes:
    rng = random.Random(7)
    items, out = [], 0
    while out < size:
        item = {
            "id": rng.randrange(10**9),
            "name": f"package-{rng.randrange(10**6)}",
            "version": f"{rng.randrange(9)}.{rng.randrange(30)}.{rng.randrange(30)}",
            "description": "a small library that does one thing well " * 2,
        }
        items.append(item)
        out += len(json.dumps(item)) + 2
    return json.dumps(items).encode()[:size]


def timed(client: httpx.Client, url: str, payload: bytes, n: int) -> list[float]:
    for _ in range(3):
        client.post(url, content=payload)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        resp = client.post(url, content=payload, headers={"content-type": "application/json"})
        out.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, resp.text[:200]
    return sorted(out)


def report(name: str, times: list[float]) -> str:
    p90 = times[int(0.9 * (len(times) - 1))]
    return f"{name:28} median {statistics.median(times):8.1f} ms   p90 {p90:8.1f} ms"


def main(n: int = 20) -> None:
    payload = body()
    root = Path(tempfile.mkdtemp(prefix="airlock-bench-body-"))
    ca = make_ca(root)
    with HttpsUpstream(tls=None) as up:
        url = f"{up.ip_url}/echo"
        with httpx.Client(trust_env=False, timeout=60) as c:
            direct = timed(c, url, payload, n)
        instance = AirlockInstance(root / "airlock", upstream_ca=ca.cert_path).start()
        try:
            instance.add_profile(
                "bench", [{"host": "127.0.0.1", "ports": [up.port], "allow_private": True}]
            )
            task = instance.create_task("bench", "bench")
            with httpx.Client(proxy=task["proxy_url"], trust_env=False, timeout=60) as c:
                proxied = timed(c, url, payload, n)
        finally:
            instance.stop()
    print(f"1 MB JSON body, {n} sequential POSTs, keep-alive, plain HTTP upstream on loopback")
    print(report("direct", direct))
    print(report("through Airlock (redact)", proxied))
    added = statistics.median(proxied) - statistics.median(direct)
    print(f"added median latency: {added:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
