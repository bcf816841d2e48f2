"""Airlock: a governance and audit gateway in front of AI agents.

The ``gateway`` package is the domain core. It never imports mitmproxy; the
``addons`` package translates mitmproxy flows into calls on this core.
"""

__version__ = "0.1.0"
