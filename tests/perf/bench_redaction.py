"""Redaction engine throughput: clean text, secret-laden text, streaming in 16 KB chunks.

Run from the repository root::

    .venv/bin/python tests/perf/bench_redaction.py [--mb 24] [--fallback]

Clean text mixes Python standard-library source, a generated package-lock.json, generated JSON
API bodies and English prose. Prints MB/s per core (single thread); asserts nothing about time.
Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gateway.redaction import Anchor, Redactor, prefilter  # noqa: E402
from tests.redaction.corpus import ALL_DETECTORS, samples  # noqa: E402

ENGLISH = (
    "The committee reviewed the proposal in detail and agreed that the migration should "
    "proceed in stages, with each team owning the rollout of its own services. Questions "
    "about scheduling, capacity and support were collected for the next meeting.\n"
)


def source_code(limit: int) -> bytes:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out = bytearray()
    for path in sorted(stdlib.glob("**/*.py")):
        if "test" in path.parts or "tests" in path.parts or "idlelib" in path.parts:
            continue
        out += path.read_bytes()
        if len(out) >= limit:
            break
    return bytes(out[:limit])


def lockfile(limit: int, rng: random.Random) -> bytes:
    out, i = bytearray(), 0
    while len(out) < limit:
        sri = base64.b64encode(hashlib.sha512(rng.randbytes(8)).digest()).decode()
        out += (
            f'    "node_modules/pkg-{i}": {{\n      "version": "1.{i % 97}.0",\n'
            f'      "resolved": "https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.0.0.tgz",\n'
            f'      "integrity": "sha512-{sri}",\n      "dev": true\n    }},\n'
        ).encode()
        i += 1
    return bytes(out[:limit])


def json_bodies(limit: int, rng: random.Random) -> bytes:
    out = bytearray()
    while len(out) < limit:
        body = {
            "id": rng.randrange(10**9),
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": ENGLISH.strip()}],
            "metadata": {"task": f"task-{rng.randrange(1000)}", "tags": ["ci", "build"]},
        }
        out += json.dumps(body).encode() + b"\n"
    return bytes(out[:limit])


def clean_corpus(total: int) -> bytes:
    rng = random.Random(1)
    quarter = total // 4
    parts = [
        source_code(quarter),
        lockfile(quarter, rng),
        json_bodies(quarter, rng),
        (ENGLISH.encode() * (quarter // len(ENGLISH) + 1))[:quarter],
    ]
    return b"".join(parts)


def secret_corpus(total: int) -> bytes:
    parts, seed = [], 0
    size = 0
    while size < total:
        for detector in ALL_DETECTORS:
            for sample in samples(detector, 5, seed=seed):
                parts.append(sample.text)
                size += len(sample.text)
        parts.append(ENGLISH.encode() * 8)
        size += len(ENGLISH) * 8
        seed += 1
    return b"\n".join(parts)[:total]


def measure(name: str, size: int, run: Callable[[], int], repeat: int = 5) -> None:
    best, found = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        found = run()
        best = min(best, time.perf_counter() - start)
    print(f"{name:34} {size / 1e6:8.1f} MB {size / best / 1e6:9.1f} MB/s  findings={found}")


def stream_run(redactor: Redactor, data: bytes, chunk: int) -> int:
    stream = redactor.stream()
    for pos in range(0, len(data), chunk):
        stream.feed(data[pos : pos + chunk])
    stream.flush()
    return len(stream.findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=24, help="size of the clean corpus in MB")
    parser.add_argument(
        "--fallback", action="store_true", help="use the pure-re prefilter even if hyperscan works"
    )
    args = parser.parse_args()
    if args.fallback:
        prefilter.load_hyperscan = lambda: None
    backend = prefilter.Prefilter([Anchor(b"x")]).backend
    redactor = Redactor(b"bench-key")
    redactor.register_known("managed-credential", "Kn0wn-" + "Cred" * 6)
    clean = clean_corpus(args.mb * 1_000_000)
    laden = secret_corpus(4_000_000)
    print(f"python {sys.version.split()[0]}, single thread, prefilter: {backend}")
    measure("clean text (scan)", len(clean), lambda: len(redactor.scan(clean)))
    for label, part in zip(
        ("  source code", "  package-lock.json", "  JSON bodies", "  English"),
        (clean[i * (len(clean) // 4) : (i + 1) * (len(clean) // 4)] for i in range(4)),
        strict=True,
    ):
        measure(label, len(part), lambda p=part: len(redactor.scan(p)))
    measure("clean text (redact)", len(clean), lambda: len(redactor.redact(clean)[1]))
    measure("secret-laden text (redact)", len(laden), lambda: len(redactor.redact(laden)[1]))
    measure("clean stream, 16 KB chunks", len(clean), lambda: stream_run(redactor, clean, 16384))
    measure("secret stream, 16 KB chunks", len(laden), lambda: stream_run(redactor, laden, 16384))


if __name__ == "__main__":
    main()
