"""Alerts: task liveness (active, idle, stalled), expiry records and webhooks."""
