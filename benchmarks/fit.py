"""Time to a clear answer for a model that does not fit: llmserve against vLLM alone.

    python benchmarks/fit.py

The model: the test suite's tiny Llama with its config claiming 1,500,000 tokens of context, served
by vLLM's CPU engine with a 1 GiB KV cache (float32: 1 KiB per token, so one request needs 1.43 GiB).
llmserve reads config.json and the weight sizes and refuses before starting anything; vLLM alone
(the very command llmserve renders, from `--dry-run --json`) starts, loads the model, then fails
on its KV cache. Needs LLMSERVE_TEST_VLLM_PYTHON and LLMSERVE_TEST_TINY_MODEL (from
scripts/setup-test-env.sh); run it under the integration lock. Figures, not assertions:
BENCHMARKS.md records them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.sparse_models import long_context_variant  # noqa: E402

LLMSERVE = [sys.executable, "-m", "llmserve"]
CONTEXT = 1_500_000
LLMSERVE_REPEATS = 5
ENGINE_REPEATS = 3
ENGINE_TIMEOUT_SECONDS = 600
VLLM_REFUSAL = "To serve at least one request"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, check=False, timeout=ENGINE_TIMEOUT_SECONDS
    )
    seconds = time.perf_counter() - started
    lines = (done.stdout + done.stderr).splitlines()
    answer = next((line for line in lines if VLLM_REFUSAL in line or "does not fit" in line), lines[-1:])
    return seconds, done.returncode, str(answer)[:220]


def main() -> None:
    vllm_python = os.environ.get("LLMSERVE_TEST_VLLM_PYTHON")
    tiny = os.environ.get("LLMSERVE_TEST_TINY_MODEL")
    if not vllm_python or not tiny:
        sys.exit('the test environment is not set; eval "$(./scripts/setup-test-env.sh)" first')
    model = long_context_variant(Path(tiny), Path(tempfile.mkdtemp(prefix="llmserve-fit-")), CONTEXT)
    env = {k: v for k, v in os.environ.items() if k != "VLLM_CPU_KVCACHE_SPACE"}
    options = [str(model), "--vllm-python", vllm_python, "--cpu-kvcache-space", "1"]
    args = ["vllm", *options, "--port", "18131"]
    plan = json.loads(subprocess.run([*LLMSERVE, *args, "--json"], env=env, capture_output=True, text=True,
                                     check=True).stdout)  # fmt: skip
    engine_env = {**env, **plan["launch"]["env"]}
    rows = []
    for label, argv, environment, repeats in (
        ("llmserve vllm", [*LLMSERVE, *args], env, LLMSERVE_REPEATS),
        ("llmserve fit", [*LLMSERVE, "fit", *options], env, LLMSERVE_REPEATS),
        ("vLLM alone", plan["launch"]["argv"], engine_env, ENGINE_REPEATS),
    ):
        runs = [timed(argv, environment) for _ in range(repeats)]
        seconds = statistics.median(run[0] for run in runs)
        rows.append((label, seconds, runs[0][1], runs[0][2], repeats))
    for label, seconds, code, answer, repeats in rows:
        print(f"{label:14} median of {repeats}: {seconds:7.2f} s  exit {code:3}  {answer}")
    print(f"vLLM alone / llmserve vllm: {rows[2][1] / rows[0][1]:.0f}x")


if __name__ == "__main__":
    main()
