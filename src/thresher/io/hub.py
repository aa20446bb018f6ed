"""Inputs on the Hugging Face Hub: ``hf://datasets/OWNER/NAME[@REVISION][/PATH]``.

The files are fetched into the Hugging Face cache (``HF_HOME``, ``HF_HUB_CACHE``) by
``huggingface_hub`` (the ``hf`` extra), and the run reads that local copy: its stages
read an input more than once (read, content, write), and the cache makes a second run
of the same revision read no byte from the network. The path is parsed here, not by
``HfFileSystem.resolve_path``, which asks the Hub even for a revision already cached
(so ``HF_HUB_OFFLINE=1`` runs on what the cache holds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote

from thresher.errors import ConfigError

__all__ = ["HubPath", "is_hub", "local_copy", "local_paths", "parse_hub"]

PREFIX = "hf://"
_FORM = "hf://datasets/OWNER/NAME[@REVISION][/PATH]"
_SPECIAL_REFS = ("convert", "pr")  # refs/convert/parquet, refs/pr/3: a slash in a revision


@dataclass(frozen=True, kw_only=True)
class HubPath:
    """A dataset repository on the Hub, a revision of it, and a path inside it."""

    repo: str
    revision: str | None
    path: str


def is_hub(path: str) -> bool:
    """True if ``path`` names a file or folder on the Hugging Face Hub.

    Example:
        >>> is_hub("hf://datasets/acme/web"), is_hub("data/hf:/x")
        (True, False)
    """
    return path.startswith(PREFIX)


def parse_hub(url: str) -> HubPath:
    """Parse an ``hf://datasets/...`` path; a :class:`ConfigError` says what is wrong.

    Example:
        >>> parse_hub("hf://datasets/acme/web@refs/convert/parquet/default/train")
        HubPath(repo='acme/web', revision='refs/convert/parquet', path='default/train')
    """
    kind, _, rest = url.removeprefix(PREFIX).partition("/")
    parts = rest.split("/")
    if kind != "datasets" or len(parts) < 2 or not parts[0] or not parts[1]:
        raise ConfigError(f"input {url}: thresher reads Hub datasets as {_FORM}")
    name, at, revision = parts[1].partition("@")
    tail = parts[2:]
    if at and revision == "refs" and tail[:1] and tail[0] in _SPECIAL_REFS:
        revision, tail = "/".join(["refs", *tail[:2]]), tail[2:]
    if (at and not revision) or not name:
        raise ConfigError(f"input {url}: thresher reads Hub datasets as {_FORM}")
    return HubPath(repo=f"{parts[0]}/{name}", revision=unquote(revision) if at else None,
                   path="/".join(p for p in tail if p))


def local_copy(url: str) -> str:
    """Fetch the Hub input ``url`` into the Hugging Face cache (only what is not there
    yet); return its local path, which the run then reads."""
    where = parse_hub(url)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(f"input {url}: hf:// inputs need the hf extra: "
                          "pip install 'thresher[hf]'") from None
    patterns = [where.path, f"{where.path}/**"] if where.path else None
    try:
        folder = snapshot_download(where.repo, repo_type="dataset", revision=where.revision,
                                   allow_patterns=patterns)
    except Exception as exc:  # noqa: BLE001 - network, auth and cache errors: one line
        raise ConfigError(f"input {url}: cannot fetch it from the Hugging Face Hub: "
                          + " ".join(str(exc).split())) from None
    local = os.path.join(folder, *where.path.split("/")) if where.path else folder
    if not os.path.lexists(local):
        raise ConfigError(f"input {url}: {where.path} is not in {where.repo}"
                          + (f" at {where.revision}" if where.revision else ""))
    return local


def local_paths(paths: tuple[str, ...]) -> tuple[str, ...]:
    """``paths`` with each Hub input replaced by its local copy (see :func:`local_copy`)."""
    return tuple(local_copy(p) if is_hub(p) else p for p in paths)
