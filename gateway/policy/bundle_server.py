"""Serve the policy bundle to OPA over loopback HTTP, rebuilt when files change.

OPA polls ``/bundles/airlock.tar.gz`` with ``If-None-Match``; we answer 304 while
the directory is unchanged. A rebuild happens at most once per poll and only
when a file's mtime, size or the file list changed. ``on_publish`` is called
with each new revision (the supervisor audits it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gateway.policy.bundle import Bundle, build_bundle, git_revision, policy_files

log = logging.getLogger("airlock.policy")
BUNDLE_PATH = "/bundles/airlock.tar.gz"


class BundleSource:
    def __init__(self, policy_dir: Path, on_publish: Callable[[Bundle], None] | None = None):
        self.policy_dir = policy_dir
        self._on_publish = on_publish
        self._lock = threading.Lock()
        self._stamp: object = None
        self._bundle: Bundle | None = None

    def _file_stamps(self) -> tuple[tuple[str, int, int], ...]:
        return tuple(
            (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in policy_files(self.policy_dir)
        )

    def current(self) -> Bundle:
        with self._lock:
            # Changes when any policy file or the git commit changes (a commit alone turns
            # a "+dirty" revision clean without touching a file).
            git_state = git_revision(self.policy_dir)
            stamp = (git_state, self._file_stamps())
            if self._bundle is None or stamp != self._stamp:
                bundle = build_bundle(self.policy_dir, git_state)
                changed = self._bundle is None or bundle.revision != self._bundle.revision
                self._bundle, self._stamp = bundle, stamp
                if changed:
                    log.info("policy revision %s built", bundle.revision)
                    if self._on_publish:
                        self._on_publish(bundle)
            return self._bundle


class BundleServer:
    def __init__(self, source: BundleSource, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = _make_handler(source)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _make_handler(source: BundleSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            if self.path.split("?")[0] != BUNDLE_PATH:
                self.send_error(404)
                return
            try:
                bundle = source.current()
            except OSError as exc:
                self.send_error(503, f"policy directory unreadable: {exc.strerror}")
                return
            etag = f'"{bundle.revision}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(bundle.tarball)))
            self.end_headers()
            self.wfile.write(bundle.tarball)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("bundle server: " + format, *args)

    return Handler
