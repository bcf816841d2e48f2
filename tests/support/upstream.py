"""``HttpsUpstream``: a loopback HTTP(S)/1.1 upstream with echo/stream routes.

Routes
  GET|HEAD /echo             JSON: method, path, query, headers (received)
  POST|PUT|PATCH /echo       ... plus body_length and body_sha256
  GET /bytes/N               N bytes of ``deterministic_bytes(N)``
  GET /sse                   text/event-stream, 5 events 200 ms apart, flushed,
                             no Content-Length, ``Connection: close``.
                             Query: n=, interval= (seconds), chunked=1 (use
                             chunked transfer-encoding and keep-alive instead)
  GET /status/CODE           empty-ish response with that status
  GET /redirect?to=URL       302 to URL
  POST /v1/chat/completions  an OpenAI-style completion echoing the Authorization header
  GET /reveal?d=B64[&sse=1&parts=N]  the decoded text, plain or as a stream in N parts
                             (``x=HEX`` instead of ``d`` for hex-encoded text)
  GET /file?kind=tgz|whl[&size=N]  ``archive(kind, N)``: a deterministic .tar.gz
                             (application/gzip) or wheel (application/zip)
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

from tests.support.httpbase import BaseHandler, LoopbackServer, RecordedRequest

__all__ = ["HttpsUpstream", "RecordedRequest", "archive", "deterministic_bytes", "sse_event"]

_BLOCK = 32


def deterministic_bytes(n: int) -> bytes:
    """``n`` pseudo-random but reproducible bytes (SHA-256 counter stream)."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(b"airlock-upstream:%d" % counter).digest()
        counter += 1
    return bytes(out[:n])


ARCHIVE_TYPES = {"tgz": "application/gzip", "whl": "application/zip"}


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def archive(kind: str, size: int = 100_000) -> bytes:
    """A reproducible package archive: a .tar.gz (``tgz``) or a stored, uncompressed wheel
    (``whl``: its RECORD hashes and payload are visible as raw bytes) with a ``size``-byte
    pseudo-random payload."""
    files = {
        "pkg/__init__.py": b'__version__ = "1.0.0"\n',
        "pkg/data.bin": deterministic_bytes(size),
    }
    if kind == "tgz":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(f"pkg-1.0.0/{name}")
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
        return gzip.compress(buf.getvalue(), mtime=0)
    if kind == "whl":
        files["pkg-1.0.0.dist-info/RECORD"] = "\n".join(
            _record_line(n, d) for n, d in files.items()
        ).encode()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as whl:
            for name, data in files.items():
                whl.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
        return buf.getvalue()
    raise ValueError(kind)


def sse_event(i: int) -> bytes:
    """The ``i``-th event emitted by ``/sse`` (events are separated by a blank line)."""
    return f'id: {i}\nevent: tick\ndata: {{"seq": {i}}}\n\n'.encode()


