"""Evidence export: the verified bundle for '*' keys, CSV/JSON for tenant keys, audited."""

from __future__ import annotations

import csv
import io
import json

from gateway.audit.bundle import verify_bundle
from gateway.audit.signing import load_public_pem
from tests.ui.conftest import Ui, at, csrf_of

WINDOW = {"from": at(-1).strftime("%Y-%m-%dT%H:%M:%S"), "to": at(10).strftime("%Y-%m-%dT%H:%M:%S")}


def test_the_form_is_prefilled_with_the_agents_span(ui: Ui) -> None:
    _, key = ui.key("auditor")
    page = ui.login(key).get("/ui/export", params={"agent": "alice"})
    assert page.status_code == 200
    assert f'value="{at(0).strftime("%Y-%m-%dT%H:%M:%SZ")}"' in page.text  # task-created
    assert f'value="{at(8, 1).strftime("%Y-%m-%dT%H:%M:%SZ")}"' in page.text  # last alert + 1 s
    assert 'value="bundle" checked' in page.text
    assert ui.views("ui-export-form")[-1]["agent"] == "alice"


def test_a_star_key_downloads_a_bundle_that_verifies(ui: Ui) -> None:
    key_id, key = ui.key("auditor")
    client = ui.login(key)
    csrf = csrf_of(client.get("/ui/export").text)
    data = {"csrf": csrf, "agent": "alice", "task": "tsk_alice1", "format": "bundle", **WINDOW}
    response = client.post("/ui/export", data=data)
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="airlock-evidence-alice-')
    bundle = response.json()
    assert bundle["format"] == "airlock-evidence/1"
    pinned = {kid: load_public_pem(pem) for kid, pem in ui.audit_keys.items()}
    result = verify_bundle(bundle, pinned)
    assert result.ok, result.problems
    assert result.events == 9  # alice's task events, requests, finding, injection, alerts
    view = ui.views("ui-export")[-1]
    assert view["format"] == "bundle" and view["by"] == key_id and view["task_id"] == "tsk_alice1"


def test_export_needs_the_session_token(ui: Ui) -> None:
    _, key = ui.key("auditor")
    client = ui.login(key)
    before = len(ui.views("ui-export"))
    refused = client.post("/ui/export", data={"agent": "alice", "format": "json", **WINDOW})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert len(ui.views("ui-export")) == before


def test_a_tenant_key_gets_csv_or_json_not_the_bundle(ui: Ui) -> None:
    _, key = ui.key("auditor", tenant="acme")
    client = ui.login(key)
    form = client.get("/ui/export")
    assert 'value="bundle" disabled' in form.text and "tenant scope <code>*</code>" in form.text
    csrf = csrf_of(form.text)
    bundle = client.post("/ui/export", data={"csrf": csrf, "agent": "alice", "format": "bundle",
                                             **WINDOW})  # fmt: skip
    assert bundle.status_code == 403 and "tenant scope" in bundle.text
    got = client.post(
        "/ui/export", data={"csrf": csrf, "agent": "alice", "format": "csv", **WINDOW}
    )
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert {r["tenant"] for r in rows} == {"acme"} and len(rows) == 9
    assert {r["request_id"] for r in rows} >= {"req-allow", "req-deny"}
    as_json = client.post("/ui/export", data={"csrf": csrf, "agent": "alice", "format": "json",
                                              **WINDOW})  # fmt: skip
    document = json.loads(as_json.content)
    assert len(document["events"]) == 9 and document["query"]["tenant"] == "acme"


def test_a_tenant_key_exports_nothing_of_another_tenant(ui: Ui) -> None:
    _, key = ui.key("auditor", tenant="globex")
    client = ui.login(key)
    csrf = csrf_of(client.get("/ui/export").text)
    got = client.post("/ui/export", data={"csrf": csrf, "agent": "alice", "format": "json",
                                          **WINDOW})  # fmt: skip
    assert json.loads(got.content)["events"] == []


def test_bad_input_is_explained_on_the_form(ui: Ui) -> None:
    _, key = ui.key("auditor")
    client = ui.login(key)
    csrf = csrf_of(client.get("/ui/export").text)
    backwards = {"csrf": csrf, "agent": "alice", "format": "csv",
                 "from": WINDOW["to"], "to": WINDOW["from"]}  # fmt: skip
    page = client.post("/ui/export", data=backwards)
    assert page.status_code == 400 and "before" in page.text and 'value="alice"' in page.text
    nobody = client.post("/ui/export", data={"csrf": csrf, "format": "csv", **WINDOW})
    assert nobody.status_code == 400 and "name the agent" in nobody.text
