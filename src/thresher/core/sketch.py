"""Shingling and MinHash sketches, a batch of documents per call.

Tokens are hashed with FNV-1a over their code points and mixed with ``fmix64``. A shingle is ``n`` consecutive tokens (word mode) or code points (char
mode), hashed by a polynomial over its token hashes and mixed with the seed; a document
shorter than ``n`` tokens has one shingle made of all its tokens.

Signatures use one-permutation hashing with optimal densification (Shrivastava, ICML
2017): each shingle hash is mixed with the seed once; its high 32 bits pick one of
``num_perm`` bins and its low 32 bits compete for that bin's minimum. Empty bins borrow
the value of a bin chosen by a seeded probe sequence that is the same for every
document. For every bin, the probability that two documents agree equals their
Jaccard similarity, as with ``num_perm`` independent permutations, at the cost of one
hash per shingle instead of ``num_perm``.

Each document also keeps the low 32 bits of its shingle hashes (for exact Jaccard
verification, which sorts them only for the few documents that are candidates) and a 128-bit fingerprint of its word-token sequence (for exact
duplicates).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.hashing import FNV_OFFSET, FNV_PRIME, MUL, fmix64, seed_mix
from thresher.core.text import (
    CONTINUOUS,
    MARK,
    SLOW,
    case_folds,
    char_classes,
    folds,
    growth,
    prepare_batch,
)

__all__ = ["MODE_AUTO", "MODE_CHAR", "MODE_WORD", "SHINGLE_MODES", "SketchOptions", "Sketches",
           "choose_modes", "next_code_point", "sketch_as", "sketch_texts"]

MODE_AUTO, MODE_WORD, MODE_CHAR = 0, 1, 2
SHINGLE_MODES = {"auto": MODE_AUTO, "word": MODE_WORD, "char": MODE_CHAR}  # by option value
_EMPTY = np.uint32(0xFFFFFFFF)
_CHAR_SALT = np.uint64(0x5BD1E9955BD1E995)
_CONTINUOUS_SHARE = 0.3
_MAX_PROBES = 64
_UNNORMALIZED = 255  # a mode for a text the first pass leaves to unicodedata.normalize


@dataclass(frozen=True, kw_only=True)
class Sketches:
    """What :func:`sketch_texts` computes for a batch of ``n`` documents."""

    signatures: NDArray[np.uint32]  # (n, num_perm)
    fingerprints: NDArray[np.uint64]  # (n, 2): exact-duplicate key
    n_tokens: NDArray[np.int64]  # (n,): word tokens after normalization
    n_bytes: NDArray[np.int64]  # (n,): UTF-8 size of the text as given
    modes: NDArray[np.uint8]  # (n,): MODE_WORD or MODE_CHAR
    shingles: NDArray[np.uint32]  # flat 32-bit shingle hashes, in text order, per document
    shingle_offsets: NDArray[np.int64]  # (n + 1,)


@njit(cache=True, inline="always")
def next_code_point(data, i, hi):  # type: ignore[no-untyped-def]
    """Decode the UTF-8 sequence at data[i] (not past hi); return (code point, next i).

    A truncated sequence or a value past U+10FFFF decodes as 0 and moves one byte on.
    """
    b = np.uint32(data[i])
    if b < 0x80:
        return b, i + 1
    if b < 0xE0 and i + 1 < hi:
        return ((b & 0x1F) << 6) | (np.uint32(data[i + 1]) & 0x3F), i + 2
    if b < 0xF0 and i + 2 < hi:
        c = ((b & 0x0F) << 12) | ((np.uint32(data[i + 1]) & 0x3F) << 6) | (
            np.uint32(data[i + 2]) & 0x3F)
        return c, i + 3
    if i + 3 < hi:
        c = ((b & 0x07) << 18) | ((np.uint32(data[i + 1]) & 0x3F) << 12) | (
            (np.uint32(data[i + 2]) & 0x3F) << 6) | (np.uint32(data[i + 3]) & 0x3F)
        return (c if c <= 0x10FFFF else np.uint32(0)), i + 4
    return np.uint32(0), i + 1


@njit(cache=True, nogil=True)
def _decode_fold(data, lo, hi, fold, expand, out):  # type: ignore[no-untyped-def]
    """Decode UTF-8 data[lo:hi], fold it by the tables, write code points to out.

    Return the count, or -1 if the text needs :func:`unicodedata.normalize` first (a
    character of kind ``SLOW``, or combining marks out of canonical order).
    """
    n = 0
    i = lo
    # The combining class of the last character folded by a row, and where its output
    # ended: when the output has grown since, the character before is a plain one (0).
    last, end = np.uint32(0), -1
    while i < hi:
        c, i = next_code_point(data, i, hi)
        f = fold[c]
        if f >= 0:
            out[n] = f
            n += 1
        else:
            k = -f
            kind = expand[k, 1]
            if kind == SLOW or (kind == MARK and end == n and last > expand[k, 2]):
                return -1
            for j in range(expand[k, 0]):
                out[n] = expand[k, 3 + j]
                n += 1
            last, end = expand[k, 2], n
    return n


@njit(cache=True, nogil=True)
def _word_tokens(codes, lo, hi, table, out):  # type: ignore[no-untyped-def]
    """Hash the word tokens of codes[lo:hi] into out; return (count, continuous chars, chars).

    A token's hash is FNV-1a over its code points, then its length, mixed by fmix64. The
    loop has no data-dependent branch (word boundaries are too frequent to predict): the
    running hash is written at position ``n`` for every character and ``n`` advances when
    a token ends.
    """
    n = np.int64(0)
    h = FNV_OFFSET
    length = np.uint64(0)
    cont = 0
    chars = 0
    one = np.uint64(1)
    for i in range(lo, hi):
        c = codes[i]
        cls = table[c]
        w = np.uint64(cls != 0)
        cont += cls == CONTINUOUS
        chars += cls != 0
        ends = np.int64(length != 0) * np.int64(w == 0)
        out[n] = h ^ length
        n += ends
        keep = np.uint64(0) - w  # all ones inside a word, zero at a separator
        h = (((h ^ np.uint64(c)) * FNV_PRIME) & keep) | (FNV_OFFSET & ~keep)
        length = (length + one) & keep
    if length != 0:
        out[n] = h ^ length
        n += 1
    for k in range(n):
        out[k] = fmix64(out[k])
    return n, cont, chars


@njit(cache=True, nogil=True)
def _char_tokens(codes, lo, hi, table, out):  # type: ignore[no-untyped-def]
    """Hash every word character of codes[lo:hi] into out; return the count."""
    n = 0
    for i in range(lo, hi):
        c = codes[i]
        if table[c] != 0:
            out[n] = fmix64((np.uint64(c) + np.uint64(1)) * MUL ^ _CHAR_SALT)
            n += 1
    return n


@njit(cache=True, nogil=True)
def _shingles(tokens, n_tok, ngram, salt, seed, out):  # type: ignore[no-untyped-def]
    """Write the seeded, mixed shingle hashes of tokens[:n_tok] into out; return the count.

    The polynomial runs one token position at a time over all shingles, so that every
    pass is a plain loop the compiler vectorizes.
    """
    if n_tok == 0:
        return 0
    width = min(ngram, n_tok)
    count = n_tok - width + 1
    for i in range(count):
        out[i] = salt * MUL + tokens[i]
    for j in range(1, width):
        for i in range(count):
            out[i] = out[i] * MUL + tokens[i + j]
    mix = np.uint64(width) ^ seed
    for i in range(count):
        out[i] = fmix64(out[i] ^ mix)
    return count


@njit(cache=True, nogil=True)
def _probe_table(probe_seed, k):  # type: ignore[no-untyped-def]
    """The bins each of ``k`` bins borrows from, in the order tried: the same for every
    document, so worked out once per batch (``_MAX_PROBES`` tries a bin)."""
    table = np.empty((k, _MAX_PROBES), dtype=np.int32)
    for b in range(k):
        for attempt in range(_MAX_PROBES):
            p = fmix64(probe_seed ^ (np.uint64(b) << np.uint64(32)) ^ np.uint64(attempt))
            table[b, attempt] = np.int32(((p >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32))
    return table


@njit(cache=True, nogil=True)
def _oph(shingles, count, probes, filled, empty, sig):  # type: ignore[no-untyped-def]
    """Fill sig with the densified one-permutation MinHash of mixed shingles[:count].

    A bin holding the all-ones value counts as empty (a 2**-32 chance per shingle); the
    minimum is taken without a branch, since whether it changes is unpredictable.
    ``probes`` is :func:`_probe_table`; ``filled`` and ``empty`` are scratch of ``k``.
    """
    k = sig.shape[0]
    sig[:] = _EMPTY
    for i in range(count):
        x = shingles[i]
        slot = np.int64(((x >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32))
        sig[slot] = min(sig[slot], np.uint32(x & np.uint64(0xFFFFFFFF)))
    if count == 0:
        return
    n_empty = 0
    for b in range(k):  # borrow only from bins that were filled by a shingle
        unfilled = sig[b] == _EMPTY
        filled[b] = not unfilled
        empty[n_empty] = b
        n_empty += unfilled
    for e in range(n_empty):
        b = empty[e]
        j = np.int64(b)
        for attempt in range(_MAX_PROBES):
            j = np.int64(probes[b, attempt])
            if filled[j]:
                break
        while not filled[j]:  # probe sequence exhausted: scan on, deterministically
            j = (j + 1) % k
        sig[b] = sig[j]


@njit(cache=True, nogil=True)
def _fingerprint(tokens, n_tok):  # type: ignore[no-untyped-def]
    """Return a 128-bit key of the token sequence as two 64-bit words."""
    a = FNV_OFFSET
    b = np.uint64(0x84222325CBF29CE4)
    for i in range(n_tok):
        a = (a ^ tokens[i]) * MUL
        b = (b + tokens[i]) * FNV_PRIME
    return fmix64(a ^ np.uint64(n_tok)), fmix64(b + np.uint64(n_tok))


@njit(cache=True, nogil=True)
def _sketch_batch(data, offsets, table, fold, expand, grow, mode, ngram, char_ngram,  # type: ignore[no-untyped-def]
                  seed, probe_seed, sigs, fps, n_tokens, modes, sh_flat, sh_off):
    n_docs = offsets.shape[0] - 1
    longest = 1
    for d in range(n_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    longest *= grow  # the most code points a byte folds to
    codes = np.empty(longest, dtype=np.uint32)
    words = np.empty(longest, dtype=np.uint64)
    chars = np.empty(longest, dtype=np.uint64)
    shingles = np.empty(longest, dtype=np.uint64)
    k = sigs.shape[1]
    probes = _probe_table(probe_seed, k)
    filled = np.empty(k, dtype=np.bool_)
    empty = np.empty(k, dtype=np.int64)
    pos = 0
    for d in range(n_docs):
        hi = _decode_fold(data, offsets[d], offsets[d + 1], fold, expand, codes)
        if hi < 0:  # left for a second pass, after unicodedata.normalize
            modes[d] = _UNNORMALIZED
            sh_off[d + 1] = pos
            continue
        n_w, cont, n_chars = _word_tokens(codes, 0, hi, table, words)
        fps[d, 0], fps[d, 1] = _fingerprint(words, n_w)
        n_tokens[d] = n_w
        # (choose_modes says the same of many documents at once)
        use_char = mode == MODE_CHAR or (
            mode == MODE_AUTO and n_chars > 0 and cont >= _CONTINUOUS_SHARE * n_chars)
        if sigs.shape[1] == 0:  # fingerprints only: no shingles, no signature
            modes[d] = MODE_CHAR if use_char else MODE_WORD
            sh_off[d + 1] = pos
            continue
        if use_char:
            n_c = _char_tokens(codes, 0, hi, table, chars)
            count = _shingles(chars, n_c, char_ngram, _CHAR_SALT, seed, shingles)
            modes[d] = MODE_CHAR
        else:
            count = _shingles(words, n_w, ngram, np.uint64(0), seed, shingles)
            modes[d] = MODE_WORD
        _oph(shingles, count, probes, filled, empty, sigs[d])
        for i in range(count):
            sh_flat[pos + i] = np.uint32(shingles[i] & np.uint64(0xFFFFFFFF))
        pos += count
        sh_off[d + 1] = pos
    return pos


def choose_modes(n_chars: NDArray[np.int64], continuous: NDArray[np.int64],
                 mode: int) -> NDArray[np.uint8]:
    """How documents with ``n_chars`` word characters, ``continuous`` of them in scripts
    written without spaces, are shingled under ``mode``: MODE_WORD or MODE_CHAR."""
    if mode != MODE_AUTO:
        return np.full(n_chars.shape[0], mode, dtype=np.uint8)
    char = (n_chars > 0) & (continuous >= _CONTINUOUS_SHARE * n_chars)
    return np.where(char, MODE_CHAR, MODE_WORD).astype(np.uint8)


def sketch_texts(
    texts: Sequence[str],
    *,
    num_perm: int,
    ngram: int,
    char_ngram: int,
    mode: int = MODE_AUTO,
    seed: int = 42,
    prepared: tuple[NDArray[np.uint8], NDArray[np.int64]] | None = None,
) -> Sketches:
    """Sketch a batch of documents (``num_perm=0``: fingerprints, token counts and modes
    only, without signatures or shingles).

    ``prepared``: the texts as :func:`prepare_batch` lays them out, when they are at hand
    already; ``texts`` is then read only for the few that need ``unicodedata.normalize``.

    Examples:
        >>> s = sketch_texts(["a b c d e f", "A b, c d e f!"], num_perm=16, ngram=5, char_ngram=5)
        >>> bool((s.signatures[0] == s.signatures[1]).all()), bool((s.fingerprints[0] == s.fingerprints[1]).all())
        (True, True)
    """
    data, offsets = prepare_batch(texts) if prepared is None else prepared
    args = (char_classes(), mode, ngram, char_ngram, seed_mix(seed, 1), seed_mix(seed, 2))
    sigs, fps, n_tokens, modes, sh_flat, sh_off = _sketch_pass(data, offsets, True,
                                                               num_perm=num_perm, args=args)
    redo = np.flatnonzero(modes == _UNNORMALIZED)
    if redo.shape[0]:  # texts that need NFKC's composition or reordering
        data2, offsets2 = prepare_batch([unicodedata.normalize("NFKC", texts[i])
                                         for i in redo.tolist()])
        again = _sketch_pass(data2, offsets2, False, num_perm=num_perm, args=args)
        sigs[redo], fps[redo], n_tokens[redo], modes[redo] = again[:4]
        sh_flat, sh_off = _splice(sh_flat, sh_off, redo, flat2=again[4], off2=again[5])
    return Sketches(signatures=sigs, fingerprints=fps, n_tokens=n_tokens,
                    n_bytes=np.diff(offsets) - 1, modes=modes, shingles=sh_flat,
                    shingle_offsets=sh_off)


class SketchOptions(Protocol):
    """How a run sketches: its ``[minhash]`` table, or a task that carries those values."""

    @property
    def num_perm(self) -> int: ...
    @property
    def ngram(self) -> int: ...
    @property
    def char_ngram(self) -> int: ...
    @property
    def shingle(self) -> str: ...
    @property
    def seed(self) -> int: ...


def sketch_as(texts: Sequence[str], options: SketchOptions, *, num_perm: int | None = None,
              prepared: tuple[NDArray[np.uint8], NDArray[np.int64]] | None = None
              ) -> Sketches:
    """:func:`sketch_texts` with a run's ``options`` (``num_perm``, when given, instead
    of theirs: 0 for fingerprints alone), so that a run and a lone query sketch alike."""
    return sketch_texts(texts, num_perm=options.num_perm if num_perm is None else num_perm,
                        ngram=options.ngram, char_ngram=options.char_ngram,
                        mode=SHINGLE_MODES[options.shingle], seed=options.seed,
                        prepared=prepared)


def _sketch_pass(data: NDArray[np.uint8], offsets: NDArray[np.int64], nfkc: bool,
                 *, num_perm: int, args: tuple[Any, ...]) -> tuple[NDArray[Any], ...]:
    """Run the kernel with :func:`folds` (``nfkc``) or :func:`case_folds` (text already
    in NFKC): (signatures, fingerprints, tokens, modes, shingles, offsets)."""
    tables = folds() if nfkc else case_folds()
    n, grow = offsets.shape[0] - 1, growth(nfkc)
    out = (np.empty((n, num_perm), dtype=np.uint32), np.zeros((n, 2), dtype=np.uint64),
           np.zeros(n, dtype=np.int64), np.empty(n, dtype=np.uint8),
           # at most a shingle a code point
           np.empty(grow * data.shape[0] if num_perm else 0, dtype=np.uint32),
           np.zeros(n + 1, dtype=np.int64))
    used = _sketch_batch(data, offsets, args[0], *tables, grow, *args[1:], *out)  # type: ignore[call-arg]
    return (*out[:4], out[4][:used].copy(), out[5])


@njit(cache=True, nogil=True)
def _splice_into(flat, off, redo, flat2, off2, out, out_off):  # type: ignore[no-untyped-def]
    r = 0
    at = 0
    for d in range(off.shape[0] - 1):
        if r < redo.shape[0] and redo[r] == d:
            lo, hi, src = off2[r], off2[r + 1], flat2
            r += 1
        else:
            lo, hi, src = off[d], off[d + 1], flat
        for i in range(lo, hi):
            out[at] = src[i]
            at += 1
        out_off[d + 1] = at


def _splice(flat: NDArray[np.uint32], off: NDArray[np.int64], redo: NDArray[np.int64],
            *, flat2: NDArray[np.uint32], off2: NDArray[np.int64]
            ) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """Put the shingles of documents ``redo`` (``flat2``, ``off2``) in their places."""
    out = np.empty(flat.shape[0] + flat2.shape[0], dtype=np.uint32)
    out_off = np.zeros_like(off)
    _splice_into(flat, off, redo, flat2, off2, out, out_off)
    return out, out_off
