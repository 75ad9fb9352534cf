"""Benchmark metrics from recorded timestamps: pure functions, no I/O, no clock.

Definitions follow vLLM's `vllm bench serve` so that figures compare, with two corrections:

- A chunk that carries k tokens counts as k inter-token gaps of gap/k (vLLM counts one gap per
  chunk). k is known when the server reports cumulative usage in every chunk (vLLM's
  `continuous_usage_stats`); otherwise each chunk with text counts as one token, as in vLLM.
- Each request's longest stall (the longest wait between two chunks after the first) is reported.

TTFT = first chunk with tokens - send time; E2EL = last chunk with tokens - send time;
TPOT = (E2EL - TTFT) / (output tokens - 1), output tokens from the final `usage`;
throughputs over the run's wall time; failed requests are counted and excluded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PERCENTILES = (50, 90, 95, 99)
STAT_NAMES = ("mean", *(f"p{p}" for p in PERCENTILES))
LATENCY_METRICS = ("ttft", "itl", "tpot", "e2el")
MS = 1000.0


@dataclass(slots=True)
class Chunk:
    """One streamed event with choices: when it arrived, whether it had text, cumulative usage."""

    at: float
    has_text: bool
    cumulative_tokens: int | None = None


@dataclass
class RequestRecord:
    """What the client saw of one request. Times are seconds on one monotonic clock."""

    sent: float  # when the request was due: connection waits and queueing count against it
    chunks: list[Chunk] = field(default_factory=list)
    ended: float = 0.0
    output_tokens: int | None = None  # the final usage's completion_tokens
    prompt_tokens: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class RequestMetrics:
    ok: bool
    sent: float
    ended: float
    error: str | None
    ttft: float | None = None
    e2el: float | None = None
    tpot: float | None = None
    gaps: tuple[float, ...] = ()  # inter-token latencies, multi-token chunks split
    longest_stall: float | None = None
    output_tokens: int = 0
    input_tokens: int = 0
    chunk_counts_known: bool = False
    output_from_usage: bool = False

    @property
    def mean_itl(self) -> float | None:
        return sum(self.gaps) / len(self.gaps) if self.gaps else None


def _token_counts(chunks: Sequence[Chunk]) -> tuple[list[int], bool]:
    """Tokens each chunk carried, and whether the server said so (usage in every chunk)."""
    if chunks and all(chunk.cumulative_tokens is not None for chunk in chunks):
        counts, previous = [], 0
        for chunk in chunks:
            current = int(chunk.cumulative_tokens or 0)
            counts.append(max(current - previous, 0))
            previous = max(previous, current)
        return counts, True
    return [1 if chunk.has_text else 0 for chunk in chunks], False


def request_metrics(record: RequestRecord, prompt_tokens_sent: int | None = None) -> RequestMetrics:
    """One request's TTFT, E2EL, TPOT, inter-token gaps and longest stall."""
    counts, known = _token_counts(record.chunks)
    token_chunks = [
        (chunk.at, count)
        for chunk, count in zip(record.chunks, counts, strict=True)
        if count > 0 or (chunk.has_text and not known)
    ]
    if record.error is not None or not token_chunks:
        error = record.error or "the stream ended without a token"
        return RequestMetrics(ok=False, sent=record.sent, ended=record.ended, error=error)
    first_at, last_at = token_chunks[0][0], token_chunks[-1][0]
    gaps: list[float] = []
    stall = 0.0
    for (previous_at, _), (at, count) in itertools.pairwise(token_chunks):
        gap = at - previous_at
        stall = max(stall, gap)
        gaps.extend([gap / count] * count)
    from_usage = record.output_tokens is not None
    output_tokens = record.output_tokens if from_usage else sum(count for _, count in token_chunks)
    output_tokens = int(output_tokens or 0)
    ttft, e2el = first_at - record.sent, last_at - record.sent
    tpot = (e2el - ttft) / (output_tokens - 1) if output_tokens > 1 else None
    input_tokens = record.prompt_tokens if record.prompt_tokens is not None else (prompt_tokens_sent or 0)
    return RequestMetrics(
        ok=True,
        sent=record.sent,
        ended=record.ended or last_at,
        error=None,
        ttft=ttft,
        e2el=e2el,
        tpot=tpot,
        gaps=tuple(gaps),
        longest_stall=stall if len(token_chunks) > 1 else None,
        output_tokens=output_tokens,
        input_tokens=input_tokens,
        chunk_counts_known=known,
        output_from_usage=from_usage,
    )


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, which vLLM uses)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats_ms(values: Sequence[float]) -> dict[str, float | None]:
    """mean and percentiles in milliseconds; None for every key when there is nothing to measure."""
    if not values:
        return dict.fromkeys((*STAT_NAMES, "max"))
    result: dict[str, float | None] = {"mean": round(sum(values) / len(values) * MS, 3)}
    for p in PERCENTILES:
        result[f"p{p}"] = round(percentile(values, p) * MS, 3)
    result["max"] = round(max(values) * MS, 3)
    return result


