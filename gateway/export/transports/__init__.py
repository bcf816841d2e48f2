"""Transports: syslog (TCP, TLS, UDP), HTTPS (HEC, Elastic, webhook), rotating files.

:func:`build_transport` turns a sink's settings into a :class:`~gateway.export.sink.Transport`.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from gateway.errors import ConfigError
from gateway.export.config import SinkSettings
from gateway.export.sink import Transport
from gateway.export.transports.files import RotatingFile
from gateway.export.transports.http import ElasticBulk, HecTransport, Webhook
from gateway.export.transports.syslog import SyslogStream, SyslogUdp


def tls_context(sink: SinkSettings) -> ssl.SSLContext:
    """Verify the server (its CA from ``ca_file``, else the system roots), TLS 1.2+."""
    try:
        ctx = ssl.create_default_context(cafile=str(sink.ca_file) if sink.ca_file else None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if sink.client_cert and sink.client_key:
            ctx.load_cert_chain(str(sink.client_cert), str(sink.client_key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"sink {sink.name}: TLS files: {exc}") from None
    return ctx


def build_transport(sink: SinkSettings) -> Transport:
    timeout = sink.timeout_ms / 1000
    if sink.transport in ("syslog-tcp", "syslog-tls"):
        return SyslogStream(
            sink.host_port,
            tls=tls_context(sink) if sink.transport == "syslog-tls" else None,
            server_name=sink.server_name,
            timeout=timeout,
            facility=sink.facility,
            app_name=sink.app_name,
        )
    if sink.transport == "syslog-udp":
        return SyslogUdp(
            sink.host_port,
            max_datagram=sink.max_datagram,
            facility=sink.facility,
            app_name=sink.app_name,
        )
    if sink.transport == "file":
        assert sink.path is not None
        return RotatingFile(sink.path, max_bytes=sink.file_max_bytes, keep=sink.file_keep)
    return _http_transport(sink, timeout)


def _http_transport(sink: SinkSettings, timeout: float) -> Transport:
    assert sink.url is not None
    tls = tls_context(sink) if urlsplit(sink.url).scheme == "https" else None
    secret = sink.secret()
    if sink.transport == "elastic":
        return ElasticBulk(sink.url, sink.index, api_key=secret, tls=tls, timeout=timeout)
    if secret is None:  # the settings model requires one for hec and webhook
        raise ConfigError(f"sink {sink.name}: no secret")
    if sink.transport == "hec":
        return HecTransport(sink.url, secret, fmt=sink.format, tls=tls, timeout=timeout)
    return Webhook(sink.url, secret, tls=tls, timeout=timeout)
