"""Main-content extraction from HTML, with trafilatura or resiliparse.

Both are optional (``pip install 'thresher[html]'``) and imported on first use. Every page
gets its main text (the chosen extractor's), its full visible text (resiliparse, which the
boilerplate analysis can compare with the main text), its title, and a language guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from thresher.errors import ConfigError

__all__ = ["EXTRACTORS", "Page", "decode_html", "extract_page"]

Extractor = Literal["trafilatura", "resiliparse"]
EXTRACTORS: tuple[Extractor, ...] = ("trafilatura", "resiliparse")


@dataclass(frozen=True, kw_only=True)
class Page:
    """What extraction found in one HTML page."""

    text: str
    full_text: str
    title: str | None
    language: str | None


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"reading HTML needs {module.split('.')[0]} ({exc}): "
                          "pip install 'thresher[html]'") from None


def decode_html(body: bytes, charset: str | None) -> str:
    """Decode HTML bytes with the declared charset, else a detected one."""
    encoding = _need("resiliparse.parse.encoding")
    declared = charset if charset and _known(charset) else None
    return str(encoding.bytes_to_str(body, declared or encoding.detect_encoding(body)))


def _known(charset: str) -> bool:
    import codecs

    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True


def extract_page(html: str, extractor: Extractor = "resiliparse") -> Page:
    """Extract the main text, full visible text, title and language of an HTML page.

    Example:
        >>> page = extract_page("<html><head><title>T</title></head><body><p>Hello there, "
        ...                     "this is the article body.</p></body></html>")
        >>> page.title, "article body" in page.text
        ('T', True)
    """
    tree_mod = _need("resiliparse.parse.html")
    text_mod = _need("resiliparse.extract.html2text")
    tree = tree_mod.HTMLTree.parse(html)
    full = text_mod.extract_plain_text(tree, main_content=False)
    if extractor == "trafilatura":
        main = _need("trafilatura").extract(html, include_comments=False) or ""
    elif extractor == "resiliparse":
        main = text_mod.extract_plain_text(tree, main_content=True)
    else:
        raise ConfigError(f"unknown extractor {extractor!r}: use {' or '.join(EXTRACTORS)}")
    title = tree.title.strip() if tree.title else None
    return Page(text=main, full_text=full, title=title or None, language=_language(main))


def _language(text: str) -> str | None:
    if not text.strip():
        return None
    lang, _ = _need("resiliparse.parse.lang").detect_fast(text)
    return str(lang) if lang and lang != "unknown" else None