@dataclass(frozen=True)
class Slo:
    """A limit on one statistic of one latency metric, such as ttft.p99 <= 500 ms."""

    metric: str  # ttft, itl, tpot or e2el
    stat: str  # mean, p50, p90, p95, p99
    limit_ms: float

    @property
    def name(self) -> str:
        return f"{self.metric}.{self.stat}"

    def met_by(self, request: RequestMetrics) -> bool:
        """Goodput's per-request test (vLLM's): the request's own value is within the limit.

        For ITL the request's mean inter-token latency is its value; a request without one meets it.
        """
        value = {"ttft": request.ttft, "tpot": request.tpot, "e2el": request.e2el}.get(
            self.metric, request.mean_itl
        )
        return value is None or value * MS <= self.limit_ms


@dataclass(frozen=True)
class Summary:
    completed: int
    failed: int
    errors: dict[str, int]
    duration_s: float
    requests_per_s: float
    output_tokens_per_s: float
    input_tokens_per_s: float
    total_tokens_per_s: float
    latencies_ms: dict[str, dict[str, float | None]]
    longest_stall_ms: dict[str, float | None]
    goodput_per_s: float
    slo: list[dict[str, object]]
    output_tokens_total: int
    input_tokens_total: int
    output_tokens_source: str
    chunk_token_counts: str

    @property
    def slo_met(self) -> bool:
        return all(bool(entry["ok"]) for entry in self.slo)


def summarize(requests: Iterable[RequestMetrics], duration_s: float, slos: Sequence[Slo] = ()) -> Summary:
    """Aggregate a run's requests the way vLLM does, over the run's wall time."""
    all_requests = list(requests)
    done = [r for r in all_requests if r.ok]
    failed = [r for r in all_requests if not r.ok]
    errors: dict[str, int] = {}
    for request in failed:
        errors[str(request.error)] = errors.get(str(request.error), 0) + 1
    samples = {
        "ttft": [r.ttft for r in done if r.ttft is not None],
        "itl": [gap for r in done for gap in r.gaps],
        "tpot": [r.tpot for r in done if r.tpot is not None],
        "e2el": [r.e2el for r in done if r.e2el is not None],
    }
    latencies = {name: stats_ms(values) for name, values in samples.items()}
    output_total = sum(r.output_tokens for r in done)
    input_total = sum(r.input_tokens for r in done)
    per_second = (lambda n: n / duration_s) if duration_s > 0 else (lambda n: 0.0)
    slo_rows: list[dict[str, object]] = []
    for slo in slos:
        value = latencies[slo.metric][slo.stat]
        slo_rows.append(
            {
                "metric": slo.name,
                "limit_ms": slo.limit_ms,
                "value_ms": value,
                "ok": value is not None and value <= slo.limit_ms,
            }
        )
    goodput = per_second(sum(1 for r in done if all(s.met_by(r) for s in slos)))
    return Summary(
        completed=len(done),
        failed=len(failed),
        errors=errors,
        duration_s=duration_s,
        requests_per_s=per_second(len(done)),
        output_tokens_per_s=per_second(output_total),
        input_tokens_per_s=per_second(input_total),
        total_tokens_per_s=per_second(output_total + input_total),
        latencies_ms=latencies,
        longest_stall_ms=stats_ms([r.longest_stall for r in done if r.longest_stall is not None]),
        goodput_per_s=goodput,
        slo=slo_rows,
        output_tokens_total=output_total,
        input_tokens_total=input_total,
        output_tokens_source=_source(done, "output_from_usage", "usage", "counted chunks"),
        chunk_token_counts=_source(done, "chunk_counts_known", "usage deltas", "one per chunk"),
    )


def _source(done: Sequence[RequestMetrics], flag: str, yes: str, no: str) -> str:
    flags = {getattr(r, flag) for r in done}
    if flags == {True}:
        return yes
    if flags == {False}:
        return no
    return f"{yes} (some requests: {no})" if flags else no
