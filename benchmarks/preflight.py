"""How fast the model availability preflight answers, and what it saves.

    python benchmarks/preflight.py [cases] [real]    (default: both)

cases: each availability case (local directory, HF cache, stand-in hub online, gated, missing,
offline, unreachable), timed in one process (the reader alone) and as a whole `llmserve vllm …`
run that is refused (or, for the available ones, `doctor --model`).
real: `llmserve vllm some/id` with an empty HF cache and no hub, against vLLM alone with the same
model id (`python -m vllm.entrypoints.openai.api_server --model …`): the time each takes to fail.
Needs LLMSERVE_TEST_VLLM_PYTHON (from scripts/setup-test-env.sh); run it under the integration lock.
Figures, not assertions: BENCHMARKS.md records them.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmserve.modelfacts import HubAccess, ModelUnavailable, read  # noqa: E402
from tests.fixtures.standin_hub import HubRepo, model_files, populate_cache, standin_hub  # noqa: E402

LLMSERVE = [sys.executable, "-m", "llmserve"]
REPEATS = 15
CLOSED_ENDPOINT = "http://127.0.0.1:9"
TOKEN = "hf_benchmark_token"
HUB_ID = "some-org/some-model"


def median_ms(action: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def outcome(model: str, revision: str | None, access: HubAccess) -> str:
    try:
        facts = read(model, revision, access)
    except ModelUnavailable as unavailable:
        return f"refused ({unavailable.reason.value}, exit {int(unavailable.exit_code)})"
    return f"available ({facts.source})"


def cases() -> None:
    work = Path(tempfile.mkdtemp(prefix="llmserve-preflight-"))
    local = work / "local-model"
    local.mkdir()
    for name, data in model_files().items():
        (local / name).write_bytes(data)
    hub_cache = work / "hf" / "hub"
    populate_cache(hub_cache, "org/cached", model_files())
    repos = {"org/open": HubRepo(model_files()), "org/gated": HubRepo(model_files(), gated=True)}
    with standin_hub(repos) as hub:
        online = HubAccess(hub_cache, hub.endpoint)
        offline = HubAccess(hub_cache, hub.endpoint, offline=True)
        table = [
            ("local directory", str(local), None, online),
            ("HF cache, HF_HUB_OFFLINE set", "org/cached", None, offline),
            ("hub online (stand-in)", "org/open", None, online),
            ("gated, no token", "org/gated", None, online),
            ("no such repo", "org/nothing", None, online),
            ("no such revision", "org/open", "v9", online),
            ("HF_HUB_OFFLINE set, not cached", "org/open", None, offline),
            ("hub unreachable (refused)", "org/open", None, HubAccess(hub_cache, CLOSED_ENDPOINT)),
        ]
        dry_run = [*LLMSERVE, "vllm", "org/open", "--vllm-python", sys.executable, "--dry-run"]
        baseline = median_ms(lambda: subprocess.run(dry_run, capture_output=True, check=False), repeats=5)
        print(f"baseline: `llmserve vllm org/open --dry-run` (no preflight) {baseline:.0f} ms")
        print(f"{'case':34} {'reader (median)':>16} {'llmserve vllm (median)':>22}  outcome")
        for label, model, revision, access in table:
            in_process = median_ms(lambda m=model, r=revision, a=access: outcome(m, r, a))  # type: ignore[misc]
            whole = median_ms(lambda m=model, r=revision, a=access: run_cli(m, r, a, work), repeats=5)  # type: ignore[misc]
            print(f"{label:34} {in_process:13.1f} ms {whole:19.0f} ms  {outcome(model, revision, access)}")


def run_cli(model: str, revision: str | None, access: HubAccess, work: Path) -> None:
    """`llmserve vllm MODEL` as a user runs it, up to the refusal; for an available model, up to looking
    for vLLM (here an interpreter without it, so that nothing starts)."""
    env = {**os.environ, "HF_HOME": str(access.cache_dir.parent if access.cache_dir else work)}
    env["HF_ENDPOINT"] = access.endpoint
    env.pop("HF_TOKEN", None)
    if access.offline:
        env["HF_HUB_OFFLINE"] = "1"
    args = ["vllm", model, "--vllm-python", sys.executable, "--port", "1"]
    if revision:
        args += ["--revision", revision]
    subprocess.run([*LLMSERVE, *args], env=env, capture_output=True, check=False)


def real() -> None:
    vllm_python = os.environ.get("LLMSERVE_TEST_VLLM_PYTHON")
    if not vllm_python:
        sys.exit('LLMSERVE_TEST_VLLM_PYTHON is not set; eval "$(./scripts/setup-test-env.sh)" first')
    empty_home = tempfile.mkdtemp(prefix="llmserve-empty-hf-")
    env = {**os.environ, "HF_HOME": empty_home}
    for name in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN"):
        env.pop(name, None)
    llmserve_args = [*LLMSERVE, "vllm", HUB_ID, "--vllm-python", vllm_python, "--gpus", "none"]
    engine_args = [vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--model", HUB_ID]
    env_engine = {**env, "VLLM_CPU_KVCACHE_SPACE": "1"}
    for label, argv, environment in (
        ("llmserve vllm", llmserve_args, env),
        ("vLLM alone", engine_args, env_engine),
    ):
        started = time.perf_counter()
        done = subprocess.run(argv, env=environment, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        last = (done.stderr.strip().splitlines() or [""])[-1][:200]
        print(f"{label:14} exit {done.returncode:3}  {seconds:6.1f} s  last line: {last}")


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["cases", "real"]
    for name in chosen:
        {"cases": cases, "real": real}[name]()
