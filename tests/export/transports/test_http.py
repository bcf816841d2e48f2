"""HTTPS transports against local receivers: Splunk HEC, Elastic _bulk, a signed webhook.

The HEC receiver plays Splunk (tests/support/hec_receiver.py). Elastic and the webhook are
small handlers here: no Elasticsearch runs on the test machine, and a webhook receiver is
by definition the customer's own code; both answer as the real APIs document.
"""

from __future__ import annotations

import hmac
import json
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from gateway.export.sink import BatchRejected, Bisecting, Record, TransientError
from gateway.export.transports.http import ElasticBulk, HecTransport, Webhook, webhook_signature
from tests.export.sink_support import make_records
from tests.support.hec_receiver import HecReceiver
from tests.support.httpbase import BaseHandler, LoopbackServer
from tests.support.tls import TestCA, make_ca


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("http-ca"))


@pytest.fixture
def token() -> str:
    return secrets.token_hex(16)  # built at run time: no token-like literal in the tree


@pytest.fixture
def hec(ca: TestCA, tmp_path: Path, token: str) -> Iterator[HecReceiver]:
    receiver = HecReceiver(ca, tmp_path, token).start()
    yield receiver
    receiver.stop()


def ctx(ca: TestCA) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca.cert_path))


def test_hec_delivers_hec_objects_and_each_carries_the_event_id(
    hec: HecReceiver, ca: TestCA, token: str
) -> None:
    from gateway.export.formats import render

    records = [Record(r.event, render("hec", r.event)) for r in make_records(5)]
    transport = HecTransport(hec.url, SecretStr(token), fmt="hec", tls=ctx(ca), timeout=5)
    assert transport.push(records) == []
    transport.close()
    assert hec.event_ids() == [r.event.event_id for r in records]
    assert hec.requests == 1


def test_hec_wraps_other_formats_in_an_envelope(hec: HecReceiver, ca: TestCA, token: str) -> None:
    records = make_records(2)  # plain text lines, as CEF or LEEF would be
    transport = HecTransport(hec.url, SecretStr(token), fmt="cef", tls=ctx(ca), timeout=5)
    transport.push(records)
    transport.close()
    assert [e["event"] for e in hec.events] == [r.line for r in records]
    assert {e["sourcetype"] for e in hec.events} == {"airlock:cef"}
    assert hec.event_ids() == [r.event.event_id for r in records]


def test_hec_wrong_token_is_transient_never_dropped(hec: HecReceiver, ca: TestCA) -> None:
    wrong = SecretStr(secrets.token_hex(16))
    transport = HecTransport(hec.url, wrong, fmt="cef", tls=ctx(ca), timeout=5)
    with pytest.raises(TransientError, match="HTTP 401") as caught:
        transport.push(make_records(1))
    transport.close()
    assert wrong.get_secret_value() not in str(caught.value)
    assert hec.events == []


def test_hec_busy_and_down_are_transient(hec: HecReceiver, ca: TestCA, token: str) -> None:
    transport = HecTransport(hec.url, SecretStr(token), fmt="cef", tls=ctx(ca), timeout=2)
    hec.fail_status = 503
    with pytest.raises(TransientError, match="HTTP 503"):
        transport.push(make_records(1))
    hec.fail_status = 0
    hec.stop()
    with pytest.raises(TransientError, match="ConnectError"):
        transport.push(make_records(1))
    hec.start()
    assert transport.push(make_records(1)) == []
    transport.close()


def test_hec_refuses_an_unverified_server(hec: HecReceiver, tmp_path: Path, token: str) -> None:
    stranger = make_ca(tmp_path / "stranger")
    transport = HecTransport(hec.url, SecretStr(token), fmt="cef", tls=ctx(stranger), timeout=5)
    with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
        transport.push(make_records(1))
    transport.close()


