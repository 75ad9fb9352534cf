"""Load generation: streamed requests, closed loop (a fixed concurrency) or open loop (Poisson).

The client records what it saw (per-chunk arrival times and usage) and nothing else: metrics are
computed afterwards by `metrics`. It watches its own event loop: when the loop lags, arrival times
are late and the figures are the client's, not the server's.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from llmserve.bench.metrics import Chunk, RequestRecord
from llmserve.bench.stream_client import Pool, StreamBroken
from llmserve.redaction import one_line

REQUEST_TIMEOUT_S = 600.0
LAG_PROBE_INTERVAL_S = 0.01
ERROR_TEXT_CHARS = 160
EVENT_BYTES = 2**20  # one server-sent event larger than this is a server gone wrong, not a token
DONE = b"[DONE]"

Clock = Callable[[], float]
PayloadFor = Callable[[int], dict[str, Any]]


@dataclass(frozen=True)
class Load:
    """How requests are sent. `rate` None means closed loop with `concurrency` workers."""

    concurrency: int | None = 1
    rate: float | None = None
    requests: int | None = 100
    duration_s: float | None = None
    warmup: int = 0
    seed: int = 0

    @property
    def mode(self) -> str:
        return "open" if self.rate is not None else "closed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "requests": self.requests,
            "duration_s": self.duration_s,
            "warmup": self.warmup,
            "seed": self.seed,
        }


@dataclass
class LoadResult:
    records: list[RequestRecord]
    started: float
    finished: float
    loop_lag_s: list[float] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.finished - self.started


def arrival_offsets(rate: float, seed: int) -> Iterator[float]:
    """Poisson arrivals: the first at 0, then exponential gaps of mean 1/rate (as vLLM does)."""
    rng = random.Random(seed)
    offset = 0.0
    while True:
        yield offset
        offset += rng.expovariate(rate)


class _Stream:
    """Server-sent events of one response, turned into the request's record as they arrive."""

    def __init__(self, record: RequestRecord) -> None:
        self.record = record
        self.buffer = b""
        self.done = False

    def feed(self, data: bytes, now: float) -> None:
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        self.buffer += data
        *events, self.buffer = self.buffer.split(b"\n\n")
        if len(self.buffer) > EVENT_BYTES:
            raise _StreamError(f"an event over {EVENT_BYTES // 2**20} MiB with no end")
        for event in events:
            self._event(event, now)

    def _event(self, event: bytes, now: float) -> None:
        if event.startswith(b"data: ") and b"\n" not in event:
            payload = event[6:]  # the usual one-line event
        else:
            payload = b"".join(line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:"))
        if not payload:
            return  # a comment or keep-alive
        if payload == DONE:
            self.done = True
            return
        message = json.loads(payload)
        if not isinstance(message, dict):
            return
        if message.get("error"):
            error = message["error"]
            text = error.get("message", error) if isinstance(error, dict) else error
            raise _StreamError(f"error event: {one_line(str(text), ERROR_TEXT_CHARS)}")
        usage = _object(message.get("usage") or {}, "usage")
        cumulative = usage.get("completion_tokens")
        if usage.get("prompt_tokens") is not None:
            self.record.prompt_tokens = int(usage["prompt_tokens"])
        if cumulative is not None:
            self.record.output_tokens = int(cumulative)
        choices = message.get("choices")
        if choices:
            choice = _object(choices[0] if isinstance(choices, list) else None, "choices[0]")
            text = _object(choice.get("delta") or {}, "delta").get("content") or choice.get("text") or ""
            self.record.chunks.append(Chunk(now, bool(text), cumulative))


def _object(value: Any, name: str) -> dict[str, Any]:
    """A JSON object of an event, or the request fails: a malformed event is the server's error."""
    if not isinstance(value, dict):
        raise _StreamError(f"malformed event: {name} is not a JSON object")
    return value


class _StreamError(Exception):
    pass


async def send_one(
    pool: Pool, path: str, payload: dict[str, Any], sent: float, clock: Clock
) -> RequestRecord:
    """One streamed request; never raises, failures end up in the record."""
    record = RequestRecord(sent=sent)
    stream = _Stream(record)
    try:
        status, error_body = await asyncio.wait_for(
            pool.post(path, json.dumps(payload).encode(), lambda data: stream.feed(data, clock())),
            REQUEST_TIMEOUT_S,
        )
        if status != 200:
            record.error = f"HTTP {status}: {one_line(error_body.decode(errors='replace'), ERROR_TEXT_CHARS)}"
        elif not stream.done:
            record.error = "the stream ended before [DONE]"
    except _StreamError as error:
        record.error = str(error)
    except StreamBroken as error:
        record.error = f"connection broken: {error}"
    except asyncio.TimeoutError:
        record.error = f"no answer within {REQUEST_TIMEOUT_S:.0f} s"
    except ValueError as error:  # a malformed event or chunk
        record.error = f"{type(error).__name__}: {one_line(str(error), ERROR_TEXT_CHARS)}"
    record.ended = clock()
    return record


async def _lag_monitor(samples: list[float], clock: Clock) -> None:
    while True:
        before = clock()
        await asyncio.sleep(LAG_PROBE_INTERVAL_S)
        samples.append(max(clock() - before - LAG_PROBE_INTERVAL_S, 0.0))


async def _closed_loop(
    client: Pool,
    path: str,
    payload_for: PayloadFor,
    workers: int,
    count: int | None,
    deadline: float | None,
    first_index: int,
    on_done: Callable[[], None],
    clock: Clock,
) -> list[RequestRecord]:
    records: dict[int, RequestRecord] = {}
    indices = itertools.count()

    async def worker() -> None:
        while True:
            index = next(indices)
            if (count is not None and index >= count) or (deadline is not None and clock() >= deadline):
                return
            records[index] = await send_one(client, path, payload_for(first_index + index), clock(), clock)
            on_done()

    if count is not None:
        workers = min(workers, count)  # a worker for each request at most
    await asyncio.gather(*(worker() for _ in range(workers)))
    return [records[i] for i in sorted(records)]


async def _open_loop(
    client: Pool,
    path: str,
    payload_for: PayloadFor,
    load: Load,
    first_index: int,
    on_done: Callable[[], None],
    clock: Clock,
) -> list[RequestRecord]:
    assert load.rate is not None
    started = clock()
    tasks: list[asyncio.Task[RequestRecord]] = []

    async def one(index: int, due: float) -> RequestRecord:
        # With --concurrency, the pool makes late requests wait: that wait counts, they were due at `due`.
        record = await send_one(client, path, payload_for(first_index + index), due, clock)
        on_done()
        return record

    for index, offset in enumerate(arrival_offsets(load.rate, load.seed)):
        if load.requests is not None and index >= load.requests:
            break
        if load.duration_s is not None and offset >= load.duration_s:
            break
        due = started + offset
        wait = due - clock()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(index, due)))
    return list(await asyncio.gather(*tasks))


