"""The proxy worker process: mitmproxy in-process with the Airlock addons.

``python -m addons.worker`` (started by ``airlock up``). SIGTERM stops the
listener, waits up to ``drain_seconds`` for in-flight requests, then exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from mitmproxy import options
from mitmproxy.tools.dump import DumpMaster

from addons.bootstrap import build_addons
from addons.dns import STOCK_RESOLVER
from addons.drain import Drain
from gateway.audit.events import AuditEvent
from gateway.ca import ensure_ca, upstream_trust_bundle
from gateway.config import Settings, load_settings, parse_listen
from gateway.runtime import build_proxy_runtime

log = logging.getLogger("airlock.worker")


def proxy_modes(settings: Settings) -> list[str]:
    """The explicit proxy, plus the transparent and DNS listeners when configured."""
    modes = ["regular"]
    extra = {"transparent": settings.transparent_listen, "dns": settings.dns_listen}
    for mode, listen in extra.items():
        if listen:
            host, port = parse_listen(listen)
            modes.append(f"{mode}@{host}:{port}")
    return modes


def proxy_options(settings: Settings) -> dict[str, object]:
    """mitmproxy option values; applied once the default addons declared them."""
    host, port = settings.proxy_address()
    ensure_ca(settings.ca_dir)
    trust = upstream_trust_bundle(settings.home_dir, settings.upstream_ca)
    return dict(
        listen_host=host,
        listen_port=port,
        mode=proxy_modes(settings),
        confdir=str(settings.ca_dir),
        connection_strategy="lazy",
        ssl_verify_upstream_trusted_ca=str(trust),
        http2=True,
        ssl_insecure=False,
        validate_inbound_headers=True,  # refuse CL/TE smuggling (docs/policy.md)
        termlog_verbosity="warn",
    )


async def serve(settings: Settings) -> int:
    runtime = build_proxy_runtime(settings)
    master = DumpMaster(options.Options(), with_termlog=True, with_dumper=False)
    master.addons.remove(master.addons.get(STOCK_RESOLVER))  # addons/dns.py answers DNS
    master.options.update(**proxy_options(settings))
    chain = build_addons(runtime)
    master.addons.add(*chain)
    drain = next(a for a in chain if isinstance(a, Drain))
    stopping = asyncio.Event()

    async def graceful() -> None:
        if stopping.is_set():
            return
        stopping.set()
        master.options.update(server=False)  # stop accepting new connections
        idle = await drain.wait_idle(settings.drain_seconds)
        log.warning("proxy drained (%s in flight left)", 0 if idle else len(drain.live))
        master.shutdown()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(graceful()))
    await runtime.spool.append(
        AuditEvent(
            kind="component-start",
            gateway_id=settings.gateway_id,
            detail={
                "component": "proxy",
                "listen": settings.proxy_listen,
                "transparent_listen": settings.transparent_listen,
                "dns_listen": settings.dns_listen,
            },
        )
    )
    try:
        await master.run()
    finally:
        await runtime.spool.append(
            AuditEvent(
                kind="component-stop", gateway_id=settings.gateway_id, detail={"component": "proxy"}
            )
        )
        await runtime.aclose()
    return 0


def main() -> int:
    # The spool's group-commit thread must get the GIL back quickly after its
    # fsync: with the default 5 ms switch interval every acknowledgement can wait
    # that long behind the event loop (measured: 2.1 ms → see tests/perf).
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    return asyncio.run(serve(load_settings()))


if __name__ == "__main__":
    sys.exit(main())
