"""The prefilter finds every anchor occurrence, overlapping ones included, with either backend."""

from __future__ import annotations

import base64
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.redaction import Redactor, default_detectors
from gateway.redaction import prefilter as prefilter_module
from gateway.redaction.benign import SHIELD_RULES
from gateway.redaction.detector import Anchor
from gateway.redaction.known import KnownSecrets
from gateway.redaction.prefilter import Prefilter
from gateway.redaction.regex_detector import RegexDetector
from tests.redaction.benign_corpus import GENERATORS
from tests.redaction.corpus import ALL_DETECTORS, samples


@pytest.mark.parametrize("accelerate", [True, False])
def test_finds_exact_and_nocase_anchors(accelerate: bool) -> None:
    anchors = [Anchor(b"ghp_"), Anchor(b"gho_"), Anchor(b"key", nocase=True), Anchor(b"k")]
    hits = Prefilter(anchors, accelerate=accelerate).run(b"ghp_x gho_y API_KEY Key ghp_")
    assert hits[Anchor(b"ghp_")] == [0, 24]
    assert hits[Anchor(b"gho_")] == [6]
    assert hits[Anchor(b"key", nocase=True)] == [16, 20]
    assert Anchor(b"k") not in hits  # case-sensitive: only upper-case K present


@pytest.mark.parametrize("accelerate", [True, False])
def test_overlapping_anchors_are_all_reported(accelerate: bool) -> None:
    a, b = Anchor(b"sk-"), Anchor(b"sk-ant-")
    hits = Prefilter([a, b, Anchor(b"-ant")], accelerate=accelerate).run(b"sk-ant-x")
    assert hits[a] == [0] and hits[b] == [0] and hits[Anchor(b"-ant")] == [2]


def _corpus() -> list[bytes]:
    rng = random.Random(5)
    texts = [s.text for d in ALL_DETECTORS for s in samples(d, 3, seed=11)]
    texts += [gen(rng).encode() for gen in GENERATORS.values()]
    texts.append(bytes(rng.randrange(256) for _ in range(20_000)))  # binary, mixed case
    texts.append(b"Basic " + base64.b64encode(b"user:Kn0wn-Secret/Value+42"))
    texts.append(b"aaaa sk-sk-ant-x KEYkeyKey \xc0\xe0 ://:// passpass")  # overlaps, repeats
    return [b"\n".join(texts), *texts]


def _anchors() -> list[Anchor]:
    known = KnownSecrets()
    known.register("vault", "Kn0wn-Secret/Value+42")
    detectors = (known, *default_detectors(), *(RegexDetector(r) for r in SHIELD_RULES))
    return [a for d in detectors for a in d.anchors]


def test_backends_report_the_same_hits() -> None:
    pytest.importorskip("hyperscan")
    accelerated, fallback = Prefilter(_anchors()), Prefilter(_anchors(), accelerate=False)
    assert (accelerated.backend, fallback.backend) == ("hyperscan", "re")
    for text in _corpus():
        assert accelerated.run(text) == fallback.run(text)


def test_hyperscan_is_used_when_installed() -> None:
    pytest.importorskip("hyperscan")
    assert Prefilter([Anchor(b"ghp_")]).backend == "hyperscan"


def test_concurrent_scans_share_one_prefilter() -> None:
    prefilter = Prefilter(_anchors())
    texts = _corpus()[1:]
    expected = [prefilter.run(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            assert list(pool.map(prefilter.run, texts)) == expected


def test_engine_falls_back_to_re_without_hyperscan(monkeypatch: pytest.MonkeyPatch) -> None:
    document = _corpus()[0]
    expected = Redactor(b"k").redact(document)
    monkeypatch.setattr(prefilter_module, "load_hyperscan", lambda: None)
    assert Prefilter([Anchor(b"ghp_")]).backend == "re"
    redactor = Redactor(b"k")
    assert redactor.redact(document) == expected
    assert {f.detector for f in expected[1]} >= set(ALL_DETECTORS) - {"known_secret"}
    stream = redactor.stream()
    out = b"".join(stream.feed(document[i : i + 5000]) for i in range(0, len(document), 5000))
    assert out + stream.flush() == expected[0]
