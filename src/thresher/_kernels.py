"""Whether numba's on-disk cache holds thresher's compiled kernels.

A run on a cold cache spends a long while compiling them first (docs/cli.md gives a
measured figure); the CLI says so rather than sit silent.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__all__ = ["EVERY_RUN", "INDEX_RUN", "kernels_cold"]

# Modules whose kernels every dedup run calls, whatever the input format and options.
EVERY_RUN = ("thresher.core.sketch", "thresher.core.lsh", "thresher.core.sorting")
# A run against an index also looks its keys up in the index's sorted tables.
INDEX_RUN = (*EVERY_RUN, "thresher.core.lookup")


def kernels_cold(modules: tuple[str, ...] = EVERY_RUN) -> bool:
    """Return whether one of ``modules`` has none of its kernels cached on disk."""
    try:
        return not all(_any_cached(importlib.import_module(name)) for name in modules)
    except (AttributeError, OSError, ImportError):
        return False  # a hint only: never let it stop a run


def _any_cached(module: Any) -> bool:
    """Whether numba's cache index holds a compiled signature of one of ``module``'s kernels."""
    from numba.core.caching import FunctionCache

    caches = [k._cache for k in vars(module).values()
              if isinstance(getattr(k, "_cache", None), FunctionCache)
              and k.py_func.__module__ == module.__name__]
    try:
        # numba's own locator and index: stale entries (source changed) read as empty
        return any(c._cache_file._load_index() for c in caches)
    except AttributeError:  # numba's internals moved: look for its index files instead
        where = Path(module.__file__).parent / "__pycache__"
        return any(where.glob(f"{Path(module.__file__).stem}.*.nbi"))
