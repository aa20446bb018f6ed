"""Page keys: which records are crawls of one page, whatever the format they came in.

The same address crawled twice is one page, whether it came as a WARC response (its main
text, chosen by the HTML extractor) or as a WET conversion (Common Crawl's whole-page
text): what the two share is the page's own text, not text its site puts on every page.
The match rule uses these keys so that two such records are judged as one article in two
wrappers, not as two pages of one site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import numpy as np
import xxhash
from numpy.typing import NDArray

__all__ = ["page_hashes", "page_of"]

_DEFAULT_PORTS = (80, 443)


def page_of(url: str | None) -> str:
    """Return the page ``url`` names: host (lower case, no leading ``www.``), port, path
    and query; '' without a URL.

    The scheme and the fragment are left out: ``http`` and ``https`` crawls of an address,
    and links to parts of it, fetch the same page.

    Examples:
        >>> page_of("https://WWW.Example.org/a/b?x=1#top") == page_of("http://example.org/a/b?x=1")
        True
        >>> page_of("https://example.org/a") == page_of("https://example.org/b")
        False
    """
    if not url or not url.strip():
        return ""
    try:
        parts = urlsplit(url.strip())
        host, port = (parts.hostname or "").removeprefix("www."), parts.port
    except ValueError:  # a port that is not a number, a bracket left open
        return url
    if not host:  # not a web address: the string itself names the page
        return url
    where = host if port is None or port in _DEFAULT_PORTS else f"{host}:{port}"
    return f"{where}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def page_hashes(urls: list[str | None]) -> NDArray[np.uint64]:
    """Return each URL's page key (a hash of :func:`page_of`; never 0), or 0 without one.

    A batch at a time, as the site keys are: Arrow cuts every URL into its scheme and
    network location and the rest; only the distinct network locations are parsed.

    Examples:
        >>> keys = page_hashes(["http://a.org/x", "https://www.a.org/x", None])
        >>> bool(keys[0] == keys[1]), int(keys[2])
        (True, 0)
    """
    import pyarrow as pa

    try:
        url = pa.array(urls, pa.string())
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: one at a time
        return _hashes([page_of(u) for u in urls])
    return _hashes(_pages(url))


def _pages(url: Any) -> list[str | None]:
    """:func:`page_of` of an Arrow array of URLs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    head = pc.struct_field(pc.extract_regex(url, f"^(?P<h>{_HEAD})"), [0])
    # as page_of: a URL that it or urlsplit would clean first (blanks around it, blanks
    # or controls inside) is worked out whole, one at a time
    whole = pc.or_kleene(pc.is_null(head), pc.or_kleene(
        pc.match_substring_regex(url, "[\t\r\n]"),
        pc.not_equal(url, pc.utf8_trim_whitespace(url))))
    rest = pc.replace_substring_regex(url, f"^{_HEAD}", "")
    rest = pc.replace_substring_regex(rest, "#.*$", "")  # the fragment
    rest = pc.replace_substring_regex(rest, "^([^?]*)\\?$", "\\1")  # an empty query
    rest = pc.if_else(pc.starts_with(rest, "/"), rest,
                      pc.binary_join_element_wise("/", rest, ""))  # the path is at least /
    codes = pc.dictionary_encode(pc.fill_null(head, ""))
    where = pa.array([_where(h) for h in codes.dictionary.to_pylist()], pa.string())
    pages = pc.binary_join_element_wise(where.take(codes.indices), rest, "")
    out: list[str | None] = pages.to_pylist()
    alone = pc.or_kleene(whole, pc.is_null(pages))
    for i in np.flatnonzero(alone.to_numpy(zero_copy_only=False)).tolist():
        out[i] = page_of(url[i].as_py())
    return out


def _where(head: str) -> str | None:
    """The host and port :func:`page_of` names for a scheme and network location (None
    where page_of takes the URL whole: no host, or one it cannot parse)."""
    try:
        parts = urlsplit(head)
        host, port = (parts.hostname or "").removeprefix("www."), parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host if port is None or port in _DEFAULT_PORTS else f"{host}:{port}"


def _hashes(pages: list[str | None]) -> NDArray[np.uint64]:
    return np.fromiter((xxhash.xxh3_64_intdigest(p.encode("utf-8", "surrogatepass")) | 1
                        if p else 0 for p in pages), dtype=np.uint64, count=len(pages))


_HEAD = "[A-Za-z][A-Za-z0-9+.\\-]*://[^/?#]*"
