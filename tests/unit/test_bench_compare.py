"""`llmserve bench compare`: like with like, and exit 10 on a regression beyond its limit."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.errors import ExitCode

runner = CliRunner()


def document(ttft_p99: float = 400.0, tpot_p50: float = 20.0, tokens_per_s: float = 100.0) -> dict[str, Any]:
    stats = {"mean": 1.0, "p50": 1.0, "p90": 1.0, "p95": 1.0, "p99": 1.0}
    return {
        "schema": "llmserve.bench/1",
        "model": "org/model",
        "engine": "vllm",
        "endpoint": "chat",
        "load": {"mode": "closed", "concurrency": 4, "rate": None, "requests": 50, "duration_s": None,
                 "input_tokens": 256, "output_tokens": 128, "seed": 0},
        "ttft_ms": {**stats, "p50": 100.0, "p99": ttft_p99},
        "tpot_ms": {**stats, "p50": tpot_p50, "p99": 30.0},
        "itl_ms": stats,
        "e2el_ms": stats,
        "output_tokens_per_s": tokens_per_s,
        "requests_per_s": 1.0,
    }  # fmt: skip


def write(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_within_limits_exits_0_and_beyond_exits_10(tmp_path: Path) -> None:
    base = write(tmp_path, "base.json", document())
    new = write(tmp_path, "new.json", document(ttft_p99=430.0, tpot_p50=21.5, tokens_per_s=95.0))
    ok = runner.invoke(app, ["bench", "compare", base, new, "--max-regression", "tpot.p50=10%",
                             "--max-regression", "ttft.p99=10%", "--max-regression", "output_tokens_per_s=6%"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "+7.5%" in ok.stderr and "-5.0%" in ok.stderr
    worse = runner.invoke(app, ["bench", "compare", base, new, "--max-regression", "tpot.p50=5%",
                                "--max-regression", "output_tokens_per_s=4%", "--json"])  # fmt: skip
    assert worse.exit_code == ExitCode.REGRESSION
    assert int(ExitCode.REGRESSION) == 10
    assert "tpot.p50 (concurrency 4) +7.5% beyond 5%" in worse.stderr
    assert "output_tokens_per_s (concurrency 4) -5.0% beyond 4%" in worse.stderr
    rows = {row["metric"]: row for row in json.loads(worse.stdout)["rows"]}
    assert rows["tpot.p50"]["regressed"] and not rows["ttft.p99"]["regressed"]


def test_an_improvement_is_not_a_regression(tmp_path: Path) -> None:
    base = write(tmp_path, "base.json", document())
    new = write(tmp_path, "new.json", document(tpot_p50=10.0, tokens_per_s=200.0))
    result = runner.invoke(app, ["bench", "compare", base, new, "--max-regression", "tpot.p50=0%",
                                 "--max-regression", "output_tokens_per_s=0%"])  # fmt: skip
    assert result.exit_code == 0, result.output


def test_different_models_or_loads_are_refused_unless_forced(tmp_path: Path) -> None:
    base = write(tmp_path, "base.json", document())
    other = copy.deepcopy(document(tpot_p50=40.0))
    other["model"] = "org/other"
    other["load"]["concurrency"] = 8
    new = write(tmp_path, "new.json", other)
    refused = runner.invoke(app, ["bench", "compare", base, new])
    assert refused.exit_code == ExitCode.USAGE
    assert (
        "model 'org/model' vs 'org/other'" in refused.stderr and "load concurrency 4 vs 8" in refused.stderr
    )
    assert "--force" in refused.stderr
    forced = runner.invoke(app, ["bench", "compare", base, new, "--force", "--max-regression", "tpot.p50=5%"])
    assert forced.exit_code == ExitCode.REGRESSION


def test_files_that_are_not_bench_results_are_usage_errors(tmp_path: Path) -> None:
    base = write(tmp_path, "base.json", document())
    stranger = write(tmp_path, "other.json", {"schema": "something/else"})
    (tmp_path / "broken.json").write_text("{")
    for path in (stranger, str(tmp_path / "broken.json"), str(tmp_path / "missing.json")):
        result = runner.invoke(app, ["bench", "compare", base, path])
        assert result.exit_code == ExitCode.USAGE
        assert result.stderr.count("\n") == 1 and path in result.stderr


def test_damaged_documents_are_usage_errors_not_tracebacks(tmp_path: Path) -> None:
    base = write(tmp_path, "base.json", document())
    damaged = [
        {k: v for k, v in document().items() if k != "load"},
        {**document(), "load": "closed"},
        {**document(), "runs": 5},
        {**document(), "runs": [1, 2]},
    ]
    paths = [write(tmp_path, f"damaged{i}.json", doc) for i, doc in enumerate(damaged)]
    (tmp_path / "nan.json").write_text(json.dumps(document()).replace("400.0", "NaN"))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for path in (*paths, str(tmp_path / "nan.json"), str(tmp_path / "deep.json")):
        result = runner.invoke(app, ["bench", "compare", base, path, "--force"])
        assert result.exit_code == ExitCode.USAGE, (path, result.output)
        assert result.stderr.count("\n") == 1 and path in result.stderr


def test_a_limit_on_a_metric_a_run_lacks_is_not_passed_silently(tmp_path: Path) -> None:
    base = write(tmp_path, "base.json", document())
    for name, ttft in (("missing", {"mean": 1.0}), ("text", {"p99": "fast"}), ("bool", {"p99": True})):
        new = write(tmp_path, f"{name}.json", {**document(), "ttft_ms": ttft})
        result = runner.invoke(app, ["bench", "compare", base, new, "--max-regression", "ttft.p99=5%"])
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "--max-regression ttft.p99" in result.stderr and "Traceback" not in result.output
