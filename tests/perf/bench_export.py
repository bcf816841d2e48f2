"""SIEM export throughput: events/s per format and per transport, to local receivers.

Run from the repository root::

    .venv/bin/python tests/perf/bench_export.py [--events 5000] [--batch 500] [--json]

For each transport and format it renders ``--events`` audit events and pushes them in
batches of ``--batch``, timing until the receiver acknowledged the last batch: syslog over
TCP (a socket reader) and over TLS (a real rsyslogd when installed, writing to a file),
UDP, a local Splunk HEC over HTTPS, a signed webhook over HTTPS, and a rotating file. A
"render only" row shows the cost of the format alone. It prints figures and asserts
nothing about time; it checks only that every receiver got every event.
Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from gateway.audit.events import AuditEvent  # noqa: E402
from gateway.export.formats import FORMAT_NAMES, render  # noqa: E402
from gateway.export.sink import Record, Transport  # noqa: E402
from gateway.export.transports.files import RotatingFile  # noqa: E402
from gateway.export.transports.http import HecTransport, Webhook  # noqa: E402
from gateway.export.transports.syslog import SyslogStream, SyslogUdp  # noqa: E402
from tests.export.sink_support import TcpCollector  # noqa: E402
from tests.support.hec_receiver import HecReceiver  # noqa: E402
from tests.support.httpbase import BaseHandler, LoopbackServer  # noqa: E402
from tests.support.rsyslog import Rsyslog, rsyslogd  # noqa: E402
from tests.support.tls import TestCA, make_ca  # noqa: E402

T0 = datetime(2026, 11, 26, 4, 27, 48, tzinfo=UTC)


def events(n: int) -> list[AuditEvent]:
    return [
        AuditEvent(
            kind="http-request" if i % 10 else "secret-finding",
            ts=T0 + timedelta(milliseconds=i),
            tenant="default",
            agent=f"agent-{i % 7}",
            task_id=f"tsk_{i % 97:016x}",
            request_id=f"01a2161c-1512-71f3-9ee7-{i:012x}",
            method="GET",
            scheme="https",
            host="pypi.org",
            port=443,
            path=f"/simple/package-{i}/",
            query="page=2&api_key=[MASKED]",
            status=200 if i % 3 else 403,
            decision="allow" if i % 3 else "deny",
            rules=("profile/registries/allow/0",),
            reasons=("allowed",),
            policy_revision="c68be2289483",
            bytes_in=5120 + i,
            duration_ms=12.5,
            client_addr="10.20.0.7",
            gateway_id="gw-bench",
            detail={"fingerprint": "1a2b3c4d"} if i % 10 == 0 else {},
        )
        for i in range(n)
    ]


@dataclass
class Receiver:
    transport: Transport
    received: Callable[[], int]  # events the receiver has so far


class _Sink(BaseHandler):
    def route(self) -> None:
        body = self.read_body()
        self.server.owner.lines += body.count(b"\n")  # type: ignore[attr-defined]
        self.send_bytes(204)


class WebhookReceiver(LoopbackServer):
    handler_class = _Sink
    lines = 0


@contextmanager
def receivers(ca: TestCA, root: Path, fmt: str) -> Iterator[dict[str, Receiver]]:
    """Fresh receivers for one format (a new rsyslog file, a new HEC log, ...)."""
    ctx = ca.client_context()
    token = SecretStr(secrets.token_hex(16))
    with ExitStack() as stack:
        tcp = TcpCollector()
        stack.callback(tcp.close)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        udp_count = _drain_udp(udp)
        stack.callback(udp.close)
        hec = HecReceiver(ca, root / f"hec-{fmt}", token.get_secret_value()).start()
        stack.callback(hec.stop)
        hook = stack.enter_context(WebhookReceiver(ca))
        out_file = root / f"out-{fmt}.jsonl"
        out: dict[str, Receiver] = {
            "syslog-tcp": Receiver(
                SyslogStream(("127.0.0.1", tcp.port)), lambda: complete_frames(tcp.all_bytes())
            ),
            "syslog-udp": Receiver(SyslogUdp(udp.getsockname()), lambda: udp_count[0]),
            "hec": Receiver(
                HecTransport(hec.url, token, fmt=fmt, tls=ctx), lambda: len(hec.events)
            ),
            "webhook": Receiver(Webhook(hook.url, token, tls=ctx), lambda: hook.lines),
            "file": Receiver(RotatingFile(out_file), lambda: out_file.read_bytes().count(b"\n")),
        }
        if rsyslogd():
            server = Rsyslog(root / f"rsyslog-{fmt}", ca).start()
            stack.callback(server.stop)
            tls = SyslogStream(("127.0.0.1", server.port), tls=ctx, server_name="localhost")
            out["syslog-tls"] = Receiver(tls, lambda: len(server.messages()))
        yield out
        for receiver in out.values():
            receiver.transport.close()


def complete_frames(data: bytes) -> int:
    """Octet-counted frames fully received so far."""
    count, pos = 0, 0
    while (space := data.find(b" ", pos)) > 0:
        end = space + 1 + int(data[pos:space])
        if end > len(data):
            break
        count, pos = count + 1, end
    return count


def _drain_udp(sock: socket.socket) -> list[int]:
    count = [0]

    def loop() -> None:
        while True:
            try:
                sock.recv(65535)
            except OSError:
                return
            count[0] += 1

    threading.Thread(target=loop, daemon=True).start()
    return count


def push_all(transport: Transport, fmt: str, batch: list[AuditEvent], size: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(batch), size):
        records = [Record(e, render(fmt, e)) for e in batch[i : i + size]]
        transport.push(records)
    return time.perf_counter() - start


def wait_received(receiver: Receiver, n: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while receiver.received() < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return receiver.received()


def bench(n: int, size: int) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    sample = events(n)
    table: dict[str, dict[str, float]] = {"render only": {}}
    lost: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="airlock-bench-export-") as tmp:
        root = Path(tmp)
        ca = make_ca(root / "ca")
        for fmt in FORMAT_NAMES:
            for event in sample[:200]:  # warm up: first-call costs are not throughput
                render(fmt, event)
            start = time.perf_counter()
            for event in sample:
                render(fmt, event)
            table["render only"][fmt] = n / (time.perf_counter() - start)
            with receivers(ca, root, fmt) as found:
                for name, receiver in found.items():
                    elapsed = push_all(receiver.transport, fmt, sample, size)
                    got = wait_received(receiver, n, timeout=3 if name == "syslog-udp" else 30)
                    if name == "syslog-udp":
                        lost[fmt] = n - got  # UDP: nothing acknowledged, loss is possible
                    elif got != n:
                        raise SystemExit(f"{name}/{fmt}: receiver got {got} of {n} events")
                    table.setdefault(name, {})[fmt] = n / elapsed
    return table, lost


def format_table(table: dict[str, dict[str, float]]) -> str:
    head = f"{'events/s':14}" + "".join(f"{fmt:>10}" for fmt in FORMAT_NAMES)
    rows = [
        f"{name:14}" + "".join(f"{row.get(fmt, float('nan')):10.0f}" for fmt in FORMAT_NAMES)
        for name, row in table.items()
    ]
    return "\n".join([head, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="Also print the figures as JSON.")
    args = parser.parse_args()
    table, lost = bench(args.events, args.batch)
    print(f"{args.events} events, batches of {args.batch}, one sender thread")
    print(format_table(table))
    print("syslog-udp datagrams lost: " + ", ".join(f"{f} {n}" for f, n in lost.items()))
    if args.json:
        print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
