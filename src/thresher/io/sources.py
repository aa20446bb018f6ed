"""Find the input files and cut them into shards, the unit of parallel work."""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from thresher.errors import ConfigError
from thresher.io.ranges import row_group_ranges, split_ranges
from thresher.io.remote import info, is_remote
from thresher.io.shard import Kind, Shard

__all__ = ["FORMATS", "Kind", "Shard", "discover", "glob_root", "input_names", "kind_of",
           "local_glob", "shown", "split_ranges", "strip_suffix"]

log = logging.getLogger(__name__)


_SUFFIXES: tuple[tuple[str, Kind], ...] = (
    (".warc.wet.gz", "wet"), (".warc.wet", "wet"), (".wet.gz", "wet"),
    (".warc.gz", "warc"), (".warc", "warc"),
    (".jsonl.gz", "jsonl"), (".jsonl.zst", "jsonl"), (".ndjson.gz", "jsonl"),
    (".ndjson.zst", "jsonl"), (".json.gz", "jsonl"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
    (".parquet", "parquet"), (".arrow", "arrow"), (".txt", "txt"),
)


def kind_of(path: str) -> Kind | None:
    """Return the format of ``path`` from its name, or ``None`` if thresher does not read it.

    Example:
        >>> kind_of("crawl/part-0.jsonl.zst"), kind_of("a.txt"), kind_of("x.csv")
        ('jsonl', 'txt', None)
    """
    lower = path.lower()
    for suffix, kind in _SUFFIXES:
        if lower.endswith(suffix):
            return kind
    return None


def strip_suffix(name: str) -> str:
    """Return ``name`` without its format suffix.

    Example:
        >>> strip_suffix("crawl/part-0.jsonl.zst")
        'crawl/part-0'
    """
    lower = name.lower()
    for suffix, _ in _SUFFIXES:
        if lower.endswith(suffix):
            return name[: len(name) - len(suffix)]
    return name


# Every format, as the errors name them (the names are those of _SUFFIXES).
FORMATS = (".txt, JSONL (.jsonl, .ndjson, .json.gz; plain, .gz or .zst), .parquet, "
           "Arrow (.arrow; Hugging Face save_to_disk folders), WARC (.warc, .warc.gz) and WET (.warc.wet, .warc.wet.gz, .wet.gz) files")
_PLAIN_JSONL = (".jsonl", ".ndjson")
_WILDCARDS = "*?["


def shown(name: str) -> str:
    """``name`` as valid UTF-8: bytes of a file name that are not UTF-8 (which ``os``
    carries as lone surrogates) become backslash escapes.

    Example:
        >>> shown(os.fsdecode(b"caf\\xe9.txt"))
        'caf\\\\xe9.txt'
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return name.encode("utf-8", "backslashreplace").decode("utf-8")


_FILE_TYPES = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
               (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"),
               (stat.S_ISDIR, "folder"))


def _unreadable(path: str) -> str | None:
    """Why ``path`` is not a file thresher can read (following links), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return "broken symbolic link"
        return f"cannot stat: {exc.strerror}"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _FILE_TYPES if test(mode)), "special file")
    return f"not a regular file: {kind}"


def _walk(root: Path, skip: frozenset[str], passed: list[str]) -> list[tuple[str, str]]:
    root = root.absolute()  # workers on other nodes or in other folders find the same files
    found: list[tuple[str, str]] = []

    def unreadable_folder(exc: OSError) -> None:
        _pass_over(exc.filename, f"unreadable folder: {exc.strerror}", passed)

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable_folder):
        dirnames[:] = [d for d in dirnames if os.path.realpath(os.path.join(dirpath, d))
                       not in skip]
        for name in _dataset_files(dirpath, filenames, passed):
            full = os.path.join(dirpath, name)
            if kind_of(name) is None:
                continue
            if why := _unreadable(full):  # a FIFO would hang a worker, /dev/zero never end
                _pass_over(full, why, passed)
                continue
            found.append((full, shown(os.path.relpath(full, root).replace(os.sep, "/"))))
    return sorted(found, key=lambda item: item[1])


