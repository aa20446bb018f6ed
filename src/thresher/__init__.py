"""thresher: turn crawled web text into a clean, deduplicated corpus, and say why.

Examples:
    >>> import thresher
    >>> thresher.plan(threshold=0.8, match="full").bands
    14
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from thresher._version import __version__
from thresher.config import (
    ClusterConfig,
    Config,
    ContentConfig,
    InputConfig,
    MinHashConfig,
    OutputConfig,
    RunConfig,
    config_from_mapping,
)
from thresher.core.plan import LshPlan
from thresher.errors import ConfigError, InputError, StageError, ThresherError, WorkerError
from thresher.pipeline.plan import MatchPlan

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ClusterConfig",
    "Config",
    "ConfigError",
    "ContentConfig",
    "InputConfig",
    "InputError",
    "LshPlan",
    "MatchPlan",
    "MinHashConfig",
    "OutputConfig",
    "RunConfig",
    "StageError",
    "ThresherError",
    "WorkerError",
    "__version__",
    "config_from_mapping",
    "dedup",
    "plan",
    "write_report",
]


def dedup(config: Config | Mapping[str, Any] | None = None, /, **options: Any) -> dict[str, Any]:
    """Deduplicate a corpus; return the run summary (also written to ``summary.json``).

    Args:
        config: A [`Config`][thresher.config.Config], or a mapping of option names as
            [`config_from_mapping`][thresher.config.config_from_mapping] takes them.
        **options: The same option names as keywords (``inputs``, ``output``,
            ``threshold``, ``match``, ``executor``, ...): those of the CLI, with
            underscores for dashes.

    Returns:
        The summary, as in ``OUTPUT/summary.json``: ``counts`` (read, kept, duplicate,
        rejected), ``config``, ``plan``, ``run`` (times, workers) and more.

    Raises:
        ConfigError: An option is unknown or has a value thresher cannot use.
        InputError: With ``strict``, the first record that cannot be used.

    Examples:
        >>> import tempfile, pathlib, thresher
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> (d / "in").mkdir()
        >>> for i in range(3):
        ...     _ = (d / "in" / f"{i}.txt").write_text("the same words" if i < 2 else "other")
        >>> thresher.dedup(inputs=[d / "in"], output=d / "out", executor="serial")["counts"]
        {'read': 3, 'kept': 2, 'duplicate': 1, 'rejected': 0}
    """
    from thresher.pipeline.run import run_dedup

    if not isinstance(config, Config):
        config = config_from_mapping({**(config or {}), **options})
    elif options:
        raise ConfigError("pass either a Config or options, not both")
    return run_dedup(config)


def plan(config: Config | Mapping[str, Any] | None = None, /, **options: Any) -> MatchPlan:
    """Return the plan a run with these options follows (``thresher plan``).

    Args:
        config: A [`Config`][thresher.config.Config], or a mapping of option names.
        **options: The option names [`dedup`][thresher.dedup] takes; ``inputs`` and
            ``output`` may be left out (they do not change the plan).

    Returns:
        The candidates LSH seeks and the rule each verified candidate is judged by.

    Raises:
        ConfigError: An option is unknown or has a value thresher cannot use.

    Examples:
        >>> import thresher
        >>> p = thresher.plan()  # matching on content: candidates from Jaccard 0.3
        >>> (p.threshold, p.candidate_threshold, p.bands, p.rows, p.extra_bands)
        (0.8, 0.3, 32, 2, ('title', 'page'))
    """
    from thresher.pipeline.plan import match_plan

    if not isinstance(config, Config):
        config = config_from_mapping({"inputs": ["."], "output_dir": ".", **(config or {}),
                                      **options})
    elif options:
        raise ConfigError("pass either a Config or options, not both")
    return match_plan(config)


def write_report(run_dir: str | Path, target: str | Path | None = None,
                 *, clusters: int = 2000, sample: int = 500, text_budget: int = 8_000_000,
                 seed: int = 0) -> Path:
    """Write the HTML report of a finished run (``thresher report``); return its path.

    Needs ``pip install 'thresher[report]'``.

    Args:
        run_dir: A finished run's output folder.
        target: The HTML file to write; ``RUN_DIR/report.html`` by default.
        clusters: How many of the largest clusters the page lists.
        sample: How many other clusters, drawn at random (seeded by ``seed``), it lists.
        text_budget: Characters of document text the page may embed: the largest listed
            clusters it allows are shown side by side.
        seed: Seed of the random sample.

    Returns:
        The path of the page written.
    """
    from thresher.report import write_report as write

    return write(run_dir, target, clusters=clusters, sample=sample,
                 text_budget=text_budget, seed=seed)
