"""Which document of a cluster is kept: the ``--keep`` policies, as a priority per record.

``connected`` (the default) keeps the document that matches the most others, then the
longest, then the smallest id. The others put a priority first: ``first`` the input
order; ``oldest`` and ``newest`` a date (WARC/WET: ``WARC-Date``; else ``--date-field``);
``max:FIELD`` and ``min:FIELD`` a number the records carry (a quality score). Ties, and
records without a usable value (last), fall back to the default order.

The read stage turns each record's value into a float (:func:`sort_values`: dates into
Unix seconds); the index stage turns those into a dense priority (:func:`priority`, 0 is
kept first), which chooses the leader of each group of exact copies and the order in
which the clustering visits documents (:func:`thresher.core.cluster.cluster_nodes`).
Either way each member is within the match rule of its representative: the policy picks
who represents a cluster, never who belongs to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from thresher.errors import ConfigError

if TYPE_CHECKING:
    from thresher.config import ClusterConfig

__all__ = ["POLICIES", "check_inputs", "priority", "sort_kind", "sort_values"]

POLICIES = ("connected", "first", "oldest", "newest", "max:FIELD", "min:FIELD")


def sort_kind(keep: str) -> str | None:
    """What a policy reads from each record: ``"date"``, ``"number"`` or nothing.

    Example:
        >>> sort_kind("oldest"), sort_kind("max:quality"), sort_kind("first")
        ('date', 'number', None)
    """
    if keep in ("oldest", "newest"):
        return "date"
    return "number" if keep.startswith(("max:", "min:")) else None


def check_inputs(cluster: ClusterConfig, kinds: Sequence[str]) -> None:
    """Refuse a policy the inputs cannot serve: .txt files have no fields, and a date
    comes from WARC-Date or from the field ``--date-field`` names."""
    kind = sort_kind(cluster.keep)
    if kind is not None and "txt" in kinds:
        raise ConfigError(f"--keep {cluster.keep} reads a field of each record, and .txt "
                          "files have none: use --keep first or connected")
    fielded = [k for k in kinds if k not in ("warc", "wet")]
    if kind == "date" and cluster.date_field is None and fielded:
        raise ConfigError(f"--keep {cluster.keep} needs --date-field for {fielded[0]} inputs "
                          "(WARC and WET records carry WARC-Date)")


def _seconds(moment: datetime) -> float:
    """Unix seconds; a time without a zone is taken as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _date(value: Any) -> float:
    """A date as Unix seconds: ISO 8601 text (``2024-05-18T01:58:10Z``, ``2024-05-18``),
    an HTTP date (``Sat, 18 May 2024 01:58:10 GMT``), Unix seconds, or a Parquet
    timestamp or date; NaN for anything else."""
    if isinstance(value, datetime):
        return _seconds(value)
    if isinstance(value, date):
        return _seconds(datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        try:
            return _seconds(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
        try:
            return _seconds(parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError):
            return math.nan
    return _number(value)


def _number(value: Any) -> float:
    """A number, or text that spells one; NaN for anything else (booleans included)."""
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def sort_values(values: Sequence[Any], kind: str) -> NDArray[np.float64]:
    """Each record's value as a float to sort by (NaN: none that can be used).

    Example:
        >>> sort_values(["2024-05-18", "2024-05-18T00:00:01Z", None, 5], "date").tolist()
        [1715990400.0, 1715990401.0, nan, 5.0]
        >>> sort_values([0.5, "0.7", True, "high"], "number").tolist()
        [0.5, 0.7, nan, nan]
    """
    read = _date if kind == "date" else _number
    return np.fromiter((read(v) for v in values), dtype=np.float64, count=len(values))


def priority(keep: str, values: NDArray[np.float64] | None, n: int
             ) -> NDArray[np.int64] | None:
    """Each record's priority under ``keep`` (0 first; equal values share one), or None
    for ``connected``, which has none.

    Example:
        >>> priority("newest", np.array([3.0, np.nan, 7.0, 3.0]), 4).tolist()
        [1, 2, 0, 1]
        >>> priority("first", None, 3).tolist()
        [0, 1, 2]
    """
    if keep == "connected":
        return None
    if keep == "first":
        return np.arange(n, dtype=np.int64)
    if values is None:
        raise ValueError(f"--keep {keep} needs each record's value")
    key = -values if keep == "newest" or keep.startswith("max:") else values
    usable = ~np.isnan(key)
    out = np.empty(n, dtype=np.int64)
    _, dense = np.unique(key[usable], return_inverse=True)
    out[usable] = dense
    out[~usable] = int(dense.max(initial=-1)) + 1
    return out