def _dataset_files(folder: str, names: list[str], passed: list[str]) -> list[str]:
    """The files of ``folder`` to look at: in a ``datasets`` save_to_disk folder, of its
    ``.arrow`` files only the data files its ``state.json`` lists (the others are caches
    that ``Dataset.map`` and friends leave beside them, not rows of the dataset)."""
    if "state.json" not in names:
        return names
    from thresher.io.hfdisk import listed_files

    listed = listed_files(folder)
    if listed is None:
        return names
    for name in listed:
        if name not in names:
            _pass_over(os.path.join(folder, name), "listed in state.json but missing", passed)
    return [n for n in names if kind_of(n) != "arrow"] + [n for n in listed if n in names]


def _pass_over(path: str, why: str, passed: list[str]) -> None:
    log.warning("thresher: skipping %s: %s", shown(str(path)), why)
    passed.append(why)


def _stdin(spool: str | None) -> list[tuple[str, str]]:
    if spool is None:
        raise ConfigError("input - (standard input) is read by thresher dedup and index "
                          "add/query only")
    return [(spool, "stdin.jsonl")]


def _files_of(path: str, skip: frozenset[str], passed: list[str]) -> list[tuple[str, str]]:
    p = Path(path)
    if not os.path.lexists(path):
        raise ConfigError(f"input {shown(path)} does not exist")
    if p.is_dir():
        found = _walk(p, skip, passed)
        if not found:
            raise ConfigError(f"no input files in {shown(path)}: thresher reads {FORMATS}"
                              + (f" ({len(passed)} skipped: {passed[0]}, ...)" if passed
                                 else ""))
        return found
    if why := _unreadable(path):
        raise ConfigError(f"input {shown(path)}: {why}")
    if kind_of(p.name) is None:
        raise ConfigError(f"{shown(path)}: unknown input format; thresher reads {FORMATS}")
    return [(str(p.absolute()), shown(p.name))]


def _size(path: str) -> int:
    """A file's size: an object's as its listing gave it (``remote.info``)."""
    return info(path)[0] if is_remote(path) else os.path.getsize(path)


def _in_dataset(path: str) -> bool:
    from thresher.io.hfdisk import listed_files

    return os.path.basename(path) in (listed_files(os.path.dirname(path)) or ())


def input_names(paths: tuple[str, ...]) -> list[str]:
    """What each of several inputs is called in ids, ``file`` and ``kept/``: its own name
    (a folder's, or a file's), or where two would share one (case aside: ``kept/`` may
    lie on a file system that ignores case), that name with ``~`` and the input's
    position on the command line from 1, before a file's format suffix
    (``crawl~1/``, ``data~2.jsonl``). One input needs no name: ``[""]``.

    Example:
        >>> input_names(("a/crawl", "b/crawl", "c/x.jsonl"))
        ['crawl~1', 'crawl~2', 'x.jsonl']
    """
    if len(paths) < 2:
        return [""] * len(paths)
    own = ["stdin.jsonl" if p == "-" else shown(_url_name(p) if _not_local(p) else
                                                os.path.basename(os.path.abspath(
                                                    _glob_folder(p))))
           or f"input~{i}" for i, p in enumerate(paths, 1)]
    seen = Counter(name.casefold() for name in own)
    names = [_numbered(name, i) if seen[name.casefold()] > 1 else name
             for i, name in enumerate(own, 1)]
    clash = [n for n, c in Counter(n.casefold() for n in names).items() if c > 1]
    if clash:
        raise ConfigError(f"two inputs would both be named {clash[0]!r} in kept/; rename one")
    return names


def _not_local(path: str) -> bool:
    """An input named by a URL or a listing (``@FILE``), found by ``io/listing.py``."""
    return "://" in path or path.startswith("@")


def glob_root(path: str) -> str | None:
    """The folder part of a glob before its first wildcard (``""`` for none), or None
    for a path without wildcards.

    Example:
        >>> glob_root("s3://b/crawl/*.jsonl.gz"), glob_root("*.txt"), glob_root("a/b.txt")
        ('s3://b/crawl', '', None)
    """
    at = [path.index(c) for c in _WILDCARDS if c in path]
    return path[:min(at)].rpartition("/")[0] if at else None


def local_glob(path: str) -> bool:
    """True for a local glob the shell left unexpanded (quoted, or from a config file),
    found by ``io/listing.py``: a path that exists is never one, whatever its characters."""
    return (not _not_local(path) and path != "-" and glob_root(path) is not None
            and not os.path.lexists(path))


