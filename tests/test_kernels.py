"""Knowing whether numba's kernel cache is cold, and saying so once on the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import thresher.cli
from thresher._kernels import INDEX_RUN, kernels_cold
from thresher.cli import main

from .conftest import write_jsonl

SRC = Path(__file__).resolve().parents[1] / "src"
COLD = "compiling kernels, once (a minute or more)..."


def test_a_fresh_copy_of_the_sources_is_cold(tmp_path: Path) -> None:
    shutil.copytree(SRC / "thresher", tmp_path / "thresher",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)
    code = "import thresher._kernels as k; print(k.__file__, k.kernels_cold())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(tmp_path / "thresher" / "_kernels.py"), "True"]


def test_a_run_warms_the_cache_and_says_so_only_when_cold(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": f"words {i} " * 9}
                                              for i in range(3)])

    def dedup(*flags: str) -> str:
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        result = CliRunner().invoke(main, ["dedup", str(src), "-o", str(tmp_path / "out"),
                                           "--executor", "serial", *flags])
        assert result.exit_code == 0, result.output
        return result.output

    dedup("-q")
    assert not kernels_cold()
    assert COLD not in dedup()
    monkeypatch.setattr(thresher.cli, "kernels_cold", lambda modules: True)
    assert dedup().startswith(COLD + "\n")
    assert COLD not in dedup("-q") and COLD not in dedup("--json")


def test_an_index_run_warms_what_an_index_run_needs(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": f"words {i} " * 9}
                                              for i in range(3)])
    runner = CliRunner()
    assert runner.invoke(main, ["index", "create", str(tmp_path / "ix")]).exit_code == 0
    result = runner.invoke(main, ["index", "add", str(tmp_path / "ix"), str(src), "-o",
                                  str(tmp_path / "out"), "--executor", "serial", "-q"])
    assert result.exit_code == 0, result.output
    assert not kernels_cold(INDEX_RUN)
    asked: list[tuple[str, ...]] = []
    monkeypatch.setattr(thresher.cli, "kernels_cold",
                        lambda modules: asked.append(modules) or True)
    result = runner.invoke(main, ["index", "query", str(tmp_path / "ix"), str(src), "-o",
                                  str(tmp_path / "q"), "--executor", "serial"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(COLD + "\n") and asked == [INDEX_RUN]
