"""BundleServer: the bundle over loopback HTTP with ETags, rebuilt on change (real git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.policy.bundle import Bundle, build_bundle
from gateway.policy.bundle_server import BUNDLE_PATH, BundleServer, BundleSource
from tests.policy.test_bundle import POLICIES, commit_all, git


class Served:
    def __init__(self, policy_dir: Path) -> None:
        self.policy_dir = policy_dir
        self.published: list[str] = []
        self.server = BundleServer(BundleSource(policy_dir, self._publish))
        self.server.start()
        self.http = httpx.Client(base_url=self.server.url)

    def _publish(self, bundle: Bundle) -> None:
        self.published.append(bundle.revision)

    def fetch(self, etag: str | None = None) -> httpx.Response:
        headers = {"If-None-Match": etag} if etag else {}
        return self.http.get(BUNDLE_PATH, headers=headers)

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the tests that never touch its files (each stop() takes ~0.5 s)."""
    target = tmp_path_factory.mktemp("static") / "policies"
    shutil.copytree(POLICIES, target)
    s = Served(target)
    yield s
    s.close()


@pytest.fixture
def served(policy_dir: Path) -> Iterator[Served]:
    s = Served(policy_dir)
    yield s
    s.close()


def edit(path: Path, suffix: str) -> None:
    path.write_text(path.read_text() + suffix)


def test_url_is_loopback(static: Served) -> None:
    assert static.server.url.startswith("http://127.0.0.1:")


def test_serves_the_bundle_with_its_revision_as_etag(static: Served) -> None:
    response = static.fetch()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    expected = build_bundle(static.policy_dir)
    assert response.headers["etag"] == f'"{expected.revision}"'
    assert response.content == expected.tarball
    assert int(response.headers["content-length"]) == len(expected.tarball)


def test_matching_if_none_match_is_304(static: Served) -> None:
    etag = static.fetch().headers["etag"]
    response = static.fetch(etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_stale_if_none_match_gets_the_body(static: Served) -> None:
    response = static.fetch('"some-old-revision"')
    assert response.status_code == 200
    assert response.content.startswith(b"\x1f\x8b")  # gzip


@pytest.mark.parametrize("path", ["/", "/bundles/other.tar.gz", "/bundles/airlock.tar.gz/x"])
def test_other_paths_are_404(static: Served, path: str) -> None:
    assert static.http.get(path).status_code == 404


def test_query_string_is_ignored(static: Served) -> None:
    assert static.http.get(BUNDLE_PATH + "?v=1").status_code == 200


def test_file_edit_rebuilds_and_publishes_once(served: Served) -> None:
    first = served.fetch().headers["etag"]
    served.fetch()
    assert len(served.published) == 1
    edit(served.policy_dir / "airlock/profiles/default/data.json", "\n\n")
    response = served.fetch(first)
    assert response.status_code == 200
    assert response.headers["etag"] != first
    assert response.headers["etag"] == f'"{build_bundle(served.policy_dir).revision}"'
    served.fetch()
    assert served.published == [first.strip('"'), response.headers["etag"].strip('"')]


def test_editing_a_test_file_does_not_publish(served: Served) -> None:
    served.fetch()
    edit(served.policy_dir / "airlock/decision_test.rego", "\n# not shipped\n")
    assert served.fetch().status_code == 200
    assert len(served.published) == 1


def test_git_commit_alone_publishes_the_clean_revision(policy_dir: Path) -> None:
    git(policy_dir, "init", "-q")
    commit_all(policy_dir)
    s = Served(policy_dir)
    try:
        clean = s.fetch().headers["etag"].strip('"')
        edit(policy_dir / "airlock/decision.rego", "\n# edited\n")
        dirty = s.fetch().headers["etag"].strip('"')
        assert dirty.startswith(clean + "+dirty.")
        head = commit_all(policy_dir, "edit")  # no file touched
        response = s.fetch(f'"{dirty}"')
        assert response.status_code == 200
        assert response.headers["etag"] == f'"{head[:12]}"'
        s.fetch()
        assert s.published == [clean, dirty, head[:12]]
    finally:
        s.close()
