"""PNG plots of a run (latency CDFs, requests in flight) or a sweep (throughput against latency).

matplotlib is imported here only, when plots are written: `pip install 'llmserve[bench]'`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmserve.bench.metrics import MS
from llmserve.bench.report import LABELS, Run
from llmserve.errors import EnvironmentMissing
from llmserve.output_files import write_atomically

DPI = 100
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise EnvironmentMissing(
            "matplotlib is not installed, and --output needs it for the plots; "
            "pip install 'llmserve[bench]' (or leave out --output)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def latency_cdfs(run: Run, path: Path) -> None:
    plt = _pyplot()
    done = [r for r in run.requests if r.ok]
    samples = {
        "ttft": [r.ttft for r in done if r.ttft is not None],
        "itl": [g for r in done for g in r.gaps],
        "tpot": [r.tpot for r in done if r.tpot is not None],
        "e2el": [r.e2el for r in done if r.e2el is not None],
    }
    figure, axes = plt.subplots(2, 2, figsize=(9, 6.5), dpi=DPI)
    for axis, (metric, values), color in zip(axes.flat, samples.items(), COLORS, strict=True):
        ordered = sorted(v * MS for v in values)
        if ordered:
            fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
            axis.step(ordered, fractions, where="post", color=color, linewidth=1.8)
            for p, style in ((0.5, ":"), (0.99, "--")):
                axis.axhline(p, color="grey", linestyle=style, linewidth=0.8)
        else:
            axis.text(0.5, 0.5, "no samples", ha="center", va="center", transform=axis.transAxes)
        axis.set_title(f"{LABELS[metric]} ({len(ordered)} samples)")
        axis.set_xlabel("ms")
        axis.set_ylabel("fraction ≤ x")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
    figure.suptitle(_title(run.document))
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def in_flight(run: Run, path: Path) -> None:
    plt = _pyplot()
    events = sorted(
        [(r.sent - run.started, 1) for r in run.requests]
        + [(r.ended - run.started, -1) for r in run.requests]
    )
    times, counts, current = [0.0], [0], 0
    for at, change in events:
        current += change
        times.append(at)
        counts.append(current)
    failed = [r.ended - run.started for r in run.requests if not r.ok]
    figure, axis = plt.subplots(figsize=(9, 3.5), dpi=DPI)
    axis.step(times, counts, where="post", color=COLORS[0], linewidth=1.5, label="in flight")
    if failed:
        axis.plot(failed, [0] * len(failed), "x", color=COLORS[1], label="failed")
    axis.set_xlabel("seconds since the first measured request")
    axis.set_ylabel("requests in flight")
    axis.set_title(_title(run.document))
    axis.grid(alpha=0.3)
    axis.legend(loc="upper right")
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def sweep(runs: Sequence[Run], parameter: str, path: Path) -> None:
    plt = _pyplot()
    documents = [run.document for run in runs]
    throughput = [d["output_tokens_per_s"] for d in documents]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=DPI)
    for axis, metric in zip(axes, ("ttft", "tpot"), strict=True):
        for stat, color, marker in (("p50", COLORS[0], "o"), ("p99", COLORS[1], "s")):
            values = [d[f"{metric}_ms"][stat] for d in documents]
            axis.plot(throughput, values, marker=marker, color=color, label=f"{LABELS[metric]} {stat}")
        for d, x in zip(documents, throughput, strict=True):
            point = (x, d[f"{metric}_ms"]["p50"])
            axis.annotate(
                str(d["load"][parameter]), point, textcoords="offset points", xytext=(4, 4), fontsize=8
            )
        axis.set_xlabel("output tokens/s")
        axis.set_ylabel("ms")
        axis.set_title(f"{LABELS[metric]} against throughput ({parameter} labelled)")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(_title(documents[0]))
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def _save(figure: Any, path: Path) -> None:
    """A PNG through the one writer: whole or not at all, a link planted at its name replaced."""
    image = io.BytesIO()
    figure.savefig(image, format="png")
    write_atomically(path, image.getvalue(), named_by_user=False)


def _title(document: dict[str, Any]) -> str:
    engine = f"{document['engine']} {document.get('engine_version') or ''}".strip()
    model = str(document["model"])
    shown = model.rstrip("/").rsplit("/", 1)[-1] if model.startswith("/") else model  # a local path
    return f"{shown} on {engine}"
