"""An S3-API server on loopback for the tests: moto's server mode, a real HTTP endpoint
that s3fs (and boto3) talk to as they talk to AWS, not a mock of the client.

``s3_server`` (function scope) yields an :class:`S3` with a fresh, empty bucket on the
one server that the session starts on a free port of 127.0.0.1. While the server runs,
``AWS_ENDPOINT_URL`` and test credentials are set in ``os.environ``, so thresher's
worker processes (and Ray workers started on this machine) reach it too. Tests skip,
naming the extras, where moto or s3fs is not installed.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
_BUCKETS = itertools.count()


@dataclass(frozen=True)
class S3:
    """An S3 endpoint and a bucket of one's own on it."""

    endpoint: str  # http://127.0.0.1:PORT, also in AWS_ENDPOINT_URL
    bucket: str
    fs: Any  # an s3fs file system on the endpoint, without a listings cache

    def url(self, *parts: str) -> str:
        """``s3://BUCKET/PART/...``."""
        return "/".join((f"s3://{self.bucket}", *parts))

    def keys(self, *parts: str) -> list[str]:
        """Every object under ``parts``, as keys relative to it, sorted."""
        root = "/".join((self.bucket, *parts))
        return sorted(p[len(root) + 1:] for p in self.fs.find(root))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def _moto_endpoint() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        pytest.skip("an S3 server needs moto's server mode: pip install 'thresher[test]' "
                    "(moto[server])")
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pytest.skip("s3:// paths need s3fs: pip install 'thresher[s3]'")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in (*_ENV, "AWS_ENDPOINT_URL")}
    os.environ.update(_ENV, AWS_ENDPOINT_URL=endpoint)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture
def s3_server(_moto_endpoint: str) -> Iterator[S3]:
    """A fresh bucket on the session's S3 server (see the module's docstring)."""
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=_moto_endpoint, use_listings_cache=False,
                           skip_instance_cache=True)
    bucket = f"thresher-test-{os.getpid()}-{next(_BUCKETS)}"
    fs.mkdir(bucket)
    yield S3(endpoint=_moto_endpoint, bucket=bucket, fs=fs)
    fs.rm(bucket, recursive=True)
