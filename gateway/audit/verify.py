"""Verify audit hash chains: links, signatures, completeness, truncation.

The same checks serve ``airlock audit verify`` (links read from ClickHouse, every
body present) and ``airlock audit verify-bundle`` (an evidence bundle, where the
other agents' links carry only their header and body digest). Links are checked
in the order given, so a reordering is caught even when every hash is intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import GENESIS, header_hash, split
from gateway.audit.signing import checkpoint_message, verify_signature

FATAL = "fatal"
REORDER_REACH = 64  # how far a moved event is looked for before calling it edited
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    stream: str
    seq: int
    event_id: str
    code: str  # edited, reordered, gap, out-of-order, broken-link, bad-signature, ...
    message: str
    level: str = FATAL


@dataclass(frozen=True)
class Link:
    """One chain position: its header, its body digest and the hash it claims.

    ``view`` is the whole event (chain view) when its body is present.
    """

    header: dict[str, Any]
    body_sha256: str
    hash: str
    view: dict[str, Any] | None = None

    @classmethod
    def full(cls, view: dict[str, Any], claimed_hash: str) -> Link:
        header, body_sha256 = split(view)
        return cls(header, body_sha256, claimed_hash, view)

    @property
    def seq(self) -> int:
        return int(self.header["seq"])

    def problem(self, code: str, message: str, level: str = FATAL) -> Problem:
        return Problem(
            self.header["stream"], self.seq, self.header["event_id"], code, message, level
        )


@dataclass
class StreamReport:
    stream: str
    links: int = 0
    first_seq: int = 0
    last_seq: int = 0
    sealed_upto: int = 0  # highest seq covered by a valid checkpoint
    final: bool = False  # ends with a valid final checkpoint
    last_checkpoint_ts: str = ""
    checkpoint_interval: float = 0.0
    problems: list[Problem] = field(default_factory=list)


def verify_chain(
    links: list[Link], keys: dict[str, Ed25519PublicKey], anchor: str | None = None
) -> StreamReport:
    """Check one stream's links in the given order.

    ``anchor`` is the hash the first link must follow (its predecessor's), if known;
    a chain starting at seq 1 must follow ``GENESIS``.
    """
    report = StreamReport(links[0].header["stream"] if links else "")
    previous: Link | None = None
    for link in links:
        report.links += 1
        _check_hash(link, report)
        if previous is None:
            report.first_seq = link.seq
            expected = GENESIS if link.seq == 1 else anchor
            if expected is not None and link.header["prev_hash"] != expected:
                report.problems.append(link.problem("broken-link", "does not follow its anchor"))
        else:
            _check_link(previous, link, report)
        if previous is not None and report.final and report.sealed_upto == previous.seq:
            _check_restart(link, report)
        if link.view is not None and link.header["kind"] == "audit-checkpoint":
            _check_checkpoint(link, previous, keys, report)
        previous = link
    if previous is not None:
        report.last_seq = previous.seq
        if report.sealed_upto < previous.seq and not report.final:
            unsealed = previous.seq - report.sealed_upto
            report.problems.append(
                previous.problem(
                    "unsealed",
                    f"{unsealed} event(s) after seq {report.sealed_upto} are not yet covered "
                    "by a signed checkpoint",
                    WARNING,
                )
            )
    return report


def _check_hash(link: Link, report: StreamReport) -> None:
    if link.view is not None:
        header, body_sha256 = split(link.view)
        if header != link.header or body_sha256 != link.body_sha256:
            report.problems.append(link.problem("edited", "event body does not match its digest"))
            return
    if header_hash(link.header, link.body_sha256) == link.hash:
        return
    for seq in range(max(1, link.seq - REORDER_REACH), link.seq + REORDER_REACH + 1):
        moved = {**link.header, "seq": seq}
        if seq != link.seq and header_hash(moved, link.body_sha256) == link.hash:
            report.problems.append(
                link.problem("reordered", f"event stored as seq {link.seq} was seq {seq}")
            )
            return
    report.problems.append(link.problem("edited", "content does not match its hash"))


def _check_restart(link: Link, report: StreamReport) -> None:
    """After a final checkpoint a chain may only go on with a restarted writer, whose
    first record is always a checkpoint: anything else was appended afterwards."""
    report.final = False
    if link.header["kind"] != "audit-checkpoint":
        report.problems.append(
            link.problem("after-final", "event appended after the chain's final checkpoint")
        )


def _check_link(previous: Link, link: Link, report: StreamReport) -> None:
    if link.seq == previous.seq + 1:
        if link.header["prev_hash"] != previous.hash:
            report.problems.append(
                link.problem("broken-link", f"prev_hash does not match seq {previous.seq}")
            )
    elif link.seq > previous.seq + 1:
        missing = f"{previous.seq + 1}" + (
            f"..{link.seq - 1}" if link.seq - 1 > previous.seq + 1 else ""
        )
        report.problems.append(link.problem("gap", f"missing seq {missing}"))
    elif link.seq == previous.seq:
        report.problems.append(link.problem("duplicate", f"seq {link.seq} is stored twice"))
    else:
        report.problems.append(
            link.problem("out-of-order", f"seq {link.seq} comes after seq {previous.seq}")
        )


def _check_checkpoint(
    link: Link, previous: Link | None, keys: dict[str, Ed25519PublicKey], report: StreamReport
) -> None:
    assert link.view is not None
    detail = link.view["detail"]
    head_seq, head_hash = int(detail.get("head_seq", -1)), detail.get("head_hash", "")
    final = detail.get("final") == "true"
    key = keys.get(detail.get("key_id", ""))
    if key is None:
        report.problems.append(
            link.problem("unknown-key", f"signed by unknown key {detail.get('key_id')!r}")
        )
        return
    message = checkpoint_message(
        link.header["stream"], head_seq, head_hash, link.header["ts"], final
    )
    if not verify_signature(key, message, detail.get("signature", "")):
        report.problems.append(link.problem("bad-signature", "checkpoint signature is invalid"))
        return
    if head_seq != link.seq - 1 or head_hash != link.header["prev_hash"]:
        report.problems.append(
            link.problem("checkpoint-mismatch", "checkpoint does not sign the link before it")
        )
        return
    if previous is not None and previous.seq == head_seq and previous.hash != head_hash:
        report.problems.append(
            link.problem("checkpoint-mismatch", f"signed head differs from seq {head_seq}")
        )
        return
    report.sealed_upto = link.seq
    report.final = final
    report.last_checkpoint_ts = link.header["ts"]
    report.checkpoint_interval = float(detail.get("interval_s", "0") or 0)


def stale_unsealed(
    report: StreamReport, chain: list[Link], now: datetime, interval: float
) -> Problem | None:
    """A chain no checkpoint ever sealed, older than 3 intervals: a live writer seals
    its chain at start and every interval, so this one was fabricated without the key."""
    if report.last_checkpoint_ts:
        return None  # a chain with checkpoints: ``truncation`` judges its tail
    every = interval
    unsealed = [link for link in chain if link.seq > report.sealed_upto]
    if not unsealed:
        return None
    first = unsealed[0]
    age = (now - datetime.fromisoformat(first.header["ts"].replace("Z", "+00:00"))).total_seconds()
    if age <= 3 * every:
        return None
    return first.problem(
        "unsealed-stale",
        f"{len(unsealed)} event(s) from seq {first.seq} are {age:.0f}s old and no signed "
        f"checkpoint covers them (one is written every {every:.0f}s)",
    )


def one_shot(stream: str) -> bool:
    """A CLI command's chain (``<gateway>/cli-<id>``): it always ends right away."""
    return stream.rpartition("/")[2].startswith("cli-")


def ended_early(report: StreamReport, last: Link, end: datetime) -> Problem | None:
    """A chain whose final checkpoint comes before the window's end. A clean stop looks
    like this, and so does a chain cut back to an earlier final checkpoint (a restart
    continues the same chain): only the operator knows whether the gateway ran on."""
    if not report.final or one_shot(report.stream):
        return None
    stopped = datetime.fromisoformat(last.header["ts"].replace("Z", "+00:00"))
    if stopped >= end:
        return None
    return last.problem(
        "ended-early",
        f"the chain ends with a final checkpoint at {last.header['ts']}, before the window "
        "ends: the gateway stopped then, or its later links were removed; check that it "
        "did not run after that",
        WARNING,
    )


def truncation(report: StreamReport, last: Link, now: datetime) -> Problem | None:
    """A stream that stopped without a final checkpoint and has been silent for longer
    than three checkpoint intervals was cut off (or its writer died for good)."""
    if report.final or not report.last_checkpoint_ts:
        return None
    last_ts = datetime.fromisoformat(report.last_checkpoint_ts.replace("Z", "+00:00"))
    silent = (now - last_ts).total_seconds()
    interval = report.checkpoint_interval or 30.0
    if silent <= 3 * interval:
        return None
    return last.problem(
        "truncated",
        f"chain ends at seq {last.seq} with no final checkpoint and no checkpoint for "
        f"{silent:.0f}s (written every {interval:.0f}s): its tail was cut off, or its "
        "writer crashed and never restarted",
    )
