"""OpaHttp: the minimal keep-alive HTTP/1.1 client, against scripted loopback servers.

The happy path against the real OPA is covered in tests/policy/test_client.py; here a
scripted server (``ScriptedServer``) is used on purpose, because the real OPA cannot be
made to send chunked bodies, bad status lines, ``Connection: close`` or to hang on demand.
"""

from __future__ import annotations

import asyncio
import json
import re
from types import TracebackType

import pytest

from gateway.policy.opa_http import MAX_BODY, OpaHttp, OpaHttpError

HANG = None  # a scripted "answer" that never comes


def http_response(status: int = 200, body: bytes = b'{"result": true}', headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


def chunked_response(*chunks: bytes, extension: str = "") -> bytes:
    out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    for chunk in chunks:
        out += f"{len(chunk):x}{extension}\r\n".encode() + chunk + b"\r\n"
    return out + b"0\r\n\r\n"


class ScriptedServer:
    """A loopback server that answers each request with the next scripted bytes.

    A fake on purpose (see the module docstring). ``None`` means never answer;
    ``close_after_each`` closes the connection after every answer without saying so.
    """

    def __init__(self, *answers: bytes | None, close_after_each: bool = False) -> None:
        self.answers = list(answers)
        self.close_after_each = close_after_each
        self.accepts = 0
        self.requests: list[bytes] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._release.set()
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
                body = await reader.readexactly(int(match[1])) if match else b""
                self.requests.append(head + body)
                answer = self.answers.pop(0) if self.answers else HANG
                if answer is HANG:
                    await self._release.wait()
                    return
                writer.write(answer)
                await writer.drain()
                if self.close_after_each:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


async def test_posts_compact_json_with_host_and_length() -> None:
    async with ScriptedServer(http_response(body=b'{"result": {"allow": true}}')) as server:
        client = OpaHttp(server.url)
        status, body = await client.post_json("/v1/data/x", {"input": {"a": 1}})
        await client.aclose()
    assert (status, body) == (200, {"result": {"allow": True}})
    head, _, sent = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/data/x HTTP/1.1"
    port = server.url.rsplit(":", 1)[1]
    assert f"Host: 127.0.0.1:{port}" in lines
    assert "Content-Type: application/json" in lines
    assert f"Content-Length: {len(sent)}" in lines
    assert sent == b'{"input":{"a":1}}'


async def test_base_url_path_is_a_prefix() -> None:
    async with ScriptedServer(http_response()) as server:
        client = OpaHttp(server.url + "/opa/")
        await client.post_json("/v1/data/x", {})
        await client.aclose()
    assert server.requests[0].startswith(b"POST /opa/v1/data/x HTTP/1.1\r\n")


async def test_non_200_status_is_returned() -> None:
    async with ScriptedServer(http_response(500, b'{"code": "internal_error"}')) as server:
        client = OpaHttp(server.url)
        assert await client.post_json("/", {}) == (500, {"code": "internal_error"})
        await client.aclose()


async def test_empty_body_is_none() -> None:
    async with ScriptedServer(http_response(body=b"")) as server:
        client = OpaHttp(server.url)
        assert await client.post_json("/", {}) == (200, None)
        await client.aclose()


async def test_chunked_body_is_reassembled() -> None:
    payload = json.dumps({"result": {"allow": False, "reasons": ["x" * 40]}}).encode()
    pieces = [payload[:7], payload[7:30], payload[30:]]
    answers = (chunked_response(*pieces), chunked_response(payload, extension=";name=v"))
    async with ScriptedServer(*answers) as server:
        client = OpaHttp(server.url)
        first = await client.post_json("/", {})
        second = await client.post_json("/", {})  # same connection, stream left in sync
        await client.aclose()
    assert first == second == (200, json.loads(payload))
    assert server.accepts == 1


async def test_keep_alive_reuses_one_connection() -> None:
    async with ScriptedServer(http_response(), http_response(), http_response()) as server:
        client = OpaHttp(server.url)
        for _ in range(3):
            assert (await client.post_json("/", {}))[0] == 200
        await client.aclose()
    assert server.accepts == 1
    assert len(server.requests) == 3


async def test_connection_close_is_honoured() -> None:
    close = http_response(headers="Connection: close\r\n")
    async with ScriptedServer(close, close, close_after_each=True) as server:
        client = OpaHttp(server.url)
        await client.post_json("/", {})
        await client.post_json("/", {})
        await client.aclose()
    assert server.accepts == 2


async def test_aclose_drops_idle_connections() -> None:
    async with ScriptedServer(http_response(), http_response()) as server:
        client = OpaHttp(server.url)
        await client.post_json("/", {})
        await client.aclose()
        await client.post_json("/", {})
        await client.aclose()
    assert server.accepts == 2


async def test_max_idle_zero_never_pools() -> None:
    async with ScriptedServer(http_response(), http_response()) as server:
        client = OpaHttp(server.url, max_idle=0)
        await client.post_json("/", {})
        await client.post_json("/", {})
    assert server.accepts == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(b"garbage\r\n\r\n", "bad status line", id="bad-status-line"),
        pytest.param(http_response(body=b"{not json"), "invalid JSON", id="bad-json"),
        pytest.param(
            f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode(),
            "too large",
            id="too-large",
        ),
    ],
)
async def test_protocol_errors_raise_opa_http_error(answer: bytes, message: str) -> None:
    async with ScriptedServer(answer, http_response()) as server:
        client = OpaHttp(server.url)
        with pytest.raises(OpaHttpError, match=message):
            await client.post_json("/", {})
        assert (await client.post_json("/", {}))[0] == 200
        await client.aclose()


async def test_a_failed_exchange_never_reuses_its_connection() -> None:
    async with ScriptedServer(b"garbage\r\n\r\n", http_response()) as server:
        client = OpaHttp(server.url)
        with pytest.raises(OpaHttpError):
            await client.post_json("/", {})
        await client.post_json("/", {})
        await client.aclose()
    assert server.accepts == 2


async def test_cancelled_exchange_closes_its_connection() -> None:
    async with ScriptedServer(HANG, http_response()) as server:
        client = OpaHttp(server.url)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.post_json("/", {}), 0.05)
        assert (await client.post_json("/", {}))[0] == 200
        await client.aclose()
    assert server.accepts == 2


async def test_truncated_body_raises() -> None:
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}"
    async with ScriptedServer(truncated, close_after_each=True) as server:
        client = OpaHttp(server.url)
        with pytest.raises(asyncio.IncompleteReadError):
            await client.post_json("/", {})


async def test_stale_pooled_connection_is_replaced() -> None:
    async with ScriptedServer(http_response(), http_response(), close_after_each=True) as server:
        client = OpaHttp(server.url)
        await client.post_json("/", {})
        await asyncio.sleep(0)  # let the server's close reach us
        assert (await client.post_json("/", {}))[0] == 200
        await client.aclose()


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:8181", "127.0.0.1:8181", "http://", "unix:///tmp/opa.sock"]
)
def test_only_plain_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        OpaHttp(url)
