"""The ``thresher`` command: click options mapped onto the same Config the API takes."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from thresher._console import RichProgress, add_reruns, plan_lines, print_summary, sweep_lines
from thresher._exits import disk_full, nothing_read
from thresher._kernels import EVERY_RUN, INDEX_RUN, kernels_cold
from thresher._version import __version__
from thresher.config import config_from_mapping, load_toml
from thresher.errors import ThresherError

__all__ = ["main"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _with(options: list[Any]) -> Callable[[_F], _F]:
    """Apply a list of click decorators, the first one outermost."""
    def apply(fn: _F) -> _F:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return apply


# The options that shape matching: dedup takes them, and an index is created with them.
_MATCHING = [
    click.option("--threshold", type=float, help="Jaccard similarity to call two documents "
                 "near-duplicates. [default: 0.8]"),
    click.option("--num-perm", type=int, help="MinHash signature length. [default: 128]"),
    click.option("--ngram", type=int, help="Words per shingle. [default: 5]"),
    click.option("--char-ngram", type=int, help="Characters per shingle for text without "
                 "spaces (CJK, Thai). [default: 5]"),
    click.option("--shingle", type=click.Choice(["auto", "word", "char"]),
                 help="Shingle by words, characters, or choose per document. [default: auto]"),
    click.option("--bands", type=int, help="LSH bands (with --rows); chosen from the threshold "
                 "if omitted."),
    click.option("--rows", type=int, help="LSH rows per band (with --bands)."),
    click.option("--seed", type=int, help="Seed of every hash. [default: 42]"),
    click.option("--match", type=click.Choice(["content", "full"]),
                 help="Compare documents on their content (page chrome set aside) or on their "
                      "whole text. [default: content]"),
    click.option("--containment", type=float, help="Share of a document's content found in "
                 "a page of another site that makes it a partial duplicate. [default: 0.55]"),
    click.option("--site-containment", type=float, help="The same between two pages of one "
                 "site, which share text the site repeats. [default: 0.9]"),
    click.option("--titles/--no-titles", default=None, help="Weigh the pages' titles (their "
                 "first line) between two pages of one site: the same title with "
                 "--title-containment of shared content is one article; different titles are "
                 "different articles. [default: on]"),
    click.option("--title-containment", type=float, help="Share of the smaller content found "
                 "in a page of the same site under the same title. [default: 0.5]"),
    click.option("--group-by", help="Field whose value groups pages of one site for the "
                 "template statistics. [default: the host of --url-field; a record with "
                 "neither has no site]"),
]
_FIELDS = [
    click.option("--id-field", help="JSON/Parquet field with the id; a dotted name "
                 "(meta.id) looks into nested objects. [default: id]"),
    click.option("--text-field", help="JSON/Parquet field with the text (dotted: nested). "
                 "[default: text]"),
    click.option("--url-field", help="JSON/Parquet field with the URL (dotted: nested, "
                 "as metadata.url). [default: url]"),
]
_QUIET_JSON = [
    click.option("-q", "--quiet", is_flag=True, help="No progress bars or summary."),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."),
]
_STRIP = click.option("--strip-boilerplate", is_flag=True, default=None,
                      help="Write kept documents as their content only; list the removed "
                           "blocks in OUTPUT/boilerplate.parquet.")
# a str, not a Path: an output at a URL (s3://bucket/run) keeps its double slash
_OUTPUT = click.option("-o", "--output", type=click.Path(), required=True,
                       help="Folder (or fsspec URL) for kept/, decisions.parquet, "
                            "summary.json and (not against an index) pairs.parquet.")
_EXECUTION = [
    click.option("--executor", type=click.Choice(["serial", "local", "ray"]),
                 help="Run tasks in this process, in worker processes, or as Ray tasks "
                 "(pip install 'thresher[ray]'). [default: local]"),
    click.option("--workers", type=int, help="Worker processes (0 = one per core). [default: 0]"),
    click.option("--work-dir", help="Folder for intermediate files: a path, or an fsspec URL "
                 "such as s3://bucket/run (pip install 'thresher[s3]'), which every Ray node "
                 "can reach. A folder named here is kept after the run; the default is "
                 "removed after success unless --keep-work. [default: OUTPUT/_work]"),
    click.option("--keep-work", is_flag=True, default=None, help="Keep the default work folder "
                 "OUTPUT/_work after success (a --work-dir is always kept)."),
    click.option("--overwrite", is_flag=True, default=None, help="Replace the outputs of an "
                 "earlier finished run with other options or inputs in OUTPUT. (The same run "
                 "again finds its outputs done and changes nothing.)"),
]
_CONFIG = click.option("--config", "config_file", type=click.Path(path_type=Path),
                       help="TOML file with options; flags given here win.")
_FORMAT = click.option("--output-format", type=click.Choice(["input", "jsonl", "parquet"]),
                       help="Format of kept/. [default: input]")
_REPORT = click.option("--report", "report", is_flag=True, help="Also write "
                       "OUTPUT/report.html (see thresher report).")
# Inputs stay strings: a Path would make hf://datasets/... into hf:/datasets/...
_INPUT = click.Path()
_KEEP = [
    click.option("--keep", help="Which document of a cluster is kept: connected (the one "
                 "matching the most others, then the longest), first (in input order), "
                 "oldest or newest (by WARC-Date or --date-field), max:FIELD or min:FIELD "
                 "(a score the records carry). [default: connected]"),
    click.option("--date-field", help="JSONL/Parquet field with each record's date, for "
                 "--keep oldest|newest (ISO 8601, an HTTP date, or Unix seconds)."),
]
_ANNOTATE = [
    click.option("--annotate", is_flag=True, default=None, help="Also write every record to "
                 "OUTPUT/annotated/ in the input's format, its decision, cluster and cluster "
                 "size added (see docs/outputs.md)."),
    click.option("--annotate-field", help="Name of the field (JSONL key, Parquet column, "
                 "WARC-Name-* headers) the annotation goes in; records that already hold it "
                 "are refused, never overwritten. [default: thresher]"),
]
# index add and index query: a dedup run against an index.
_RUNNING = [
    click.argument("path", type=click.Path(path_type=Path)),
    click.argument("inputs", nargs=-1, required=True, type=_INPUT),
    _OUTPUT, _CONFIG, _STRIP, *_FIELDS, *_KEEP, _FORMAT, *_ANNOTATE, *_EXECUTION, _REPORT,
    *_QUIET_JSON,
]


@click.group()
@click.version_option(__version__, prog_name="thresher")
def main() -> None:
    """Turn crawled web text into a clean, deduplicated corpus, and say why."""
    logging.getLogger("thresher").addHandler(logging.StreamHandler(sys.stderr))


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=_INPUT)
@_OUTPUT
@_CONFIG
@_with(_MATCHING)
@_STRIP
@_with(_FIELDS)
@_with(_KEEP)
@click.option("--max-doc-bytes", type=int, help="Reject larger documents. [default: 8 MiB]")
@click.option("--extractor", type=click.Choice(["trafilatura", "resiliparse"]),
              help="Main-content extractor for WARC HTML. [default: trafilatura]")
@click.option("--warc-id", type=click.Choice(["record", "url"]),
              help="Id of WARC/WET documents: WARC-Record-ID or target URI. [default: record]")
@_FORMAT
@_with(_ANNOTATE)
@_with(_EXECUTION)
@click.option("--ray-address", help="Ray cluster to join (with --executor ray); a local "
              "Ray instance is started if omitted. Inputs, output and work folder must be "
              "reachable from every node: a shared file system or URLs.")
@click.option("--strict", is_flag=True, default=None, help="Stop with an error at the first "
              "record that cannot be used, instead of rejecting it.")
@_REPORT
@_with(_QUIET_JSON)
def dedup(config_file: Path | None, quiet: bool, as_json: bool, *, report: bool,
          **options: Any) -> None:
    """Find exact and near-duplicate documents in INPUTS and write a deduplicated corpus.

    INPUTS are folders of .txt files, JSONL files (.jsonl, .jsonl.gz, .jsonl.zst),
    Parquet and Arrow files, WARC (.warc.gz) and WET (.warc.wet.gz) files, or folders of
    them (a Hugging Face save_to_disk folder too), or hf://datasets/OWNER/NAME[@REV][/PATH],
    or fsspec URLs (s3://bucket/crawl/, s3://bucket/crawl/*.warc.wet.gz), or @LIST, a
    file of paths and URLs one a line. -o and --work-dir may be URLs too.
    """
    from thresher.pipeline.run import run_dedup

    try:
        config = config_from_mapping(_given(config_file, options))
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None

    def run(progress: RichProgress | None) -> dict[str, Any]:
        summary = run_dedup(config, progress=progress)
        return _finished(summary, config.output.directory, report)

    _show(run, quiet, as_json, output=Path(config.output.directory),
          work_dir=config.output.work_dir)


def _given(config_file: Path | None, options: dict[str, Any]) -> dict[str, Any]:
    """The options of a command: the config file's tables, then the flags given on the
    command line (which win over the file; the file wins over the defaults)."""
    ctx = click.get_current_context()
    given = {k: v for k, v in options.items()
             if ctx.get_parameter_source(k) not in (None, ParameterSource.DEFAULT)}
    base = load_toml(config_file) if config_file else {}
    for key, value in list(given.items()):  # -o fills the file's [output] table, not
        section = _FLAG_TABLES.get(key)      # replaces it
        if section is not None and isinstance(base.get(section[0]), dict):
            base[section[0]] = {**base[section[0]], section[1]: value}
            del given[key]
    return {**base, **given}


# Flags whose name is also a table of the config file: (table, key in it).
_FLAG_TABLES = {"output": ("output", "directory")}


def _finished(summary: dict[str, Any], output: str | Path, report: bool) -> dict[str, Any]:
    """The summary of a run, with the report written after it if asked for."""
    if report and "://" in str(output):
        raise click.ClickException("--report writes into a local output folder: run "
                                   "thresher report on a local copy of the output")
    if report:
        from thresher.report import write_report

        summary["report"] = str(write_report(output))
    summary["output"] = str(output)
    return summary


def _show(run: Callable[[Any], dict[str, Any]], quiet: bool, as_json: bool, *,
          output: Path, work_dir: str | None, kernels: tuple[str, ...] = EVERY_RUN) -> None:
    """Run with progress bars (unless quiet or JSON), then print the summary; a run that
    fails, or reads nothing, ends with one line on stderr and a non-zero exit code."""
    progress = None if quiet or as_json else RichProgress()
    if progress is not None and kernels_cold(kernels):
        progress.console.print("compiling kernels, once (a minute or more)...")
    try:
        summary = run(progress)
    except (ThresherError, OSError) as exc:
        failure = disk_full(exc, output, work_dir)
        if failure is None and not isinstance(exc, ThresherError):
            raise
        raise failure or click.ClickException(str(exc)) from None
    finally:
        if progress is not None:
            progress.close()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif not quiet:
        print_summary(summary)
    failure = nothing_read(summary)
    if failure is not None:
        raise failure


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="The HTML file. [default: RUN_DIR/report.html]")
@click.option("--clusters", type=int, default=2000, show_default=True,
              help="List this many of the largest clusters.")
@click.option("--sample", type=int, default=500, show_default=True,
              help="And this many others drawn at random.")
@click.option("--text-budget", type=int, default=8_000_000, show_default=True,
              help="Characters of document text the page may embed for side-by-side views.")
def report(run_dir: Path, output: Path | None, clusters: int, *, sample: int,
           text_budget: int) -> None:
    """Write one self-contained HTML page about the run in RUN_DIR: counts, plots,
    clusters side by side, rejected records."""
    from thresher.report import write_report

    try:
        path = write_report(run_dir, output, clusters=clusters, sample=sample,
                            text_budget=text_budget)
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(path))


@main.command()
@_CONFIG
@_with(_MATCHING)
@click.option("--fn-weight", type=float, help="Weight of missed duplicates against false "
              "candidates (fn_weight in a config file). [default: 0.9]")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(config_file: Path | None, as_json: bool, **options: Any) -> None:
    """Show what dedup does with these options: the candidates LSH seeks (bands, rows,
    their curve, extra bands) and the rule every candidate is verified by."""
    from thresher.pipeline.plan import match_plan, plan_data

    try:  # the inputs and output do not change the plan
        config = config_from_mapping({"inputs": ["."], "output_dir": ".",
                                      **_given(config_file, options)})
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None
    data = plan_data(match_plan(config))
    click.echo(json.dumps(data, indent=2) if as_json else "\n".join(plan_lines(data)))


@main.command("sweep")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--step", type=float, default=0.05, show_default=True,
              help="Thresholds every STEP, from the run's candidate threshold to 1.")
@click.option("--html", "page", type=click.Path(path_type=Path), help="Also write a page "
              "with verified pairs of each similarity band side by side (RUN_DIR/sweep.html, "
              "say).")
@click.option("--pairs", type=int, default=4, show_default=True,
              help="Pairs drawn from each similarity band for the page.")
@click.option("--json", "as_json", is_flag=True, help="Print the sweep as JSON.")
def sweep_command(run_dir: Path, step: float, page: Path | None, *, pairs: int,
                  as_json: bool) -> None:
    """What other thresholds would do to the finished run in RUN_DIR: duplicates,
    clusters and the largest cluster per threshold, exactly as a rerun gives them."""
    from thresher.sweep import sweep, sweep_data
    from thresher.sweep_page import write_sweep_page

    flags = {p.name for p in dedup.params if p.name}  # what a rerun may be given
    try:
        swept = sweep(run_dir, step=step, pairs_per_band=pairs)
        data = sweep_data(swept)
        reruns = add_reruns(data, flags)
        if page is not None:
            write_sweep_page(swept, page, rerun=reruns)
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(data, indent=2) if as_json else "\n".join(sweep_lines(data, flags)))


@main.group("index")
def index_group() -> None:
    """A persistent index: check each new crawl against everything kept before."""


@index_group.command("create")
@click.argument("path", type=click.Path(path_type=Path))
@_with(_MATCHING)
@click.option("--json", "as_json", is_flag=True)
def index_create(path: Path, as_json: bool, **options: Any) -> None:
    """Create an empty index at PATH that matches with these options (kept for good)."""
    from thresher import index

    try:
        stats = index.create(path, **options)
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(stats, indent=2) if as_json else f"created {stats['path']}")


def _index_run(mode: str, path: Path, inputs: tuple[str, ...], *, given_output: str,
               flags: dict[str, Any], options: dict[str, Any]) -> None:
    """Run ``index add`` or ``query``; ``flags``: config_file, report, quiet, as_json."""
    from thresher import index

    # -o may be a URL, as dedup's: kept as given (a Path would fold its "//")
    output: str | Path = given_output if "://" in given_output else Path(given_output)
    try:
        given = _given(flags["config_file"], options)
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None

    def run(progress: RichProgress | None) -> dict[str, Any]:
        summary = index.run_batch(path, list(inputs), output, mode=mode, options=given,
                                  progress=progress)
        return _finished(summary, output, flags["report"])

    _show(run, flags["quiet"], flags["as_json"], output=Path(output), kernels=INDEX_RUN,
          work_dir=given.get("work_dir") or given.get("output", {}).get("work_dir"))


_FLAGS = ("config_file", "report", "quiet", "as_json")


@index_group.command("add")
@_with(_RUNNING)
def index_add(path: Path, inputs: tuple[str, ...], output: str, **options: Any) -> None:
    """Deduplicate INPUTS against themselves and the index at PATH, write OUTPUT as dedup
    does, and add the kept documents to the index as one batch."""
    flags = {k: options.pop(k) for k in _FLAGS}
    _index_run("add", path, inputs, given_output=output, flags=flags, options=options)


@index_group.command("query")
@_with(_RUNNING)
def index_query(path: Path, inputs: tuple[str, ...], output: str, **options: Any) -> None:
    """Like add, but leave the index as it is: report only."""
    flags = {k: options.pop(k) for k in _FLAGS}
    _index_run("query", path, inputs, given_output=output, flags=flags, options=options)


@index_group.command("stats")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def index_stats(path: Path, as_json: bool) -> None:
    """What the index at PATH holds: documents, batches, disk per document, its options."""
    from thresher import index

    try:
        stats = index.stats(path)
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    per = stats["bytes_per_document"]
    retired = stats["retired_bytes"]
    click.echo(f"{stats['path']}: {stats['documents']:,} documents in {stats['batches']} "
               f"batch{'' if stats['batches'] == 1 else 'es'}, {stats['disk_bytes']:,} bytes on disk"
               + (f" ({per:,.0f} per document)" if per else "")
               + (f", of which {retired:,} in segments merged away (removed by a later "
                  "add once readers are done with them)" if retired else ""))


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--allow-add", is_flag=True, help="Also accept POST /add, with the token.")
@click.option("--token-file", type=click.Path(path_type=Path), help="File holding the token "
              "POST /add must send as 'Authorization: Bearer TOKEN'. [default: "
              "$THRESHER_TOKEN]")
@click.option("--allow-host", "allow_hosts", multiple=True, help="Also answer requests whose "
              "Host header names this (repeat for more); others get a 403.")
@click.option("-q", "--quiet", is_flag=True, help="No startup or access lines on stderr.")
def serve(path: Path, host: str, port: int, *, allow_add: bool, token_file: Path | None,
          allow_hosts: tuple[str, ...], quiet: bool) -> None:
    """Serve the index at PATH over HTTP (pip install 'thresher[serve]'): POST /query with
    {"text", "url"} or {"documents": [...]}; GET /health, /stats; POST /add if allowed."""
    from thresher.index import serve as served

    logging.getLogger(served.__name__).setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        served.serve(path, host=host, port=port, allow_add=allow_add, token_file=token_file,
                     allow_hosts=allow_hosts)
    except ThresherError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover - python -m thresher.cli
    main()
