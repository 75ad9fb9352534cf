"""One self-contained HTML report: the figures, the tables and the plots embedded (no network)."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmserve.bench.metrics import LATENCY_METRICS, STAT_NAMES
from llmserve.bench.report import LABELS
from llmserve.output_files import write_atomically

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, .facts td { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.ok { color: #1a7f37; } .missed { color: #cf222e; font-weight: bold; } .warn { color: #9a6700; }
"""

# Marks each plot with the width it rendered at: what a browser check (and a person's devtools) reads.
MARK_RENDERED = (
    "addEventListener('load', () => { for (const img of document.images) "
    "img.dataset.renderedWidth = img.complete ? img.naturalWidth : 0; });"
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return html.escape(str(value))


def _latency_table(document: dict[str, Any]) -> str:
    head = "".join(f"<th>{name}</th>" for name in (*STAT_NAMES, "max"))
    rows = []
    for metric in (*LATENCY_METRICS, "longest_stall"):
        stats = document[f"{metric}_ms"]
        cells = "".join(f"<td>{_cell(stats[name])}</td>" for name in (*STAT_NAMES, "max"))
        rows.append(f"<tr><td>{LABELS.get(metric, 'longest stall')} (ms)</td>{cells}</tr>")
    return f"<table><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>"


def _run_section(document: dict[str, Any]) -> str:
    requests = document["requests"]
    facts = [
        ("requests", f"{requests['completed']} completed, {requests['failed']} failed"),
        ("duration", f"{document['duration_s']:.2f} s"),
        ("throughput", f"{document['requests_per_s']:.2f} req/s, "
                       f"{document['output_tokens_per_s']:.1f} output tok/s, "
                       f"{document['input_tokens_per_s']:.1f} input tok/s"),
        ("goodput", f"{document['goodput_per_s']:.2f} req/s"),
        ("load", json.dumps(document["load"])),
        ("prompts", document["prompts"]),
        ("tokens per chunk", document["output_tokens"]["per_chunk"]),
    ]  # fmt: skip
    parts = [
        '<table class="facts">',
        *(f"<tr><td>{k}</td><td>{html.escape(str(v))}</td></tr>" for k, v in facts),
        "</table>",
    ]
    parts.append(_latency_table(document))
    for slo in document["slo"]:
        verdict = '<span class="ok">ok</span>' if slo["ok"] else '<span class="missed">missed</span>'
        parts.append(f"<p>SLO {html.escape(slo['metric'])} ≤ {slo['limit_ms']:g} ms: "
                     f"{_cell(slo['value_ms'])} ms {verdict}</p>")  # fmt: skip
    parts += [f'<p class="warn">warning: {html.escape(w)}</p>' for w in document["warnings"]]
    return "\n".join(parts)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img id="{path.stem}" alt="{path.stem}" src="data:image/png;base64,{data}">'


def write(path: Path, document: dict[str, Any], plots: Sequence[Path]) -> None:
    runs = document.get("runs", [document])
    engine = f"{document['engine']} {document.get('engine_version') or ''}".strip()
    title = f"llmserve bench: {document['model']} on {engine}"
    sections = []
    for run in runs:
        load = run["load"]
        level = f"rate {load['rate']}/s" if load["mode"] == "open" else f"concurrency {load['concurrency']}"
        sections.append(f"<h2>{html.escape(level)}</h2>\n{_run_section(run)}")
    machine = html.escape(json.dumps(document["machine"]))
    body = "\n".join(
        [
            f"<h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(document['url'])} ({html.escape(document['endpoint'])}), "
            f"llmserve {html.escape(document['llmserve_version'])}; machine: {machine}</p>",
            *(_image(plot) for plot in plots),
            *sections,
        ]
    )
    write_atomically(
        path,
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n<script>{MARK_RENDERED}</script>\n</body></html>\n",
        named_by_user=False,
    )
