"""Environment helpers so "direct" clients really bypass any proxy and use the CA
they are given on the command line.

Beware: several CA-bundle variables *override* explicit client options —
``GIT_SSL_CAINFO`` beats ``-c http.sslCAInfo``, and ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE`` beat ``pip --cert`` (requests merges env over session.verify).
``direct_env`` therefore strips them, along with ``PIP_*`` settings
(``PIP_FIND_LINKS``, ``PIP_CERT``, ...), which would change what pip resolves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["CA_OVERRIDE_VARS", "PROXY_VARS", "direct_env"]

#: Proxy-related variables honoured by curl, requests, httpx, pip and git.
PROXY_VARS: tuple[str, ...] = tuple(
    v
    for base in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY")
    for v in (base, base.lower())
)

#: Variables that silently replace the trust store chosen on a client's command line.
CA_OVERRIDE_VARS: tuple[str, ...] = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "GIT_SSL_NO_VERIFY",
    "PIP_CERT",
    "HTTPLIB2_CA_CERTS",
    "NODE_EXTRA_CA_CERTS",
)


def _stripped(name: str) -> bool:
    upper = name.upper()
    return (
        upper in {p.upper() for p in PROXY_VARS}
        or upper in CA_OVERRIDE_VARS
        or upper.startswith("PIP_")
        or upper == "GIT_PROXY_COMMAND"
    )


def direct_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``os.environ`` without proxy, CA-override and ``PIP_*`` variables,
    updated with ``extra``."""
    env = {k: v for k, v in os.environ.items() if not _stripped(k)}
    env.update(extra or {})
    return env
