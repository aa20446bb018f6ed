from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from thresher.core.text import CONTINUOUS, SEPARATOR, WORD, char_classes, normalize


def test_normalize_folds_width_case_and_punctuation() -> None:
    assert normalize("Ｆｕｌｌ-width ＴＥＸＴ!!  Straße\n\ttabs") == "full width text strasse tabs"


def test_normalize_keeps_marks_inside_words() -> None:
    # Devanagari vowel signs are combining marks: they must not split the word.
    assert normalize("नमस्ते दुनिया") == "नमस्ते दुनिया"


def test_char_classes() -> None:
    table = char_classes()
    assert table[ord("a")] == WORD
    assert table[ord("7")] == WORD
    assert table[ord(" ")] == SEPARATOR
    assert table[ord(",")] == SEPARATOR
    assert table[ord("東")] == CONTINUOUS
    assert table[ord("ก")] == CONTINUOUS  # Thai


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "Z"])))
def test_normalize_ignores_spacing_and_case(text: str) -> None:
    assert normalize(text) == normalize("  " + text.casefold().replace(" ", "\n  ") + " .")


def test_shipped_tables_match_unicodedata() -> None:
    """The tables shipped for this Unicode version are what unicodedata says."""
    import numpy as np

    from thresher.core import text

    if not text._tables_file().exists():
        import pytest

        pytest.skip("no tables shipped for this Unicode version; they are built at run time")
    assert np.array_equal(text.char_classes(), text._build_char_classes())
    for shipped, nfkc in ((text.case_folds(), False), (text.folds(), True)):
        fold, expand = text._build_folds(nfkc=nfkc)
        assert np.array_equal(shipped[0], fold)
        assert np.array_equal(shipped[1], expand)
