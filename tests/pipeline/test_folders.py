"""The output and work folders: thresher writes only where it may, deletes only what it
wrote, finishes atomically and never wedges a rerun."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import thresher
from tests.conftest import unfinish, write_jsonl
from tests.pipeline.corpus import make_corpus
from tests.pipeline.test_dedup import _outputs
from thresher import index
from thresher.cli import main
from thresher.pipeline.workdir import STAGES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"), files=2, per_file=40, seed=3)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_an_input_inside_the_output_folder_is_refused_and_kept(corpus: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cli("dedup", str(corpus), "-o", str(out), "-q")[0] == 0
    kept = _tree(out / "kept")
    code, said = _cli("dedup", str(out / "kept"), "-o", str(out), "--threshold", "0.7", "-q")
    assert code != 0 and "is inside the output folder" in said
    assert "Traceback" not in said and _tree(out / "kept") == kept


@pytest.mark.parametrize("where", ["output", "work"])
def test_a_folder_inside_an_input_or_equal_to_it_is_refused(corpus: Path, tmp_path: Path,
                                                            where: str) -> None:
    data = tmp_path / "data"
    shutil.copytree(corpus, data)
    before = _tree(data)
    for folder in (data, data / "sub"):
        options = ({"output": folder} if where == "output"
                   else {"output": tmp_path / "o", "work_dir": str(folder)})
        with pytest.raises(thresher.ConfigError, match="input"):
            thresher.dedup(inputs=[data], executor="serial", **options)
    assert _tree(data) == before


def test_a_work_folder_holding_the_users_files_is_refused(corpus: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "notes.txt").write_text("mine")
    with pytest.raises(thresher.ConfigError, match="notes.txt"):
        thresher.dedup(inputs=[corpus], output=tmp_path / "o", work_dir=str(scratch),
                       executor="serial")
    assert _tree(scratch) == {"notes.txt": b"mine"}


def test_a_reused_work_folder_loses_only_what_thresher_wrote(corpus: Path,
                                                             tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    thresher.dedup(inputs=[corpus], output=tmp_path / "o", work_dir=str(scratch),
                   executor="serial")
    assert (scratch / "run.json").exists()  # kept: the user named the folder
    (scratch / "notes.txt").write_text("mine")  # the user's, put there afterwards
    again = thresher.dedup(inputs=[corpus], output=tmp_path / "o2", work_dir=str(scratch),
                           executor="serial", threshold=0.9)
    assert again["run"]["resumed"] is False
    assert (scratch / "notes.txt").read_text() == "mine"
    assert {p.name for p in scratch.iterdir()} <= {*STAGES, "run.json", ".thresher-work",
                                                  "notes.txt"}


def test_every_folder_a_run_writes_in_its_work_folder_is_a_named_stage(
        corpus: Path, tmp_path: Path) -> None:
    # A discarded run's stage folders are deleted by name: none may be missing from STAGES.
    ix = tmp_path / "ix"
    index.create(ix)
    index.add(ix, [corpus], tmp_path / "o", executor="serial", keep_work=True,
              strip_boilerplate=True)
    written = {p.name for p in (tmp_path / "o" / "_work").iterdir() if p.is_dir()}
    assert {"read", "content", "probe", "cluster", "write"} <= written <= set(STAGES)


def test_a_run_killed_while_it_cleaned_up_is_found_done(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    thresher.dedup(inputs=[corpus], output=out, executor="serial", keep_work=True)
    before = _outputs(out)
    work = out / "_work"
    # As a kill -9 in the middle of removing the work folder leaves it: no run.json, some
    # completion markers whose artifacts are gone.
    (work / "run.json").unlink()
    for art in (work / "read").glob("*.text.bin"):
        art.unlink()
    again = thresher.dedup(inputs=[corpus], output=out, executor="serial")
    assert again["up_to_date"] is True and again["counts"] == before["summary"]["counts"]
    assert _outputs(out) == before and not work.exists()


def test_a_work_folder_that_cannot_prove_its_run_is_discarded(corpus: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "o"
    thresher.dedup(inputs=[corpus], output=out, executor="serial", keep_work=True)
    before = _outputs(out)
    unfinish(out)  # killed before it finished, and its identity gone too
    (out / "_work" / "run.json").unlink()
    for art in (out / "_work" / "read").glob("*.text.bin"):
        art.unlink()  # markers whose artifacts are gone must not be trusted
    again = thresher.dedup(inputs=[corpus], output=out, executor="serial")
    assert again["run"]["resumed"] is False and _outputs(out) == before


def test_a_resumed_run_removes_the_temporaries_of_the_killed_one(corpus: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "o"
    thresher.dedup(inputs=[corpus], output=out, executor="serial", keep_work=True)
    before = _outputs(out)
    unfinish(out)
    stale = [out / "kept" / "part-0.jsonl.thresher-tmp-4242",
             out / "decisions.parquet.thresher-tmp-4242",
             out / "_work" / "write" / "00000.done.thresher-tmp-4242"]
    for path in stale:
        path.write_bytes(b"half written" * 1000)
    again = thresher.dedup(inputs=[corpus], output=out, executor="serial")
    assert again["run"]["resumed"] is True and _outputs(out) == before
    assert not [p for p in stale if p.exists()]


def test_what_a_lost_task_left_mid_write_is_gone_when_the_run_ends(
        corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write task whose node died mid-write leaves its temporary; the task is run again
    elsewhere (Ray) and the run finishes: the temporary does not stay among the outputs."""
    from thresher.pipeline import run

    clean = thresher.dedup(inputs=[corpus], output=tmp_path / "clean", executor="serial")
    out = tmp_path / "o"
    stray = out / "kept" / "part-1.jsonl.thresher-tmp-4242"
    real = run.output_task

    def lost_then_retried(task: object) -> object:
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"half written")  # the first attempt, on the lost node
        return real(task)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "output_task", lost_then_retried)
    summary = thresher.dedup(inputs=[corpus], output=out, executor="serial")
    assert summary["counts"] == clean["counts"] and not stray.exists()
    assert _outputs(out) == _outputs(tmp_path / "clean")


