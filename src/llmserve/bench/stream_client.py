"""A small HTTP/1.1 client for streamed POSTs, on asyncio protocols: the benchmark's hot path.

General clients pass each chunk of a response through several layers (httpx: httpcore and h11, in
pure Python, and a coroutine hop per chunk); measured against a zero-latency server, that made the
client, not the server, the bottleneck. This one does only what a benchmark needs: keep-alive
connections, a JSON POST, and a chunked, sized or close-delimited body handed over from the
socket's own data callback, so that each piece is timed when it arrived, with no hop in between.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HEAD_END = b"\r\n\r\n"
LINE_END = b"\r\n"
ERROR_BODY_BYTES = 2048
HEAD_BYTES = 64 * 1024  # response headers larger than this are a server gone wrong
CHUNK_BYTES = 16 * 2**20  # and so is one chunk of a body larger than this
SIZE_LINE_BYTES = 1024
Sink = Callable[[bytes], None]


class StreamBroken(Exception):
    """The connection failed or the response was not HTTP as expected."""


def _chunk_length(line: bytes) -> int:
    """The size in a chunk's size line (hex, optional extensions); StreamBroken if it is none."""
    try:
        size = int(line.split(b";", 1)[0], 16)
    except ValueError:
        size = -1
    if not 0 <= size <= CHUNK_BYTES:
        raise StreamBroken(f"not a chunk size (at most {CHUNK_BYTES // 2**20} MiB): {line[:20]!r}")
    return size


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses one response at a time as its bytes arrive."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.buffer = b""
        self.closed = False
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def start(self, request: bytes, sink: Sink) -> asyncio.Future[tuple[int, bytes, bool]]:
        self.sink, self.status, self.error_body = sink, 0, b""
        self.step: Callable[[], bool] = self._head
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            return
        self.buffer += data
        try:
            if self.step == self._chunk_size and self.status == 200:
                self._chunks()
            while self.waiter is not None and not self.waiter.done() and self.step():
                pass
        except Exception as error:  # the sink's own complaint, or a malformed response
            self.waiter.set_exception(error)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if self.step == self._until_close:
                self._finish(reusable=False)
            else:
                self.waiter.set_exception(StreamBroken(type(exc).__name__ if exc else "closed mid-response"))

    def eof_received(self) -> bool | None:
        return False  # close the transport: connection_lost decides

    # Parsing steps: each returns True when it consumed something and another step may follow.
    def _deliver(self, data: bytes) -> None:
        if self.status == 200:
            self.sink(data)
        elif len(self.error_body) < ERROR_BODY_BYTES:
            self.error_body += data

    def _finish(self, *, reusable: bool) -> None:
        assert self.waiter is not None
        self.waiter.set_result((self.status, self.error_body, reusable and not self.closed))

    def _head(self) -> bool:
        end = self.buffer.find(HEAD_END)
        if end < 0:
            if len(self.buffer) > HEAD_BYTES:
                raise StreamBroken(f"response headers over {HEAD_BYTES // 1024} KiB")
            return False
        lines = self.buffer[:end].split(LINE_END)
        self.buffer = self.buffer[end + len(HEAD_END) :]
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise StreamBroken(f"not an HTTP/1.1 response: {lines[0][:60]!r}")
        self.status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        self.keep_alive = headers.get(b"connection") != b"close"
        if b"chunked" in headers.get(b"transfer-encoding", b""):
            self.step = self._chunk_size
        elif b"content-length" in headers:
            self.remaining = int(headers[b"content-length"])
            self.step = self._sized
        else:
            self.step = self._until_close
        return True

    def _chunks(self) -> None:
        """The hot path: every whole data chunk in the buffer, by index (no copy per chunk)."""
        buffer, position, sink = self.buffer, 0, self.sink
        while True:
            end = buffer.find(LINE_END, position)
            if end < 0:
                break
            size = _chunk_length(buffer[position:end])
            start = end + 2
            if size == 0 or len(buffer) < start + size + 2:
                break  # the last chunk, or one not whole yet: the steps take it from here
            sink(buffer[start : start + size])
            position = start + size + 2
        self.buffer = buffer[position:]

    def _chunk_size(self) -> bool:
        end = self.buffer.find(LINE_END)
        if end < 0:
            if len(self.buffer) > SIZE_LINE_BYTES:
                raise StreamBroken(f"a chunk size line over {SIZE_LINE_BYTES} bytes")
            return False
        size = _chunk_length(self.buffer[:end])
        self.buffer = self.buffer[end + 2 :]
        self.remaining = size
        self.step = self._chunk_data if size else self._trailers
        return True

    def _chunk_data(self) -> bool:
        if len(self.buffer) < self.remaining + 2:
            return False
        self._deliver(self.buffer[: self.remaining])
        self.buffer = self.buffer[self.remaining + 2 :]
        self.step = self._chunk_size
        return True

    def _trailers(self) -> bool:
        end = self.buffer.find(LINE_END)
        if end < 0:
            return False
        line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        if not line:
            self._finish(reusable=self.keep_alive)
        return True

    def _sized(self) -> bool:
        if self.remaining and self.buffer:
            piece, self.buffer = self.buffer[: self.remaining], self.buffer[self.remaining :]
            self.remaining -= len(piece)
            self._deliver(piece)
        if self.remaining == 0:
            self._finish(reusable=self.keep_alive)
            return True
        return False

    def _until_close(self) -> bool:
        if self.buffer:
            self._deliver(self.buffer)
            self.buffer = b""
        return False


@dataclass
class Pool:
    """Keep-alive connections to one origin, at most `limit` at once (None: no limit)."""

    base_url: str
    headers: dict[str, str]
    limit: int | None = None
    idle: list[_Connection] = field(default_factory=list)

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

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self.host, self.port, ssl=self.ssl)
        return connection

    async def post(self, path: str, body: bytes, on_data: Sink) -> tuple[int, bytes]:
        """POST `body`; each piece of a 200 answer goes to on_data as it arrives.

        Returns the status, and the start of the body for any other status.
        """
        if self.slots is None:
            return await self._post(path, body, on_data)
        async with self.slots:  # waiting here is part of the request's time
            return await self._post(path, body, on_data)

    async def _post(self, path: str, body: bytes, on_data: Sink) -> tuple[int, bytes]:
        try:
            connection = await self._connection()
        except OSError as error:
            raise StreamBroken(type(error).__name__) from None
        head = f"POST {path} HTTP/1.1\r\nContent-Length: {len(body)}\r\n".encode()
        try:
            status, error_body, reusable = await connection.start(
                head + self.fixed_headers + LINE_END + body, on_data
            )
        except BaseException:
            connection.transport.close()
            raise
        if reusable:
            self.idle.append(connection)
        else:
            connection.transport.close()
        return status, error_body

    def close(self) -> None:
        for connection in self.idle:
            connection.transport.close()
        self.idle.clear()
