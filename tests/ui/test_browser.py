"""The compliance UI in headless Chromium, against a real running Airlock.

A task of tenant ``acme`` makes real requests through the proxy: allowed ones, one
carrying a GitHub-token-shaped value built at run time (redacted, recorded as a
finding), and a refused one. Then, as an auditor would: log in, search, open the
flow, move the time-travel control, read the alerts, export the evidence bundle and
verify it, and check that a ``globex`` key sees none of it. Uses the Debian
``chromium`` (never a downloaded browser). Screenshots go to tests/artifacts/ui/.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.audit.bundle import verify_bundle
from gateway.audit.signing import key_id, load_public_pem
from tests.support.airlock import REPO, AirlockInstance
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts" / "ui"
AGENT = "release-bot"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs the Debian chromium package at /usr/bin/chromium (apt-get install chromium)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


def github_token() -> str:
    """A well-formed classic GitHub token, built at run time (never committed)."""
    alphabet = string.ascii_letters + string.digits
    return "ghp" + "_" + "".join(secrets.choice(alphabet) for _ in range(36))


@dataclass
class Scene:
    airlock: AirlockInstance
    auditor: str  # tenant '*'
    globex: str  # an auditor of another tenant
    task_id: str
    secret_rid: str
    denied_rid: str
    token: str
    pubkey_pem: str


def traffic(airlock: AirlockInstance, upstream: HttpsUpstream) -> tuple[str, str, str, str]:
    out = airlock.cli("task", "create", "--agent", AGENT, "--profile", "ui", "--tenant", "acme",
                      "--ttl", "1h", "--json")  # fmt: skip
    task = json.loads(out.stdout)
    token = github_token()
    with httpx.Client(proxy=task["proxy_url"], trust_env=False, timeout=20) as client:
        for page in range(3):
            assert client.get(f"{upstream.ip_url}/echo?page={page}").status_code == 200
        leaked = client.get(f"{upstream.ip_url}/echo?note=deploy&q={token}")
        denied = client.get("http://198.51.100.7/admin")
    assert leaked.status_code == 200 and denied.status_code == 403
    rids = (leaked.headers["x-airlock-request-id"], denied.headers["x-airlock-request-id"])
    return task["task_id"], *rids, token


def sealed(airlock: AirlockInstance, key: str) -> None:
    """The agent's events are in ClickHouse, an alert was raised, and a checkpoint after all."""
    airlock.wait_events(key, bool, agent=AGENT, kind="secret-finding", timeout=30)
    airlock.wait_events(key, lambda ev: len(ev) >= 5, agent=AGENT, kind="http-request")
    airlock.wait_events(key, bool, agent=AGENT, kind="alert-raised", timeout=30)
    after = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    airlock.wait_events(
        key, lambda ev: any(e["ts"] >= after for e in ev), kind="audit-checkpoint", timeout=30
    )


@pytest.fixture(scope="module")
def scene(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA, plain_upstream: HttpsUpstream
) -> Iterator[Scene]:
    airlock = AirlockInstance(
        tmp_path_factory.mktemp("ui-browser"),
        upstream_ca=test_ca.cert_path,
        extra_env={
            "AIRLOCK_CHECKPOINT_SECONDS": "1",
            "AIRLOCK_EVIDENCE_MARGIN_SECONDS": "1",
            "AIRLOCK_IDLE_SECONDS": "2",
            "AIRLOCK_STALL_SECONDS": "4",
            "AIRLOCK_LIVENESS_INTERVAL_SECONDS": "0.5",
        },
    )
    airlock.start()
    try:
        entry = {"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True}
        airlock.add_profile("ui", [entry])
        auditor = airlock.api_key("auditor")
        task_id, secret_rid, denied_rid, token = traffic(airlock, plain_upstream)
        sealed(airlock, auditor)
        pem = httpx.get(
            f"{airlock.api_url}/v1/audit/pubkey", headers={"Authorization": f"Bearer {auditor}"}
        ).json()["public_key_pem"]
        globex = airlock.api_key("auditor", tenant="globex")
        yield Scene(airlock, auditor, globex, task_id, secret_rid, denied_rid, token, pem)
    finally:
        airlock.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking"],
            headless=True,
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Any, scene: Scene, key: str, start: str = "/ui/search") -> None:
    page.goto(scene.airlock.api_url + start)
    assert "/ui/login" in page.url
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{start}*")


def test_log_in_and_search(page: Any, scene: Scene) -> None:
    page.goto(scene.airlock.api_url + "/ui/search")
    page.wait_for_url("**/ui/login?next=*")
    shot(page, "01-login")
    page.get_by_label("API key").fill(scene.auditor)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/ui/search")
    assert "all tenants" in page.locator(".who").inner_text()
    page.get_by_label("Agent").fill(AGENT)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**agent={AGENT}*")
    rows = page.locator("table.events tbody tr")
    assert rows.count() >= 7
    assert page.locator("table.events .badge-deny").count() >= 1
    assert page.locator("table.events .badge-allow").count() >= 4
    assert scene.token not in page.content()
    shot(page, "02-search")
    page.get_by_label("Decision").select_option("deny")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**decision=deny*")
    assert page.locator(f'a[href="/ui/flows/{scene.denied_rid}"]').count() == 1
    assert page.locator("table.events .badge-allow").count() == 0


