"""mitmproxy addons: thin translations between flows and the ``gateway`` core.

Load into a stock mitmdump with ``mitmdump -s addons/airlock.py``.
"""
