"""build_bundle: tarball contents and the revision in and out of git (real git)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from gateway.policy.bundle import build_bundle, git_revision, policy_files

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
HEX12 = r"[0-9a-f]{12}"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=Airlock Tests",
            "-c",
            "user.email=tests@airlock.invalid",
            "-c",
            "commit.gpgsign=false",
            "-C",
            str(cwd),
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def commit_all(repo: Path, message: str = "policies") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


@pytest.fixture
def repo(policy_dir: Path) -> Path:
    git(policy_dir, "init", "-q")
    commit_all(policy_dir)
    return policy_dir


def members(tarball: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for info in tar.getmembers():
            fh = tar.extractfile(info)
            assert fh is not None
            out[info.name] = fh.read()
    return out


def test_tarball_has_manifest_policies_and_data(policy_dir: Path) -> None:
    (policy_dir / ".hidden").mkdir()
    (policy_dir / ".hidden" / "secret.rego").write_text("package hidden\n")
    (policy_dir / ".dotfile.json").write_text("{}")
    (policy_dir / "README.md").write_text("not part of the bundle")
    bundle = build_bundle(policy_dir)
    files = members(bundle.tarball)
    names = set(files)
    assert "/.manifest" in names
    assert "/airlock/decision.rego" in names
    assert "/airlock/network/network.rego" in names
    assert "/airlock/profiles/registries/data.json" in names
    assert not any(n.endswith("_test.rego") for n in names)
    assert not any("hidden" in n or "dotfile" in n or n.endswith(".md") for n in names)
    manifest = json.loads(files["/.manifest"])
    assert manifest["revision"] == bundle.revision
    assert manifest["metadata"]["content_digest"] == bundle.digest
    assert files["/airlock/decision.rego"] == (policy_dir / "airlock/decision.rego").read_bytes()


def test_policy_files_match_the_tarball(policy_dir: Path) -> None:
    names = {"/" + p.relative_to(policy_dir).as_posix() for p in policy_files(policy_dir)}
    assert names == set(members(build_bundle(policy_dir).tarball)) - {"/.manifest"}


def test_outside_git_revision_is_nogit_digest(policy_dir: Path) -> None:
    assert git_revision(policy_dir) == (None, False)
    bundle = build_bundle(policy_dir)
    assert re.fullmatch(rf"nogit\.{HEX12}", bundle.revision)
    assert bundle.revision == f"nogit.{bundle.digest[:12]}"


def test_nogit_revision_follows_content_not_test_files(policy_dir: Path) -> None:
    first = build_bundle(policy_dir).revision
    assert build_bundle(policy_dir).revision == first  # deterministic
    (policy_dir / "airlock/decision_test.rego").write_text("package airlock_test\n")
    assert build_bundle(policy_dir).revision == first  # tests are not shipped
    data = policy_dir / "airlock/profiles/default/data.json"
    data.write_text(data.read_text() + "\n")
    assert build_bundle(policy_dir).revision != first


def test_committed_repo_revision_is_the_commit_prefix(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert git_revision(repo) == (head, False)
    assert build_bundle(repo).revision == head[:12]


def test_uncommitted_edit_makes_a_dirty_revision(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    rego = repo / "airlock/decision.rego"
    rego.write_text(rego.read_text() + "\n# edited\n")
    bundle = build_bundle(repo)
    assert bundle.revision == f"{head[:12]}+dirty.{bundle.digest[:12]}"


def test_untracked_policy_file_makes_it_dirty(repo: Path) -> None:
    (repo / "airlock/extra.json").write_text('{"x": 1}')
    assert git_revision(repo)[1] is True
    assert "+dirty." in build_bundle(repo).revision


def test_two_dirty_states_have_different_revisions(repo: Path) -> None:
    rego = repo / "airlock/decision.rego"
    original = rego.read_text()
    rego.write_text(original + "\n# one\n")
    first = build_bundle(repo).revision
    rego.write_text(original + "\n# two\n")
    second = build_bundle(repo).revision
    assert first != second
    assert first.split("+")[0] == second.split("+")[0]


def test_commit_turns_dirty_clean(repo: Path) -> None:
    rego = repo / "airlock/decision.rego"
    rego.write_text(rego.read_text() + "\n# edited\n")
    assert "+dirty." in build_bundle(repo).revision
    head = commit_all(repo, "edit")
    assert build_bundle(repo).revision == head[:12]


def test_fresh_repo_without_commits_is_nogit(policy_dir: Path) -> None:
    git(policy_dir, "init", "-q")
    assert build_bundle(policy_dir).revision.startswith("nogit.")
