"""Benchmark metrics from recorded timestamps: golden values, no server."""

from __future__ import annotations

import pytest

from llmserve.bench.limits import parse_regression, parse_slo
from llmserve.bench.load import arrival_offsets
from llmserve.bench.metrics import Chunk, RequestRecord, Slo, percentile, request_metrics, summarize
from llmserve.errors import SpecError


def streamed(
    sent: float, times: list[float], *, usage: list[int] | None = None, total: int | None = None
) -> RequestRecord:
    chunks = [Chunk(t, True, usage[i] if usage else None) for i, t in enumerate(times)]
    return RequestRecord(
        sent=sent, chunks=chunks, ended=times[-1] + 0.001, output_tokens=total, prompt_tokens=10
    )


def test_one_token_per_chunk_matches_vllms_definitions() -> None:
    record = streamed(1.0, [1.2, 1.25, 1.30, 1.40], total=4)
    m = request_metrics(record)
    assert m.ok
    assert m.ttft == pytest.approx(0.2)
    assert m.e2el == pytest.approx(0.4)
    assert m.tpot == pytest.approx((0.4 - 0.2) / 3)
    assert m.gaps == pytest.approx((0.05, 0.05, 0.10))
    assert m.longest_stall == pytest.approx(0.10)
    assert (m.output_tokens, m.input_tokens) == (4, 10)


def test_a_chunk_of_k_tokens_counts_as_k_gaps_when_usage_says_so() -> None:
    # Cumulative usage 1, 4, 6: the second chunk carried 3 tokens, the third 2.
    record = streamed(0.0, [0.1, 0.4, 0.6], usage=[1, 4, 6], total=6)
    m = request_metrics(record)
    assert m.chunk_counts_known
    assert m.gaps == pytest.approx((0.1, 0.1, 0.1, 0.1, 0.1))
    assert m.tpot == pytest.approx(0.5 / 5)
    assert m.mean_itl == pytest.approx(m.tpot)  # vLLM's ITL would say 0.25: one gap per chunk
    assert m.longest_stall == pytest.approx(0.3)


def test_without_per_chunk_usage_each_chunk_is_one_token_and_usage_gives_the_total() -> None:
    m = request_metrics(streamed(0.0, [0.1, 0.4, 0.6], total=6))
    assert not m.chunk_counts_known
    assert m.gaps == pytest.approx((0.3, 0.2))
    assert m.output_tokens == 6
    assert m.tpot == pytest.approx(0.5 / 5)


def test_chunks_without_text_or_tokens_do_not_count_as_the_first_token() -> None:
    record = RequestRecord(
        sent=0.0,
        chunks=[Chunk(0.01, False, 0), Chunk(0.2, True, 1), Chunk(0.3, True, 2)],
        ended=0.31,
        output_tokens=2,
    )
    m = request_metrics(record)
    assert m.ttft == pytest.approx(0.2)
    assert m.gaps == pytest.approx((0.1,))


def test_failed_requests_are_counted_and_excluded() -> None:
    good = request_metrics(streamed(0.0, [0.1, 0.2], total=2))
    broken = request_metrics(
        RequestRecord(sent=0.0, chunks=[Chunk(0.1, True)], ended=0.15, error="ReadError: x")
    )
    empty = request_metrics(RequestRecord(sent=0.0, ended=0.1))
    summary = summarize([good, broken, empty], duration_s=2.0)
    assert (summary.completed, summary.failed) == (1, 2)
    assert summary.errors == {"ReadError: x": 1, "the stream ended without a token": 1}
    assert summary.latencies_ms["ttft"]["p50"] == pytest.approx(100.0)
    assert summary.requests_per_s == pytest.approx(0.5)
    assert summary.output_tokens_per_s == pytest.approx(1.0)


def test_percentiles_interpolate_as_numpy_does() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 90) == pytest.approx(7.6)
    assert percentile(values, 99) == pytest.approx(9.76)
    assert percentile([5.0], 99) == 5.0


def test_slos_and_goodput() -> None:
    fast = request_metrics(streamed(0.0, [0.1, 0.12, 0.14], total=3))
    slow = request_metrics(streamed(0.0, [0.9, 0.92, 0.94], total=3))
    summary = summarize([fast, slow], 1.0, [Slo("ttft", "p50", 500.0), Slo("tpot", "p99", 30.0)])
    assert summary.goodput_per_s == pytest.approx(1.0)  # only the fast one meets TTFT <= 500 ms
    assert summary.slo == [
        {"metric": "ttft.p50", "limit_ms": 500.0, "value_ms": 500.0, "ok": True},
        {"metric": "tpot.p99", "limit_ms": 30.0, "value_ms": 20.0, "ok": True},
    ]
    assert summarize([], 1.0, [Slo("ttft", "p50", 1.0)]).slo[0]["ok"] is False


def test_limits_parse_or_say_how_to_write_them() -> None:
    assert parse_slo("ttft.p99<=500ms") == Slo("ttft", "p99", 500.0)
    assert parse_slo(" e2el.mean <= 1.5s ") == Slo("e2el", "mean", 1500.0)
    regression = parse_regression("output_tokens_per_s=10%")
    assert (regression.metric, regression.percent, regression.higher_is_worse) == (
        "output_tokens_per_s",
        10.0,
        False,
    )
    assert parse_regression("tpot.p50=5%").higher_is_worse
    for bad in ("ttft<=5ms", "ttft.p99<500ms", "ttfb.p99<=5ms", "ttft.p42<=5ms", "ttft.p99<=fast"):
        with pytest.raises(SpecError, match="--slo"):
            parse_slo(bad)
    for bad in ("tpot.p50=5", "speed=5%", "tpot.p50"):
        with pytest.raises(SpecError, match="--max-regression"):
            parse_regression(bad)


def test_poisson_arrivals_are_seeded_and_have_the_asked_rate() -> None:
    first = list(zip(range(2000), arrival_offsets(4.0, seed=7), strict=False))
    again = list(zip(range(2000), arrival_offsets(4.0, seed=7), strict=False))
    assert first == again
    assert first[0][1] == 0.0
    assert 1999 / first[-1][1] == pytest.approx(4.0, rel=0.1)
    assert list(zip(range(5), arrival_offsets(4.0, seed=8), strict=False)) != first[:5]
