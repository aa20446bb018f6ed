"""Who may call ``thresher serve``: the Host and Origin checks, the token, the access log.

A local server is reachable from the user's browser: a page of any site can send it
requests (cross-site) or have its own name resolve to 127.0.0.1 (DNS rebinding). Both show
in the headers a browser always sends: a ``Host`` naming another site, or an ``Origin``
other than the server's own. :class:`Guard` answers such requests 403 before any route
runs; clients that are not browsers send the server's name and no ``Origin``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thresher.errors import ConfigError

__all__ = ["TOKEN_ENV", "Guard", "Hosts", "allowed_hosts", "bearer_ok", "host_name", "read_token",
           "refusal"]

TOKEN_ENV = "THRESHER_TOKEN"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARD = frozenset({"", "0.0.0.0", "::"})
# host or [v6 address], optional port: nothing else (no user@, path or spaces)
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Hosts:
    """The names a request's ``Host`` may give; ``any_ip``: any IP address as well."""

    names: frozenset[str]
    any_ip: bool = False

    def allow(self, authority: str) -> bool:
        """Whether a ``Host`` value (``name[:port]``) names this server."""
        name = host_name(authority)
        if name is None:
            return False
        return name in self.names or (self.any_ip and _is_ip(name))


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> Hosts:
    """The hosts a server bound to ``bind`` answers: that name, the loopback names when
    bound to loopback, and ``extra`` (names or addresses). Bound to every address
    (``0.0.0.0``, ``::``), any IP address too: a browser sends a page's own address, so
    an address cannot come from DNS rebinding, which needs a name."""
    bound = _canonical(bind)
    names = {bound}
    for given in extra:
        name = host_name(given) or (_canonical(given) if _is_ip(_canonical(given)) else None)
        if name is None:
            raise ConfigError(f"--allow-host {given!r} is not a host name or address")
        names.add(name)
    wildcard = bound in _WILDCARD
    if wildcard or bound == "localhost" or (_is_ip(bound)
                                            and ipaddress.ip_address(bound).is_loopback):
        names |= LOOPBACK
    return Hosts(names=frozenset(names - _WILDCARD), any_ip=wildcard)


def host_name(authority: str) -> str | None:
    """The name in ``name[:port]`` or ``[v6]:port``, lowercased (an address in its
    usual form); None if malformed."""
    m = _AUTHORITY.fullmatch(authority.strip())
    return None if m is None else (_canonical(m.group(1)) or None)


def _canonical(name: str) -> str:
    name = name.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def refusal(headers: Mapping[str, str], hosts: Hosts) -> str | None:
    """Why a request with these headers is refused (a one-line message), or None."""
    host = headers.get("host")
    if host is None or not hosts.allow(host):
        return (f"unknown Host {host!r}: this server answers {', '.join(sorted(hosts.names))}"
                " (thresher serve --allow-host NAME adds one)")
    origin = headers.get("origin")
    if origin is not None:
        scheme, _, rest = origin.partition("://")
        if scheme.lower() not in ("http", "https") or rest.lower() != host.lower():
            return f"requests from {origin!r} are refused: not this server's origin"
    return None


def read_token(token_file: Path | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The token ``POST /add`` must carry: ``token_file``'s content (stripped), else the
    ``THRESHER_TOKEN`` environment variable; None if neither gives one."""
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc}") from None
        if not token:
            raise ConfigError(f"the token file {token_file} is empty")
        return token
    return environ.get(TOKEN_ENV, "").strip() or None


def bearer_ok(authorization: str | None, token: str) -> bool:
    """Whether ``Authorization: Bearer ...`` carries ``token`` (compared in constant time:
    the time taken tells nothing of how much of it matched)."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # bytes: compare_digest refuses str with characters past ASCII
    return hmac.compare_digest(given.strip().encode("latin-1", "replace"),
                               token.encode("utf-8"))


class Guard:
    """ASGI middleware: 403 for a foreign ``Host`` or ``Origin``; one access line per
    request (client, method, path, status, milliseconds) on ``log`` at INFO."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], *,
                 hosts: Hosts, log: logging.Logger) -> None:
        self.app = app
        self.hosts = hosts
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers
        from starlette.responses import JSONResponse

        started, status = time.perf_counter(), [500]  # 500 if the app fails to answer

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            why = refusal(Headers(scope=scope), self.hosts)
            if why is None:
                await self.app(scope, receive, sending)
            else:
                await JSONResponse({"error": why}, status_code=403)(scope, receive, sending)
        finally:
            client = scope.get("client") or ("-", 0)
            self.log.info("%s %s %s %d %.1f ms", client[0], scope["method"], scope["path"],
                          status[0], (time.perf_counter() - started) * 1000)
