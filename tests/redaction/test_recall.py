"""Recall per detector on the generated corpus, and a printed table (``pytest -s``)."""

from __future__ import annotations

import pytest

from gateway.redaction import Redactor
from tests.redaction.corpus import ALL_DETECTORS, Sample, samples

N = 300
TARGET = 0.99


def _hit(redactor: Redactor, sample: Sample) -> bool:
    return any(
        f.detector == sample.detector and f.start < sample.end and f.end > sample.start
        for f in redactor.scan(sample.text)
    )


def _recall(redactor: Redactor, detector: str) -> float:
    batch = samples(detector, N)
    return sum(_hit(redactor, s) for s in batch) / len(batch)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(b"recall-test-key")


@pytest.mark.parametrize("detector", ALL_DETECTORS)
def test_recall_per_detector(redactor: Redactor, detector: str) -> None:
    assert _recall(redactor, detector) >= TARGET


def test_recall_table(redactor: Redactor) -> None:
    rows = [(d, _recall(redactor, d)) for d in ALL_DETECTORS]
    print(f"\n{'detector':28} {'samples':>7} {'recall':>7}")
    for name, recall in rows:
        print(f"{name:28} {N:>7} {recall:>7.3f}")
    assert min(r for _, r in rows) >= TARGET


def test_secret_fully_covered_by_redaction(redactor: Redactor) -> None:
    for detector in ALL_DETECTORS:
        for sample in samples(detector, 20, seed=11):
            secret = sample.text[sample.start : sample.end]
            redacted, _ = redactor.redact(sample.text)
            assert secret not in redacted, detector