class _UpstreamHandler(BaseHandler):
    def route(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        if path == "/echo":
            self._echo(path, parts.query, query)
        elif path.startswith("/bytes/") and self.command in ("GET", "HEAD"):
            try:
                n = int(path.removeprefix("/bytes/"))
            except ValueError:
                self.send_bytes(400, b"bad length\n", "text/plain")
                return
            self.send_bytes(200, deterministic_bytes(max(n, 0)), "application/octet-stream")
        elif path == "/sse" and self.command == "GET":
            self._sse(query)
        elif path.startswith("/status/"):
            self.read_body()
            try:
                code = int(path.removeprefix("/status/"))
            except ValueError:
                code = 400
            self.send_bytes(code, f"status {code}\n".encode(), "text/plain")
        elif path == "/aws/" and self.command == "POST":
            self._aws()
        elif path == "/v1/chat/completions" and self.command == "POST":
            self._chat()
        elif path == "/reveal" and self.command == "GET":
            self._reveal(query)
        elif path == "/file" and self.command == "GET":
            kind = query.get("kind", [""])[0]
            if kind not in ARCHIVE_TYPES:
                self.send_bytes(400, b"bad kind\n", "text/plain")
                return
            size = int(query.get("size", ["100000"])[0])
            self.send_bytes(200, archive(kind, size), ARCHIVE_TYPES[kind])
        elif path == "/redirect":
            target = query.get("to", ["/echo"])[0]
            self.send_bytes(302, b"", "text/plain", {"Location": target})
        else:
            self.read_body()
            self.send_bytes(404, b"not found\n", "text/plain")

    def _echo(self, path: str, raw_query: str, query: dict[str, list[str]]) -> None:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        doc: dict[str, object] = {
            "method": self.command,
            "path": path,
            "raw_query": raw_query,
            "query": query,
            "headers": headers,  # lower-cased names, duplicates joined with ", "
            "header_list": [[k, v] for k, v in self.headers.items()],
        }
        if self.command in ("POST", "PUT", "PATCH", "DELETE"):
            body = self.read_body()
            doc["body_length"] = len(body)
            doc["body_sha256"] = hashlib.sha256(body).hexdigest()
        self.send_bytes(200, json.dumps(doc, indent=1).encode(), "application/json")

    def _aws(self) -> None:
        """An STS stand-in that accepts only a SigV4 signature made with the real keys
        (``server.aws_keys``), checked independently with botocore's signer."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        body = self.read_body()
        auth = self.headers.get("Authorization", "")
        key_id, secret = self.server.owner.aws_keys
        fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[-1].split(","))
        scope = fields.get("Credential", "").split("/")
        signed = fields.get("SignedHeaders", "").split(";")
        request = AWSRequest(
            method="POST",
            url=f"https://{self.headers['Host']}{self.path}",
            data=body,
            headers={k: v for k, v in self.headers.items() if k.lower() in signed},
        )
        request.context["timestamp"] = self.headers.get("X-Amz-Date", "")
        signer = SigV4Auth(
            Credentials(key_id, secret),
            scope[3] if len(scope) > 3 else "",
            scope[2] if len(scope) > 2 else "",
        )
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if scope[0] != key_id or fields.get("Signature") != expected:
            self.send_bytes(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", "text/xml")
            return
        xml = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/airlock-test</Arn>"
            "<UserId>AIDATEST</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        )
        self.send_bytes(200, xml.encode(), "text/xml")

    def _chat(self) -> None:
        """A stand-in for an OpenAI-compatible API that (carelessly) echoes the key it got."""
        self.read_body()
        auth = self.headers.get("Authorization", "")
        doc = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "stand-in",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"you called me with {auth}"},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self.send_bytes(200, json.dumps(doc).encode(), "application/json")

    def _reveal(self, query: dict[str, list[str]]) -> None:
        """Answer with text given base64-encoded in ``d`` (so no secret is in the request).

        ``sse=1`` sends it as server-sent events split into ``parts`` chunks 0.3 s apart.
        """
        hex_text = query.get("x", [""])[0]
        text = bytes.fromhex(hex_text) if hex_text else base64.b64decode(query.get("d", [""])[0])
        if query.get("sse", ["0"])[0] != "1":
            self.send_bytes(200, text, "text/plain")
            return
        parts = int(query.get("parts", ["2"])[0])
        size = -(-len(text) // parts)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        for i in range(parts):
            if i:
                time.sleep(0.3)
            self.wfile.write(text[i * size : (i + 1) * size])
            self.wfile.flush()

    def _sse(self, query: dict[str, list[str]]) -> None:
        n = int(query.get("n", ["5"])[0])
        interval = float(query.get("interval", ["0.2"])[0])
        chunked = query.get("chunked", ["0"])[0] not in ("0", "", "false")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()
        try:
            for i in range(n):
                if i:
                    time.sleep(interval)
                data = sse_event(i)
                if chunked:
                    data = b"%x\r\n%s\r\n" % (len(data), data)
                self.wfile.write(data)
                self.wfile.flush()
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except OSError:
            self.close_connection = True


class HttpsUpstream(LoopbackServer):
    """Loopback upstream. ``HttpsUpstream(tls=ca)`` for HTTPS, ``tls=None`` for HTTP.

    Attributes: ``url`` (https://localhost:PORT), ``ip_url``, ``port``,
    ``requests`` (snapshot list of ``RecordedRequest(method, path, headers)``).
    """

    handler_class = _UpstreamHandler
