"""Two benchmark documents side by side: what changed, and whether it regressed beyond a limit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmserve.bench.limits import MaxRegression
from llmserve.bench.report import SCHEMA
from llmserve.errors import SpecError

SHOWN = ("ttft.p50", "ttft.p99", "tpot.p50", "tpot.p99", "itl.p50", "e2el.p50", "output_tokens_per_s",
         "requests_per_s")  # fmt: skip
# Load keys that make runs comparable or not (the seed only picks the prompts and arrival times).
LOAD_KEYS = ("mode", "concurrency", "rate", "requests", "duration_s", "input_tokens", "output_tokens")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SpecError(
            f"{path}: not a readable JSON file ({type(error).__name__}); give `bench --json` output"
        ) from None
    runs = document.get("runs", [document]) if isinstance(document, dict) else None
    if (
        not isinstance(document, dict)
        or document.get("schema") != SCHEMA
        or not isinstance(runs, list)
        or not all(isinstance(run, dict) and isinstance(run.get("load"), dict) for run in runs)
    ):
        raise SpecError(f"{path} is not a {SCHEMA} document; give the output of `llmserve bench --json`")
    return document


def value(run: dict[str, Any], metric: str) -> float | None:
    if "." in metric:
        latency, _, stat = metric.partition(".")
        stats = run.get(f"{latency}_ms")
        found = stats.get(stat) if isinstance(stats, dict) else None
    else:
        found = run.get(metric)
    return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None


@dataclass(frozen=True)
class Row:
    level: str
    metric: str
    base: float | None
    new: float | None
    limit_percent: float | None
    higher_is_worse: bool

    @property
    def change_percent(self) -> float | None:
        if self.base is None or self.new is None or self.base == 0:
            return None
        return (self.new - self.base) / self.base * 100.0

    @property
    def regressed(self) -> bool:
        change = self.change_percent
        if self.limit_percent is None or change is None:
            return False
        worse = change if self.higher_is_worse else -change
        return worse > self.limit_percent

    def to_dict(self) -> dict[str, Any]:
        change = self.change_percent
        return {
            "level": self.level,
            "metric": self.metric,
            "base": self.base,
            "new": self.new,
            "change_percent": None if change is None else round(change, 2),
            "max_regression_percent": self.limit_percent,
            "regressed": self.regressed,
        }


def _runs(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["runs"]) if "runs" in document else [document]


def _level(run: dict[str, Any]) -> str:
    load = run["load"]
    return (
        f"rate {load.get('rate')}" if load.get("mode") == "open" else f"concurrency {load.get('concurrency')}"
    )


def differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why two documents do not measure the same thing (empty when they do)."""
    found = []
    if base.get("model") != new.get("model"):
        found.append(f"model {base.get('model')!r} vs {new.get('model')!r}")
    base_runs, new_runs = _runs(base), _runs(new)
    if len(base_runs) != len(new_runs):
        found.append(f"{len(base_runs)} load level(s) vs {len(new_runs)}")
    for b, n in zip(base_runs, new_runs, strict=False):
        for key in LOAD_KEYS:
            if b["load"].get(key) != n["load"].get(key):
                found.append(f"load {key} {b['load'].get(key)!r} vs {n['load'].get(key)!r}")
        if b.get("endpoint") != n.get("endpoint"):
            found.append(f"endpoint {b.get('endpoint')!r} vs {n.get('endpoint')!r}")
    return found


def compare(
    base: dict[str, Any], new: dict[str, Any], limits: Sequence[MaxRegression], *, force: bool
) -> list[Row]:
    different = differences(base, new)
    if different and not force:
        raise SpecError(
            f"these runs measured different things ({'; '.join(different)}); compare like with like, "
            "or pass --force"
        )
    by_metric = {limit.metric: limit for limit in limits}
    metrics = list(SHOWN) + [m for m in by_metric if m not in SHOWN]
    rows = []
    for b, n in zip(_runs(base), _runs(new), strict=False):
        for metric in metrics:
            limit = by_metric.get(metric)
            if limit and (value(b, metric) is None or value(n, metric) is None):
                raise SpecError(
                    f"--max-regression {metric}: a run has no number for it at {_level(n)}, so it cannot "
                    "be judged; drop that limit or give runs that measured it"
                )
            higher_is_worse = limit.higher_is_worse if limit else not metric.endswith("_per_s")
            rows.append(
                Row(_level(n), metric, value(b, metric), value(n, metric),
                    limit.percent if limit else None, higher_is_worse)
            )  # fmt: skip
    return rows


def table_lines(rows: Sequence[Row]) -> list[str]:
    def number(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    lines = [f"  {'level':16}{'metric':22}{'base':>12}{'new':>12}{'change':>10}  limit"]
    for row in rows:
        change = row.change_percent
        shown_change = "-" if change is None else f"{change:+.1f}%"
        limit = "" if row.limit_percent is None else f"{row.limit_percent:g}%"
        verdict = " REGRESSED" if row.regressed else (" ok" if limit else "")
        lines.append(
            f"  {row.level:16}{row.metric:22}{number(row.base):>12}{number(row.new):>12}"
            f"{shown_change:>10}  {limit}{verdict}"
        )
    return lines
