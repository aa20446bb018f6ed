"""A work folder at an fsspec URL gives the same outputs as a local one, and resumes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import thresher
from tests.conftest import unfinish
from tests.pipeline.corpus import make_corpus
from tests.pipeline.test_dedup import _outputs

pytest.importorskip("fsspec")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"), files=2, per_file=150, seed=5)


def _run(corpus: Path, out: Path, **options: object) -> dict[str, object]:
    summary = thresher.dedup(inputs=[corpus], output=out, split_bytes=60_000,
                             strip_boilerplate=True, **options)
    assert summary["counts_add_up"]
    return {**_outputs(out), "boilerplate": (out / "boilerplate.parquet").read_bytes()}


def test_url_work_folders_give_the_local_outputs(corpus: Path, tmp_path: Path) -> None:
    local = _run(corpus, tmp_path / "local", executor="serial")
    # memory:// lives in this process only: no file of the run is on a local path.
    memory = _run(corpus, tmp_path / "memory", executor="serial",
                  work_dir=f"memory://{tmp_path.name}/work")
    # file:// goes through fsspec too, and worker processes share it.
    url = _run(corpus, tmp_path / "file", executor="local", workers=2,
               work_dir=f"file://{tmp_path}/work")
    assert memory == local and url == local
    assert (tmp_path / "work" / "run.json").exists()  # kept: the user named the folder


def test_a_url_work_folder_is_resumed(corpus: Path, tmp_path: Path) -> None:
    work = f"file://{tmp_path}/work"
    first = thresher.dedup(inputs=[corpus], output=tmp_path / "a", work_dir=work,
                           executor="serial")
    before = _outputs(tmp_path / "a")
    unfinish(tmp_path / "a")
    again = thresher.dedup(inputs=[corpus], output=tmp_path / "a", work_dir=work,
                           executor="serial")
    assert not first["run"]["resumed"] and again["run"]["resumed"]  # type: ignore[index]
    assert _outputs(tmp_path / "a") == before
    # Another output folder cannot reuse the written files: the work starts afresh.
    other = thresher.dedup(inputs=[corpus], output=tmp_path / "b", work_dir=work,
                           executor="serial")
    assert not other["run"]["resumed"]  # type: ignore[index]
    assert _outputs(tmp_path / "b") == before


def test_url_errors_are_clear(corpus: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(thresher.ConfigError, match="cannot open the work folder nosuch://"):
        thresher.dedup(inputs=[corpus], output=tmp_path / "o", work_dir="nosuch://x/y")
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(thresher.ConfigError, match=r"thresher\[remote\]"):
        thresher.dedup(inputs=[corpus], output=tmp_path / "o", work_dir="s3://bucket/run")
