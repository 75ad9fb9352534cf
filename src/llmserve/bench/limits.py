"""The user's limits, parsed once: `--slo ttft.p99<=500ms` and `--max-regression tpot.p50=5%`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmserve.bench.metrics import LATENCY_METRICS, STAT_NAMES, Slo
from llmserve.errors import SpecError

THROUGHPUT_METRICS = ("requests_per_s", "output_tokens_per_s", "input_tokens_per_s", "goodput_per_s")
_SLO = re.compile(r"^\s*(\w+)\.(\w+)\s*<=\s*([0-9]*\.?[0-9]+)\s*(ms|s)\s*$")
_REGRESSION = re.compile(r"^\s*([\w.]+)\s*=\s*([0-9]*\.?[0-9]+)\s*%\s*$")
SLO_EXAMPLE = "ttft.p99<=500ms"
REGRESSION_EXAMPLE = "tpot.p50=5%"


def _check_latency(metric: str, stat: str, given: str, option: str, example: str) -> None:
    if metric not in LATENCY_METRICS or stat not in STAT_NAMES:
        raise SpecError(
            f"{option} {given!r}: use METRIC.STAT with METRIC one of {', '.join(LATENCY_METRICS)} "
            f"and STAT one of {', '.join(STAT_NAMES)}, as in {example}"
        )


def parse_slo(text: str) -> Slo:
    match = _SLO.match(text)
    if match is None:
        raise SpecError(
            f"--slo {text!r} is not a limit; write it as METRIC.STAT<=VALUE(ms|s), e.g. {SLO_EXAMPLE}"
        )
    metric, stat, value, unit = match.groups()
    _check_latency(metric, stat, text, "--slo", SLO_EXAMPLE)
    return Slo(metric, stat, float(value) * (1000.0 if unit == "s" else 1.0))


@dataclass(frozen=True)
class MaxRegression:
    """How much worse `metric` may get: latencies may rise, throughputs may fall, by `percent`."""

    metric: str  # "ttft.p99" or a throughput key such as "output_tokens_per_s"
    percent: float

    @property
    def higher_is_worse(self) -> bool:
        return self.metric not in THROUGHPUT_METRICS


def parse_regression(text: str) -> MaxRegression:
    match = _REGRESSION.match(text)
    if match is None:
        raise SpecError(
            f"--max-regression {text!r} is not a limit; "
            f"write it as METRIC=PERCENT%, e.g. {REGRESSION_EXAMPLE}"
        )
    metric, percent = match.groups()
    if metric not in THROUGHPUT_METRICS:
        latency, _, stat = metric.partition(".")
        _check_latency(latency, stat, text, "--max-regression", REGRESSION_EXAMPLE)
    return MaxRegression(metric, float(percent))
