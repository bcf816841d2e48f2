"""``verify_window`` over real chDB: a clean chain verifies, every tampering is named.

Each test writes its own chain (its own stream name) through the real spool and
shipper, tampers with the stored rows the way an attacker with database access
would, and checks the exact problem reported for that stream. chDB allows one
data directory per process, so the module shares one store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.chain import Head, seal
from gateway.audit.events import AuditEvent, clickhouse_row
from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.shipper import Shipper
from gateway.audit.signing import Signer
from gateway.audit.store import ChdbStore, open_store
from gateway.audit.verify import Problem
from gateway.audit.window import verify_window
from tests.support.chain import chain_in, requests, signer_in, write_chain


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("window")
    (path / "spool").mkdir()
    return path


@pytest.fixture(scope="module")
def store(root: Path) -> Iterator[ChdbStore]:
    s = open_store(None, root / "chdb")
    assert isinstance(s, ChdbStore)
    yield s
    s.close()


def chain(root: Path, store: ChdbStore, name: str, agents: int = 10) -> tuple[datetime, datetime]:
    """A sealed chain ``gw/<name>``: checkpoint, N requests, checkpoint, 3 more, final."""
    start = datetime.now(UTC)
    first = requests(["alice", "bob"] * (agents // 2), start)
    more = requests(["alice"] * 3, start + timedelta(seconds=agents))
    write_chain(root / "spool", name, [first, more])
    Shipper(root / "spool", store).drain()
    return start - timedelta(seconds=1), datetime.now(UTC) + timedelta(seconds=30)


def problems(
    root: Path, store: ChdbStore, name: str, window: tuple[datetime, datetime], **kw: object
) -> list[Problem]:
    """The problems of chain ``gw/<name>``. These test chains carry event times ahead of
    their checkpoints' (real) times, so their final checkpoint always comes before the
    window's end: that warning (``ended-early``) has its own test and is left out here."""
    signer = signer_in(root)
    result = verify_window(store, *window, {signer.key_id: signer.public}, **kw)  # type: ignore[arg-type]
    mine = [p for p in result.problems if p.stream == f"gw/{name}"]
    return [p for p in mine if p.code != "ended-early"]


def alter(store: ChdbStore, name: str, change: str) -> None:
    store.execute(
        f"ALTER TABLE {EVENTS_TABLE} {change.format(s=repr(f'gw/{name}'))} "
        "SETTINGS mutations_sync = 1"
    )


def test_a_clean_chain_verifies(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "clean")
    assert problems(root, store, "clean", window) == []


def test_an_edited_field_is_reported_at_its_event(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "edit")
    alter(store, "edit", "UPDATE host = 'innocent.example' WHERE stream = {s} AND seq = 5")
    (problem,) = problems(root, store, "edit", window)
    assert (problem.code, problem.seq) == ("edited", 5)


def test_a_deleted_event_is_a_gap(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "delete")
    alter(store, "delete", "DELETE WHERE stream = {s} AND seq = 6")
    (problem,) = problems(root, store, "delete", window)
    assert (problem.code, problem.seq, problem.message) == ("gap", 7, "missing seq 6")


def test_deleting_the_first_event_of_the_window_is_a_gap_too(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "delete-first")
    alter(store, "delete-first", "DELETE WHERE stream = {s} AND seq = 2")  # first request
    codes = [(p.code, p.message) for p in problems(root, store, "delete-first", window)]
    assert codes == [("gap", "missing seq 2")]


def test_two_swapped_events_are_reported_as_reordered(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "swap")
    alter(store, "swap", "UPDATE seq = if(seq = 4, 5, 4) WHERE stream = {s} AND seq IN (4, 5)")
    found = {(p.code, p.seq) for p in problems(root, store, "swap", window)}
    assert ("reordered", 4) in found and ("reordered", 5) in found


def test_a_duplicated_row_is_reported(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "dup")
    store.execute(
        f"INSERT INTO {EVENTS_TABLE} SELECT * FROM {EVENTS_TABLE} "
        "WHERE stream = 'gw/dup' AND seq = 3"
    )
    codes = [(p.code, p.seq) for p in problems(root, store, "dup", window)]
    assert codes == [("duplicate", 3)]


def test_a_cut_off_tail_is_reported_once_the_chain_should_have_continued(
    root: Path, store: ChdbStore
) -> None:
    window = chain(root, store, "truncate")
    alter(store, "truncate", "DELETE WHERE stream = {s} AND seq >= 14")  # final checkpoint too
    assert [p.code for p in problems(root, store, "truncate", window)] == ["unsealed"]
    later = datetime.now(UTC) + timedelta(minutes=5)
    codes = [p.code for p in problems(root, store, "truncate", window, now=later)]
    assert codes == ["unsealed", "truncated"]


