"""Build an OPA bundle from the policy directory, with its revision.

The revision is the git commit of the policy directory, with ``+dirty.<digest>``
when it has uncommitted changes (the digest tells two dirty states apart), or
``nogit.<digest>`` outside a git work tree. OPA activates a bundle atomically,
and returns the revision with each decision (provenance), so every decision is
attributed to exactly the policy that made it.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

INCLUDE_SUFFIXES = (".rego", ".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Bundle:
    revision: str
    digest: str
    tarball: bytes


def policy_files(policy_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in policy_dir.rglob("*")
        if p.is_file()
        and p.suffix in INCLUDE_SUFFIXES
        and not p.name.endswith("_test.rego")
        and not any(part.startswith(".") for part in p.relative_to(policy_dir).parts)
    )


def content_digest(policy_dir: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(policy_dir).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def git_revision(policy_dir: Path) -> tuple[str | None, bool]:
    """(commit, dirty) of the policy directory, or (None, False) outside git.

    ``--no-optional-locks``: polling must never take the index lock, or it would make
    the operator's own ``git add``/``commit`` in the policy repository fail.
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", str(policy_dir), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=all", "--", ".")
    except (subprocess.CalledProcessError, FileNotFoundError, subprocess.TimeoutExpired):
        return None, False
    return commit, bool(status)


def build_bundle(policy_dir: Path, git_state: tuple[str | None, bool] | None = None) -> Bundle:
    """``git_state``: ``git_revision(policy_dir)`` if the caller already has it."""
    files = policy_files(policy_dir)
    digest = content_digest(policy_dir, files)
    commit, dirty = git_state if git_state is not None else git_revision(policy_dir)
    if commit is None:
        revision = f"nogit.{digest[:12]}"
    elif dirty:
        revision = f"{commit[:12]}+dirty.{digest[:12]}"
    else:
        revision = commit[:12]
    manifest = {"revision": revision, "metadata": {"content_digest": digest}}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        _add(tar, "/.manifest", json.dumps(manifest).encode())
        for path in files:
            _add(tar, "/" + path.relative_to(policy_dir).as_posix(), path.read_bytes())
    return Bundle(revision=revision, digest=digest, tarball=buf.getvalue())


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