def test_the_quick_start_runs_twice(tmp_path: Path) -> None:
    sample, out = str(ROOT / "examples" / "sample"), str(tmp_path / "sample-out")
    assert _cli("dedup", sample, "-o", out, "--report", "-q")[0] == 0
    first = _tree(Path(out) / "kept")
    code, said = _cli("dedup", sample, "-o", out, "--report")
    assert code == 0 and "already done" in said and _tree(Path(out) / "kept") == first
    assert (Path(out) / "report.html").exists()
    code, said = _cli("dedup", sample, "-o", out, "--threshold", "0.9", "-q")
    assert code != 0 and "--overwrite" in said and _tree(Path(out) / "kept") == first
    assert _cli("dedup", sample, "-o", out, "--threshold", "0.9", "--overwrite", "-q")[0] == 0
    summary = json.loads((Path(out) / "summary.json").read_text())
    assert summary["config"]["minhash"]["threshold"] == 0.9


def test_two_runs_never_write_one_output_folder_at_once(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    with open(out / ".thresher.lock", "ab") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(thresher.ConfigError, match="another thresher run"):
            thresher.dedup(inputs=[corpus], output=out, executor="serial")
    assert thresher.dedup(inputs=[corpus], output=out, executor="serial")["counts"]["read"]


def test_an_add_killed_while_it_cleaned_up_reports_its_batch(corpus: Path,
                                                             tmp_path: Path) -> None:
    ix, out = tmp_path / "ix", tmp_path / "o"
    index.create(ix)
    first = index.add(ix, [corpus], out, executor="serial", keep_work=True)
    before = _outputs(out)
    (out / "_work" / "run.json").unlink()  # the removal of the work folder, cut short
    again = index.add(ix, [corpus], out, executor="serial")
    assert again["up_to_date"] is True and again["index"] == first["index"]
    assert _outputs(out) == before  # not rewritten as duplicates of themselves
    stats = index.stats(ix)
    assert stats["batches"] == 1 and stats["documents"] == first["index"]["documents"]


def test_a_query_never_overwrites_an_adds_outputs(corpus: Path, tmp_path: Path) -> None:
    ix, out = tmp_path / "ix", tmp_path / "o"
    index.create(ix)
    index.add(ix, [corpus], out, executor="serial")
    before = _outputs(out)
    with pytest.raises(thresher.ConfigError, match="--overwrite"):
        index.query(ix, [corpus], out, executor="serial")
    assert _outputs(out) == before


def test_a_folder_of_foreign_files_is_not_claimed_by_a_lone_output_name(
        tmp_path: Path) -> None:
    # A folder holding only what looks like an output (kept/) is not thresher's.
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "some text to keep"}])
    (tmp_path / "out" / "kept").mkdir(parents=True)
    (tmp_path / "out" / "kept" / "mine.txt").write_text("mine")
    with pytest.raises(thresher.ConfigError, match="did not write"):
        thresher.dedup(inputs=[src], output=tmp_path / "out", executor="serial")
    assert (tmp_path / "out" / "kept" / "mine.txt").read_text() == "mine"
