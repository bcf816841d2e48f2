"""Audit trail: typed events, on-disk spool, shipping into ClickHouse."""