def test_hec_invalid_data_is_rejected_and_bisecting_finds_the_record(
    hec: HecReceiver, ca: TestCA, token: str
) -> None:
    records = make_records(6)
    bad = Record(records[3].event, "not json {")
    records[3] = bad
    transport = HecTransport(hec.url, SecretStr(token), fmt="hec", tls=ctx(ca), timeout=5)
    good = [Record(r.event, json.dumps({"event": {"event_id": r.event.event_id}})) for r in records]
    good[3] = bad
    with pytest.raises(BatchRejected, match="HTTP 400"):
        transport.push(good)
    rejected = Bisecting(transport).push(good)
    transport.close()
    assert [r.record for r in rejected] == [bad]
    assert set(hec.event_ids()) == {r.event.event_id for i, r in enumerate(good) if i != 3}


class _ElasticHandler(BaseHandler):
    def route(self) -> None:
        owner: ElasticFake = self.server.owner  # type: ignore[assignment]
        lines = self.read_body().decode().splitlines()
        items = []
        for action, doc in zip(lines[::2], lines[1::2], strict=True):
            meta = json.loads(action)["create"]
            status = owner.status_for(meta["_id"], json.loads(doc))
            item = {"_index": meta["_index"], "_id": meta["_id"], "status": status}
            if status >= 400:
                item["error"] = {"type": "mapper_parsing_exception", "reason": "bad field"}
            items.append({"create": item})
        body = {"errors": any(i["create"]["status"] >= 300 for i in items), "items": items}
        self.send_bytes(200, json.dumps(body).encode(), "application/json")


class ElasticFake(LoopbackServer):
    handler_class = _ElasticHandler

    def __init__(self, ca: TestCA) -> None:
        super().__init__(ca)
        self.docs: dict[str, dict[str, object]] = {}
        self.poison: set[str] = set()

    def status_for(self, doc_id: str, doc: dict[str, object]) -> int:
        if doc_id in self.poison:
            return 400
        if doc_id in self.docs:
            return 409
        self.docs[doc_id] = doc
        return 201


def test_elastic_bulk_creates_by_event_id_accepts_409_and_rejects_items(ca: TestCA) -> None:
    records = [Record(r.event, json.dumps({"message": r.line})) for r in make_records(4)]
    with ElasticFake(ca) as es:
        es.poison.add(records[2].event.event_id)
        transport = ElasticBulk(es.url, "airlock-events", tls=ctx(ca), timeout=5)
        rejected = transport.push(records)
        again = transport.push(records)  # a re-send after a crash: all 409 or the same 400
        transport.close()
    assert [r.record for r in rejected] == [records[2]]
    assert "mapper_parsing_exception" in rejected[0].reason
    assert [r.record for r in again] == [records[2]]
    assert set(es.docs) == {r.event.event_id for r in records} - {records[2].event.event_id}


class _WebhookHandler(BaseHandler):
    def route(self) -> None:
        owner: WebhookSink = self.server.owner  # type: ignore[assignment]
        body = self.read_body()
        stamp = self.headers.get("X-Airlock-Timestamp", "")
        expected = webhook_signature(owner.key, stamp, body)
        given = self.headers.get("X-Airlock-Signature", "")
        if not hmac.compare_digest(expected, given):
            self.send_bytes(401, b"bad signature", "text/plain")
            return
        owner.bodies.append(body)
        self.send_bytes(204)


class WebhookSink(LoopbackServer):
    handler_class = _WebhookHandler

    def __init__(self, ca: TestCA, key: SecretStr) -> None:
        super().__init__(ca)
        self.key = key
        self.bodies: list[bytes] = []


def test_webhook_signs_with_hmac_sha256_and_a_wrong_key_is_refused(ca: TestCA) -> None:
    key = SecretStr(secrets.token_urlsafe(24))
    records = make_records(3)
    with WebhookSink(ca, key) as sink:
        transport = Webhook(sink.url, key, tls=ctx(ca), timeout=5)
        assert transport.push(records) == []
        transport.close()
        wrong = Webhook(sink.url, SecretStr(secrets.token_urlsafe(24)), tls=ctx(ca), timeout=5)
        with pytest.raises(TransientError, match="HTTP 401"):  # retried until fixed, not dropped
            wrong.push(records)
        wrong.close()
    assert sink.bodies == [("\n".join(r.line for r in records) + "\n").encode()]
