"""httpx's client API on aiohttp's connections: the layer's default outbound transport.

The adapters keep httpx's API (auth flows, event hooks, ``httpx.Response``, the error
classes the retry and in-doubt rules are written against); only the connection work below
the client — connection pool, HTTP/1.1 parsing, socket I/O — is aiohttp's (its C parser, no
anyio). Measured on 127.0.0.1 (``bench/RESULTS.md``): about half the client CPU per request
of httpx's own transport; the layer makes ~7 calls per invoice.

aiohttp's errors become the httpx error that says **how far the request got**, because the
adapters decide by that whether a request may be sent again:

- not sent — ``ConnectError``, ``ConnectTimeout`` (connecting, or waiting for a pooled
  connection): safe to retry;
- sent, answer lost — ``ReadTimeout``, ``RemoteProtocolError`` (the server closed the
  connection without a full answer), ``ReadError`` (reset while reading or writing): in
  doubt (a posting is looked up, never sent blindly again).

An aiohttp error this list does not name is treated as sent (in doubt), the safe side.
Cookies stay with httpx's client (aiohttp keeps none), as do redirects and content decoding.
A proxy named by the environment (``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``, minus
``NO_PROXY``) is used as httpx's own transport would, looked up once per host: aiohttp's
``trust_env`` would read ``~/.netrc`` in a worker thread on every request.
"""

from __future__ import annotations

import ssl
import urllib.request

import aiohttp
import httpx

_NOT_SENT: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS handshake
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
)
_SENT: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed answer
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientOSError, httpx.ReadError),
)


def as_httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp failure of ``request`` (see the module docstring)."""
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(str(exc), request=request)
    for kind, error in (*_NOT_SENT, *_SENT):
        if isinstance(exc, kind):
            return error(str(exc) or type(exc).__name__, request=request)
    return httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}", request=request)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (its own connection pool) per httpx client; made in the event
    loop of the first request, closed with the client. Bodies are read whole (the vendors'
    answers are small; the layer never streams)."""

    def __init__(self, *, limits: httpx.Limits | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._limits = limits or httpx.Limits(max_connections=100,
                                              max_keepalive_connections=20)
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str, int | None], str | None] = {}

    def _proxy(self, url: httpx.URL) -> str | None:
        key = (url.scheme, url.host, url.port)
        if key not in self._proxies:
            proxies = urllib.request.getproxies()
            self._proxies[key] = None if urllib.request.proxy_bypass(url.host) else \
                proxies.get(url.scheme) or proxies.get("all")
        return self._proxies[key]

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                keepalive_timeout=self._limits.keepalive_expiry or 0,
                ssl=self._ssl or httpx.create_ssl_context())
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        # credentials in the URL are httpx's to send (its auth flow made the header of them);
        # aiohttp would refuse a URL with credentials next to an Authorization header
        url = request.url.copy_with(userinfo=b"") if request.url.userinfo else request.url
        headers = request.headers.multi_items()
        if "transfer-encoding" in request.headers:  # a streamed body, read whole above
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        try:
            async with self._client().request(
                    request.method, str(url), headers=headers,
                    data=body or None, allow_redirects=False, proxy=self._proxy(url),
                    timeout=aiohttp.ClientTimeout(
                        total=None, connect=timeout.get("pool"),
                        sock_connect=timeout.get("connect"),
                        sock_read=timeout.get("read"))) as response:
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise as_httpx_error(exc, request) from exc
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(response.status, headers=response.raw_headers, content=content,
                              request=request, extensions=extensions)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = ["AiohttpTransport", "as_httpx_error"]
