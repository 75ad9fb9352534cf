"""`--output DIR`: the JSON, a CSV per request, the plots and the HTML report, written together."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmserve.bench import html, plots
from llmserve.bench.report import Run, write_csv

JSON_NAME = "bench.json"
HTML_NAME = "report.html"


def write_all(directory: Path, document: dict[str, Any], runs: Sequence[Run]) -> list[Path]:
    """Every file of the report; returns their paths, the HTML last."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / JSON_NAME]
    written[0].write_text(json.dumps(document, indent=2) + "\n")
    figures: list[Path] = []
    if "sweep" in document:
        parameter = document["sweep"]["parameter"]
        for run in runs:
            level = run.document["load"][parameter]
            csv_path = directory / f"requests-{parameter}-{level:g}.csv"
            write_csv(csv_path, run)
            written.append(csv_path)
        figures.append(directory / "sweep.png")
        plots.sweep(runs, parameter, figures[-1])
    else:
        write_csv(directory / "requests.csv", runs[0])
        written.append(directory / "requests.csv")
        figures += [directory / "latency_cdf.png", directory / "in_flight.png"]
        plots.latency_cdfs(runs[0], figures[0])
        plots.in_flight(runs[0], figures[1])
    written += figures
    html.write(directory / HTML_NAME, document, figures)
    written.append(directory / HTML_NAME)
    return written
