"""Peer MinHash-LSH deduplicators, each driven through its fastest documented API.

Every peer reads the JSONL corpus itself (``json.loads`` per line), normalises the
text the same way (NFKC, casefold, tokens = ``[^\\W_]+`` runs, word 5-gram
shingles), sketches with 128 permutations and groups candidates at threshold 0.8.

Peers (``PEERS``):

``datasketch``
    ``MinHash.bulk`` (shared permutations) over UTF-8 shingles with an xxh32
    ``hashfunc`` (the docs recommend a fast non-cryptographic hash over the SHA-1
    default), ``MinHashLSH(threshold=0.8, num_perm=128)`` (b=9, r=13), insert all
    with ``check_duplication=False``, query each, union-find over the candidates.
``datasketch-sha1``
    The same with the default SHA-1 ``hashfunc``, for reference.
``rensa``
    ``RMinHash.from_token_sets`` (batch sketching in Rust),
    ``RMinHashLSH(threshold=0.8, num_perm=128, num_bands=8)``, ``insert_many`` then
    ``query_all``, union-find. ``num_bands`` must divide 128; 8 bands of 16 rows is
    what datasketch's own (b, r) optimiser picks among divisors of 128, and what
    rensa's own benchmark uses.
``rensa-b16``
    The same with 16 bands of 8 rows (S-curve midpoint ~0.71 instead of ~0.88).
``rensa-dedup``
    The README's ``RMinHashDeduplicator(threshold=0.8, num_perm=128, use_lsh=True)``:
    ``add_pairs`` keeps a document unless a kept one is estimated >= 0.8 similar,
    ``get_duplicate_sets`` names the kept documents each one matched; union-find.
``rensa-cminhash``
    ``CMinHash.from_token_sets`` + ``CMinHashDeduplicator``; slow (see README).
``rensa-flat``
    rensa's fastest full-set bulk path: ``digest_matrix_from_flat_token_hashes``
    over pre-hashed 5-grams (no per-shingle strings), then the LSH's
    ``query_duplicate_flags_matrix_one_shot``. Matrix APIs only return one
    duplicate flag per document, not clusters, so this is scored on flags only.
``rensa-rho``
    The same with the rho sketch (``..._rho``), the pipeline behind rensa's
    headline benchmark numbers; flags only.
``shingle-only``
    Calibration: reads and builds the shingle strings, sketches nothing (every
    document is its own cluster). The floor for the Python peers above.

Run one peer (``run.py`` does this in a fresh, pinned subprocess)::

    python bench/peers.py rensa CORPUS.jsonl OUT.npz
"""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NUM_PERM = 128
THRESHOLD = 0.8
NGRAM = 5
SEED = 42
RENSA_BANDS = 8
TOKEN_RE = re.compile(r"[^\W_]+")


# --------------------------------------------------------------------------- common


@dataclass
class PeerResult:
    """What one peer produced: clusters (or flags) plus phase timings in seconds."""

    labels: np.ndarray | None  # int64 cluster label per document, input order
    flags: np.ndarray | None = None  # bool duplicate flag per document (flags-only peers)
    phases: dict[str, float] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    """Return (ids, texts) of a JSONL corpus, one ``json.loads`` per line."""
    ids: list[str] = []
    texts: list[str] = []
    with path.open("rb") as f:
        for line in f:
            rec = json.loads(line)
            ids.append(rec["id"])
            texts.append(rec["text"])
    return ids, texts


def tokens(text: str) -> list[str]:
    """NFKC, casefold, then runs of Unicode letters/marks/digits."""
    return TOKEN_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str) -> list[str]:
    """Word 5-grams joined by single spaces (the whole text if shorter)."""
    t = tokens(text)
    if len(t) < NGRAM:
        return [" ".join(t)]
    return list(map(" ".join, zip(*(t[i:] for i in range(NGRAM)), strict=False)))


def byte_shingles(text: str) -> list[bytes]:
    """:func:`shingles` encoded as UTF-8."""
    return list(map(str.encode, shingles(text)))


_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                  0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD], dtype=np.uint64)


def _mix(arr: np.ndarray) -> np.ndarray:
    """Hash every window of NGRAM consecutive uint64 token hashes."""
    n = len(arr) - NGRAM + 1
    h = np.zeros(n, dtype=np.uint64)
    for k in range(NGRAM):
        h ^= arr[k:k + n] * _MULT[k]
        h *= np.uint64(0x100000001B3)
    return h


