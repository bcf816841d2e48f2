"""``GitHttpsServer``: a bare git repository served over HTTPS by ``git http-backend``.

The repository (two commits on ``main``) is created at run time under ``root``
with the ``git`` CLI; requests are handed to ``git http-backend`` as CGI
(smart HTTP, protocol v0/v2, clone/fetch and push).  Chunked request bodies
are de-chunked here; gzip bodies are passed through with HTTP_CONTENT_ENCODING.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

from tests.support.env import direct_env
from tests.support.httpbase import BaseHandler, LoopbackServer
from tests.support.tls import TestCA

__all__ = ["GitHttpsServer", "git_env", "run_git"]

_REPO_NAME = "repo.git"
_DROP_CGI_HEADERS = {"status", "content-length", "transfer-encoding", "connection"}


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Isolated git environment: no system/global config, no prompts, no proxy vars."""
    env = direct_env(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "LC_ALL": "C",
        }
    )
    env.update(extra or {})
    return env


def run_git(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> str:
    """Run ``git -c user.name=... -c user.email=... <args>``; return stripped stdout."""
    cmd = [
        "git",
        "-c",
        "user.name=Airlock Test",
        "-c",
        "user.email=test@example.invalid",
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
        *args,
    ]
    proc = subprocess.run(
        cmd, cwd=cwd, env=env or git_env(), capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def _backend_path() -> str:
    return str(Path(run_git("--exec-path")) / "git-http-backend")


class _GitHandler(BaseHandler):
    def route(self) -> None:
        owner = self.server.owner
        assert isinstance(owner, GitHttpsServer)
        if self.command not in ("GET", "HEAD", "POST"):
            self.read_body()
            self.send_bytes(405, b"method not allowed\n", "text/plain")
            return
        parts = urlsplit(self.path)
        body = self.read_body() if self.command == "POST" else b""
        env = git_env(
            {
                "GIT_PROJECT_ROOT": str(owner.project_root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "SERVER_SOFTWARE": "airlock-test-git",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": unquote(parts.path),
                "QUERY_STRING": parts.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": str(self.client_address[0]),
            }
        )
        for header, var in (
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
            ("Git-Protocol", "HTTP_GIT_PROTOCOL"),
            ("Accept", "HTTP_ACCEPT"),
        ):
            if header in self.headers:
                env[var] = self.headers[header]
        proc = subprocess.run(
            [owner.backend], input=body, env=env, capture_output=True, timeout=120
        )
        self._send_cgi(proc.stdout, proc.returncode, proc.stderr)

    def _send_cgi(self, out: bytes, rc: int, err: bytes) -> None:
        crlf, lf = out.find(b"\r\n\r\n"), out.find(b"\n\n")
        if crlf >= 0 and (lf < 0 or crlf <= lf):
            head, body = out[:crlf], out[crlf + 4 :]
        elif lf >= 0:
            head, body = out[:lf], out[lf + 2 :]
        else:
            msg = b"git http-backend failed (rc=%d): %s" % (rc, err[-500:])
            self.send_bytes(500, msg, "text/plain")
            return
        status, headers, ctype = 200, {}, None
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name.lower() == "content-type":
                ctype = value
            elif name and name.lower() not in _DROP_CGI_HEADERS:
                headers[name] = value
        self.send_bytes(status, body, ctype, headers)


class GitHttpsServer(LoopbackServer):
    """Serves ``/repo.git`` over HTTPS. Attributes: ``clone_url``, ``head_sha``,
    ``bare_repo`` (Path), ``project_root``, plus ``LoopbackServer``'s url/port/requests."""

    handler_class = _GitHandler

    def __init__(self, root: Path, ca: TestCA | None, *, host_name: str = "localhost") -> None:
        """``root``: scratch directory (created). ``ca=None`` serves plain HTTP."""
        self.root = Path(root)
        super().__init__(ca, host_name=host_name, cert_dir=self.root / "certs")
        self.project_root = self.root / "srv"
        self.bare_repo = self.project_root / _REPO_NAME
        self.head_sha = ""
        self.backend = ""

    def _build_repo(self) -> None:
        work = self.root / "work"
        work.mkdir(parents=True, exist_ok=True)
        run_git("init", "-q", str(work))
        (work / "README.md").write_text("# airlock probe repo\n")
        run_git("add", "README.md", cwd=work)
        run_git("commit", "-q", "-m", "initial commit", cwd=work)
        (work / "hello.txt").write_text("hello through the airlock\n")
        run_git("add", "hello.txt", cwd=work)
        run_git("commit", "-q", "-m", "add hello.txt", cwd=work)
        self.project_root.mkdir(parents=True, exist_ok=True)
        run_git("clone", "-q", "--bare", str(work), str(self.bare_repo))
        run_git("config", "http.receivepack", "true", cwd=self.bare_repo)  # allow test pushes
        run_git("config", "http.uploadpack", "true", cwd=self.bare_repo)
        self.head_sha = run_git("rev-parse", "HEAD", cwd=self.bare_repo)

    def start(self) -> Self:
        if not self.head_sha:
            self.backend = _backend_path()
            self._build_repo()
        super().start()
        return self

    @property
    def clone_url(self) -> str:
        """e.g. https://localhost:PORT/repo.git"""
        return f"{self.url}/{_REPO_NAME}"
