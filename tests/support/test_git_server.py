"""Tests for tests.support.git_server: real ``git`` clones/pushes directly over HTTPS."""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.git_server import GitHttpsServer, git_env, run_git
from tests.support.tls import TestCA

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


@pytest.fixture(scope="module")
def git_server(
    support_ca: TestCA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GitHttpsServer]:
    with GitHttpsServer(tmp_path_factory.mktemp("git-server"), support_ca) as srv:
        yield srv


def _git_direct(ca: TestCA) -> list[str]:
    return ["-c", f"http.sslCAInfo={ca.cert_path}", "-c", "http.proxy="]


def test_clone_direct(git_server: GitHttpsServer, support_ca: TestCA, tmp_path: Path) -> None:
    assert git_server.clone_url == f"https://localhost:{git_server.port}/repo.git"
    assert len(git_server.head_sha) == 40
    dest = tmp_path / "clone"
    run_git(*_git_direct(support_ca), "clone", "-q", git_server.clone_url, str(dest))
    assert run_git("rev-parse", "HEAD", cwd=dest) == git_server.head_sha
    assert (dest / "hello.txt").read_text() == "hello through the airlock\n"
    assert run_git("rev-list", "--count", "HEAD", cwd=dest) == "2"
    paths = [p for _, p, _ in git_server.requests]
    assert any(p.startswith("/repo.git/info/refs?service=git-upload-pack") for p in paths)
    assert "/repo.git/git-upload-pack" in paths


@pytest.mark.parametrize("protocol", ["0", "2"])
def test_ls_remote_protocols(git_server: GitHttpsServer, support_ca: TestCA, protocol: str) -> None:
    out = run_git(
        *_git_direct(support_ca),
        "-c",
        f"protocol.version={protocol}",
        "ls-remote",
        git_server.clone_url,
        "refs/heads/main",
    )
    assert out.split()[0] == git_server.head_sha


def test_untrusted_ca_fails(git_server: GitHttpsServer, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="(?i)certificate|SSL"):
        run_git(
            "-c",
            "http.proxy=",
            "-c",
            f"http.sslCAInfo={os.devnull}",
            "ls-remote",
            git_server.clone_url,
        )


def test_large_push_uses_chunked_body(support_ca: TestCA, tmp_path: Path) -> None:
    """git sends POST bodies > http.postBuffer chunked; the server must de-chunk them."""
    with GitHttpsServer(tmp_path / "srv", support_ca) as srv:
        work = tmp_path / "work"
        run_git(*_git_direct(support_ca), "clone", "-q", srv.clone_url, str(work))
        (work / "blob.bin").write_bytes(os.urandom(300_000))  # incompressible
        run_git("add", "blob.bin", cwd=work)
        run_git(
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "-q",
            "-m",
            "big",
            cwd=work,
        )
        run_git(
            *_git_direct(support_ca),
            "-c",
            "http.postBuffer=65536",
            "push",
            "-q",
            "origin",
            "main",
            cwd=work,
            env=git_env(),
        )
        pushed = run_git("rev-parse", "HEAD", cwd=work)
        assert run_git("rev-parse", "main", cwd=srv.bare_repo) == pushed
        chunked = [
            h
            for m, p, h in srv.requests
            if m == "POST"
            and p.endswith("git-receive-pack")
            and ("Transfer-Encoding", "chunked") in h
        ]
        assert chunked, "expected at least one chunked receive-pack POST"


def test_gzip_request_body_passed_through(git_server: GitHttpsServer, support_ca: TestCA) -> None:
    """A gzip-encoded protocol-v2 ls-refs request reaches http-backend intact."""
    body = gzip.compress(b"0014command=ls-refs\n0000")
    s = requests.Session()
    s.trust_env = False
    r = s.post(
        f"{git_server.clone_url}/git-upload-pack",
        data=body,
        verify=str(support_ca.cert_path),
        headers={
            "Content-Type": "application/x-git-upload-pack-request",
            "Content-Encoding": "gzip",
            "Git-Protocol": "version=2",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-git-upload-pack-result"
    assert git_server.head_sha.encode() in r.content