def flat_shingle_hashes(texts: list[str], chunk: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """uint64 word-5-gram hashes of all texts, flat, plus row offsets (len + 1).

    Tokens are hashed with Python's ``hash`` (``run.py`` fixes PYTHONHASHSEED) and
    mixed in numpy over a whole chunk of documents at once; windows that cross a
    document boundary are dropped. A text with fewer than 5 tokens is one shingle.
    """
    parts: list[np.ndarray] = []
    counts = np.zeros(len(texts), dtype=np.int64)
    for start in range(0, len(texts), chunk):
        toks: list[str] = []
        lens = []
        for text in texts[start:start + chunk]:
            t = tokens(text)
            lens.append(len(t))
            toks.extend(t)
        arr = np.fromiter(map(hash, toks), np.int64, len(toks)).view(np.uint64)
        n_tok = np.asarray(lens, dtype=np.int64)
        ends = np.cumsum(n_tok)
        h = _mix(arr) if len(arr) >= NGRAM else np.zeros(0, dtype=np.uint64)
        keep = np.ones(len(h), dtype=bool)  # drop windows straddling two documents
        for k in range(1, NGRAM):
            cut = ends - k
            keep[cut[(cut >= 0) & (cut < len(h))]] = False
        body = h[keep]
        n_sh = np.where(n_tok < NGRAM, 1, n_tok - NGRAM + 1)
        short = np.flatnonzero(n_tok < NGRAM)
        if len(short):  # rare: splice in one shingle (sum of token hashes) per short text
            at = np.cumsum(n_sh) - n_sh
            full = np.empty(int(n_sh.sum()), dtype=np.uint64)
            is_short = np.zeros(len(full), dtype=bool)
            is_short[at[short]] = True
            full[~is_short] = body
            full[at[short]] = [arr[e - n:e].sum()
                               for e, n in zip(ends[short], n_tok[short], strict=True)]
            body = full
        parts.append(body)
        counts[start:start + len(lens)] = n_sh
    offsets = np.zeros(len(texts) + 1, dtype=np.uint64)
    np.cumsum(counts, out=offsets[1:])
    return np.concatenate(parts) if parts else np.zeros(0, np.uint64), offsets


class UnionFind:
    """Array union-find with path halving; :meth:`labels` gives root per element."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        """Root of ``x``."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        """Merge the sets of ``a`` and ``b`` (smaller root wins, deterministic)."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> np.ndarray:
        """Root of every element as int64."""
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)


def cluster_candidates(n: int, candidates: Iterable[Iterable[int]]) -> np.ndarray:
    """Union each document ``i`` with every key in ``candidates[i]``."""
    uf = UnionFind(n)
    for i, keys in enumerate(candidates):
        for k in keys:
            if k != i:
                uf.union(i, k)
    return uf.labels()


class Clock:
    """Accumulates named phase durations."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        """Charge the time since the previous lap to ``name``."""
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - self._t
        self._t = now


# --------------------------------------------------------------------------- datasketch


def _datasketch(texts: list[str], hashfunc: Callable[[bytes], int] | None) -> PeerResult:
    """MinHash.bulk + MinHashLSH insert/query + union-find."""
    from datasketch import MinHash, MinHashLSH

    clock = Clock()
    kwargs: dict[str, object] = {"num_perm": NUM_PERM}
    if hashfunc is not None:
        kwargs["hashfunc"] = hashfunc
    sketches = MinHash.bulk((byte_shingles(t) for t in texts), **kwargs)
    clock.lap("tokenize+sketch")
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    for i, m in enumerate(sketches):
        lsh.insert(i, m, check_duplication=False)
    clock.lap("index")
    candidates = [lsh.query(m) for m in sketches]
    clock.lap("query")
    labels = cluster_candidates(len(texts), candidates)
    clock.lap("cluster")
    return PeerResult(labels, phases=clock.phases, info={"bands": lsh.b, "rows": lsh.r})


def run_datasketch(texts: list[str]) -> PeerResult:
    """datasketch with an xxh32 ``hashfunc`` (its fastest documented set-up)."""
    import xxhash

    return _datasketch(texts, xxhash.xxh32_intdigest)


def run_datasketch_sha1(texts: list[str]) -> PeerResult:
    """datasketch with its default SHA-1 ``hashfunc``."""
    return _datasketch(texts, None)


# --------------------------------------------------------------------------- rensa


def _rensa_lsh(texts: list[str], bands: int) -> PeerResult:
    """RMinHash.from_token_sets + RMinHashLSH insert_many/query_all + union-find."""
    from rensa import RMinHash, RMinHashLSH

    clock = Clock()
    sketches = RMinHash.from_token_sets((shingles(t) for t in texts), NUM_PERM, SEED)
    clock.lap("tokenize+sketch")
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=bands)
    lsh.insert_many(sketches, start_key=0)
    clock.lap("index")
    candidates = lsh.query_all(sketches)
    clock.lap("query")
    labels = cluster_candidates(len(texts), candidates)
    clock.lap("cluster")
    return PeerResult(labels, phases=clock.phases, info={"bands": bands, "rows": NUM_PERM // bands})


def run_rensa(texts: list[str]) -> PeerResult:
    """rensa's LSH with 8 bands x 16 rows."""
    return _rensa_lsh(texts, RENSA_BANDS)


def run_rensa_b16(texts: list[str]) -> PeerResult:
    """rensa's LSH with 16 bands x 8 rows (the other divisor of 128 near 0.8)."""
    return _rensa_lsh(texts, 16)


