"""Keep the C heap's freed memory for reuse during a run, rather than giving it back.

A run allocates and frees arrays of a few MiB to a few tens of MiB for every batch. By
default glibc serves each of those from a fresh ``mmap`` and returns it with ``munmap``
when freed, so the kernel maps and zeroes the same amount of memory again for the next
batch; in a virtual machine whose host reclaims the pages a guest frees, every such page
costs a fault on the host as well. Serving those sizes from the heap and not trimming
it lets the next batch reuse the pages already mapped: ``index add`` then takes far fewer
pages from the kernel, at the same peak memory (measured in ``docs/performance.md``).

Only the ``thresher`` command does this, for its own process (worker processes forked
from it inherit the setting); a Python program that calls the API keeps its own
allocator's settings. Nothing is changed when the C library is not glibc, or when the
environment already tunes glibc's allocator (any ``MALLOC_`` variable, or
``GLIBC_TUNABLES``), or when ``THRESHER_MALLOC=default``.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["retain_freed_memory"]

# mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
# Allocations up to this size come from the heap: glibc's largest allowed threshold on a
# 64-bit system; a batch's arrays are smaller.
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 1 << 30  # free memory at the heap's top kept, not given back
_TOP_PAD = 256 << 20  # the heap grows by this much more than asked, in one step

_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Set glibc's allocator to reuse freed memory (once per process); return whether the
    setting is in force."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if sys.platform != "linux" or os.environ.get("THRESHER_MALLOC", "") == "default":
        return False
    if any(name.startswith("MALLOC_") for name in os.environ) or "glibc.malloc" in (
            os.environ.get("GLIBC_TUNABLES", "")):
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; setting the thresholds turns glibc's own adjustment of
    # them off, which would otherwise raise the mmap threshold only after a free
    return all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
        (_M_TOP_PAD, _TOP_PAD)))
