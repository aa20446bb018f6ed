"""One configuration object for the CLI, TOML files and the Python API.

Every option lives in a frozen, keyword-only dataclass, nested by concern, and is
validated when it is built (``sections.py``).
[`config_from_mapping`][thresher.config.config_from_mapping] (``reading.py``)
is the single function that turns flat option names (CLI flags, TOML keys) into a
[`Config`][thresher.config.Config].

Examples:
    >>> cfg = config_from_mapping({"inputs": ["corpus"], "output": "out", "threshold": 0.7})
    >>> cfg.minhash.threshold
    0.7
"""

from __future__ import annotations

from thresher.config.reading import config_from_mapping, load_toml
from thresher.config.sections import (
    ClusterConfig,
    Config,
    ContentConfig,
    InputConfig,
    MinHashConfig,
    OutputConfig,
    RunConfig,
)

__all__ = [
    "ClusterConfig",
    "Config",
    "ContentConfig",
    "InputConfig",
    "MinHashConfig",
    "OutputConfig",
    "RunConfig",
    "config_from_mapping",
    "load_toml",
]
