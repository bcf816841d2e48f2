"""CPU of Airlock's own addon work per request, without the network or mitmproxy's I/O.

Runs every Airlock hook (requestheaders → request → responseheaders → response) on
test flows in-process, with the real OPA (the repository's policies, served as a
bundle), the real spool with fsync and the real redaction engine, and prints CPU
ms per request for: everything; without the spool; without OPA (a constant
decision); without both. The difference to the bare-mitmproxy figures of
bench_proxy.py is mitmproxy's own per-hook cost. Asserts nothing about time.
Run: .venv/bin/python tests/perf/bench_hooks.py [N]
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from mitmproxy.test import taddons, tflow  # noqa: E402

from addons.bootstrap import build_addons  # noqa: E402
from gateway.audit.events import AuditEvent  # noqa: E402
from gateway.config import load_settings  # noqa: E402
from gateway.policy.bundle_server import BundleServer, BundleSource  # noqa: E402
from gateway.policy.client import Decision  # noqa: E402
from gateway.policy.opa_process import opa_command, opa_config  # noqa: E402
from gateway.runtime import build_control_plane, build_proxy_runtime  # noqa: E402
from tests.support.airlock import free_port  # noqa: E402


async def run_hooks(chain: list[object], auth: str) -> None:
    flow = tflow.tflow()
    flow.request.host, flow.client_conn.sni = "127.0.0.1", None  # a literal: no DNS lookup
    flow.request.headers["Proxy-Authorization"] = auth
    flow.response = None
    for hook in ("requestheaders", "request"):
        for addon in chain:
            await _call(addon, hook, flow)
    assert flow.response is None, flow.response.content if flow.response else None
    flow.response = tflow.tresp()
    for hook in ("responseheaders", "response"):
        for addon in chain:
            await _call(addon, hook, flow)


async def _call(addon: object, hook: str, flow: object) -> None:
    method = getattr(addon, hook, None)
    if method is not None:
        result = method(flow)
        if asyncio.iscoroutine(result):
            await result


async def measure(settings: object, auth: str, mode: str, n: int) -> float:
    runtime = build_proxy_runtime(settings)  # type: ignore[arg-type]
    if "no-spool" in mode:

        async def append(event: AuditEvent) -> None:
            event.to_bytes()

        runtime.spool.append = append  # type: ignore[method-assign]
    if "no-opa" in mode:
        decision = Decision(True, ("allowed",), ("profile/bench/allow/0",), (), "rev")

        async def decide(policy_input: dict[str, object]) -> Decision:
            return decision

        runtime.policy.decide = decide  # type: ignore[method-assign]
    chain = build_addons(runtime)
    with taddons.context(*chain):
        for _ in range(50):
            await run_hooks(chain, auth)
        start = time.process_time()
        for _ in range(n):
            await run_hooks(chain, auth)
        spent = (time.process_time() - start) / n * 1000
        start = time.process_time()
        for _ in range(n):
            tflow.tflow()
            tflow.tresp()
        spent -= (time.process_time() - start) / n * 1000  # building test flows is not ours
    await runtime.aclose()
    return spent


def main(n: int = 500) -> None:
    root = Path(tempfile.mkdtemp(prefix="airlock-bench-hooks-"))
    shutil.copytree(REPO / "policies", root / "policies")
    profile = root / "policies/airlock/profiles/bench"
    profile.mkdir()
    (profile / "data.json").write_text(
        json.dumps({"allow": [{"host": "127.0.0.1", "ports": [22], "allow_private": True}]})
    )
    bundles = BundleServer(BundleSource(root / "policies"))
    bundles.start()
    (root / "opa.yaml").write_text(opa_config(bundles.url, 1))
    listen = f"127.0.0.1:{free_port()}"
    opa = subprocess.Popen(
        opa_command(str(REPO / ".bin/opa"), listen, root / "opa.yaml"), stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(2)
        settings = load_settings(home=root / "home", opa_listen=listen)
        task, token = build_control_plane(settings).tasks.create(
            agent="bench", profile="bench", ttl=timedelta(hours=1)
        )
        auth = "Basic " + base64.b64encode(f"{task.task_id}:{token}".encode()).decode()
        print(f"Airlock hooks, in-process, {n} requests each (CPU ms per request)")
        for mode in ("everything", "no-spool", "no-opa", "no-spool no-opa"):
            print(f"  {mode:18} {asyncio.run(measure(settings, auth, mode, n)):.3f}")
    finally:
        opa.terminate()
        bundles.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
