"""A small HTTP/1.1 client for streamed POSTs, on asyncio streams: the benchmark's hot path.

General clients parse each chunk of a response through several layers (httpx: httpcore and h11,
in pure Python); measured against a zero-latency server, that made the client, not the server,
the bottleneck. This one does only what a benchmark needs: keep-alive connections, a JSON POST,
a chunked, sized or close-delimited body handed over as it arrives, with the time it arrived.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
HEAD_END = b"\r\n\r\n"
LINE_END = b"\r\n"
ERROR_BODY_BYTES = 2048


class StreamBroken(Exception):
    """The connection failed or the response was not HTTP as expected."""


@dataclass
class Pool:
    """Keep-alive connections to one origin, at most `limit` at once (None: no limit)."""

    base_url: str
    headers: dict[str, str]
    limit: int | None = None
    idle: list[tuple[Reader, Writer]] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.slots = asyncio.Semaphore(self.limit) if self.limit else None
        host_header = parts.netloc.rpartition("@")[2]
        lines = [f"Host: {host_header}", "Content-Type: application/json", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        self.fixed_headers = ("\r\n".join(lines) + "\r\n").encode()

    async def _connection(self) -> tuple[Reader, Writer]:
        while self.idle:
            reader, writer = self.idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port, ssl=self.ssl)

    async def post(self, path: str, body: bytes, on_data: Callable[[bytes], None]) -> tuple[int, bytes]:
        """POST `body`; each piece of a 200 answer goes to on_data as it arrives.

        Returns the status, and the start of the body for any other status.
        """
        if self.slots is None:
            return await self._post(path, body, on_data)
        async with self.slots:  # waiting here is part of the request's time
            return await self._post(path, body, on_data)

    async def _post(self, path: str, body: bytes, on_data: Callable[[bytes], None]) -> tuple[int, bytes]:
        reader, writer = await self._connection()
        reusable = False
        try:
            request_line = f"POST {path} HTTP/1.1\r\nContent-Length: {len(body)}\r\n".encode()
            writer.write(request_line + self.fixed_headers + LINE_END + body)
            status, headers = _head(await reader.readuntil(HEAD_END))
            sink = on_data if status == 200 else _Collect()
            reusable = await _body(reader, headers, sink)
            return status, (sink.data if isinstance(sink, _Collect) else b"")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError) as error:
            raise StreamBroken(type(error).__name__) from None
        finally:
            if reusable:
                self.idle.append((reader, writer))
            else:
                writer.close()

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


class _Collect:
    def __init__(self) -> None:
        self.data = b""

    def __call__(self, data: bytes) -> None:
        if len(self.data) < ERROR_BODY_BYTES:
            self.data += data


def _head(raw: bytes) -> tuple[int, dict[bytes, bytes]]:
    lines = raw.split(LINE_END)
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise StreamBroken(f"not an HTTP/1.1 response: {lines[0][:60]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.strip().lower()] = value.strip().lower()
    return int(parts[1]), headers


async def _body(reader: Reader, headers: dict[bytes, bytes], on_data: Callable[[bytes], None]) -> bool:
    """Read the body to its end; True when the connection can carry another request."""
    keep_alive = headers.get(b"connection") != b"close"
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        while True:
            size = int((await reader.readuntil(LINE_END)).split(b";", 1)[0], 16)
            if size == 0:
                while await reader.readuntil(LINE_END) != LINE_END:
                    pass  # trailers
                return keep_alive
            on_data((await reader.readexactly(size + 2))[:-2])
    if b"content-length" in headers:
        remaining = int(headers[b"content-length"])
        while remaining > 0:
            data = await reader.read(min(remaining, 65536))
            if not data:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(data)
            on_data(data)
        return keep_alive
    while data := await reader.read(65536):  # delimited by the end of the connection
        on_data(data)
    return False
