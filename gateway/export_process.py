"""The export process: one delivery loop per enabled sink, until SIGTERM.

``python -m gateway.export_process`` (started by ``airlock up`` when sinks are
configured). It reads the audit trail through the query API, because chDB lets only
the store process open its data directory. A loop that dies of an unexpected error
stops the process with code 1, and ``airlock up`` restarts it; cursors are durable.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from gateway.config import Settings, load_settings
from gateway.export.delivery import SinkRunner
from gateway.export.metrics import serve_metrics
from gateway.export.service import Wiring, owner_id, spool_notifier
from gateway.runtime import build_control_plane, open_spool

log = logging.getLogger("airlock.export")


def _guarded(runner: SinkRunner, crashed: threading.Event) -> None:
    try:
        runner.run()
    except Exception:
        log.exception("sink %s: delivery loop failed", runner.sink.name)
        crashed.set()
        runner.stop.set()


def serve(settings: Settings) -> int:
    sinks = settings.export.enabled()
    spool = open_spool(settings, "export")
    stop, crashed = threading.Event(), threading.Event()
    wiring = Wiring(
        settings=settings,
        control=build_control_plane(settings),
        stop=stop,
        notify=spool_notifier(spool, settings.gateway_id),
        owner=owner_id(),
    )
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runners = [wiring.runner(sink) for sink in sinks]
    if settings.export.metrics_listen:
        serve_metrics(settings.export.metrics_listen, runners)
    names = ",".join(s.name for s in sinks)
    wiring.notify("component-start", {"component": "export", "sinks": names})
    threads = [
        threading.Thread(target=_guarded, args=(r, crashed), name=f"export-{r.sink.name}")
        for r in runners
    ]
    for thread in threads:
        thread.start()
    while not stop.wait(0.5):
        pass
    for thread in threads:
        thread.join(settings.drain_seconds + 10)
    for runner in runners:
        runner.close()
    wiring.notify("component-stop", {"component": "export", "sinks": names})
    spool.close()
    return 1 if crashed.is_set() else 0


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    return serve(load_settings())


if __name__ == "__main__":
    sys.exit(main())
