"""Entry point for a stock ``mitmdump -s addons/airlock.py``.

Settings come from ``airlock.toml`` / ``AIRLOCK_*`` as for ``airlock up``; start
mitmdump with ``--set confdir=$AIRLOCK_HOME/ca --set connection_strategy=lazy``.
Building the runtime here, at script load, is mitmproxy's script convention.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from addons.bootstrap import build_addons  # noqa: E402
from gateway.config import load_settings  # noqa: E402
from gateway.runtime import build_proxy_runtime  # noqa: E402

addons = build_addons(build_proxy_runtime(load_settings()))
