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

import numpy as np
from numpy.typing import NDArray

__all__ = ["SEPARATOR", "WORD", "CONTINUOUS", "char_classes", "prepare_batch", "normalize"]

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


@lru_cache(maxsize=1)
def char_classes() -> NDArray[np.uint8]:
    """Return the class (separator, word, continuous-script word) of every code point."""
    table = np.zeros(0x110000, dtype=np.uint8)
    cats = [unicodedata.category(chr(c))[0] for c in range(_LAST_ASSIGNED_LETTERS)]
    word = np.fromiter((c in "LMN" for c in cats), dtype=bool, count=_LAST_ASSIGNED_LETTERS)
    table[:_LAST_ASSIGNED_LETTERS][word] = WORD
    for lo, hi in _CONTINUOUS_RANGES:
        block = table[lo : hi + 1]
        block[block == WORD] = CONTINUOUS
    table.flags.writeable = False
    return table


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


def prepare_batch(texts: Sequence[str]) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """Return NFKC-case-folded code points of ``texts``, concatenated, and their offsets.

    Document ``i`` is ``codes[offsets[i]:offsets[i + 1]]``. The documents are joined by a
    separator so that tokens never run across two documents.
    """
    folded = [unicodedata.normalize("NFKC", t).casefold() for t in texts]
    lengths = np.fromiter((len(f) + 1 for f in folded), dtype=np.int64, count=len(folded))
    offsets = np.zeros(len(folded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "\n".join(folded) + "\n"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    return codes, offsets
