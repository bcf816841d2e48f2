"""The agent page with its time-travel state, the state fragment, and flow detail."""

from __future__ import annotations

from tests.ui.conftest import FINGERPRINT, MARKER, Ui, at


def iso(minutes: float) -> str:
    return at(minutes).isoformat()


def test_viewers_may_not_open_auditor_pages(ui: Ui) -> None:
    _, key = ui.key("viewer")
    client = ui.login(key)
    for path in ("/ui/agents/alice", "/ui/flows/req-allow", "/ui/export"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "needs the auditor role" in page.text


def test_time_travel_shows_the_state_before_and_after_the_task(ui: Ui) -> None:
    key_id, key = ui.key("auditor")
    client = ui.login(key)
    before = client.get("/ui/agents/alice", params={"at": iso(-1)})
    assert before.status_code == 200
    assert "No active task at this instant." in before.text
    assert "revA" in before.text  # the policy was already loaded
    during = client.get("/ui/agents/alice", params={"at": iso(1.5)})
    assert "tsk_alice1" in during.text and "No active task" not in during.text
    assert ">gh<" in during.text  # the credential in scope
    assert 'id="tt-slider"' in during.text and 'list="tt-ticks"' in during.text
    assert during.text.index("req-allow") < during.text.index("the instant shown above")
    assert during.text.index("the instant shown above") < during.text.index("req-deny")
    view = ui.views("ui-state")[-1]
    assert view["agent"] == "alice" and view["by"] == key_id
    assert view["at"].startswith(at(1.5).strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_open_alert_shows_at_its_instant(ui: Ui) -> None:
    _, key = ui.key("auditor", tenant="acme")
    client = ui.login(key)
    assert "task-stalled" in client.get("/ui/agents/alice", params={"at": iso(9)}).text
    assert "No open alert." in client.get("/ui/agents/alice", params={"at": iso(4)}).text


def test_the_state_fragment_is_just_the_panel(ui: Ui) -> None:
    _, key = ui.key("auditor")
    client = ui.login(key)
    fragment = client.get("/ui/agents/alice/state", params={"at": iso(1.5)})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'class="state"' in fragment.text
    assert "tsk_alice1" in fragment.text
    assert ui.views("ui-state")[-1]["agent"] == "alice"


def test_without_an_instant_the_page_opens_at_the_last_action(ui: Ui) -> None:
    _, key = ui.key("auditor")
    page = ui.login(key).get("/ui/agents/alice")
    assert page.status_code == 200 and "task-stalled" in page.text


def test_a_bad_instant_is_a_400_page(ui: Ui) -> None:
    _, key = ui.key("auditor")
    page = ui.login(key).get("/ui/agents/alice", params={"at": "soon"})
    assert page.status_code == 400 and "invalid at" in page.text


def test_a_denied_flow_shows_decision_reasons_and_policy(ui: Ui) -> None:
    _, key = ui.key("auditor")
    page = ui.login(key).get("/ui/flows/req-deny")
    assert page.status_code == 200
    assert 'class="verdict verdict-deny"' in page.text
    assert "destination_not_allowed" in page.text and "revA" in page.text
    assert "No secret was found in this flow." in page.text


def test_an_allowed_flow_shows_redaction_markers_and_injections(ui: Ui) -> None:
    key_id, key = ui.key("auditor", tenant="acme")
    page = ui.login(key).get("/ui/flows/req-allow")
    assert page.status_code == 200
    assert f'<mark class="redaction">{MARKER}</mark>' in page.text  # in the recorded query
    assert FINGERPRINT in page.text and "github_pat" in page.text
    assert f'href="/ui/search?fingerprint={FINGERPRINT}"' in page.text  # every sighting
    assert "credential-injected" in page.text and "authorization" in page.text
    assert ui.views("ui-flow")[-1] == {
        "what": "ui-flow",
        "by": key_id,
        "role": "auditor",
        "via": "ui",
        "request_id": "req-allow",
    }


def test_another_tenant_gets_404_for_flows_and_agents_and_the_attempt_is_recorded(
    ui: Ui,
) -> None:
    key_id, key = ui.key("admin", tenant="globex")
    client = ui.login(key)
    flow = client.get("/ui/flows/req-allow")
    assert flow.status_code == 404 and "req-allow" in flow.text
    assert "api.github.com" not in flow.text
    agent = client.get("/ui/agents/alice", params={"at": iso(1.5)})
    assert agent.status_code == 404 and "tsk_alice1" not in agent.text
    fragment = client.get("/ui/agents/alice/state", params={"at": iso(1.5)})
    assert fragment.status_code == 404 and "tsk_alice1" not in fragment.text
    attempt = ui.views("ui-flow")[-1]
    assert attempt["by"] == key_id and attempt["request_id"] == "req-allow"
    # The view names the flow only in its detail: stored with the flow's request id, it
    # would make the flow exist for this tenant the next time.
    stored = next(e for e in reversed(ui.recorded) if e.detail["what"] == "ui-flow")
    assert stored.request_id == "" and stored.tenant == "globex"
    assert client.get("/ui/agents/gwen").status_code == 200
