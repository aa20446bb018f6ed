from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import thresher


def test_all_is_sorted_and_complete() -> None:
    assert thresher.__all__ == sorted(thresher.__all__)
    for name in thresher.__all__:
        assert hasattr(thresher, name), name


def test_import_is_light() -> None:
    code = ("import sys, thresher; heavy = {'numba', 'pyarrow', 'ray', 'datasets', "
            "'huggingface_hub'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_config_errors_name_the_fix() -> None:
    with pytest.raises(thresher.ConfigError, match="--threshold must be in"):
        thresher.config_from_mapping({"inputs": ["x"], "output": "o", "threshold": 1.5})
    with pytest.raises(thresher.ConfigError, match="unknown option 'treshold'"):
        thresher.config_from_mapping({"inputs": ["x"], "output": "o", "treshold": 0.5})
    with pytest.raises(ValueError, match="--bands and --rows"):
        thresher.config_from_mapping({"inputs": ["x"], "output": "o", "bands": 4})


def test_toml_tables_and_flat_keys_build_the_same_config(tmp_path: object) -> None:
    from pathlib import Path

    toml = Path(str(tmp_path)) / "t.toml"
    toml.write_text('output = "o"\ninputs = ["x"]\n[minhash]\nthreshold = 0.7\nngram = 3\n')
    a = thresher.config_from_mapping(thresher.config.load_toml(toml))
    b = thresher.config_from_mapping({"inputs": ["x"], "output": "o", "threshold": 0.7,
                                      "ngram": 3})
    assert a == b
    toml.write_text('output = "o"\n[input]\npaths = ["x"]\nthreshold = 0.7\n')
    with pytest.raises(thresher.ConfigError, match=r"belongs in \[minhash\]"):
        thresher.config_from_mapping(thresher.config.load_toml(toml))


def test_plan_matches_cli_defaults() -> None:
    p = thresher.plan(match="full")
    assert (p.bands, p.rows, p.candidate_threshold, p.extra_bands) == (14, 9, 0.8, ())
    assert 0.85 < p.at(0.8) < 0.9
    content = thresher.plan()  # the default matches on content, from Jaccard 0.3
    assert content.match == "content" and content.candidate_threshold == 0.3
    assert content.extra_bands == ("title", "page") and content.at(0.3) > 0.9
    assert thresher.plan(threshold=0.2).candidate_threshold == 0.2
    assert thresher.plan(titles=False).extra_bands == ("page",)


def test_typing_is_strict() -> None:
    mypy = pytest.importorskip("mypy.api")
    out, err, status = mypy.run([])
    assert status == 0, out + err


def test_lint_is_clean() -> None:
    pytest.importorskip("ruff")
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "bench", "tools"],
                         cwd=root, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
