#!/usr/bin/env python3
"""Verify an Airlock evidence bundle offline, without Airlock.

    python3 airlock_verify.py BUNDLE.json --pubkey audit-signing.pub.pem

Needs only the Python standard library and `cryptography`. Checks, per chain:
every event hash (RFC 8785 JSON, SHA-256 over the header plus the body's
SHA-256), every link (seq + 1, prev_hash), every checkpoint's Ed25519 signature
against the pinned public key, that the excerpt starts at seq 1 or at a
checkpoint before the window and ends at a signed checkpoint after it, and that
no event of the agent in the window was left out. Exit status 0 = verified.
"""

import argparse
import base64
import hashlib
import json
import math
import sys
from datetime import datetime, timezone
from decimal import Decimal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

GENESIS = "0" * 64
HEADER = ("schema_version", "stream", "seq", "prev_hash", "event_id", "ts", "kind",
          "tenant", "agent", "task_id")
BODY = ("code", "severity", "request_id", "session", "workflow", "method", "scheme", "host",
        "port", "path", "query", "status", "decision", "rules", "reasons", "policy_revision",
        "bytes_in", "bytes_out", "duration_ms", "client_addr", "gateway_id", "detail")


def jcs(value):
    """RFC 8785 canonical JSON."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value) if abs(value) <= 2**53 else number(float(value))
    if isinstance(value, float):
        return number(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v) for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    raise TypeError(type(value).__name__)


def number(x):
    """ECMAScript Number.prototype.toString for a finite double."""
    if not math.isfinite(x):
        raise ValueError("NaN/Infinity")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + number(-x)
    _, digit_tuple, exponent = Decimal(repr(x)).as_tuple()
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    k, n = len(digits), exponent + len(all_digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return mantissa + "e" + ("+" if n - 1 >= 0 else "-") + str(abs(n - 1))


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def when(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class Verifier:
    def __init__(self, bundle, keys):
        self.bundle, self.keys, self.problems, self.events = bundle, keys, [], 0
        q = bundle["query"]
        self.agent, self.task, self.tenant = q["agent"], q.get("task_id"), q.get("tenant")
        self.start, self.end = datetime.fromisoformat(q["from"]), datetime.fromisoformat(q["to"])

    def bad(self, header, text):
        self.problems.append(f"{header['stream']} seq {header['seq']} ({header['event_id']}): {text}")

    def wanted(self, h):
        return (h["agent"] == self.agent and self.task in (None, h["task_id"])
                and self.tenant in (None, h["tenant"]) and self.start <= when(h["ts"]) <= self.end)

    def run(self):
        if self.bundle.get("format") != "airlock-evidence/1":
            self.problems.append("not an airlock-evidence/1 bundle")
        for stream in self.bundle.get("streams", []):
            if stream["links"]:
                self.chain(stream["links"])
        return not self.problems

    def chain(self, links):
        prev, sealed, final = None, 0, False
        for entry in links:
            h, body_sha = entry["header"], entry["body_sha256"]
            event = entry.get("event")
            if event is not None:
                body = {name: event[name] for name in BODY}
                if {name: event[name] for name in HEADER} != h or sha256(jcs(body)) != body_sha:
                    self.bad(h, "edited: event does not match its header or digest")
            elif self.wanted(h):
                self.bad(h, "missing-event: an event of the agent in the window is left out")
            if sha256(jcs({**h, "body_sha256": body_sha})) != entry["hash"]:
                self.bad(h, "edited: content does not match its hash")
            if prev is None:
                if h["seq"] == 1 and h["prev_hash"] != GENESIS:
                    self.bad(h, "broken-link: first link does not follow genesis")
            elif h["seq"] != prev["header"]["seq"] + 1:
                before = prev["header"]["seq"]
                code = "gap" if h["seq"] > before else "duplicate" if h["seq"] == before else (
                    "out-of-order")
                self.bad(h, f"{code}: seq {h['seq']} after seq {before}")
            elif h["prev_hash"] != prev["hash"]:
                self.bad(h, "broken-link: prev_hash does not match the link before")
            if event is not None and h["kind"] == "audit-checkpoint" and self.signed(h, event):
                sealed, final = h["seq"], event["detail"].get("final") == "true"
            if event is not None and self.wanted(h):
                self.events += 1
            prev = entry
        first, last = links[0]["header"], links[-1]["header"]
        if first["seq"] != 1 and not (first["kind"] == "audit-checkpoint"
                                      and when(first["ts"]) <= self.start):
            self.bad(first, "window-start: excerpt does not start at a checkpoint before it")
        if sealed != last["seq"] or not (final or when(last["ts"]) >= self.end):
            self.bad(last, "window-end: excerpt does not end at a signed checkpoint after it")
        elif when(last["ts"]) < self.end and "/cli-" not in last["stream"]:
            print(f"WARN {last['stream']}: ended-early: final checkpoint before the window ends")

    def signed(self, h, event):
        d = event["detail"]
        key = self.keys.get(d.get("key_id"))
        if key is None:
            self.bad(h, f"unknown-key: checkpoint signed by unknown key {d.get('key_id')!r}")
            return False
        message = jcs({"type": "airlock-checkpoint/1", "stream": h["stream"],
                       "head_seq": int(d["head_seq"]), "head_hash": d["head_hash"],
                       "ts": h["ts"], "final": d.get("final") == "true"})
        try:
            key.verify(base64.b64decode(d["signature"], validate=True), message.encode("utf-8"))
        except (InvalidSignature, ValueError):
            self.bad(h, "bad-signature: checkpoint signature is invalid")
            return False
        if int(d["head_seq"]) != h["seq"] - 1 or d["head_hash"] != h["prev_hash"]:
            self.bad(h, "checkpoint-mismatch: checkpoint does not sign the link before it")
            return False
        return True


def key_id(key):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify an Airlock evidence bundle offline.")
    parser.add_argument("bundle")
    parser.add_argument("--pubkey", action="append", default=[],
                        help="PEM public key to trust (repeatable); default: the bundle's own")
    args = parser.parse_args(argv)
    try:
        with open(args.bundle, encoding="utf-8") as fh:
            bundle = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"FAIL malformed: cannot read {args.bundle}: {exc}")
        return 1
    if not isinstance(bundle, dict):
        print("FAIL malformed: not an evidence bundle (not a JSON object)")
        return 1
    pems = [open(p, "rb").read() for p in args.pubkey] or [
        pem.encode() for pem in bundle.get("public_keys", {}).values()]
    keys = {key_id(k): k for k in map(load_pem_public_key, pems)}
    try:
        verifier = Verifier(bundle, keys)
        ok = verifier.run()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        print(f"FAIL malformed: the bundle is malformed ({type(exc).__name__}: {exc})")
        return 1
    for problem in verifier.problems:
        print("FAIL", problem)
    if not args.pubkey:
        print("note: trusted the keys inside the bundle; pin the published key with --pubkey")
    print(f"{'VERIFIED' if ok else 'NOT VERIFIED'}: {verifier.events} event(s) of agent "
          f"{verifier.agent!r}, keys {sorted(keys)}, {datetime.now(timezone.utc).isoformat()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
