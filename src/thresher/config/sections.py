"""The option tables of a run: one frozen, keyword-only dataclass per concern, each
checking its values when it is built. Build them with
[`config_from_mapping`][thresher.config.config_from_mapping] (``reading.py``)."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from thresher.errors import ConfigError

__all__ = ["ClusterConfig", "Config", "ContentConfig", "ExecutorName", "InputConfig",
           "MatchMode", "MinHashConfig", "OutputConfig", "OutputFormat", "RunConfig",
           "ShingleMode"]

ShingleMode = Literal["auto", "word", "char"]
OutputFormat = Literal["input", "jsonl", "parquet"]
ExecutorName = Literal["serial", "local", "ray"]
MatchMode = Literal["content", "full"]


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


@dataclass(frozen=True, kw_only=True)
class InputConfig:
    """Where records come from and which fields hold what (the ``[input]`` table).

    Attributes:
        paths: Files and folders to read (``inputs`` as a flat option): ``.txt``
            folders, JSONL, Parquet, Arrow, WET, WARC, ``hf://datasets/...`` or ``-``.
        id_field: Field holding a record's id; a dotted name looks into nested objects.
        text_field: Field holding the text (dotted: nested).
        url_field: Field holding the URL (dotted: nested), which tells a page's site.
        max_doc_bytes: Larger records are rejected (``--max-doc-bytes``).
        txt_files_per_shard: ``.txt`` files read as one task.
        split_bytes: Larger files are read as several tasks; 0 never splits a file.
        warc_id: Id of WARC and WET records: ``record`` (WARC-Record-ID) or ``url``.
        extractor: Main-text extractor for WARC HTML: ``trafilatura`` or ``resiliparse``.
    """

    paths: tuple[str, ...] = ()
    id_field: str = "id"
    text_field: str = "text"
    url_field: str = "url"
    max_doc_bytes: int = 8 * 1024 * 1024
    txt_files_per_shard: int = 2000
    split_bytes: int = 64 * 1024 * 1024
    warc_id: str = "record"
    extractor: str = "trafilatura"

    def __post_init__(self) -> None:
        _check(bool(self.paths), "no input given: pass at least one file or folder")
        _check(bool(self.id_field), "--id-field must not be empty")
        _check(bool(self.text_field), "--text-field must not be empty")
        _check(0 < self.max_doc_bytes <= 1 << 40,
               f"--max-doc-bytes must be > 0 and at most 1 TiB, got {self.max_doc_bytes}")
        _check(self.txt_files_per_shard > 0, "txt_files_per_shard must be > 0")
        _check(self.split_bytes >= 0, "split_bytes must be >= 0 (0: never split a file)")
        _check(self.warc_id in ("record", "url"),
               f"--warc-id must be record or url, got {self.warc_id!r}")
        _check(self.extractor in ("trafilatura", "resiliparse"),
               f"--extractor must be trafilatura or resiliparse, got {self.extractor!r}")


@dataclass(frozen=True, kw_only=True)
class MinHashConfig:
    """How documents are shingled, sketched and matched (the ``[minhash]`` table).

    Attributes:
        threshold: Jaccard similarity from which two documents are near-duplicates.
        num_perm: MinHash signature length.
        ngram: Words per shingle.
        char_ngram: Characters per shingle, for text without spaces (CJK, Thai).
        shingle: ``word``, ``char``, or ``auto`` to choose per document.
        seed: Seed of every hash.
        bands: LSH bands, given with ``rows``; chosen from the threshold when both are
            ``None``.
        rows: LSH rows per band, given with ``bands``.
        fn_weight: Weight of missed duplicates against false candidates when bands and
            rows are chosen.
        max_bucket_pairs: An LSH bucket of up to this many + 1 documents gives all its
            pairs.
        bucket_heads: A larger bucket pairs each member with this many best-ranked
            members.
    """

    threshold: float = 0.8
    num_perm: int = 128
    ngram: int = 5
    char_ngram: int = 5
    shingle: ShingleMode = "auto"
    seed: int = 42
    bands: int | None = None
    rows: int | None = None
    fn_weight: float = 0.9
    max_bucket_pairs: int = 64  # a bucket of up to this many + 1 documents: all its pairs
    bucket_heads: int = 2  # a larger one: each member with this many best-ranked members

    def __post_init__(self) -> None:
        _check(0.0 < self.threshold <= 1.0,
               f"--threshold must be in (0, 1], got {self.threshold}")
        _check(8 <= self.num_perm <= 1024,
               f"--num-perm must be between 8 and 1024, got {self.num_perm}")
        _check(1 <= self.ngram <= 32, f"--ngram must be between 1 and 32, got {self.ngram}")
        _check(1 <= self.char_ngram <= 32,
               f"--char-ngram must be between 1 and 32, got {self.char_ngram}")
        _check(self.shingle in ("auto", "word", "char"),
               f"--shingle must be auto, word or char, got {self.shingle!r}")
        _check(0 <= self.seed < 2**63, f"--seed must be in [0, 2**63), got {self.seed}")
        _check((self.bands is None) == (self.rows is None),
               "give both --bands and --rows, or neither (then they are chosen from --threshold)")
        if self.bands is not None and self.rows is not None:
            _check(self.bands >= 1 and self.rows >= 1, "--bands and --rows must be >= 1")
            _check(self.bands * self.rows <= self.num_perm,
                   f"--bands x --rows = {self.bands * self.rows} exceeds --num-perm "
                   f"{self.num_perm}")
        _check(0.0 < self.fn_weight < 1.0, f"fn_weight must be in (0, 1), got {self.fn_weight}")
        _check(self.max_bucket_pairs >= 1, "max_bucket_pairs must be >= 1")
        # no upper check: bucket_pairs takes at most max_bucket_pairs heads, so that
        # max_bucket_pairs = 1 stays valid with the default here
        _check(self.bucket_heads >= 1, f"bucket_heads must be >= 1, got {self.bucket_heads}")


@dataclass(frozen=True, kw_only=True)
class ContentConfig:
    """How page chrome is told from content, and what documents are matched on
    (the ``[content]`` table).

    Attributes:
        match: ``content`` compares documents on their content, page chrome set aside;
            ``full`` on their whole text.
        group_by: Field whose value groups the pages of one site for the chrome
            statistics; ``None``: the host of ``url_field``, else the whole input.
        containment: Share of a document's content found in a page of another site
            that makes it a partial duplicate.
        site_containment: The same between two pages of one site.
        min_shared: Distinct shingles the smaller page must share with the other for a
            partial or title match.
        titles: Weigh pages' titles (their first line) between two pages of one site.
        title_containment: Share of the smaller content found in a page of the same
            site under the same title that makes them one article.
        strip_boilerplate: Write kept documents as their content only and list the
            removed blocks in ``boilerplate.parquet`` (needs ``match="content"``).
    """

    match: MatchMode = "content"
    group_by: str | None = None
    containment: float = 0.55
    site_containment: float = 0.9
    min_shared: int = 20
    titles: bool = True
    title_containment: float = 0.5
    strip_boilerplate: bool = False

    def __post_init__(self) -> None:
        _check(self.match in ("content", "full"),
               f"--match must be content or full, got {self.match!r}")
        _check(self.group_by is None or bool(self.group_by), "--group-by must not be empty")
        _check(0.0 < self.containment <= 1.0,
               f"--containment must be in (0, 1], got {self.containment}")
        _check(0.0 < self.site_containment <= 1.0,
               f"site_containment must be in (0, 1], got {self.site_containment}")
        _check(self.min_shared >= 1, f"min_shared must be >= 1, got {self.min_shared}")
        _check(0.0 < self.title_containment <= 1.0,
               f"--title-containment must be in (0, 1], got {self.title_containment}")
        _check(not self.strip_boilerplate or self.match == "content",
               "--strip-boilerplate needs --match content")


@dataclass(frozen=True, kw_only=True)
class ClusterConfig:
    """Which document of each cluster is kept (docs/matching.md#which-document-is-kept).

    Attributes:
        keep: ``connected`` (the one matching the most others, then the longest),
            ``first`` (input order), ``oldest`` or ``newest`` (by date), ``max:FIELD`` or
            ``min:FIELD`` (a score the records carry).
        date_field: the JSONL or Parquet field holding each record's date, for ``oldest``
            and ``newest``; WARC and WET records use their ``WARC-Date``.
    """

    keep: str = "connected"
    date_field: str | None = None  # JSONL/Parquet dates for oldest/newest; WARC: WARC-Date

    def __post_init__(self) -> None:
        named = self.keep.partition(":")
        _check(self.keep in ("connected", "first", "oldest", "newest")
               or (named[0] in ("max", "min") and bool(named[2])),
               f"--keep must be connected, first, oldest, newest, max:FIELD or min:FIELD, "
               f"got {self.keep!r}")
        _check(self.date_field is None or bool(self.date_field),
               "--date-field must not be empty")
        _check(self.date_field is None or self.keep in ("oldest", "newest"),
               f"--date-field goes with --keep oldest or newest, not {self.keep}")

    @property
    def field(self) -> str | None:
        """The records' field the policy reads (None: none, or WARC-Date only)."""
        if self.keep.startswith(("max:", "min:")):
            return self.keep[4:]
        return self.date_field


@dataclass(frozen=True, kw_only=True)
class OutputConfig:
    """Where results go and in which format (the ``[output]`` table).

    Attributes:
        directory: The output folder (``output`` as a flat option).
        format: Format of ``kept/``: ``input`` (the input's own), ``jsonl`` or
            ``parquet``.
        work_dir: Folder for intermediate files, a path or an fsspec URL;
            ``OUTPUT/_work`` by default.
        keep_work: Keep the default work folder after a run that succeeded (a
            ``work_dir`` given is always kept).
        overwrite: Replace the finished outputs of a run with other options or inputs.
    """

    directory: str = ""
    format: OutputFormat = "input"
    work_dir: str | None = None
    keep_work: bool = False
    overwrite: bool = False  # replace the finished outputs of a different run
    annotate: bool = False  # also write every record, its decision added, to annotated/
    annotate_field: str = "thresher"

    def __post_init__(self) -> None:
        _check(bool(self.directory), "no output folder given: pass --output DIR")
        _check(self.format in ("input", "jsonl", "parquet"),
               f"--output-format must be input, jsonl or parquet, got {self.format!r}")
        # a top-level JSON key, a Parquet column and part of a WARC header name alike
        _check(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.annotate_field) is not None,
               f"--annotate-field must be a letter then letters, digits or _, got "
               f"{self.annotate_field!r}")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """How the work is scheduled; never changes the results (the ``[run]`` table).

    Attributes:
        executor: ``serial`` (this process), ``local`` (worker processes) or ``ray``.
        workers: Worker processes; 0 is one per core.
        strict: Stop at the first record that cannot be used instead of rejecting it.
        ray_address: Ray cluster to join with ``executor="ray"``; a local Ray instance
            is started when ``None``.
    """

    executor: ExecutorName = "local"
    workers: int = 0
    strict: bool = False
    ray_address: str | None = None

    def __post_init__(self) -> None:
        _check(self.executor in ("serial", "local", "ray"),
               f"--executor must be serial, local or ray, got {self.executor!r}")
        _check(self.ray_address is None or self.executor == "ray",
               "--ray-address goes with --executor ray")
        _check(self.workers >= 0, f"--workers must be >= 0 (0 = one per core), got {self.workers}")


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything a dedup run needs: one table of options per concern.

    Build it with [`config_from_mapping`][thresher.config.config_from_mapping] rather
    than by hand: that checks every name and type.

    Attributes:
        input: Where records come from.
        output: Where results go.
        minhash: How documents are shingled, sketched and matched.
        content: How chrome is told from content.
        run: How the work is scheduled.
    """

    input: InputConfig
    output: OutputConfig
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain JSON-able data."""
        return dataclasses.asdict(self)

    def results_fingerprint(self) -> str:
        """Return the JSON of every option that can change the results."""
        data: dict[str, Any] = {
            "input": dataclasses.asdict(self.input), "minhash": dataclasses.asdict(self.minhash),
            "content": dataclasses.asdict(self.content), "format": self.output.format,
            "cluster": dataclasses.asdict(self.cluster)}
        if self.output.annotate:  # absent otherwise: earlier runs' fingerprints still hold
            data["annotate"] = self.output.annotate_field
        return json.dumps(data, sort_keys=True)


