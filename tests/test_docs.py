"""The front door: the README's commands, and the documentation site built strictly."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The public modules whose __all__ the reference pages must document.
PUBLIC = ("thresher", "thresher.config", "thresher.errors", "thresher.index", "thresher.sweep")


def _nav_pages(nav: Any) -> list[str]:
    """Every page named in an mkdocs nav (nested lists of {title: page or list})."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [p for item in nav for p in _nav_pages(item)]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in _nav_pages(value)]
    return []


def _inventory(site: Path) -> set[str]:
    """The object names in the site's ``objects.inv`` (what the API pages document)."""
    _, body = (site / "objects.inv").read_bytes().split(b"zlib.\n", 1)
    return {line.split(" ", 1)[0] for line in zlib.decompress(body).decode().splitlines()}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as ``mkdocs build --strict`` writes it: any warning (a broken link or
    anchor, a page left out of the nav, a docstring it cannot render) fails the build."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]' "
                        "(the test extra has it) to build the documentation site")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    # Not --quiet: it hides the warnings, and --strict then has none to fail on.
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                          "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
                         cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def test_the_site_builds_strictly(site: Path) -> None:
    assert (site / "index.html").exists() and (site / "reference" / "thresher").is_dir()


def test_every_docs_page_is_in_the_nav() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with mkdocs: pip install -e "
                               "'.[docs]'")
    nav = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert not set(pages) - set(nav), f"not in mkdocs.yml's nav: {sorted(set(pages) - set(nav))}"
    assert not set(nav) - set(pages), f"in the nav, not in docs/: {sorted(set(nav) - set(pages))}"


@pytest.mark.parametrize("module", PUBLIC)
def test_the_reference_documents_every_public_name(site: Path, module: str) -> None:
    documented = _inventory(site)
    mod = importlib.import_module(module)
    missing = []
    for name in (n for n in mod.__all__ if not n.startswith("__")):
        obj = getattr(mod, name)
        canonical = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', name)}"
        if f"{module}.{name}" not in documented and canonical not in documented:
            missing.append(name)
    assert not missing, f"{module}: not on the reference pages (docs/reference/): {missing}"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()[-1]
    assert ci in readme, f"README's test command differs from .ci/run's: {ci}"


def test_the_readme_stays_a_front_door() -> None:
    assert len((ROOT / "README.md").read_bytes()) <= 12 * 1024


def _slugs(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings, as GitHub and mkdocs' toc make them."""
    heads = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in heads}


def test_the_readme_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", readme):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        if not (ROOT / path).exists() or (anchor and anchor not in _slugs(ROOT / path)):
            broken.append(target)
    assert not broken, f"README links to nothing: {broken}"
