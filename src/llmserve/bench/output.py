"""`--output DIR`: the JSON, a CSV per request, the plots and the HTML report, written together."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmserve.bench import html, plots
from llmserve.bench.report import Run, write_csv
from llmserve.errors import SpecError
from llmserve.output_files import write_atomically

JSON_NAME = "bench.json"
HTML_NAME = "report.html"


def check_writable(directory: Path) -> None:
    """Refuse a --output that cannot be written before the run, so that it costs no benchmark; the
    directory itself is made only when the report is written (a failed run leaves nothing)."""
    nearest = next((p for p in (directory, *directory.parents) if p.exists()), Path("."))
    if not nearest.is_dir():
        raise SpecError(f"--output {str(directory)!r} is not a directory; give one, such as report/")
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise SpecError(f"cannot write in --output {directory} ({nearest} is not writable); choose another")


def write_all(directory: Path, document: dict[str, Any], runs: Sequence[Run]) -> list[Path]:
    """Every file of the report; returns their paths, the HTML last."""
    try:
        return _write_all(directory, document, runs)
    except OSError as error:
        raise SpecError(f"cannot write in --output {directory} ({error.strerror}); choose another") from None


def _write_all(directory: Path, document: dict[str, Any], runs: Sequence[Run]) -> list[Path]:
    check_writable(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / JSON_NAME]
    write_atomically(written[0], json.dumps(document, indent=2) + "\n", named_by_user=False)
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
