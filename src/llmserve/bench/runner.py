"""One benchmark from options to documents: probe the server, make prompts, load it, measure."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmserve.bench import prompts as prompt_sources
from llmserve.bench.load import Load, LoadResult, run_load
from llmserve.bench.metrics import Slo, request_metrics, stats_ms, summarize
from llmserve.bench.prompts import Prompt, PromptSet
from llmserve.bench.report import SCHEMA, Run, machine, run_document
from llmserve.bench.target import Target, probe
from llmserve.console import Console
from llmserve.errors import SmokeFailed, SpecError

ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
SWEEP_PARAMETERS = ("concurrency", "rate")
LAG_WARNING_MS = 5.0  # the client's own event loop must not delay what it measures
DURATION_PROMPT_POOL = 256  # with --duration, prompts are reused from a pool this large


@dataclass(frozen=True)
class BenchOptions:
    url: str
    model: str | None = None
    api_key: str | None = None
    endpoint: str = "chat"
    load: Load = dataclasses.field(default_factory=Load)
    input_tokens: int = 256
    output_tokens: int | None = 128
    prompts_file: Path | None = None
    slos: tuple[Slo, ...] = ()
    sweep: tuple[str, tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise SpecError(f"--endpoint {self.endpoint!r} is not one; use chat or completions")


def parse_sweep(text: str) -> tuple[str, tuple[float, ...]]:
    name, sep, values = text.partition("=")
    try:
        levels = tuple(float(v) for v in values.split(",") if v.strip())
    except ValueError:
        levels = ()
    if not sep or name not in SWEEP_PARAMETERS or not levels or not all(0 < v < math.inf for v in levels):
        raise SpecError(f"--sweep {text!r}: write concurrency=1,2,4 or rate=0.5,1,2 (positive numbers)")
    if name == "concurrency" and any(v != int(v) for v in levels):
        raise SpecError(f"--sweep {text!r}: concurrency levels are whole numbers")
    return name, levels


def build_payload(options: BenchOptions, target: Target, prompt: Prompt) -> dict[str, Any]:
    """The request body: streamed, with usage, a fixed output length where the engine allows it."""
    body: dict[str, Any] = {"model": target.model, "stream": True}
    stream_options: dict[str, Any] = {"include_usage": True}
    if target.reports_usage_per_chunk:
        stream_options["continuous_usage_stats"] = True  # tokens per chunk, for ITL
    body["stream_options"] = stream_options
    if options.endpoint == "chat":
        body["messages"] = prompt.messages or [{"role": "user", "content": prompt.text}]
    elif prompt.text is None:
        raise SpecError("--endpoint completions needs prompts with text; a line gives only messages")
    else:
        body["prompt"] = prompt.text
    max_tokens = prompt.output_tokens or options.output_tokens
    if max_tokens:
        body["max_tokens"] = max_tokens
        if target.supports_ignore_eos:
            body["ignore_eos"] = True
    return body


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _prompt_set(options: BenchOptions, target: Target, count: int, seed: int) -> PromptSet:
    if options.prompts_file is not None:
        return prompt_sources.from_file(options.prompts_file)
    return prompt_sources.synthetic(target, _headers(options.api_key), count, options.input_tokens, seed)


def _levels(options: BenchOptions) -> list[Load]:
    if options.sweep is None:
        return [options.load]
    name, values = options.sweep
    if name == "concurrency":
        return [dataclasses.replace(options.load, concurrency=int(v)) for v in values]
    return [dataclasses.replace(options.load, rate=v) for v in values]


Progress = Callable[[str, int | None], Callable[[], None]]


def _measure(
    options: BenchOptions,
    target: Target,
    load: Load,
    level_seed: int,
    progress: Progress,
    base_warnings: Sequence[str],
) -> Run:
    needed = load.warmup + (load.requests if load.requests is not None else DURATION_PROMPT_POOL)
    prompt_set = _prompt_set(options, target, needed, level_seed)
    pool = prompt_set.prompts
    url = f"{target.url}{ENDPOINTS[options.endpoint]}"
    payloads = [build_payload(options, target, prompt) for prompt in pool]
    label = f"concurrency {load.concurrency}" if load.mode == "closed" else f"rate {load.rate}/s"
    advance = progress(label, load.requests)
    result: LoadResult = run_load(
        url, _headers(options.api_key), lambda i: payloads[i % len(payloads)], load, on_done=advance
    )
    measured = [
        request_metrics(record, pool[(load.warmup + i) % len(pool)].input_tokens)
        for i, record in enumerate(result.records)
    ]
    summary = summarize(measured, result.duration_s, options.slos)
    warnings = [*base_warnings, *prompt_set.warnings, *_warnings(options, target, summary, result)]
    context = {
        "model": target.model,
        "engine": target.engine,
        "engine_version": target.engine_version,
        "url": target.url,
        "endpoint": options.endpoint,
        "machine": machine(),
        "load": {
            "input_tokens": None if options.prompts_file else options.input_tokens,
            "output_tokens": options.output_tokens,
            "ignore_eos": target.supports_ignore_eos and bool(options.output_tokens),
        },
        "prompts": prompt_set.source,
    }
    document = run_document(
        context=context, load=load, summary=summary, loop_lag_s=result.loop_lag_s, warnings=warnings
    )
    return Run(document=document, requests=measured, started=result.started)


def _warnings(options: BenchOptions, target: Target, summary: Any, result: LoadResult) -> list[str]:
    warnings: list[str] = []
    lag = stats_ms(result.loop_lag_s)
    if lag["p99"] is not None and lag["p99"] > LAG_WARNING_MS:
        warnings.append(
            f"the client's event loop lagged (p99 {lag['p99']:.1f} ms, max {lag['max']:.1f} ms): it was "
            "busy, so latencies include its own delays; use fewer concurrent requests or a faster machine"
        )
    if summary.failed:
        first = next(iter(summary.errors))
        warnings.append(f"{summary.failed} request(s) failed and are excluded; first error: {first}")
    if options.output_tokens and not target.supports_ignore_eos and summary.completed:
        mean = summary.output_tokens_total / summary.completed
        warnings.append(
            f"{target.engine} has no ignore_eos: outputs may stop before {options.output_tokens} tokens "
            f"(mean {mean:.1f}); the figures use the real lengths"
        )
    return warnings


def run_bench(options: BenchOptions, progress: Progress) -> list[Run]:
    """Every level of the benchmark (one without --sweep); SmokeFailed when nothing completes."""
    target = probe(options.url, options.model, _headers(options.api_key))
    base_warnings = [] if target.engine != "unknown" else [
        f"{target.url} answers neither /version (vLLM) nor /info (TGI): engine unknown, ignore_eos not sent"
    ]  # fmt: skip
    runs = []
    for number, load in enumerate(_levels(options)):
        run = _measure(options, target, load, load.seed + number, progress, base_warnings)
        if run.document["requests"]["completed"] == 0:
            first = next(iter(run.document["requests"]["errors"]), "?")
            hint = (
                "; the server wants an API key (--api-key-file or LLMSERVE_API_KEY)" if "401" in first else ""
            )
            raise SmokeFailed(f"no request to {target.url} completed; first error: {first}{hint}")
        runs.append(run)
    return runs


def combined_document(runs: Sequence[Run], sweep: tuple[str, tuple[float, ...]] | None) -> dict[str, Any]:
    """One run's document, or for a sweep the runs under "runs" with what they share on top."""
    if sweep is None:
        return runs[0].document
    first = runs[0].document
    shared = ("model", "engine", "engine_version", "url", "endpoint", "llmserve_version", "machine")
    return {
        "schema": SCHEMA,
        **{key: first[key] for key in shared},
        "sweep": {"parameter": sweep[0], "values": list(sweep[1])},
        "runs": [run.document for run in runs],
    }


def console_progress(console: Console, enabled: bool) -> tuple[Progress, Callable[[], None]]:
    """A rich progress bar per level on a terminal; nothing when piped. Returns (factory, close)."""
    if not enabled:
        return (lambda _label, _total: lambda: None), lambda: None
    from rich.console import Console as RichConsole
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=RichConsole(file=console.err), transient=True,
    )  # fmt: skip
    bar.start()

    def factory(label: str, total: int | None) -> Callable[[], None]:
        task = bar.add_task(label, total=total)
        return lambda: bar.advance(task)

    return factory, bar.stop
