"""``PypiHttpsServer``: a PEP 503 "simple" index serving one hand-built wheel.

The wheel ``airlock_probe_pkg-1.0.0-py3-none-any.whl`` (module
``airlock_probe_pkg`` with ``VALUE = 42``) is written at run time with
``zipfile`` — METADATA, WHEEL and RECORD included — no setuptools needed.

Routes: ``/simple/``, ``/simple/airlock-probe-pkg/`` (link with ``#sha256=``),
``/files/<wheel>``.  Names are PEP 503-normalised; missing slashes redirect.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import zipfile
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from tests.support.httpbase import BaseHandler, LoopbackServer
from tests.support.tls import TestCA

__all__ = ["PROBE_MODULE", "PROBE_NAME", "PROBE_VERSION", "PypiHttpsServer", "build_wheel"]

PROBE_NAME = "airlock-probe-pkg"
PROBE_MODULE = "airlock_probe_pkg"
PROBE_VERSION = "1.0.0"
_HTML = "text/html; charset=utf-8"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def build_wheel(
    dir: Path,
    name: str = PROBE_NAME,
    version: str = PROBE_VERSION,
    module_source: str = "VALUE = 42\n",
) -> Path:
    """Write a pure-Python ``py3-none-any`` wheel for ``name`` into ``dir``."""
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files: dict[str, bytes] = {
        f"{module}/__init__.py": module_source.encode(),
        f"{dist_info}/METADATA": (
            "Metadata-Version: 2.1\n"
            f"Name: {name}\n"
            f"Version: {version}\n"
            "Summary: Probe package for Airlock integration tests\n"
            "License: Apache-2.0\n"
            "Requires-Python: >=3.8\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\n"
            b"Generator: airlock-tests\n"
            b"Root-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        f"{dist_info}/top_level.txt": f"{module}\n".encode(),
    }
    record_lines = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    wheel = dir / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return wheel


class _PypiHandler(BaseHandler):
    def route(self) -> None:
        owner = self.server.owner
        assert isinstance(owner, PypiHttpsServer)
        self.read_body()
        path = urlsplit(self.path).path
        if self.command not in ("GET", "HEAD"):
            self.send_bytes(405, b"method not allowed\n", "text/plain")
        elif path in ("/simple", "/simple/"):
            if path == "/simple":
                self.send_bytes(301, b"", None, {"Location": "/simple/"})
                return
            link = f'<a href="/simple/{PROBE_NAME}/">{PROBE_NAME}</a>'
            self.send_bytes(200, _page("Simple index", link), _HTML)
        elif path.startswith("/simple/"):
            project = path.removeprefix("/simple/").rstrip("/")
            if _normalize(project) != PROBE_NAME:
                self.send_bytes(404, b"no such project\n", "text/plain")
            elif not path.endswith("/") or project != PROBE_NAME:
                self.send_bytes(301, b"", None, {"Location": f"/simple/{PROBE_NAME}/"})
            else:
                fname = owner.wheel_path.name
                href = f"/files/{fname}#sha256={owner.wheel_sha256}"
                link = f'<a href="{html.escape(href)}" data-requires-python="&gt;=3.8">{fname}</a>'
                self.send_bytes(200, _page(f"Links for {PROBE_NAME}", link), _HTML)
        elif path == f"/files/{owner.wheel_path.name}":
            self.send_bytes(200, owner.wheel_path.read_bytes(), "application/octet-stream")
        else:
            self.send_bytes(404, b"not found\n", "text/plain")


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    ).encode()


class PypiHttpsServer(LoopbackServer):
    """Simple index over HTTPS. Attributes: ``index_url`` (…/simple/),
    ``wheel_path``, ``wheel_sha256``, plus url/port/requests."""

    handler_class = _PypiHandler

    def __init__(self, root: Path, ca: TestCA | None, *, host_name: str = "localhost") -> None:
        """``root``: scratch directory (created). ``ca=None`` serves plain HTTP."""
        self.root = Path(root)
        super().__init__(ca, host_name=host_name, cert_dir=self.root / "certs")
        self.wheel_path = self.root / "dist" / "unbuilt.whl"
        self.wheel_sha256 = ""

    def start(self) -> Self:
        if not self.wheel_sha256:
            self.wheel_path = build_wheel(self.root / "dist")
            self.wheel_sha256 = hashlib.sha256(self.wheel_path.read_bytes()).hexdigest()
        super().start()
        return self

    @property
    def index_url(self) -> str:
        """e.g. https://localhost:PORT/simple/"""
        return f"{self.url}/simple/"