def forge(
    store: ChdbStore, name: str, from_seq: int, signer: Signer, key_id: str | None = None
) -> None:
    """Rewrite the chain from ``from_seq`` with an edited event, re-hashed and re-signed:
    everything links up; only the checkpoint key gives the forgery away."""
    rows = store.query(
        f"SELECT * FROM {EVENTS_TABLE} WHERE stream = {{s:String}} ORDER BY seq",
        {"s": f"gw/{name}"},
    )
    before = rows[from_seq - 2]
    head = Head(int(before["seq"]), str(before["hash"]))
    forged = []
    for row in rows[from_seq - 1 :]:
        event = AuditEvent.model_validate(
            {
                **{k: row[k] for k in AuditEvent.model_fields if k in row},
                "detail": json.loads(row["detail"]),
            }
        )
        if event.kind == "audit-checkpoint":
            from gateway.audit.chain import canonical_ts
            from gateway.audit.signing import checkpoint_message

            final = event.detail["final"] == "true"
            message = checkpoint_message(
                f"gw/{name}", head.seq, head.hash, canonical_ts(event.ts), final
            )
            detail = {
                **event.detail,
                "head_seq": str(head.seq),
                "head_hash": head.hash,
                "key_id": key_id or signer.key_id,
                "signature": signer.sign(message),
            }
            event = event.model_copy(update={"detail": detail})
        elif event.seq == from_seq:
            event = event.model_copy(update={"host": "innocent.example"})
        event = seal(event, f"gw/{name}", head)
        head = Head(event.seq, event.hash)
        forged.append(json.dumps(clickhouse_row(event, name)))
    alter(store, name, f"DELETE WHERE stream = {{s}} AND seq >= {from_seq}")
    store.insert_rows(("\n".join(forged) + "\n").encode(), f"forged-{name}")


def test_a_chain_re_signed_with_another_key_is_rejected(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "forge")
    forge(store, "forge", 3, Signer(Ed25519PrivateKey.generate()))
    found = problems(root, store, "forge", window)
    assert {p.code for p in found} == {"unknown-key", "unsealed"}  # nothing after seq 2 is sealed
    assert found[0].seq == 12  # the first checkpoint after the forged event


def test_a_forged_signature_under_the_real_key_id_is_rejected(root: Path, store: ChdbStore) -> None:
    window = chain(root, store, "forge-id")
    real = signer_in(root)
    forge(store, "forge-id", 3, Signer(Ed25519PrivateKey.generate()), key_id=real.key_id)
    codes = {p.code for p in problems(root, store, "forge-id", window)}
    assert codes == {"bad-signature", "unsealed"}


def insert(store: ChdbStore, events: list[AuditEvent], name: str, token: str) -> None:
    rows = "".join(json.dumps(clickhouse_row(e, name)) + "\n" for e in events)
    store.insert_rows(rows.encode(), token)


def test_an_event_appended_after_the_final_checkpoint_is_reported(
    root: Path, store: ChdbStore
) -> None:
    window = chain(root, store, "append")
    last = store.query(
        f"SELECT seq, hash FROM {EVENTS_TABLE} WHERE stream = 'gw/append' ORDER BY seq DESC LIMIT 1"
    )[0]
    extra = seal(
        AuditEvent(kind="http-request", agent="alice", host="added.example"),
        "gw/append",
        Head(int(last["seq"]), str(last["hash"])),
    )
    insert(store, [extra], "append", "append-1")
    found = [(p.code, p.seq) for p in problems(root, store, "append", window)]
    assert ("after-final", int(last["seq"]) + 1) in found


def test_a_chain_fabricated_without_the_key_is_reported_once_it_is_stale(
    root: Path, store: ChdbStore
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    head, fake = Head(), []
    for event in requests(["alice"] * 3, start):
        sealed = seal(event, "gw/fake", head)
        head = Head(sealed.seq, sealed.hash)
        fake.append(sealed)
    insert(store, fake, "fake", "fake-1")
    window = (start - timedelta(seconds=1), datetime.now(UTC))
    found = problems(root, store, "fake", window)
    assert [p.code for p in found] == ["unsealed", "unsealed-stale"]


def test_a_window_emptied_of_a_chains_links_is_still_checked(root: Path, store: ChdbStore) -> None:
    start, _ = chain(root, store, "hollow")
    alter(store, "hollow", "DELETE WHERE stream = {s} AND seq IN (4, 5, 6)")
    window = (start + timedelta(seconds=2.5), start + timedelta(seconds=5.5))  # seq 4..6 only
    found = [(p.code, p.message) for p in problems(root, store, "hollow", window)]
    assert found == [("gap", "missing seq 4..6")]


def test_a_chain_cut_back_to_an_earlier_final_checkpoint_is_flagged(
    root: Path, store: ChdbStore
) -> None:
    """A restart continues a chain after its final checkpoint; cutting the chain back
    to that checkpoint leaves a chain that ends cleanly, but before the window does."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    before = requests(["alice"], start)
    writer = chain_in(root / "spool", "cut")  # first run: ends with a final checkpoint
    writer.checkpoint(interval=1)
    writer.write(before)
    final = writer.checkpoint(final=True, interval=1)
    writer.close()
    writer = chain_in(root / "spool", "cut")  # the restart carries on
    writer.checkpoint(interval=1)
    writer.write(requests(["alice"], start + timedelta(minutes=1)))
    writer.checkpoint(final=True, interval=1)
    writer.close()
    Shipper(root / "spool", store).drain()
    alter(store, "cut", f"DELETE WHERE stream = {{s}} AND seq > {final.seq}")
    signer = signer_in(root)
    window = (start - timedelta(seconds=1), datetime.now(UTC))
    result = verify_window(store, *window, {signer.key_id: signer.public})
    found = [(p.code, p.level) for p in result.problems if p.stream == "gw/cut"]
    assert found == [("ended-early", "warning")]
