"""Integer mixing functions shared by the numba kernels.

The per-token and per-shingle hashes run inside compiled loops, where calling out to a
Python hashing library per token would cost more than the whole sketch. They use the
64-bit finalizer of MurmurHash3 (``fmix64``), a well-studied bijective mixer. Golden
values in the tests pin every constant here: changing one changes all signatures.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

__all__ = ["FNV_OFFSET", "FNV_PRIME", "MUL", "fmix64", "seed_mix"]

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
MUL = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


@njit(cache=True, inline="always")
def fmix64(x: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """Return MurmurHash3's 64-bit finalizer of ``x``."""
    x ^= x >> _S33
    x *= _C1
    x ^= x >> _S33
    x *= _C2
    x ^= x >> _S33
    return x


@lru_cache(maxsize=64)
def seed_mix(seed: int, salt: int) -> np.uint64:
    """Return a 64-bit constant derived from the run's seed and a per-use salt.

    Examples:
        >>> int(seed_mix(42, 1)) == int(seed_mix(42, 1))
        True
    """
    rng = np.random.Generator(np.random.PCG64([seed, salt]))
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64)) * np.uint64(2) + np.uint64(1)
