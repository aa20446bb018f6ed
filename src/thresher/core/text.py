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
    "CONTINUOUS", "MARK", "ORDINARY", "SEPARATOR", "SLOW", "WORD", "case_folds", "char_classes",
    "folds", "growth", "normalize", "prepare_batch",
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


# Kinds of the rows of the fold tables' expansions (see :func:`folds`).
ORDINARY, MARK, SLOW = 0, 1, 2
_NFKC_RANGES = ((0, _LAST_ASSIGNED_LETTERS), (0xE0000, 0xE1000))  # the rest maps to itself


def _composition_seconds() -> set[int]:
    """Code points that can compose with the character before them (NFC's "Maybe")."""
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V and T
    for c in range(0x110000):
        d = unicodedata.decomposition(chr(c))
        if d and not d.startswith("<") and len(parts := d.split()) == 2:
            seconds.add(int(parts[1], 16))
    return seconds


def _build_folds(nfkc: bool) -> tuple[NDArray[np.int32], NDArray[np.uint32]]:
    """Build the tables of :func:`folds` (``nfkc``) or :func:`case_folds`."""
    fold = np.arange(0x110000, dtype=np.int32)
    rows: list[list[int]] = [[0, ORDINARY, 0]]
    seconds = _composition_seconds() if nfkc else set()

    def plain(x: str) -> bool:  # left alone by NFKC whatever surrounds it
        return (unicodedata.normalize("NFKC", x) == x and not unicodedata.combining(x)
                and ord(x) not in seconds)

    for lo, hi in _NFKC_RANGES:
        for c in range(lo, hi):
            ch = chr(c)
            kind, last = ORDINARY, 0
            if nfkc and not plain(ch):
                mapped = unicodedata.normalize("NFKC", ch)
                decomposed = unicodedata.normalize("NFKD", ch)
                if c in seconds:
                    kind = SLOW
                elif mapped == ch:  # a combining mark that composes with nothing
                    kind, last = MARK, unicodedata.combining(ch)
                elif all(map(plain, mapped)) and plain(decomposed[0]):
                    ch, last = mapped, unicodedata.combining(decomposed[-1])
                else:
                    kind = SLOW
            folded = ch.casefold()
            if kind == ORDINARY and last == 0 and len(folded) == 1:
                fold[c] = ord(folded)
            else:
                fold[c] = -len(rows)
                rows.append([len(folded), kind, last, *map(ord, folded)])
    width = max(map(len, rows))
    return fold, np.array([r + [0] * (width - len(r)) for r in rows], dtype=np.uint32)


def _tables_file() -> Path:
    return Path(__file__).with_name(f"unicode-{unicodedata.unidata_version}.npz")


def save_tables() -> Path:
    """Write the tables for this Python's Unicode version next to this module.

    They are derived from :mod:`unicodedata` only; shipping them saves every run the
    fifth of a second it takes to build them. ``python -m thresher.core.text`` calls this.
    """
    fold, expand = _build_folds(nfkc=False)
    nfold, nexpand = _build_folds(nfkc=True)
    path = _tables_file()
    ramp = np.arange(fold.shape[0], dtype=np.int32)
    np.savez_compressed(path, classes=_build_char_classes(), fold_delta=fold - ramp,
                        expand=expand, nfkc_delta=nfold - ramp, nfkc_expand=nexpand)
    return path


Tables = tuple[NDArray[np.uint8], NDArray[np.int32], NDArray[np.uint32], NDArray[np.int32],
               NDArray[np.uint32]]


@lru_cache(maxsize=1)
def _tables() -> Tables:
    path = _tables_file()
    ramp = np.arange(0x110000, dtype=np.int32)
    if path.exists():
        with np.load(path) as data:
            tables: Tables = (data["classes"], data["fold_delta"] + ramp, data["expand"],
                              data["nfkc_delta"] + ramp, data["nfkc_expand"])
    else:  # another Unicode version than the shipped tables: build them (a few seconds)
        tables = (_build_char_classes(), *_build_folds(nfkc=False), *_build_folds(nfkc=True))
    for array in tables:
        array.flags.writeable = False
    return tables


def char_classes() -> NDArray[np.uint8]:
    """Return the class (separator, word, continuous-script word) of every code point."""
    return _tables()[0]


def case_folds() -> tuple[NDArray[np.int32], NDArray[np.uint32]]:
    """Return ``str.casefold`` as tables for compiled code, for text already in NFKC.

    ``fold[c] >= 0`` is the single code point ``c`` folds to; ``fold[c] = -k`` means
    ``c`` folds to ``expand[k, 3:3 + expand[k, 0]]`` (e.g. "ß" -> "ss"); the row's kind
    (``expand[k, 1]``) is always ``ORDINARY`` here.
    """
    _, fold, expand, _, _ = _tables()
    return fold, expand


def folds() -> tuple[NDArray[np.int32], NDArray[np.uint32]]:
    """Return NFKC followed by ``str.casefold`` as tables, for text as it comes.

    The same layout as :func:`case_folds`. Most characters are left alone by NFKC
    whatever surrounds them; they fold as there. A character whose NFKC form is the same
    wherever it stands (full-width letters, ligatures, the no-break space) folds to the
    case fold of that form; the row's third column is the combining class of the last
    character of its decomposition. A combining mark that composes with nothing is kind
    ``MARK``, with its combining class there: a run of marks out of canonical order
    needs NFKC's reordering. Any other character (one that composes with what comes
    before it, or maps to one that does) is kind ``SLOW``: a text holding it, or marks
    out of order, is normalized by :func:`unicodedata.normalize` first.
    """
    _, _, _, fold, expand = _tables()
    return fold, expand


def normalize(text: str) -> str:
    """Return the normalized form of ``text``: NFKC, case-folded, tokens joined by spaces.

    Examples:
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


@lru_cache(maxsize=2)
def growth(nfkc: bool) -> int:
    """The most code points one byte of UTF-8 folds to under :func:`folds` (``nfkc``) or
    :func:`case_folds`: how much room the folded text may need."""
    fold, expand = folds() if nfkc else case_folds()
    codes = np.flatnonzero(fold < 0)
    if not codes.shape[0]:
        return 1
    utf8 = np.where(codes < 0x80, 1, np.where(codes < 0x800, 2, np.where(codes < 0x10000, 3, 4)))
    return max(1, int(np.ceil((expand[-fold[codes], 0] / utf8).max())))


def prepare_batch(texts: Sequence[str]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Return ``texts`` as UTF-8, concatenated, and their offsets.

    Document ``i`` is ``data[offsets[i]:offsets[i + 1]]``; normalization, case folding
    and tokenizing happen in compiled code. The documents are joined by a newline so
    that tokens never run across two documents. Each text is encoded on its own: joined
    first, one wide character would widen the whole batch, and code point offsets would
    need a scan to become byte offsets.
    """
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    data = np.frombuffer(b"\n".join([*encoded, b""]), dtype=np.uint8)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(texts)) + 1,
              out=offsets[1:])
    return data, offsets  # offsets' differences less one are the UTF-8 sizes


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    print(save_tables())
