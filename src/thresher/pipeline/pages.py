"""Page keys: which records are crawls of one page, whatever the format they came in.

The same address crawled twice is one page, whether it came as a WARC response (its main
text, chosen by the HTML extractor) or as a WET conversion (Common Crawl's whole-page
text): what the two share is the page's own text, not text its site puts on every page.
The match rule uses these keys so that two such records are judged as one article in two
wrappers, not as two pages of one site.
"""

from __future__ import annotations

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

    Example:
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

    Example:
        >>> keys = page_hashes(["http://a.org/x", "https://www.a.org/x", None])
        >>> bool(keys[0] == keys[1]), int(keys[2])
        (True, 0)
    """
    out = np.zeros(len(urls), dtype=np.uint64)
    for i, url in enumerate(urls):
        if page := page_of(url):
            out[i] = xxhash.xxh3_64_intdigest(page.encode("utf-8", "surrogatepass")) | 1
    return out
