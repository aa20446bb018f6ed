from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.core.sketch import MODE_CHAR, MODE_WORD, sketch_texts

SAMPLE = ["The quick brown fox jumps over the lazy dog, again and again.",
          "東京は日本の首都です。人口が多い都市です。"]


def _sketch(texts: list[str], **kw: int) -> object:
    opts = {"num_perm": 16, "ngram": 5, "char_ngram": 5, "seed": 42} | kw
    return sketch_texts(texts, **opts)


def test_golden_signatures() -> None:
    """Pinned values: a change here changes every signature thresher ever wrote."""
    s = _sketch(SAMPLE)
    assert s.signatures.tolist() == [
        [2094810147, 3154850897, 991954006, 70342706, 2841247105, 948960297, 991954006,
         948960297, 991954006, 2094810147, 3154850897, 991954006, 3154850897, 2841247105,
         70342706, 948960297],
        [3985650364, 3950513230, 1810918594, 2153837812, 304221395, 3607508415, 936810987,
         3607508415, 2153837812, 936810987, 304221395, 1414126963, 200555655, 304221395,
         3985650364, 200555655]]
    assert [hex(x) for x in s.fingerprints[0].tolist()] == ["0x1983d015aa9e9f06",
                                                           "0xbb75e9c437810c6f"]
    assert s.modes.tolist() == [MODE_WORD, MODE_CHAR]
    assert s.n_tokens.tolist() == [12, 2]


def test_seed_changes_signatures_not_fingerprints() -> None:
    a, b = _sketch(SAMPLE, seed=1), _sketch(SAMPLE, seed=2)
    assert not np.array_equal(a.signatures, b.signatures)
    assert np.array_equal(a.fingerprints, b.fingerprints)


def test_batching_does_not_change_results() -> None:
    texts = [f"document number {i} has some words in it and more" for i in range(20)]
    whole = _sketch(texts)
    parts = [_sketch(texts[:7]), _sketch(texts[7:])]
    assert np.array_equal(whole.signatures, np.concatenate([p.signatures for p in parts]))
    assert np.array_equal(whole.shingles, np.concatenate([p.shingles for p in parts]))


def test_short_document_has_one_shingle() -> None:
    s = _sketch(["just three words"])
    assert s.shingle_offsets.tolist() == [0, 1]
    assert (s.signatures[0] == s.signatures[0, 0]).all()  # densified from the single value


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1))
def test_identical_texts_always_collide(text: str) -> None:
    s = _sketch([text, text])
    assert np.array_equal(s.signatures[0], s.signatures[1])
    assert np.array_equal(s.fingerprints[0], s.fingerprints[1])


def _jaccard_pair(rng: np.random.Generator, target: float) -> tuple[str, str]:
    vocab = [f"w{i}" for i in range(100_000)]
    shared = round(400 * 2 * target / (1 + target))
    common = list(rng.choice(vocab, size=shared, replace=False))
    rest = list(rng.choice(vocab, size=2 * (400 - shared), replace=False))
    return " ".join(common + rest[: 400 - shared]), " ".join(common + rest[400 - shared:])


def test_signature_agreement_estimates_jaccard() -> None:
    """With unigram shingles the true Jaccard is known; the estimate must be unbiased."""
    rng = np.random.default_rng(7)
    for target in (0.3, 0.6, 0.9):
        estimates = []
        for seed in range(40):
            a, b = _jaccard_pair(rng, target)
            s = sketch_texts([a, b], num_perm=128, ngram=1, char_ngram=5, seed=seed)
            estimates.append(float((s.signatures[0] == s.signatures[1]).mean()))
        # 40 x 128 bins: standard error of the mean is about 0.006 at J = 0.6
        assert np.mean(estimates) == pytest.approx(target, abs=0.03)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_compiled_normalization_matches_the_reference(text: str) -> None:
    """The kernel's tokens are those of :func:`normalize` (NFKC, casefold, word runs)."""
    from thresher.core.text import normalize

    s = _sketch([text, normalize(text)])
    assert np.array_equal(s.fingerprints[0], s.fingerprints[1])
    assert s.n_tokens[0] == len(normalize(text).split())


def test_case_folding_expands_sharp_s() -> None:
    s = _sketch(["Die Straße ist lang und breit heute", "DIE STRASSE IST LANG UND BREIT HEUTE"])
    assert np.array_equal(s.fingerprints[0], s.fingerprints[1])
