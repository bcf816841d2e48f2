"""Search and alerts: filters, roles, tenant scope, and the audit of every view."""

from __future__ import annotations

import html
import re

import pytest

from gateway.ui import search_routes
from tests.ui.conftest import FINGERPRINT, Ui, at


def request_ids(html: str) -> set[str]:
    return set(re.findall(r'title="(req-[a-z]+)"', html))


def test_search_by_agent_shows_allow_and_deny_badges(ui: Ui) -> None:
    key_id, key = ui.key("auditor")
    page = ui.login(key).get("/ui/search", params={"agent": "alice"})
    assert page.status_code == 200
    assert request_ids(page.text) == {"req-allow", "req-deny"}
    assert 'class="badge badge-allow"' in page.text and 'class="badge badge-deny"' in page.text
    assert 'href="/ui/flows/req-allow"' in page.text and 'href="/ui/agents/alice"' in page.text
    view = ui.views("ui-search")[-1]
    assert view == {"what": "ui-search", "by": key_id, "role": "auditor", "via": "ui",
                    "agent": "alice"}  # fmt: skip
    assert ui.recorded[-1].tenant == "" and ui.recorded[-1].agent == ""  # not alice's action


def test_every_filter_narrows_the_result(ui: Ui) -> None:
    _, key = ui.key("viewer")
    client = ui.login(key)

    def ids(**params: str) -> set[str]:
        return request_ids(client.get("/ui/search", params=params).text)

    assert ids(decision="deny") == {"req-deny"}
    assert ids(host="api.github.com") == {"req-allow"}
    assert ids(task_id="tsk_gwen1") == {"req-globex"}
    assert ids(kind="secret-finding") == {"req-allow"}
    assert ids(detector="github_pat") == {"req-allow"}
    assert ids(detector="aws_access_key") == set()
    assert ids(fingerprint=FINGERPRINT[:8]) == {"req-allow"}
    assert ids(fingerprint="00000000") == set()
    window = {"from": at(1.5).strftime("%Y-%m-%dT%H:%M:%S"), "to": at(2.5).isoformat()}
    assert ids(agent="alice", **window) == {"req-deny"}


def test_a_viewer_sees_no_links_to_auditor_pages(ui: Ui) -> None:
    _, key = ui.key("viewer")
    page = ui.login(key).get("/ui/search", params={"agent": "alice"})
    assert "req-allow" in page.text
    assert "/ui/flows/" not in page.text and "/ui/agents/" not in page.text
    assert "Evidence export" not in page.text


def test_a_bad_time_is_explained_on_the_page(ui: Ui) -> None:
    _, key = ui.key("viewer")
    page = ui.login(key).get("/ui/search", params={"from": "yesterday"})
    assert page.status_code == 400
    assert "invalid from &#39;yesterday&#39;" in page.text and 'role="alert"' in page.text


def test_a_tenant_key_sees_only_its_tenant(ui: Ui) -> None:
    _, key = ui.key("auditor", tenant="globex")
    client = ui.login(key)
    assert request_ids(client.get("/ui/search").text) == {"req-globex"}
    assert request_ids(client.get("/ui/search", params={"agent": "alice"}).text) == set()
    other = client.get("/ui/search", params={"tenant": "acme"})
    assert other.status_code == 403 and "may not read tenant" in other.text
    assert "tenant <strong>globex</strong>" in client.get("/ui/search").text
    assert ui.recorded[-1].tenant == "globex"


def test_paging_keeps_the_filters(ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_routes, "PAGE_SIZE", 1)
    _, key = ui.key("viewer")
    client = ui.login(key)
    seen: list[str] = []
    pages = 0
    url = "/ui/search?tenant=acme&kind=http-request"
    for _ in range(3):
        page = client.get(url)
        pages += 1
        seen += re.findall(r'title="(req-[a-z]+)"', page.text)
        more = re.search(r'href="(/ui/search\?[^"]+)">Older events', page.text)
        if more is None:
            break
        url = html.unescape(more.group(1))
        assert "tenant=acme" in url and "kind=http-request" in url and "cursor=" in url
    assert seen == ["req-deny", "req-allow"] and pages == 2


def test_alerts_pair_raised_with_resolved(ui: Ui) -> None:
    _, key = ui.key("viewer", tenant="acme")
    client = ui.login(key)
    open_page = client.get("/ui/alerts")
    assert "task-stalled" in open_page.text and "task-idle" not in open_page.text
    every = client.get("/ui/alerts", params={"show": "all"})
    assert "task-idle" in every.text and ">resolved<" in every.text
    assert ui.views("ui-alerts")[-1]["show"] == "all"
    _, other = ui.key("viewer", tenant="globex")
    assert "task-stalled" not in ui.login(other).get("/ui/alerts").text
