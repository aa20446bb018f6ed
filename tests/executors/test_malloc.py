"""The thresher command's allocator setting: freed batch-sized memory is reused, not
mapped again; and it stays out of the way when asked to or when not on glibc."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

# In a fresh process: apply the setting (or not), then allocate, touch and free ten
# 20 MiB arrays twice, and report the page faults of the second round.
_PROBE = """
import json, resource, sys
import numpy as np
from thresher._malloc import retain_freed_memory
applied = retain_freed_memory() if sys.argv[1] == "1" else False
def round_():
    arrays = [np.ones(20 << 17) for _ in range(10)]  # 20 MiB each
    del arrays
round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
round_()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"applied": applied, "faults": after - before}))
"""

glibc = pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
                           reason="the setting is glibc's")


def _without_settings() -> dict[str, str]:
    """This environment without any allocator setting of the user's."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "THRESHER_MALLOC")}


def _probe(apply: bool, **env: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", _PROBE, "1" if apply else "0"],
                         capture_output=True, text=True, check=True, env={**_without_settings(), **env})
    result: dict[str, object] = json.loads(out.stdout)
    return result


@glibc
def test_freed_arrays_are_reused_without_new_page_faults() -> None:
    tuned, default = _probe(True), _probe(False)
    assert tuned["applied"] is True
    assert isinstance(tuned["faults"], int) and isinstance(default["faults"], int)
    # glibc's default maps the second round afresh (about 51,200 small pages, or 100
    # huge ones); with the setting the first round's memory serves it
    assert tuned["faults"] * 4 < default["faults"], (tuned, default)


@glibc
@pytest.mark.parametrize("env", [{"THRESHER_MALLOC": "default"},
                                 {"MALLOC_ARENA_MAX": "2"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000000"}])
def test_the_setting_gives_way_to_the_users_own(env: dict[str, str]) -> None:
    assert _probe(True, **env)["applied"] is False


@glibc
def test_the_command_applies_it_and_api_callers_keep_their_allocator(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": "one two three"}) + "\n")
    code = ("import sys, thresher._malloc as m, thresher, thresher.cli; "
            "before = m._applied; "
            "thresher.cli.main(sys.argv[1:], standalone_mode=False); "
            "print(before, m._applied)")
    out = subprocess.run([sys.executable, "-c", code, "dedup", str(tmp_path / "in.jsonl"),
                          "-o", str(tmp_path / "out"), "--quiet"],
                         capture_output=True, text=True, check=True, env=_without_settings())
    # importing the API or the command changes nothing; running the command does
    assert out.stdout.split() == ["None", "True"]
