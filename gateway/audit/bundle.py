"""Evidence bundles: one agent's events with the proof that they are complete.

A bundle holds, for every chain active around the window, the contiguous run of
links from a signed checkpoint at or before the window to one after it. Links of
the agent (and task) inside the window carry the whole event; every checkpoint
carries its signature; every other link only its header (who, when, what kind)
and body digest. A verifier recomputes every hash and link, checks every
signature against a pinned public key, and checks that no link of the agent in
the window lacks its event. Format and checks: docs/audit.md. The standalone
``verifier/airlock_verify.py`` implements the same checks independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit import chainstore
from gateway.audit.chain import chain_view, split
from gateway.audit.signing import load_public_pem
from gateway.audit.store import AuditStore
from gateway.audit.verify import FATAL, WARNING, Link, Problem, one_shot, verify_chain

FORMAT = "airlock-evidence/1"


@dataclass(frozen=True)
class BundleQuery:
    agent: str
    start: datetime
    end: datetime
    task_id: str | None = None
    tenant: str | None = None

    def matches(self, header: dict[str, Any]) -> bool:
        ts = datetime.fromisoformat(str(header["ts"]).replace("Z", "+00:00"))
        return (
            header["agent"] == self.agent
            and (self.task_id is None or header["task_id"] == self.task_id)
            and (self.tenant is None or header["tenant"] == self.tenant)
            and self.start <= ts <= self.end
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "task_id": self.task_id,
            "tenant": self.tenant,
            "from": self.start.astimezone(UTC).isoformat(),
            "to": self.end.astimezone(UTC).isoformat(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BundleQuery:
        return cls(
            agent=raw["agent"],
            start=datetime.fromisoformat(raw["from"]),
            end=datetime.fromisoformat(raw["to"]),
            task_id=raw.get("task_id"),
            tenant=raw.get("tenant"),
        )


def build_bundle(
    store: AuditStore, query: BundleQuery, public_keys: dict[str, str], margin: float
) -> dict[str, Any]:
    reach = timedelta(seconds=margin)
    streams = []
    for span in chainstore.window_spans(store, query.start - reach, query.end + reach):
        name = span.stream
        lo = chainstore.checkpoint_before_time(store, name, query.start - reach) or 1
        hi = (
            chainstore.checkpoint_after_time(store, name, query.end + reach)
            or chainstore.checkpoint_after_time(store, name, query.end)
            or chainstore.stream_end(store, name)
        )
        entries = [_entry(link, query) for link in chainstore.links(store, name, lo, hi)]
        streams.append({"stream": name, "links": entries})
    return {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "query": query.as_dict(),
        "public_keys": public_keys,
        "streams": streams,
    }


def _entry(link: Link, query: BundleQuery) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "header": link.header,
        "body_sha256": link.body_sha256,
        "hash": link.hash,
    }
    if link.view is not None and (
        query.matches(link.header) or link.header["kind"] == "audit-checkpoint"
    ):
        entry["event"] = link.view
    return entry


@dataclass
class BundleResult:
    events: int = 0
    links: int = 0
    streams: int = 0
    key_ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.level == FATAL for p in self.problems)


def verify_bundle(
    bundle: dict[str, Any], pinned: dict[str, Ed25519PublicKey] | None
) -> BundleResult:
    """Verify a bundle offline. ``pinned``: the published keys; else the bundle's own."""
    result = BundleResult()
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        result.problems.append(Problem("", 0, "", "format", f"not an {FORMAT} bundle"))
        return result
    try:
        _verify_streams(bundle, pinned, result)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        result.problems.append(
            Problem("", 0, "", "malformed", f"bundle is malformed: {type(exc).__name__}: {exc}")
        )
    return result


def _verify_streams(
    bundle: dict[str, Any], pinned: dict[str, Ed25519PublicKey] | None, result: BundleResult
) -> None:
    query = BundleQuery.from_dict(bundle["query"])
    keys = pinned if pinned is not None else _bundle_keys(bundle, result)
    result.key_ids = sorted(keys)
    for stream in bundle["streams"]:
        chain = [_link(entry, result) for entry in stream["links"]]
        if not chain:
            continue
        report = verify_chain(chain, keys)
        result.problems += [p for p in report.problems if p.code != "unsealed"]
        result.problems += _coverage(chain, report.sealed_upto, report.final, query)
        result.problems += [
            link.problem("missing-event", "an event of the agent in the window is left out")
            for link in chain
            if link.view is None and query.matches(link.header)
        ]
        result.streams += 1
        result.links += len(chain)
        result.events += sum(
            1 for link in chain if link.view is not None and query.matches(link.header)
        )


def _bundle_keys(bundle: dict[str, Any], result: BundleResult) -> dict[str, Ed25519PublicKey]:
    result.problems.append(
        Problem(
            "",
            0,
            "",
            "unpinned-key",
            "keys taken from the bundle itself; pin the "
            "published key (airlock audit pubkey) to trust the signatures",
            WARNING,
        )
    )
    return {kid: load_public_pem(pem) for kid, pem in bundle.get("public_keys", {}).items()}


def _link(entry: dict[str, Any], result: BundleResult) -> Link:
    link = Link(entry["header"], entry["body_sha256"], entry["hash"])
    if "event" not in entry:
        return link
    view = chain_view(entry["event"])
    header, body_sha256 = split(view)
    if header != link.header or body_sha256 != link.body_sha256:
        result.problems.append(link.problem("edited", "event does not match its header or digest"))
    return Link(link.header, body_sha256, link.hash, view)


def _coverage(
    chain: list[Link], sealed_upto: int, final: bool, query: BundleQuery
) -> list[Problem]:
    problems = []
    first, last = chain[0], chain[-1]
    first_ts = datetime.fromisoformat(str(first.header["ts"]).replace("Z", "+00:00"))
    if first.seq != 1 and not (
        first.header["kind"] == "audit-checkpoint" and first_ts <= query.start
    ):
        problems.append(
            first.problem(
                "window-start", "the excerpt does not start at a checkpoint before the window"
            )
        )
    last_ts = datetime.fromisoformat(str(last.header["ts"]).replace("Z", "+00:00"))
    if sealed_upto != last.seq or not (final or last_ts >= query.end):
        problems.append(
            last.problem(
                "window-end", "the excerpt does not end at a signed checkpoint after the window"
            )
        )
    elif last_ts < query.end and not one_shot(last.header["stream"]):  # final, but early
        problems.append(
            last.problem(
                "ended-early",
                "the chain ends with a final checkpoint before the window ends: the gateway "
                "stopped then, or its later links were removed",
                WARNING,
            )
        )
    return problems
