"""Evidence bundles: built from real chDB, verified by the package and by the
standalone verifier script; every tampering fails both, with the same reason."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.bundle import BundleQuery, build_bundle, verify_bundle
from gateway.audit.shipper import Shipper
from gateway.audit.signing import Signer, checkpoint_message
from gateway.audit.store import ChdbStore, open_store
from tests.support.chain import requests, signer_in, write_chain

VERIFIER = Path(__file__).resolve().parents[2] / "verifier" / "airlock_verify.py"
Bundle = dict[str, Any]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bundle, Path, Path]]:
    """A bundle of alice's events in a window of a chain she shares with bob."""
    root = tmp_path_factory.mktemp("bundle")
    store = open_store(None, root / "chdb")
    assert isinstance(store, ChdbStore)
    start = datetime.now(UTC)
    before = requests(["bob"] * 3, start - timedelta(seconds=30))
    inside = requests(["alice", "bob"] * 4, start)
    after = requests(["bob"] * 3, start + timedelta(seconds=30))
    write_chain(root / "spool", "proxy", [before, inside, after])
    Shipper(root / "spool", store).drain()
    signer = signer_in(root)
    query = BundleQuery("alice", start - timedelta(seconds=1), start + timedelta(seconds=9))
    bundle = build_bundle(store, query, {signer.key_id: signer.public_pem()}, margin=0)
    store.close()
    pem = root / "audit.pub.pem"
    pem.write_text(signer.public_pem())
    yield json.loads(json.dumps(bundle)), pem, root


def package_verdict(bundle: Bundle, pem: Path) -> tuple[bool, str]:
    from gateway.audit.signing import key_id, load_public_pem

    key = load_public_pem(pem.read_bytes())
    result = verify_bundle(bundle, {key_id(key): key})
    fatal = [p for p in result.problems if p.level == "fatal"]
    return result.ok, " ".join(f"{p.code}:{p.message}" for p in fatal)


def script_verdict(bundle: Bundle, pem: Path, tmp: Path) -> tuple[bool, str]:
    path = tmp / "bundle.json"
    path.write_text(json.dumps(bundle))
    run = subprocess.run(
        [sys.executable, str(VERIFIER), str(path), "--pubkey", str(pem)],
        capture_output=True,
        text=True,
    )
    return run.returncode == 0, run.stdout


def links(bundle: Bundle) -> list[dict[str, Any]]:
    return list(bundle["streams"][0]["links"])


def alice_links(bundle: Bundle) -> list[dict[str, Any]]:
    return [link for link in links(bundle) if link["header"]["agent"] == "alice"]


def test_the_bundle_holds_only_alices_events_and_verifies(
    made: tuple[Bundle, Path, Path], tmp_path: Path
) -> None:
    bundle, pem, _ = made
    full = [link["event"] for link in links(bundle) if "event" in link]
    assert sorted({e["agent"] for e in full}) == ["", "alice"]  # alice + checkpoints
    assert len(alice_links(bundle)) == 4 and all("event" in link for link in alice_links(bundle))
    assert links(bundle)[0]["header"]["kind"] == "audit-checkpoint"
    assert links(bundle)[-1]["header"]["kind"] == "audit-checkpoint"
    assert package_verdict(bundle, pem) == (True, "")
    ok, out = script_verdict(bundle, pem, tmp_path)
    assert ok and "VERIFIED: 4 event(s) of agent 'alice'" in out


def edit_field(b: Bundle) -> None:
    alice_links(b)[1]["event"]["host"] = "innocent.example"


def edit_header(b: Bundle) -> None:
    alice_links(b)[1]["header"]["agent"] = "carol"
    alice_links(b)[1]["event"]["agent"] = "carol"


def delete_link(b: Bundle) -> None:
    b["streams"][0]["links"].remove(alice_links(b)[1])


def drop_event(b: Bundle) -> None:
    del alice_links(b)[2]["event"]


def swap_links(b: Bundle) -> None:
    chain = b["streams"][0]["links"]
    i = chain.index(alice_links(b)[1])
    chain[i], chain[i + 1] = chain[i + 1], chain[i]


def truncate(b: Bundle) -> None:
    del b["streams"][0]["links"][-3:]


def forge_checkpoint(b: Bundle) -> None:
    """Re-sign the closing checkpoint with another key (header and hash made consistent)."""
    from gateway.audit.chain import compute_hash

    attacker = Signer(Ed25519PrivateKey.generate())
    last = b["streams"][0]["links"][-1]
    event = last["event"]
    detail = event["detail"]
    message = checkpoint_message(
        event["stream"], int(detail["head_seq"]), detail["head_hash"], event["ts"], False
    )
    detail.update(key_id=attacker.key_id, signature=attacker.sign(message), final="false")
    from gateway.audit.chain import split

    last["header"], last["body_sha256"] = split(event)
    last["hash"] = compute_hash(event)


TAMPERS: dict[str, tuple[Callable[[Bundle], None], str]] = {
    "edited field": (edit_field, "edited"),
    "edited header": (edit_header, "edited"),
    "deleted link": (delete_link, "gap"),
    "dropped event": (drop_event, "missing-event"),
    "swapped links": (swap_links, "out-of-order"),
    "truncated": (truncate, "window-end"),
    "forged checkpoint": (forge_checkpoint, "unknown-key"),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_every_tampering_fails_both_verifiers(
    name: str, made: tuple[Bundle, Path, Path], tmp_path: Path
) -> None:
    bundle, pem, _ = made
    tamper, code = TAMPERS[name]
    bad = copy.deepcopy(bundle)
    tamper(bad)
    ok, why = package_verdict(bad, pem)
    assert not ok and code in why, why
    ok, out = script_verdict(bad, pem, tmp_path)
    assert not ok and code in out, out


def test_a_bundle_trusting_only_its_own_keys_says_so(made: tuple[Bundle, Path, Path]) -> None:
    bundle, _, _ = made
    result = verify_bundle(bundle, None)
    assert result.ok and [p.code for p in result.problems if p.code != "ended-early"] == [
        "unpinned-key"
    ]


def test_garbage_is_refused_not_crashed_on(made: tuple[Bundle, Path, Path], tmp_path: Path) -> None:
    bundle, pem, _ = made
    broken = copy.deepcopy(bundle)
    del broken["streams"][0]["links"][3]["header"]
    ok, why = package_verdict(broken, pem)
    assert not ok and "malformed" in why
    ok, out = script_verdict(broken, pem, tmp_path)
    assert not ok and "malformed" in out
    assert not verify_bundle([], None).ok  # type: ignore[arg-type]
    ok, why = package_verdict({"format": "something-else"}, pem)
    assert not ok and "format" in why


def test_the_standalone_verifier_stays_short_and_standalone() -> None:
    source = VERIFIER.read_text()
    assert len(source.splitlines()) <= 200
    imports = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.strip().startswith(("import ", "from "))
    }
    assert imports <= set(sys.stdlib_module_names) | {"cryptography"}, imports
