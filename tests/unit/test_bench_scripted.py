"""`llmserve bench` against a scripted streaming server: the figures come out as scripted."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmserve.bench.load import Load, run_load_async
from llmserve.bench.metrics import request_metrics
from llmserve.bench.runner import BenchOptions, run_bench
from llmserve.cli import app
from llmserve.errors import ExitCode
from tests.fixtures.scripted_server import MODEL, Script, serving

runner = CliRunner()
TIMING = 0.06  # relative tolerance on scripted timings (asyncio timers on a shared 2-core machine)


def no_progress(_label: str, _total: int | None) -> Any:
    return lambda: None


def bench(url: str, **options: Any) -> dict[str, Any]:
    load = Load(**options.pop("load", {}))
    runs = run_bench(BenchOptions(url=url, load=load, **options), no_progress)
    return runs[0].document


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def url(script: Script) -> Iterator[str]:
    with serving(script) as base:
        yield base


def test_timings_come_out_as_scripted(script: Script, url: str) -> None:
    script.ttft_s, script.chunk_delay_s = 0.2, 0.03
    load = {"concurrency": 2, "requests": 6, "warmup": 2}
    doc = bench(url, load=load, input_tokens=12, output_tokens=10)
    assert doc["requests"] == {"completed": 6, "failed": 0, "errors": {}}
    assert doc["ttft_ms"]["p50"] == pytest.approx(200, rel=TIMING)
    assert doc["itl_ms"]["p50"] == pytest.approx(30, rel=TIMING)
    assert doc["tpot_ms"]["p50"] == pytest.approx(30, rel=TIMING)
    assert doc["e2el_ms"]["p50"] == pytest.approx(200 + 9 * 30, rel=TIMING)
    assert doc["output_tokens"] == {"total": 60, "source": "usage", "per_chunk": "usage deltas"}
    assert doc["input_tokens"]["total"] == 6 * 12  # exact prompts, by the server's tokenizer
    assert doc["output_tokens_per_s"] == pytest.approx(60 / doc["duration_s"], rel=0.01)
    assert doc["engine"] == "vllm" and doc["model"] == MODEL
    body = script.bodies[-1]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert body["max_tokens"] == 10 and body["ignore_eos"] is True
    assert len({b["messages"][0]["content"] for b in script.bodies}) == 8  # every prompt differs


def test_multi_token_chunks_are_split_into_per_token_gaps(script: Script, url: str) -> None:
    # Delays long enough that a busy machine's scheduling jitter stays within the tolerance.
    script.ttft_s, script.chunk_delay_s, script.tokens_per_chunk = 0.05, 0.08, 4
    doc = bench(url, load={"concurrency": 1, "requests": 3, "warmup": 1}, input_tokens=5, output_tokens=12)
    # 12 tokens in chunks of 4, 80 ms apart: 8 gaps of 20 ms (vLLM's ITL would say 80 ms).
    assert doc["itl_ms"]["p50"] == pytest.approx(20, rel=TIMING)
    assert doc["itl_ms"]["mean"] == pytest.approx(20, rel=TIMING)
    assert doc["tpot_ms"]["p50"] == pytest.approx(160 / 11, rel=TIMING)
    assert doc["longest_stall_ms"]["p50"] == pytest.approx(80, rel=TIMING)
    assert doc["output_tokens"]["total"] == 36


def test_tgi_dialect_tokenize_offsets_no_ignore_eos_one_token_per_chunk(script: Script, url: str) -> None:
    script.engine, script.chunk_delay_s, script.tokens_per_chunk = "tgi", 0.05, 2
    doc = bench(url, load={"requests": 4, "warmup": 1}, input_tokens=7, output_tokens=6)
    assert doc["engine"] == "tgi" and doc["engine_version"] == "3.3.7-scripted"
    assert "TGI" in doc["prompts"]
    assert doc["input_tokens"]["total"] == 28
    assert "ignore_eos" not in script.bodies[-1]
    assert script.bodies[-1]["stream_options"] == {"include_usage": True}
    assert any("no ignore_eos" in w for w in doc["warnings"])
    assert doc["output_tokens"] == {"total": 24, "source": "usage", "per_chunk": "one per chunk"}
    assert doc["itl_ms"]["mean"] == pytest.approx(50, rel=TIMING)  # unknown chunk sizes: as vLLM counts


def test_without_a_tokenize_route_prompts_are_estimated_with_a_warning(script: Script, url: str) -> None:
    script.engine = "bare"
    doc = bench(url, load={"requests": 2}, input_tokens=9, output_tokens=3, endpoint="completions")
    assert doc["engine"] == "unknown"
    assert doc["prompts"].startswith("estimate")
    assert any("no tokenize route" in w for w in doc["warnings"])
    assert doc["input_tokens"]["total"] == 18  # from the server's usage
    assert "prompt" in script.bodies[-1] and "ignore_eos" not in script.bodies[-1]


def test_failures_mid_stream_are_counted_and_excluded(script: Script, url: str) -> None:
    script.fail_every, script.fail_after_chunks, script.chunk_delay_s = 3, 2, 0.005
    doc = bench(url, load={"concurrency": 3, "requests": 9}, input_tokens=4, output_tokens=6)
    assert doc["requests"]["completed"] == 6 and doc["requests"]["failed"] == 3
    assert doc["output_tokens"]["total"] == 36
    assert all(error.startswith("connection broken: ") for error in doc["requests"]["errors"])
    assert any("3 request(s) failed" in w for w in doc["warnings"])


def test_http_errors_are_failures_with_their_status(script: Script, url: str) -> None:
    script.error_status_every = 2
    doc = bench(url, load={"requests": 4}, input_tokens=4, output_tokens=2)
    assert doc["requests"]["failed"] == 2
    assert list(doc["requests"]["errors"]) == ['HTTP 500: {"error": "scripted failure"}']


def test_a_client_at_its_limit_warns_and_its_delay_shows_in_ttft(script: Script, url: str) -> None:
    script.ttft_s, script.chunk_delay_s = 0.5, 0.01
    payload = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
        "stream": True,
    }

    async def busy_client() -> Any:
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, time.sleep, 0.6)  # the client's loop blocked, as by heavy work
        return await run_load_async(f"{url}/v1/chat/completions", {}, lambda _i: payload, Load(requests=1))

    result = asyncio.run(busy_client())
    assert max(result.loop_lag_s) >= 0.3
    metrics = request_metrics(result.records[0])
    assert metrics.ttft is not None and metrics.ttft >= 0.6  # the stall is in the figure, and said


def test_the_lag_warning_reaches_the_report(
    script: Script, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmserve.bench import runner as bench_runner

    monkeypatch.setattr(bench_runner, "LAG_WARNING_MS", -1.0)
    script.ttft_s = 0.05
    doc = bench(url, load={"requests": 1}, input_tokens=3, output_tokens=2)
    assert any("event loop lagged" in w for w in doc["warnings"])


def test_open_loop_sends_at_the_seeded_poisson_rate(script: Script, url: str) -> None:
    doc = bench(
        url,
        load={"rate": 40.0, "concurrency": None, "requests": 30, "seed": 3},
        input_tokens=3,
        output_tokens=2,
    )
    assert doc["load"]["mode"] == "open" and doc["requests"]["completed"] == 30
    assert doc["requests_per_s"] == pytest.approx(40, rel=0.5)


def test_duration_bounds_a_closed_loop(script: Script, url: str) -> None:
    script.chunk_delay_s = 0.01
    doc = bench(
        url, load={"requests": None, "duration_s": 0.5, "concurrency": 2}, input_tokens=3, output_tokens=5
    )
    assert 0.5 <= doc["duration_s"] < 0.8
    assert doc["requests"]["completed"] >= 10


def test_cli_slo_missed_exits_9_after_printing_the_json(script: Script, url: str) -> None:
    script.ttft_s = 0.1
    args = ["bench", url, "--requests", "2", "--input-tokens", "4", "--output-tokens", "3", "--json"]
    result = runner.invoke(app, [*args, "--slo", "ttft.p99<=20ms", "--slo", "tpot.p50<=1s"])
    assert result.exit_code == ExitCode.SLO_MISSED, result.output
    assert int(ExitCode.SLO_MISSED) == 9
    document = json.loads(result.stdout)
    assert document["schema"] == "llmserve.bench/1"
    assert [s["ok"] for s in document["slo"]] == [False, True]
    assert "error: SLO missed: ttft.p99" in result.stderr
    assert runner.invoke(app, [*args, "--slo", "ttft.p99<=2s"]).exit_code == 0


def test_cli_reports_on_stderr_and_keeps_the_api_key_out_of_everything(
    script: Script, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script.api_key = "sk-bench-secret-4242"
    monkeypatch.setenv("LLMSERVE_API_KEY", script.api_key)
    out = tmp_path / "report"
    result = runner.invoke(app, ["bench", url, "--requests", "3", "--input-tokens", "4", "--output-tokens", "3",
                                 "--output", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "TTFT" in result.stderr and "throughput" in result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["bench.json", "in_flight.png", "latency_cdf.png", "report.html", "requests.csv"]
    assert len((out / "requests.csv").read_text().splitlines()) == 4
    for path in out.iterdir():
        assert b"sk-bench-secret-4242" not in path.read_bytes()
    assert "sk-bench-secret-4242" not in result.output
    monkeypatch.delenv("LLMSERVE_API_KEY")
    refused = runner.invoke(app, ["bench", url, "--requests", "1"])
    assert refused.exit_code == ExitCode.SMOKE_FAILED and "API key" in refused.stderr


def test_cli_sweep_gives_one_document_per_level(script: Script, url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", url, "--requests", "4", "--input-tokens", "3", "--output-tokens", "3",
                                 "--sweep", "concurrency=1,2", "--json", "--output", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["sweep"] == {"parameter": "concurrency", "values": [1.0, 2.0]}
    assert [run["load"]["concurrency"] for run in document["runs"]] == [1, 2]
    assert (tmp_path / "sweep.png").stat().st_size > 10_000


def test_cli_prompts_file_and_completions(script: Script, url: str, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "one two three", "max_tokens": 2}\n\n{"prompt": "four five"}\n')
    result = runner.invoke(app, ["bench", url, "--requests", "4", "--endpoint", "completions", "--prompts",
                                 str(prompts), "--output-tokens", "5", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["output_tokens"]["total"] == 2 + 5 + 2 + 5
    assert document["input_tokens"]["total"] == 3 + 2 + 3 + 2
    assert [b["prompt"] for b in script.bodies] == ["one two three", "four five"] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--requests", "0"], "--requests 0 must be a number above 0"),
        (["--sweep", "threads=1,2"], "--sweep 'threads=1,2'"),
        (["--slo", "ttft<1s"], "--slo 'ttft<1s'"),
        (["--endpoint", "embeddings"], "--endpoint 'embeddings'"),
        (["--prompts", "/nonexistent.jsonl"], "--prompts /nonexistent.jsonl"),
        (["--duration", "nan"], "--duration nan must be a number above 0"),
        (["--rate", "inf"], "--rate inf must be a number above 0"),
        (["--sweep", "concurrency=1,nan"], "--sweep 'concurrency=1,nan'"),
        (["--sweep", "rate=inf"], "--sweep 'rate=inf'"),
        (["--sweep", ""], "--sweep ''"),
        (["--input-tokens", "99999999999"], "--input-tokens 1e+11 is more than a benchmark takes"),
        (["--requests", "99999999999999999999"], "--requests 1e+20 is more than a benchmark takes"),
        (["--warmup", "99999999999999"], "--warmup 1e+14 is more than a benchmark takes"),
        (["--concurrency", "99999999999999999999"], "--concurrency 1e+20 is more than a benchmark takes"),
        (["--sweep", "concurrency=1,1000000"], "--concurrency 1e+06 is more than a benchmark takes"),
        (["--duration", "1e12"], "--duration 1e+12 is more than a benchmark takes"),
        (["--model", ""], "--model '' names no model"),
        (["--output", ""], "the path is empty"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args: list[str], message: str, url: str) -> None:
    result = runner.invoke(app, ["bench", url, *args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_cli_a_server_that_does_not_answer_is_a_smoke_failure() -> None:
    result = runner.invoke(app, ["bench", "http://127.0.0.1:9", "--requests", "1"])
    assert result.exit_code == ExitCode.SMOKE_FAILED
    assert "did not answer" in result.stderr


def test_cli_missing_matplotlib_is_one_line_with_the_fix(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(app, ["bench", url, "--requests", "1", "--output", str(tmp_path / "r")])
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "pip install 'llmserve[bench]'" in result.stderr
    assert not (tmp_path / "r").exists()


def test_run_bench_refuses_detach_and_bad_values_before_launching() -> None:
    spec = str(Path(__file__).resolve().parents[2] / "examples" / "qwen.yaml")
    detached = runner.invoke(app, ["run", spec, "--bench", "--detach"])
    assert detached.exit_code == ExitCode.USAGE and "leave out --detach" in detached.stderr
    bad = runner.invoke(app, ["run", spec, "--bench", "--slo", "fast"])
    assert bad.exit_code == ExitCode.USAGE and "--slo 'fast'" in bad.stderr


def test_cli_an_output_that_is_a_file_is_refused_before_the_run(url: str, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine")
    result = runner.invoke(app, ["bench", url, "--requests", "1", "--output", str(taken)])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert f"--output '{taken}' is not a directory" in result.stderr and "Traceback" not in result.output
    assert taken.read_text() == "mine"


def test_cli_a_run_that_fails_leaves_no_output_directory(tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = runner.invoke(app, ["bench", "http://127.0.0.1:9", "--requests", "1", "--output", str(report)])
    assert result.exit_code == ExitCode.SMOKE_FAILED, result.output
    assert not report.exists()


def test_cli_links_planted_in_the_output_directory_are_replaced_never_followed(
    url: str, tmp_path: Path
) -> None:
    report, victims = tmp_path / "report", tmp_path / "victims"
    report.mkdir()
    victims.mkdir()
    for name in ("bench.json", "requests.csv", "latency_cdf.png", "report.html"):
        (victims / name).write_text("mine")
        (report / name).symlink_to(victims / name)
    result = runner.invoke(app, ["bench", url, "--requests", "2", "--output", str(report)])
    assert result.exit_code == 0, result.output
    for name in ("bench.json", "requests.csv", "latency_cdf.png", "report.html"):
        assert (victims / name).read_text() == "mine"
        assert (report / name).is_file() and not (report / name).is_symlink()
