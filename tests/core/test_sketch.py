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


# Characters NFKC treats differently: combining marks (in and out of canonical order,
# composing or not), Hangul jamo that compose into syllables, compatibility forms
# (no-break space, full-width, ligatures, superscripts, a long Arabic ligature),
# singletons (Angstrom and Ohm signs), Devanagari with nukta and virama, Greek with
# ypogegrammeni, CJK compatibility ideographs, ASCII and Latin-1 letters around them.
_NFKC_ALPHABET = (
    "aeiouAZ ßéÅ\u00a0\u00b2\u00b5\u00aa\u017f"
    "\u0300\u0301\u0308\u0316\u0323\u0327\u0344\u0345\u0315\u031b\u0334"
    "\u1100\u1161\u11a8\uac00\uac01\u3131\u314f\u3134\uffa1\uffc2"
    "\uff21\uff41\ufb01\ufb03\u2075\u2460\ufdfa\u3392\u337f"
    "\u212b\u2126\u1e9b\u0958\u0915\u093c\u094d\u0930"
    "\u03b1\u1fb3\u03ac\uf900\uf9dc\u0627\u064b\u0650\u0651"
    "\u0b47\u0b3e\u0cc6\u0cd5\u0f71\u0f72\u0f80"
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=_NFKC_ALPHABET, max_size=40), min_size=1, max_size=6))
def test_texts_sketch_as_their_nfkc_forms(texts: list[str]) -> None:
    """Normalizing in compiled code (or leaving a text to unicodedata) changes nothing."""
    import unicodedata

    got = _sketch(texts)
    want = _sketch([unicodedata.normalize("NFKC", t) for t in texts])
    assert np.array_equal(got.signatures, want.signatures)
    assert np.array_equal(got.fingerprints, want.fingerprints)
    assert np.array_equal(got.n_tokens, want.n_tokens)
    assert np.array_equal(got.modes, want.modes)
    assert np.array_equal(got.shingles, want.shingles)
    assert np.array_equal(got.shingle_offsets, want.shingle_offsets)
    assert got.n_bytes.tolist() == [len(t.encode("utf-8")) for t in texts]


def test_every_character_folds_as_nfkc_then_casefold() -> None:
    """Each code point alone, between letters, sketches as its NFKC form."""
    import unicodedata

    from thresher.core.text import SLOW, folds

    fold, expand = folds()
    fast = [c for c in range(0x30000) if fold[c] >= 0 or expand[-fold[c], 1] != SLOW]
    texts = [f"ab{chr(c)}cd e{chr(c)} f" for c in fast if not 0xD800 <= c < 0xE000]
    got = _sketch(texts, num_perm=4)
    want = _sketch([unicodedata.normalize("NFKC", t) for t in texts], num_perm=4)
    assert np.array_equal(got.fingerprints, want.fingerprints)
    assert np.array_equal(got.shingles, want.shingles)


def test_fingerprints_only_give_the_whole_sketchs_fingerprints_modes_and_counts() -> None:
    texts = ["Hello, world! A plain page of words.", "東京の天気は晴れです。明日も晴れ", "",
             "e\u0301te\u0301 cafe\u0301 \u1100\u1161 decomposed marks", "  ",
             "Ｆｕｌｌｗｉｄｔｈ ﬁ ligature", "x"]
    full = sketch_texts(texts, num_perm=64, ngram=5, char_ngram=5)
    only = sketch_texts(texts, num_perm=0, ngram=5, char_ngram=5)
    assert np.array_equal(only.fingerprints, full.fingerprints)
    assert np.array_equal(only.modes, full.modes) and MODE_CHAR in only.modes.tolist()
    assert np.array_equal(only.n_tokens, full.n_tokens)
    assert np.array_equal(only.n_bytes, full.n_bytes)
    assert only.signatures.shape == (len(texts), 0) and only.shingles.shape == (0,)
    assert not only.shingle_offsets.any() and full.shingle_offsets[-1] > 0


def test_prepared_texts_sketch_as_the_texts() -> None:
    from thresher.core.text import prepare_batch

    texts = ["Cafe\u0301 au lait, the same words", "ﬁne print ①", "plain words here and there",
             "\u0041\u0301\u0328 reordered marks"]
    a = sketch_texts(texts, num_perm=32, ngram=3, char_ngram=4)
    b = sketch_texts(texts, num_perm=32, ngram=3, char_ngram=4, prepared=prepare_batch(texts))
    for x, y in zip(a.__dict__.values(), b.__dict__.values(), strict=True):
        np.testing.assert_array_equal(x, y)
