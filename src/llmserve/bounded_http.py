"""HTTP requests that a hostile or broken server cannot stretch: every request llmserve makes.

Each request has a deadline for the whole exchange (connect, headers, body), not only per read: a
server that sends a byte a second is cut off when the deadline passes. Bodies are capped after
decompression (a gzip bomb or an endless chunked body stops at the cap). Every failure becomes
`HttpFailure` with a short reason; nothing a server sends can raise anything else.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

from llmserve.errors import SpecError

MAX_BODY_BYTES = 1 << 20
_CHUNK_BYTES = 64 * 1024
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class HttpFailure(Exception):
    """The request did not get a complete answer; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _shown_url(endpoint: str) -> str:
    """The URL for a message: credentials in it (user:password@) masked, one line."""
    from llmserve.redaction import one_line

    return one_line(re.sub(r"//[^/?#]*@", "//***@", endpoint), 120)


def checked_url(endpoint: str) -> str:
    """An http(s) base URL with a host and a valid port; SpecError (a usage error) otherwise."""
    import httpx

    example = "give one like http://127.0.0.1:8000"
    shown = repr(_shown_url(endpoint))
    if "@" in endpoint.partition("://")[2].split("/", 1)[0]:
        raise SpecError(f"{shown} carries credentials; drop them and give the API key with --api-key-file")
    try:
        url = httpx.URL(endpoint)
        port = url.port
    except (httpx.InvalidURL, ValueError, TypeError):
        raise SpecError(f"{shown} is not a valid URL; {example}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise SpecError(f"{shown} is not an http(s) URL; {example}")
    if port is not None and not 1 <= port <= 65535:
        raise SpecError(f"{shown}: port {port} is outside 1-65535; {example}")
    return endpoint.rstrip("/")


class _Decoder:
    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        self._fed = False
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in _DECODERS:
            self._zlib = zlib.decompressobj(_DECODERS[encoding])
        else:
            raise HttpFailure(f"the body is encoded as {encoding[:20]!r}, which llmserve does not read")

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of `data`, at most `room` + 1 of them (one more says: over the cap)."""
        self._fed = self._fed or bool(data)
        if self._zlib is None:
            return data[: room + 1]
        return self._zlib.decompress(data, room + 1)

    def finish(self) -> None:
        if self._zlib is not None and self._fed and not self._zlib.eof:
            raise HttpFailure("the compressed body is cut short or corrupt")


def _exchange(
    client: Any, method: str, url: str, deadline: float, max_bytes: int, kwargs: dict[str, Any]
) -> Answer:
    with client.stream(method, url, **kwargs) as response:
        decoder = _Decoder(response.headers.get("content-encoding", ""))
        body = bytearray()
        for chunk in response.iter_raw(_CHUNK_BYTES):
            body += decoder.feed(chunk, max_bytes - len(body))
            if len(body) > max_bytes:
                raise HttpFailure(f"the body is larger than {max_bytes // 1024} KiB")
            if time.monotonic() > deadline:
                raise HttpFailure("the answer was still arriving at the deadline")
        decoder.finish()
        return Answer(response.status_code, bytes(body))


def _reason(error: BaseException) -> str:
    import httpx

    if isinstance(error, HttpFailure):
        return error.reason
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return "could not connect; is the server up?"
    if isinstance(error, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return "the answer is not valid HTTP"
    if isinstance(error, zlib.error):
        return "the compressed body is corrupt"
    return f"the request failed ({type(error).__name__})"


class BoundedClient:
    """One connection pool for a series of bounded requests (a readiness poll, a smoke test)."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        import httpx

        self._headers = {"Accept-Encoding": "gzip, deflate", **(headers or {})}
        self._client = httpx.Client(headers=self._headers, follow_redirects=False)

    def __enter__(self) -> BoundedClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        json: Any = None,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> Answer:
        """The whole answer within `timeout` seconds, or HttpFailure."""
        import httpx

        timeout = max(timeout, 0.01)
        deadline = time.monotonic() + timeout
        kwargs: dict[str, Any] = {"timeout": httpx.Timeout(timeout)}
        if json is not None:
            kwargs["json"] = json
        outcome: list[Answer | BaseException] = []

        def work() -> None:
            try:
                outcome.append(_exchange(self._client, method, url, deadline, max_bytes, kwargs))
            except Exception as error:  # a hostile server may provoke anything: it becomes a reason
                outcome.append(error)

        # A worker thread, so that the deadline holds even while the headers trickle in.
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(timeout + 0.2)
        if not outcome:
            raise HttpFailure(f"no complete answer within {timeout:.3g} s")
        result = outcome[0]
        if isinstance(result, BaseException):
            raise HttpFailure(_reason(result))
        return result
