"""The store process: owns ClickHouse (chDB), ships the spool, serves the API.

With a ClickHouse server, the shipper may write as an INSERT-only user
(``clickhouse_url``) while the API reads, and retention alters the TTL, as a
second user (``clickhouse_read_url``).

``python -m gateway.store_process`` (started by ``airlock up``).
"""

from __future__ import annotations

import logging
import sys

import uvicorn

from gateway.alerts.liveness import LivenessConfig, LivenessMonitor
from gateway.audit.events import AuditEvent
from gateway.audit.retention import RetentionManager
from gateway.audit.schema import Layout
from gateway.audit.shipper import Shipper
from gateway.audit.signing import load_signer
from gateway.audit.store import AuditStore, open_store
from gateway.config import Settings, load_settings, parse_listen
from gateway.control.holds import HoldService
from gateway.errors import ConfigError, StoreUnavailableError
from gateway.query.app import AppDeps, create_app
from gateway.runtime import build_control_plane, open_spool

log = logging.getLogger("airlock.store")


def open_reader(settings: Settings, writer: AuditStore) -> AuditStore:
    """Reads go through their own DSN when one is set, so the shipper's user can be
    INSERT-only (docs/audit.md, grants)."""
    if not settings.clickhouse_read_url:
        return writer
    if not settings.clickhouse_url:
        raise ConfigError("clickhouse_read_url needs clickhouse_url (a ClickHouse server)")
    return open_store(settings.clickhouse_read_url, settings.chdb_dir, run_migrations=False)


def serve(settings: Settings) -> int:
    layout = Layout(settings.clickhouse_cluster)
    store = open_store(
        settings.clickhouse_url,
        settings.chdb_dir,
        layout=layout,
        run_migrations=settings.clickhouse_migrate,
    )
    reader = open_reader(settings, store)
    signer = load_signer(settings.audit_key_path, create=settings.audit_signing_key_file is None)
    control = build_control_plane(settings)
    spool = open_spool(settings, "store")
    shipper = Shipper(
        settings.spool_dir,
        store,
        batch_events=settings.ship_batch_events,
        gateway_id=settings.gateway_id,
    )
    spool.append_sync(
        AuditEvent(
            kind="component-start",
            gateway_id=settings.gateway_id,
            detail={"component": "store", "backend": store.name},
        )
    )
    shipper.drain()  # catch up before serving
    shipper.start(settings.ship_interval_ms / 1000)
    liveness = LivenessMonitor(
        reader,
        control.tasks,
        LivenessConfig(
            settings.idle_seconds, settings.stall_seconds, tuple(settings.alert_webhooks)
        ),
        spool.append_sync,
        settings.gateway_id,
    )
    liveness.load()
    liveness.start(settings.liveness_interval_seconds)
    retention = RetentionManager(
        reader,  # the reader's user holds the ALTER TTL grant (docs/audit.md)
        layout,
        settings.audit_retention_days,
        HoldService(control.sessions),
        spool.append_sync,
        settings.gateway_id,
    )
    try:
        retention.sync()
    except StoreUnavailableError as exc:  # keeping more than asked is the safe failure
        log.error("retention TTL not applied (needs ALTER TTL on the reader): %s", exc)
    deps = AppDeps(
        reader,
        control.keys,
        shipper,
        settings.spool_dir,
        control.credentials(),
        audit_keys={signer.key_id: signer.public_pem()},
        evidence_margin=settings.evidence_margin_seconds,
        checkpoint_seconds=settings.checkpoint_seconds,
        retention=retention,
        record=spool.append_sync,
    )
    app = create_app(deps)
    host, port = parse_listen(settings.api_listen)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        liveness.stop()
        spool.append_sync(
            AuditEvent(
                kind="component-stop", gateway_id=settings.gateway_id, detail={"component": "store"}
            )
        )
        spool.close()
        shipper.stop()  # final drain, includes the stop event
        store.close()
        if reader is not store:
            reader.close()
    return 0


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    return serve(load_settings())


if __name__ == "__main__":
    sys.exit(main())