async def run_load_async(
    url: str,
    headers: dict[str, str],
    payload_for: PayloadFor,
    load: Load,
    *,
    on_done: Callable[[], None] = lambda: None,
    clock: Clock = time.perf_counter,
) -> LoadResult:
    """Warm up (not recorded), then send the measured requests; payload_for(i) gives request i."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    client = Pool(f"{parts.scheme}://{parts.netloc}", headers, limit=load.concurrency)
    # What exists now lives through the run: the collector need not scan it again and again (long
    # pauses of the event loop otherwise, in a process that has imported a CLI's worth of modules).
    gc.collect()
    gc.freeze()
    try:
        if load.warmup:
            workers = min(load.concurrency or load.warmup, load.warmup)
            await _closed_loop(client, path, payload_for, workers, load.warmup, None, 0, lambda: None, clock)
        lag: list[float] = []
        monitor = asyncio.create_task(_lag_monitor(lag, clock))
        started = clock()
        if load.rate is None:
            deadline = started + load.duration_s if load.duration_s is not None else None
            records = await _closed_loop(
                client, path, payload_for, load.concurrency or 1, load.requests, deadline, load.warmup,
                on_done, clock,
            )  # fmt: skip
        else:
            records = await _open_loop(client, path, payload_for, load, load.warmup, on_done, clock)
        finished = clock()
        monitor.cancel()
    finally:
        client.close()
        gc.unfreeze()
    return LoadResult(records=records, started=started, finished=finished, loop_lag_s=lag)


def run_load(
    url: str,
    headers: dict[str, str],
    payload_for: PayloadFor,
    load: Load,
    *,
    on_done: Callable[[], None] = lambda: None,
) -> LoadResult:
    return asyncio.run(run_load_async(url, headers, payload_for, load, on_done=on_done))
