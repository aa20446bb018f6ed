"""The persistent index: check each new crawl against everything kept before.

Examples:
    >>> import tempfile, pathlib
    >>> from thresher import index
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a").mkdir(), (d / "b").mkdir()
    >>> text = "the same words in the same order, crawled twice and more than once"
    >>> _ = (d / "a" / "1.txt").write_text(text), (d / "b" / "2.txt").write_text(text)
    >>> _ = index.create(d / "ix")
    >>> index.add(d / "ix", [d / "a"], d / "out-a", executor="serial")["counts"]["kept"]
    1
    >>> index.add(d / "ix", [d / "b"], d / "out-b", executor="serial")["counts"]["duplicate"]
    1
    >>> index.stats(d / "ix")["documents"]
    1
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["Index", "add", "create", "query", "stats"]

def __getattr__(name: str) -> Any:
    if name == "Index":  # numba and the model load only when a live index is wanted
        from thresher.index.live import Index

        return Index
    raise AttributeError(name)


_PLACEHOLDER = {"inputs": ["."], "output": "."}  # a Config needs them; create reads none


def create(path: str | Path, **options: Any) -> dict[str, Any]:
    """Create an empty index whose matching options are ``options`` (the defaults else).

    Later ``add`` and ``query`` calls use these options; giving others is refused.

    Args:
        path: The index folder; it must not exist or be empty.
        **options: The matching options of [`thresher.dedup`][thresher.dedup]
            (``threshold``, ``match``, ``num_perm``, ...).

    Returns:
        What [`stats`][thresher.index.stats] returns.
    """
    from thresher.config import config_from_mapping
    from thresher.index.plugin import index_config
    from thresher.index.store import IndexStore

    config = config_from_mapping({**options, **_PLACEHOLDER})
    return IndexStore.create(path, index_config(config)).stats()


def _config(path: str | Path, inputs: Any, output: str | Path, *, options: dict[str, Any]
            ) -> Any:
    from thresher.config import config_from_mapping
    from thresher.index.store import IndexStore

    built = IndexStore(path).manifest()["config"]
    # A table given (a config file's [minhash], say) updates the index's table of that
    # name, not replaces it; flat options, given after, win over both.
    tables = {k: v for k, v in options.items() if isinstance(v, dict)}
    merged = {k: {**built.get(k, {}), **tables.get(k, {})} for k in {*built, *tables}}
    flat = {k: v for k, v in options.items() if k not in tables}
    return config_from_mapping({**merged, **flat, "inputs": inputs, "output": output})


def run_batch(path: str | Path, inputs: Any, output: str | Path, *, mode: str,
              options: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    """:func:`add` (``mode="add"``) or :func:`query` (``"query"``) with ``options`` as a
    dict, showing progress on ``progress`` (the CLI's front door)."""
    from thresher.index.plugin import IndexRun, run

    config = _config(path, inputs, output, options=options)
    return run(config, IndexRun(path=str(path), mode=mode), progress)


def add(path: str | Path, inputs: Any, output: str | Path, **options: Any) -> dict[str, Any]:
    """Deduplicate ``inputs`` against themselves and the index, write the same outputs as
    [`thresher.dedup`][thresher.dedup] to ``output``, and add the kept documents to the
    index as one batch.

    A duplicate of an indexed document names it as ``representative`` (with
    ``representative_batch``).

    Args:
        path: The index folder.
        inputs: Files and folders to read, as ``dedup``'s ``inputs``.
        output: The output folder of this batch.
        **options: Options of ``dedup``; the matching ones must equal the index's.

    Returns:
        The run summary; its ``index`` section says what was matched and added.
    """
    return run_batch(path, inputs, output, mode="add", options=options)


def query(path: str | Path, inputs: Any, output: str | Path, **options: Any) -> dict[str, Any]:
    """Like [`add`][thresher.index.add], but the index is left as it is: a report only."""
    return run_batch(path, inputs, output, mode="query", options=options)


def stats(path: str | Path) -> dict[str, Any]:
    """Return what the index holds: documents, batches, disk, its options."""
    from thresher.index.store import IndexStore

    return IndexStore(path).stats()
