"""Correlation: session/workflow headers are recorded on the flow and never forwarded."""

from __future__ import annotations

from mitmproxy.test import taddons, tflow

from addons.correlation import MAX_LEN, SESSION_HEADER, WORKFLOW_HEADER, Correlation
from addons.state import META_KEY, record


async def test_headers_are_recorded_and_removed() -> None:
    addon = Correlation()
    flow = tflow.tflow()
    flow.request.headers[SESSION_HEADER] = "sess-42"
    flow.request.headers[WORKFLOW_HEADER] = "wf-7"
    with taddons.context(addon) as tctx:
        await tctx.cycle(addon, flow)
    rec = flow.metadata[META_KEY]
    assert (rec.session, rec.workflow) == ("sess-42", "wf-7")
    assert SESSION_HEADER not in flow.request.headers
    assert WORKFLOW_HEADER not in flow.request.headers
    assert flow.request.headers["header"] == "qvalue"  # other headers untouched


def test_header_names_are_case_insensitive() -> None:
    flow = tflow.tflow()
    flow.request.headers["x-airlock-session"] = "lower"
    Correlation().requestheaders(flow)
    assert record(flow).session == "lower"
    assert "x-airlock-session" not in flow.request.headers


def test_missing_headers_are_empty() -> None:
    flow = tflow.tflow()
    Correlation().requestheaders(flow)
    assert (record(flow).session, record(flow).workflow) == ("", "")


def test_values_are_truncated_and_cleaned() -> None:
    flow = tflow.tflow()
    flow.request.headers[SESSION_HEADER] = "a" * (MAX_LEN + 50)
    flow.request.headers[WORKFLOW_HEADER] = "wf\x01-\x7f1"
    Correlation().requestheaders(flow)
    assert record(flow).session == "a" * MAX_LEN
    assert record(flow).workflow == "wf-1"
