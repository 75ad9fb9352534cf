"""`--output DIR`: the JSON, a CSV per request, the plots and the HTML report, written together."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmserve.bench import html, plots
from llmserve.bench.report import Run, write_csv
from llmserve.errors import SpecError
from llmserve.output_files import write_atomically

JSON_NAME = "bench.json"
HTML_NAME = "report.html"


def prepare(directory: Path) -> None:
    """Make --output's directory before the run, so that a bad one costs no benchmark."""
    if directory.exists() and not directory.is_dir():
        raise SpecError(f"--output {str(directory)!r} is not a directory; give one, such as report/")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SpecError(f"cannot create --output {directory} ({error.strerror}); choose another") from None


def write_all(directory: Path, document: dict[str, Any], runs: Sequence[Run]) -> list[Path]:
    """Every file of the report; returns their paths, the HTML last."""
    try:
        return _write_all(directory, document, runs)
    except OSError as error:
        raise SpecError(f"cannot write in --output {directory} ({error.strerror}); choose another") from None


def _write_all(directory: Path, document: dict[str, Any], runs: Sequence[Run]) -> list[Path]:
    prepare(directory)
    written = [directory / JSON_NAME]
    write_atomically(written[0], json.dumps(document, indent=2) + "\n")
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