def _glob_folder(path: str) -> str:
    """A local input's own path, or a local glob's folder."""
    return (glob_root(path) or ".") if local_glob(path) else path


def _url_name(path: str) -> str:
    """An input at a URL or a listing's own name: the last name of its folder (before a
    wildcard) or object, or the listing file's.

    Example:
        >>> _url_name("s3://b/crawl/*.jsonl.gz"), _url_name("s3://b/x.jsonl/")
        ('crawl', 'x.jsonl')
    """
    path = path.removeprefix("@")
    root = glob_root(path)
    return (path if root is None else root).rstrip("/").rsplit("/", 1)[-1]


def _numbered(name: str, position: int) -> str:
    stem = strip_suffix(name)
    return f"{stem}~{position}{name[len(stem):]}"


def discover(paths: tuple[str, ...], *, txt_per_shard: int, skip: tuple[str, ...] = (),
             split_bytes: int = 0, stdin: str | None = None,
             found: Mapping[str, tuple[list[tuple[str, str]], bool]] | None = None
             ) -> list[Shard]:
    """Return the shards of the inputs, in a fixed order: inputs as given; in each, the
    files other than ``.txt`` sorted, then the ``.txt`` files sorted (in groups).

    With more than one input, output names are put under each input's name (see
    :func:`input_names`), so that two inputs with a file of the same name never write
    to the same place.
    Folders in ``skip`` (a run's own output folder inside an input folder) are passed over.
    Plain JSONL and Parquet files larger than ``split_bytes`` (if not 0) become several
    shards: byte ranges, runs of row groups.
    Files found in a folder that cannot be read (FIFOs, devices, broken links) are passed
    over with a warning, and counted by the read stage of the input's first shard; an
    input named directly that cannot be read is a :class:`ConfigError`. The input ``-``
    is standard input as one JSONL file (one shard), named ``stdin.jsonl``, read from
    the file ``stdin`` (where the run spools it; it need not exist yet). Inputs at URLs
    and listings come found, in ``found`` (``io/listing.py``): their files as
    ``(location, name)`` and whether the input stands for a folder; they are split as
    local files are (``io/ranges.py`` reads an object's cuts through ranged reads).
    """
    if paths.count("-") > 1:
        raise ConfigError("input - (standard input) is given twice; it can be read once")
    skipped = frozenset(os.path.realpath(p) for p in skip)
    shards: list[Shard] = []
    for path, name in zip(paths, input_names(paths), strict=True):
        given = (found or {}).get(path)
        folder = given[1] if given is not None else os.path.isdir(path)
        prefix = f"{name}/" if name and folder else ""
        texts: list[tuple[str, str]] = []
        passed: list[str] = []
        first = len(shards)
        files = (given[0] if given is not None else _stdin(stdin) if path == "-"
                 else _files_of(path, skipped, passed))
        for full, rel in files:
            rel = name if name and not folder else rel
            kind = kind_of(rel)
            if kind == "txt":
                texts.append((full, rel))
            elif (kind == "jsonl" and path != "-" and rel.lower().endswith(_PLAIN_JSONL)
                  or kind == "parquet") and split_bytes and (
                    size := _size(full)) > split_bytes:
                version = info(full)[1] if is_remote(full) else ""
                ranges = (split_ranges(full, size, split_bytes, version=version)
                          if kind == "jsonl"
                          else row_group_ranges(full, split_bytes, version=version))
                for start, stop, line in ranges:
                    shards.append(Shard(index=len(shards), kind=kind, files=(full,),
                                        names=(rel,), prefix=prefix, start=start, stop=stop,
                                        first_line=line, version=version))
            elif kind == "arrow":
                shards.append(Shard(index=len(shards), kind=kind, files=(full,), names=(rel,),
                                    prefix=prefix, dataset=folder and _in_dataset(full)))
            elif kind is not None:
                shards.append(Shard(index=len(shards), kind=kind, files=(full,), names=(rel,),
                                    prefix=prefix))
        for start in range(0, len(texts), txt_per_shard):
            group = texts[start : start + txt_per_shard]
            shards.append(Shard(index=len(shards), kind="txt",
                                files=tuple(f for f, _ in group),
                                names=tuple(n for _, n in group), prefix=prefix))
        if passed:
            shards[first] = replace(shards[first], passed_over=tuple(passed))
    return shards
