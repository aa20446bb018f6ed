"""Merging two neighbouring segments of a persistent index into one, and writing large
``.npy`` files a slice at a time (what a merge and a commit both write)."""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from thresher.core.merge import merge_fill, merge_mask
from thresher.index.segment import WHY_EXACT, Segment, fence_writer, summed_counts

__all__ = ["merged_arrays", "npy_stream"]


def merged_arrays(a: Segment, b: Segment) -> dict[str, Any]:
    """The arrays of one segment holding ``a``'s documents, then ``b``'s.

    The large ones are written straight from the two memory-mapped segments into the
    new files: sorted tables by merging (``a``'s entry first among equal keys, as a
    stable sort of the concatenation would), the rest by copying in slices. Memory holds
    one byte per band key and document (which side each entry comes from) and the batch
    numbers, not the tables.
    """
    kmask = merge_mask(a.keys, b.keys, a.keys, b.keys, False)
    a_off, b_off = np.asarray(a.array("shoff")), np.asarray(b.array("shoff"))
    out: dict[str, Any] = {
        "keys": _merge_writer(kmask, a.keys, b.keys, b_add=0),
        "kfence": fence_writer,  # after the keys it is taken from
        "kdocs": _merge_writer(kmask, a.kdocs, b.kdocs, b_add=a.docs),
        "sh": _concat_writer(a.array("sh"), b.array("sh")),
        "shoff": np.concatenate((a_off, b_off[1:] + a_off[-1])),
        "batch": np.concatenate((a.batch_of(np.arange(a.docs)), b.batch_of(np.arange(b.docs)))),
    }
    parts = (("key", np.uint64), ("sub", np.uint64), ("order", np.int64))
    for table in ("fp", "tfp"):  # sorted fingerprints (tfp: not in every segment)
        fa = [a.optional(f"{table}{part}", dtype) for part, dtype in parts]
        fb = [b.optional(f"{table}{part}", dtype) for part, dtype in parts]
        if table == "tfp" and not fa[0].shape[0] + fb[0].shape[0]:
            continue
        fmask = merge_mask(fa[0], fb[0], fa[1], fb[1], True)
        merged = [("key", fa[0], fb[0], 0), ("sub", fa[1], fb[1], 0),
                  ("order", fa[2], fb[2], a.docs if table == "fp" else 0)]
        if table == "tfp":
            merged += [(part, _decided(a, part, dtype), _decided(b, part, dtype), 0)
                       for part, dtype in (("sim", np.float64), ("cont", np.float64),
                                           ("why", np.uint8))]
        for part, x, y, add in merged:
            out[f"{table}{part}"] = _merge_writer(fmask, x, y, b_add=add)
    for name in ("fp", "site", "title", "span"):
        out[name] = _concat_writer(a.array(name), b.array(name))
    out["head"] = _concat_writer(a.heads(), b.heads())
    for keys_name, counts_name in (("tkeys", "tcounts"), ("gkeys", "gpages")):
        out[keys_name], out[counts_name] = summed_counts(
            [a.array(keys_name), b.array(keys_name)],
            [a.array(counts_name), b.array(counts_name)])
    return out


def _decided(seg: Segment, part: str, dtype: type[Any]) -> NDArray[Any]:
    """A segment's ``tfp{part}``, or what a segment written before it was kept means:
    exact copies (similarity and containment 1)."""
    n = seg.optional("tfpkey", np.uint64).shape[0]
    values = seg.optional(f"tfp{part}", dtype)
    return values if values.shape[0] == n else np.full(n, WHY_EXACT if part == "why" else 1,
                                                       dtype=dtype)


def _merge_writer(mask: NDArray[np.uint8], a: NDArray[Any], b: NDArray[Any], *, b_add: int
                  ) -> Any:
    """A writer of the merge of ``a`` and ``b`` (``b_add`` added to ``b``'s values) by
    ``mask``, a slice at a time."""
    def write(path: Any) -> None:
        i = j = 0
        add = a.dtype.type(b_add)
        piece = np.empty(min(_SLICE, mask.shape[0]), dtype=a.dtype)
        with npy_stream(path, a.dtype, (mask.shape[0],)) as fh:
            for lo in range(0, mask.shape[0], _SLICE):
                hi = min(lo + _SLICE, mask.shape[0])
                i, j = merge_fill(mask, np.asarray(a), np.asarray(b), add, piece, lo, hi, i, j)
                fh.write(piece[:hi - lo].data)
    return write


_SLICE = 1 << 22
_WRITE_BUFFER = 1 << 20  # a streamed .npy file is written through it, a MiB at a time


def _concat_writer(*parts: NDArray[Any]) -> Any:
    """A writer of the parts' concatenation (along the first axis) as one ``.npy`` file,
    copied in slices so that memory stays small whatever their size."""
    def write(path: Any) -> None:
        total = sum(int(p.shape[0]) for p in parts)
        with npy_stream(path, parts[0].dtype, (total, *parts[0].shape[1:])) as fh:
            for p in parts:
                for lo in range(0, int(p.shape[0]), _SLICE):
                    fh.write(np.ascontiguousarray(p[lo:lo + _SLICE]).data)
    return write


def npy_stream(path: Any, dtype: Any, shape: tuple[int, ...]) -> BinaryIO:
    """Open ``path`` as a ``.npy`` file of ``dtype`` and ``shape`` (its header written,
    as ``np.save`` writes it) for the caller to write the values into, in C order.

    Written, not mapped: a mapped output faults at every page it fills.
    """
    from numpy.lib import format as npy

    fh = open(path, "wb", buffering=_WRITE_BUFFER)  # noqa: SIM115 - the caller closes it
    npy.write_array_header_1_0(fh, {"descr": npy.dtype_to_descr(np.dtype(dtype)),
                                    "fortran_order": False, "shape": tuple(shape)})
    return fh
