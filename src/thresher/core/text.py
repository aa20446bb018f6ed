"""Text normalization: what two documents must share to count as the same text.

A document is normalized in three steps, and exact duplicates are documents whose
normalized token sequences are equal:

1. Unicode NFKC (compatibility forms folded: full-width letters, ligatures, ...);
2. case folding (``str.casefold``, so "Straße" and "STRASSE" match);
3. tokens are maximal runs of Unicode letters, marks and digits; everything else
   (whitespace, punctuation, symbols, control characters) only separates tokens.

Documents written mostly in scripts without spaces between words (Han, kana, Thai,
Lao, Khmer, Myanmar, Tibetan) are shingled by characters instead of words when the
shingle mode is ``auto``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CONTINUOUS", "SEPARATOR", "WORD", "case_folds", "char_classes", "normalize", "prepare_batch",
]

SEPARATOR, WORD, CONTINUOUS = 0, 1, 2

# Code point ranges of scripts written without spaces between words.
_CONTINUOUS_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)
_LAST_ASSIGNED_LETTERS = 0x40000


def _build_char_classes() -> NDArray[np.uint8]:
    table = np.zeros(0x110000, dtype=np.uint8)
    cats = [unicodedata.category(chr(c))[0] for c in range(_LAST_ASSIGNED_LETTERS)]
    word = np.fromiter((c in "LMN" for c in cats), dtype=bool, count=_LAST_ASSIGNED_LETTERS)
    table[:_LAST_ASSIGNED_LETTERS][word] = WORD
    for lo, hi in _CONTINUOUS_RANGES:
        block = table[lo : hi + 1]
        block[block == WORD] = CONTINUOUS
    return table


def _build_case_folds() -> tuple[NDArray[np.int32], NDArray[np.uint32]]:
    fold = np.arange(0x110000, dtype=np.int32)
    expansions: list[list[int]] = [[0, 0, 0, 0]]
    for c in range(_LAST_ASSIGNED_LETTERS):
        folded = chr(c).casefold()
        if len(folded) == 1:
            fold[c] = ord(folded)
        else:
            fold[c] = -len(expansions)
            expansions.append([len(folded), *map(ord, folded), *[0] * (3 - len(folded))])
    return fold, np.array(expansions, dtype=np.uint32)


def _tables_file() -> Path:
    return Path(__file__).with_name(f"unicode-{unicodedata.unidata_version}.npz")


def save_tables() -> Path:
    """Write the tables for this Python's Unicode version next to this module.

    They are derived from :mod:`unicodedata` only; shipping them saves every run the
    fifth of a second it takes to build them. ``python -m thresher.core.text`` calls this.
    """
    fold, expand = _build_case_folds()
    path = _tables_file()
    np.savez_compressed(path, classes=_build_char_classes(),
                        fold_delta=fold - np.arange(fold.shape[0], dtype=np.int32),
                        expand=expand)
    return path


@lru_cache(maxsize=1)
def _tables() -> tuple[NDArray[np.uint8], NDArray[np.int32], NDArray[np.uint32]]:
    path = _tables_file()
    if path.exists():
        with np.load(path) as data:
            classes, delta, expand = data["classes"], data["fold_delta"], data["expand"]
        fold = delta + np.arange(delta.shape[0], dtype=np.int32)
    else:  # another Unicode version than the shipped tables: build them (about 0.2 s)
        classes = _build_char_classes()
        fold, expand = _build_case_folds()
    for array in (classes, fold, expand):
        array.flags.writeable = False
    return classes, fold, expand


def char_classes() -> NDArray[np.uint8]:
    """Return the class (separator, word, continuous-script word) of every code point."""
    return _tables()[0]


def case_folds() -> tuple[NDArray[np.int32], NDArray[np.uint32]]:
    """Return ``str.casefold`` as tables for compiled code.

    ``fold[c] >= 0`` is the single code point ``c`` folds to; ``fold[c] = -k`` means
    ``c`` folds to several code points, ``expand[k, 1:1 + expand[k, 0]]`` (e.g. "ß" -> "ss").
    """
    _, fold, expand = _tables()
    return fold, expand


def normalize(text: str) -> str:
    """Return the normalized form of ``text``: NFKC, case-folded, tokens joined by spaces.

    Example:
        >>> normalize("Ｈｅｌｌｏ,   WORLD!  Straße")
        'hello world strasse'
    """
    table = char_classes()
    folded = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    token: list[str] = []
    for ch in folded:
        if table[ord(ch)]:
            token.append(ch)
        elif token:
            out.append("".join(token))
            token = []
    if token:
        out.append("".join(token))
    return " ".join(out)


def prepare_batch(texts: Sequence[str]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Return the NFKC forms of ``texts`` as UTF-8, concatenated, and their offsets.

    Document ``i`` is ``data[offsets[i]:offsets[i + 1]]``; case folding and tokenizing
    happen in compiled code. The documents are joined by a newline so that tokens never
    run across two documents.
    """
    encoded = [(t if t.isascii() else unicodedata.normalize("NFKC", t)).encode(
        "utf-8", "surrogatepass") for t in texts]  # ASCII text is its own NFKC form
    lengths = np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(b"\n".join(encoded) + b"\n", dtype=np.uint8)
    return data, offsets  # offsets' differences less one are the UTF-8 sizes


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    print(save_tables())
