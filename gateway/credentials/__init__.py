"""Credential brokering: agents hold placeholders, the proxy injects real values."""
