"""A run as a document (the stable `llmserve.bench/1` JSON), a table for people, a CSV per request."""

from __future__ import annotations

import csv
import io
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmserve import __version__
from llmserve.bench.load import Load
from llmserve.bench.metrics import LATENCY_METRICS, MS, STAT_NAMES, RequestMetrics, Summary, stats_ms
from llmserve.output_files import write_atomically

SCHEMA = "llmserve.bench/1"
LABELS = {"ttft": "TTFT", "itl": "ITL", "tpot": "TPOT", "e2el": "E2EL"}


@dataclass
class Run:
    """One measured load level: its document and the per-request metrics behind it."""

    document: dict[str, Any]
    requests: list[RequestMetrics] = field(default_factory=list)
    started: float = 0.0


def machine() -> dict[str, Any]:
    import os

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "system": platform.system(),
        "release": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def run_document(
    *,
    context: dict[str, Any],
    load: Load,
    summary: Summary,
    loop_lag_s: Sequence[float],
    warnings: Sequence[str],
) -> dict[str, Any]:
    """The stable shape: see the README's bench section. `context` says what was measured."""
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "model": context["model"],
        "engine": context["engine"],
        "engine_version": context["engine_version"],
        "url": context["url"],
        "endpoint": context["endpoint"],
        "llmserve_version": __version__,
        "machine": context["machine"],
        "load": {**load.to_dict(), **context["load"]},
        "prompts": context["prompts"],
        "requests": {"completed": summary.completed, "failed": summary.failed, "errors": summary.errors},
        "duration_s": round(summary.duration_s, 4),
        "requests_per_s": round(summary.requests_per_s, 4),
        "output_tokens_per_s": round(summary.output_tokens_per_s, 3),
        "input_tokens_per_s": round(summary.input_tokens_per_s, 3),
        "total_tokens_per_s": round(summary.total_tokens_per_s, 3),
    }
    for metric in LATENCY_METRICS:
        document[f"{metric}_ms"] = summary.latencies_ms[metric]
    document.update(
        {
            "longest_stall_ms": summary.longest_stall_ms,
            "output_tokens": {
                "total": summary.output_tokens_total,
                "source": summary.output_tokens_source,
                "per_chunk": summary.chunk_token_counts,
            },
            "input_tokens": {"total": summary.input_tokens_total},
            "goodput_per_s": round(summary.goodput_per_s, 4),
            "slo": summary.slo,
            "client": {"loop_lag_ms": stats_ms(loop_lag_s)},
            "warnings": list(warnings),
        }
    )
    return document


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def table_lines(document: dict[str, Any]) -> list[str]:
    """What a person reads on stderr."""
    load = document["load"]
    shape = f"rate {load['rate']}/s" if load["mode"] == "open" else f"concurrency {load['concurrency']}"
    requests = document["requests"]
    lines = [
        f"{document['model']} on {document['engine']} {document['engine_version'] or ''}".rstrip()
        + f": {requests['completed']} requests ({requests['failed']} failed) in "
        f"{document['duration_s']:.2f} s, {shape}",
        f"  {'':6}" + "".join(f"{name:>10}" for name in (*STAT_NAMES, "max")) + "   (ms)",
    ]
    for metric in (*LATENCY_METRICS, "longest_stall"):
        stats = document[f"{metric}_ms"]
        label = LABELS.get(metric, "stall")
        lines.append(f"  {label:6}" + "".join(f"{_ms(stats[name]):>10}" for name in (*STAT_NAMES, "max")))
    lines.append(
        f"  throughput: {document['requests_per_s']:.2f} req/s, {document['output_tokens_per_s']:.1f} "
        f"output tok/s, {document['input_tokens_per_s']:.1f} input tok/s; goodput "
        f"{document['goodput_per_s']:.2f} req/s"
    )
    for slo in document["slo"]:
        verdict = "ok" if slo["ok"] else "MISSED"
        lines.append(f"  SLO {slo['metric']} <= {slo['limit_ms']:g} ms: {_ms(slo['value_ms'])} ms {verdict}")
    return lines


CSV_FIELDS = (
    "index", "ok", "error", "sent_s", "ended_s", "ttft_ms", "tpot_ms", "e2el_ms", "mean_itl_ms",
    "longest_stall_ms", "output_tokens", "input_tokens",
)  # fmt: skip


def write_csv(path: Path, run: Run) -> None:
    def ms(value: float | None) -> str:
        return "" if value is None else f"{value * MS:.3f}"

    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(CSV_FIELDS)
    for index, r in enumerate(run.requests):
        writer.writerow(
            [index, int(r.ok), r.error or "", f"{r.sent - run.started:.4f}",
             f"{r.ended - run.started:.4f}",
             ms(r.ttft), ms(r.tpot), ms(r.e2el), ms(r.mean_itl), ms(r.longest_stall),
             r.output_tokens if r.ok else "", r.input_tokens if r.ok else ""]
        )  # fmt: skip
    write_atomically(path, handle.getvalue(), named_by_user=False)  # a name llmserve chose
