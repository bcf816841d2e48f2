"""Syslog transport: RFC 5424 framing, TCP/UDP against sockets, TLS against a real rsyslogd."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.export.sink import Record, TransientError
from gateway.export.transports.syslog import (
    SyslogStream,
    SyslogUdp,
    octet_counted,
    rfc5424,
)
from tests.export.sink_support import TcpCollector, make_event, make_records, read_octet_frames
from tests.support.rsyslog import Rsyslog, issue_client_cert, rsyslogd
from tests.support.tls import TestCA, make_ca

HEADER = re.compile(
    r"^<(?P<pri>\d+)>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>\[.*?[^\\]\]) (?P<msg>.*)$",
    re.DOTALL,
)

needs_rsyslog = pytest.mark.skipif(
    rsyslogd() is None, reason="apt-get install rsyslog rsyslog-gnutls"
)


def wait_for(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_rfc5424_header_carries_code_event_id_and_escaped_sd() -> None:
    event = make_event(0, kind="task-killed", gateway_id="gw 1", detail={"by": "cli"})
    message = rfc5424(event, "hello", facility=13).decode()
    parsed = HEADER.match(message)
    assert parsed, message
    assert int(parsed["pri"]) == 13 * 8 + 4  # task-killed is a warning
    assert parsed["ts"] == "2026-11-26T04:27:48.882276Z"
    assert parsed["host"] == "gw_1"  # no spaces in HOSTNAME
    assert parsed["app"] == "airlock" and parsed["procid"] == "-"
    assert parsed["msgid"] == "AL2003"
    assert f'event_id="{event.event_id}"' in parsed["sd"]
    assert parsed["msg"] == "hello"


def test_sd_values_escape_quote_backslash_and_bracket() -> None:
    from gateway.export.transports.syslog import _sd_value

    assert _sd_value('a"b\\c]d') == 'a\\"b\\\\c\\]d'


def test_octet_count_is_the_byte_length_not_characters() -> None:
    message = rfc5424(make_event(0), "héllo ✓")
    frame = octet_counted(message)
    length, _, rest = frame.partition(b" ")
    assert int(length) == len(message) == len(rest)
    assert len(message) > len(message.decode())


def test_tcp_push_sends_octet_counted_frames_in_order() -> None:
    collector = TcpCollector()
    transport = SyslogStream(("127.0.0.1", collector.port), timeout=5)
    records = make_records(20)
    try:
        assert transport.push(records[:10]) == []
        assert transport.push(records[10:]) == []
        wait_for(lambda: len(read_octet_frames(collector.all_bytes())) == 20)
    finally:
        transport.close()
        collector.close()
    frames = read_octet_frames(collector.all_bytes())
    assert [HEADER.match(f.decode())["msg"] for f in frames] == [r.line for r in records]  # type: ignore[index]
    assert len(collector.received) == 1  # one connection for both batches


def test_tcp_receiver_gone_is_transient_and_the_next_push_reconnects() -> None:
    collector = TcpCollector()
    port = collector.port
    transport = SyslogStream(("127.0.0.1", port), timeout=2)
    records = make_records(3)
    transport.push(records[:1])
    wait_for(lambda: collector.all_bytes())
    collector.close()  # receiver down: connection closed, port not listening
    with pytest.raises(TransientError):
        transport.push(records[1:2])
    restarted = TcpCollector(port)
    try:
        assert transport.push(records[2:]) == []
        wait_for(lambda: restarted.all_bytes())
        frames = read_octet_frames(restarted.all_bytes())
        assert [f.decode().endswith(records[2].line) for f in frames] == [True]
    finally:
        transport.close()
        restarted.close()


def test_udp_sends_one_datagram_per_record_and_truncates() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    transport = SyslogUdp(receiver.getsockname(), max_datagram=480)
    records = [Record(make_event(0), "short"), Record(make_event(1), "x" * 2000)]
    try:
        assert transport.push(records) == []
        first, second = receiver.recv(65535), receiver.recv(65535)
    finally:
        transport.close()
        receiver.close()
    assert first.endswith(b" short") and b"octet" not in first[:4]
    assert len(second) == 480 and records[1].event.event_id.encode() in second


@pytest.fixture(scope="module")
def syslog_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("syslog-ca"))


def tls_transport(ca: TestCA, port: int, client: tuple[Path, Path] | None = None) -> SyslogStream:
    import ssl

    ctx = ssl.create_default_context(cafile=str(ca.cert_path))
    if client:
        ctx.load_cert_chain(str(client[0]), str(client[1]))
    return SyslogStream(("127.0.0.1", port), tls=ctx, server_name="localhost", timeout=5)


@pytest.fixture
def rsyslog_anon(tmp_path: Path, syslog_ca: TestCA) -> Iterator[Rsyslog]:
    server = Rsyslog(tmp_path / "rsyslog", syslog_ca).start()
    yield server
    server.stop()


@needs_rsyslog
def test_rsyslog_receives_tls_octet_counted_messages_whole(
    rsyslog_anon: Rsyslog, syslog_ca: TestCA
) -> None:
    records = make_records(50)
    # A line with a newline inside: with LF framing rsyslog would split it in two.
    records[7] = Record(records[7].event, "first half\nsecond half")
    transport = tls_transport(syslog_ca, rsyslog_anon.port)
    try:
        transport.push(records[:25])
        transport.push(records[25:])
    finally:
        transport.close()
    wait_for(lambda: len(rsyslog_anon.messages()) >= 50)
    messages = rsyslog_anon.messages()
    assert len(messages) == 50
    assert rsyslog_anon.event_ids() == [r.event.event_id for r in records]
    assert {m["msgid"] for m in messages} == {"AL1000"}
    assert messages[7]["msg"] == "first half#012second half"  # rsyslog escapes the LF
    assert messages[0]["hostname"] == "gw-test" and messages[0]["app-name"] == "airlock"


@needs_rsyslog
def test_rsyslog_outage_is_transient_then_delivery_resumes(
    rsyslog_anon: Rsyslog, syslog_ca: TestCA
) -> None:
    records = make_records(3)
    transport = tls_transport(syslog_ca, rsyslog_anon.port)
    try:
        transport.push(records[:1])
        rsyslog_anon.stop()
        with pytest.raises(TransientError):
            transport.push(records[1:2])
        rsyslog_anon.start()
        transport.push(records[1:])
    finally:
        transport.close()
    wait_for(lambda: len(rsyslog_anon.messages()) >= 3)
    assert rsyslog_anon.event_ids() == [r.event.event_id for r in records]


@needs_rsyslog
def test_rsyslog_mutual_tls_needs_the_permitted_client_certificate(
    tmp_path: Path, syslog_ca: TestCA
) -> None:
    server = Rsyslog(tmp_path / "mtls", syslog_ca, client_peer="airlock-exporter").start()
    good = issue_client_cert(syslog_ca, tmp_path / "client", "airlock-exporter")
    other = issue_client_cert(syslog_ca, tmp_path / "client", "somebody-else")
    records = make_records(4)
    try:
        for client in (None, other):
            refused = tls_transport(syslog_ca, server.port, client)
            with pytest.raises(TransientError):
                refused.push(records[:2])
            refused.close()
        accepted = tls_transport(syslog_ca, server.port, good)
        accepted.push(records[2:])
        accepted.close()
        wait_for(lambda: len(server.messages()) >= 2)
        time.sleep(0.3)
        assert server.event_ids() == [r.event.event_id for r in records[2:]]
    finally:
        server.stop()


def test_tls_refuses_a_server_the_ca_did_not_sign(tmp_path: Path, syslog_ca: TestCA) -> None:
    import ssl

    from tests.support.tls import server_context

    stranger = make_ca(tmp_path / "stranger")
    listener = socket.create_server(("127.0.0.1", 0))
    ctx = server_context(stranger.issue(tmp_path / "srv"))

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()

    import threading

    threading.Thread(target=serve, daemon=True).start()
    transport = tls_transport(syslog_ca, listener.getsockname()[1])
    try:
        with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
            transport.push(make_records(1))
    finally:
        transport.close()
        listener.close()
