"""The writers of a work folder's files: raw arrays appended, Parquet batch by batch.
Each writes under a temporary name (or, for a work folder at a URL, a local temporary
file uploaded whole) and puts its file in place only once closed, so a file under its
own name is always complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.io.atomic import temporary_name

__all__ = ["Appender", "ParquetAppender"]


class Appender:
    """Appends arrays to a raw file written under a temporary name until closed."""

    def __init__(self, target: Path, upload: Any = None) -> None:
        self.target = target
        self.upload = upload  # for a URL: called with the finished local file
        if upload is None:
            self.tmp = Path(temporary_name(target))
        else:
            fd, name = tempfile.mkstemp(prefix="thresher-", suffix=".part")
            os.close(fd)
            self.tmp = Path(name)
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - closed by close()

    def write(self, array: NDArray[Any]) -> None:
        """Append the array's bytes (little-endian, C order)."""
        self.fh.write(np.ascontiguousarray(array).data)  # no copy when already contiguous

    def close(self) -> None:
        """Finish the file and move it into place."""
        self.fh.close()
        if self.upload is None:
            os.replace(self.tmp, self.target)
            return
        try:
            self.upload(str(self.tmp))
        finally:
            self.tmp.unlink(missing_ok=True)


# Work-folder tables are read back once, soon, by this machine: they are not compressed,
# and only their columns of few distinct values get a dictionary (ids and URLs would
# fill one and fall back, at the cost of trying). A third of the time to write.
_DICTIONARY = ("file", "reason")
_WORK_PARQUET = {"compression": "none", "write_statistics": False}


class ParquetAppender:
    """A Parquet file written batch by batch, in place only once closed."""

    def __init__(self, appender: Appender) -> None:
        self.writer: Any = None
        self.appender = appender  # where the file's bytes go, in place once closed

    def write_table(self, table: Any, **options: Any) -> None:
        if self.writer is None:
            self.writer = _open_writer(self.appender.fh, table.schema)
        self.writer.write_table(table, **options)

    def close(self, schema: Any = None) -> None:
        if self.writer is None:
            self.writer = _open_writer(self.appender.fh, schema)
        self.writer.close()
        self.appender.close()


def _open_writer(fh: Any, schema: Any) -> Any:
    import pyarrow.parquet as pq

    return pq.ParquetWriter(fh, schema, **_WORK_PARQUET,
                            use_dictionary=[n for n in schema.names if n in _DICTIONARY])