def test_open_a_flow_with_its_redaction_markers(page: Any, scene: Scene) -> None:
    log_in(page, scene, scene.auditor, f"/ui/search?agent={AGENT}&kind=secret-finding")
    page.locator(f'a[href="/ui/flows/{scene.secret_rid}"]').first.click()
    page.wait_for_url(f"**/ui/flows/{scene.secret_rid}")
    assert page.locator(".verdict-allow").is_visible()
    marks = page.locator("mark.redaction")
    assert marks.count() >= 2  # in the recorded query, and in the findings table
    assert "[REDACTED:github_pat:fp=" in marks.first.inner_text()
    assert "github_pat" in page.get_by_role("region", name="Secrets found").inner_text()
    assert scene.token not in page.content()
    shot(page, "03-flow")
    page.goto(f"{scene.airlock.api_url}/ui/flows/{scene.denied_rid}")
    assert page.locator(".verdict-deny").is_visible()
    assert "port_not_allowed" in page.locator(".facts").inner_text()  # port 80: not in "ui"
    shot(page, "04-flow-denied")


def test_the_time_travel_control_shows_the_state_at_any_instant(page: Any, scene: Scene) -> None:
    log_in(page, scene, scene.auditor, f"/ui/agents/{AGENT}")
    tasks = page.get_by_role("article", name="Active tasks")
    assert scene.task_id in tasks.inner_text()
    shot(page, "05-agent-now")
    slider = page.locator("#tt-slider")
    slider.fill(slider.get_attribute("min"))  # a second before the agent's first action
    page.get_by_text("No active task at this instant.").wait_for()
    assert "at=" in page.url
    assert scene.task_id not in tasks.inner_text()
    shot(page, "06-agent-before-task")
    first_request = page.locator("table.around tr.future").first
    assert "task-created" in first_request.inner_text()
    slider.fill(slider.get_attribute("max"))
    tasks.get_by_text(scene.task_id).wait_for()
    shot(page, "07-agent-after")
    instant = page.locator("#tt-at")
    instant.fill(page.locator(".state").get_attribute("data-at"))
    page.get_by_role("button", name="Show state").click()
    tasks.get_by_text(scene.task_id).wait_for()


def test_alerts_page_lists_the_raised_alert(page: Any, scene: Scene) -> None:
    log_in(page, scene, scene.auditor, "/ui/alerts?show=all")
    table = page.locator("table.events")
    assert AGENT in table.inner_text() and "task-" in table.inner_text()
    shot(page, "08-alerts")


def test_export_the_evidence_bundle_and_verify_it(page: Any, scene: Scene, tmp_path: Path) -> None:
    log_in(page, scene, scene.auditor, f"/ui/export?agent={AGENT}&task={scene.task_id}")
    assert page.get_by_label("Agent").input_value() == AGENT
    page.locator('input[name="format"][value="bundle"]').check()
    shot(page, "09-export")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith(f"airlock-evidence-{AGENT}-")
    bundle = json.loads(saved.read_text())
    key = load_public_pem(scene.pubkey_pem.encode())
    result = verify_bundle(bundle, {key_id(key): key})
    assert result.ok, result.problems
    events = [link["event"] for s in bundle["streams"] for link in s["links"] if "event" in link]
    requests = [e for e in events if e["kind"] == "http-request" and e["agent"] == AGENT]
    assert len(requests) >= 5 and scene.token not in saved.read_text()


def test_another_tenants_key_sees_nothing_of_it(page: Any, scene: Scene) -> None:
    log_in(page, scene, scene.globex, f"/ui/search?agent={AGENT}")
    assert "globex" in page.locator(".who").inner_text()
    page.get_by_text("No events match these filters").wait_for()
    shot(page, "10-other-tenant-search")
    flow = page.goto(f"{scene.airlock.api_url}/ui/flows/{scene.secret_rid}")
    assert flow is not None and flow.status == 404
    assert "api.github.com" not in page.content() and "REDACTED" not in page.content()
    shot(page, "11-other-tenant-flow")
    agent = page.goto(f"{scene.airlock.api_url}/ui/agents/{AGENT}")
    assert agent is not None and agent.status == 404
    assert scene.task_id not in page.content()
    alerts = page.goto(f"{scene.airlock.api_url}/ui/alerts?show=all")
    assert alerts is not None and AGENT not in page.content()


def test_every_view_and_export_was_recorded(scene: Scene) -> None:
    by = scene.auditor.split("_")[1]
    wanted = {"ui-search", "ui-flow", "ui-state", "ui-alerts", "ui-export"}

    def complete(events: list[dict[str, Any]]) -> bool:
        return wanted <= {e["detail"]["what"] for e in events if e["detail"].get("by") == by}

    views = scene.airlock.wait_events(scene.auditor, complete, kind="audit-viewed", timeout=15)
    export = next(e for e in views if e["detail"]["what"] == "ui-export")
    assert export["detail"]["format"] == "bundle" and export["detail"]["agent"] == AGENT
    other = scene.globex.split("_")[1]
    attempt = [e for e in views if e["detail"].get("by") == other and e["kind"] == "audit-viewed"]
    assert any(e["detail"]["what"] == "ui-flow" for e in attempt)
    assert all(e["tenant"] == "globex" for e in attempt)