def _rensa_dedup(texts: list[str], sketch_cls: str, dedup_cls: str,
                 **kwargs: object) -> PeerResult:
    """Sketch, ``add_pairs`` into a rensa deduplicator, ``get_duplicate_sets``, union-find."""
    import rensa

    clock = Clock()
    sketcher = getattr(rensa, sketch_cls)
    sketches = sketcher.from_token_sets((shingles(t) for t in texts), NUM_PERM, SEED)
    clock.lap("tokenize+sketch")
    dedup = getattr(rensa, dedup_cls)(threshold=THRESHOLD, num_perm=NUM_PERM, seed=SEED,
                                      **kwargs)
    keep = dedup.add_pairs(zip(map(str, range(len(texts))), sketches, strict=True))
    clock.lap("index")
    matches = dedup.get_duplicate_sets(sketches)
    clock.lap("query")
    labels = cluster_candidates(len(texts), ([int(k) for k in m] for m in matches))
    clock.lap("cluster")
    return PeerResult(labels, phases=clock.phases, info={"kept": int(sum(keep))})


def run_rensa_dedup(texts: list[str]) -> PeerResult:
    """RMinHashDeduplicator(use_lsh=True), the usage shown in rensa's README."""
    return _rensa_dedup(texts, "RMinHash", "RMinHashDeduplicator", use_lsh=True)


def run_rensa_cminhash(texts: list[str]) -> PeerResult:
    """CMinHash + CMinHashDeduplicator (CMinHash has no LSH index of its own)."""
    return _rensa_dedup(texts, "CMinHash", "CMinHashDeduplicator")


def _rensa_matrix_flags(texts: list[str], builder: str) -> PeerResult:
    """Flat pre-hashed 5-grams -> digest matrix -> one-shot duplicate flags."""
    from rensa import RMinHash, RMinHashLSH

    clock = Clock()
    flat, offsets = flat_shingle_hashes(texts)
    clock.lap("tokenize+hash")
    matrix = getattr(RMinHash, builder)(flat, offsets, NUM_PERM, SEED)
    clock.lap("sketch")
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=RENSA_BANDS)
    flags = np.asarray(lsh.query_duplicate_flags_matrix_one_shot(matrix), dtype=bool)
    clock.lap("index+query")
    return PeerResult(None, flags=flags, phases=clock.phases,
                      info={"bands": RENSA_BANDS, "rows": NUM_PERM // RENSA_BANDS})


def run_rensa_flat(texts: list[str]) -> PeerResult:
    """Full-set R-MinHash matrix from flat token hashes; flags only."""
    return _rensa_matrix_flags(texts, "digest_matrix_from_flat_token_hashes")


def run_rensa_rho(texts: list[str]) -> PeerResult:
    """The rho sketch (rensa's headline bulk pipeline) from flat token hashes; flags only."""
    return _rensa_matrix_flags(texts, "digest_matrix_from_flat_token_hashes_rho")


def run_shingle_only(texts: list[str]) -> PeerResult:
    """Calibration, not a peer: build the 5-gram strings every Python peer needs, then stop.

    Its wall time is the floor for any tool fed by this tokenisation in Python.
    """
    clock = Clock()
    n_shingles = sum(len(shingles(t)) for t in texts)
    clock.lap("tokenize+shingle")
    return PeerResult(np.arange(len(texts), dtype=np.int64), phases=clock.phases,
                      info={"shingles": n_shingles})


PEERS: dict[str, Callable[[list[str]], PeerResult]] = {
    "datasketch": run_datasketch,
    "datasketch-sha1": run_datasketch_sha1,
    "rensa": run_rensa,
    "rensa-b16": run_rensa_b16,
    "rensa-dedup": run_rensa_dedup,
    "rensa-cminhash": run_rensa_cminhash,
    "rensa-flat": run_rensa_flat,
    "rensa-rho": run_rensa_rho,
    "shingle-only": run_shingle_only,
}


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """``peers.py PEER CORPUS.jsonl OUT.npz``: run one peer, save labels/flags.

    Prints a JSON line with phase timings (seconds) and peer details to stdout.
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in PEERS:
        print(f"usage: peers.py {{{','.join(PEERS)}}} CORPUS.jsonl OUT.npz", file=sys.stderr)
        return 2
    name, corpus, out = args[0], Path(args[1]), Path(args[2])
    t0 = time.perf_counter()
    ids, texts = read_jsonl(corpus)
    t_read = time.perf_counter() - t0
    result = PEERS[name](texts)
    arrays: dict[str, np.ndarray] = {}
    if result.labels is not None:
        arrays["labels"] = result.labels
    if result.flags is not None:
        arrays["flags"] = result.flags
    np.savez(out, **arrays)  # type: ignore[arg-type]
    phases = {"read": t_read, **result.phases, "total": time.perf_counter() - t0}
    print(json.dumps({"peer": name, "docs": len(ids), "phases": phases, "info": result.info}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
