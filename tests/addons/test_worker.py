"""The worker's mitmproxy modes: the explicit proxy, plus transparent and DNS when set."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitmproxy.proxy.mode_specs import DnsMode, ProxyMode, RegularMode, TransparentMode

from addons.worker import proxy_modes
from gateway.config import Settings


def test_only_the_explicit_proxy_by_default(tmp_path: Path) -> None:
    assert proxy_modes(Settings(home=tmp_path)) == ["regular"]


@pytest.mark.parametrize(
    ("transparent", "dns", "hosts"),
    [
        ("0.0.0.0:8082", "0.0.0.0:8053", ("0.0.0.0", "0.0.0.0")),
        ("10.200.1.1:8082", "[::]:8053", ("10.200.1.1", "::")),
    ],
)
def test_listeners_become_modes_mitmproxy_parses(
    tmp_path: Path, transparent: str, dns: str, hosts: tuple[str, str]
) -> None:
    settings = Settings(home=tmp_path, transparent_listen=transparent, dns_listen=dns)
    regular, tmode, dmode = (ProxyMode.parse(m) for m in proxy_modes(settings))
    assert isinstance(regular, RegularMode)
    assert isinstance(tmode, TransparentMode) and isinstance(dmode, DnsMode)
    assert (tmode.custom_listen_host, tmode.custom_listen_port) == (hosts[0], 8082)
    assert (dmode.custom_listen_host, dmode.custom_listen_port) == (hosts[1], 8053)
