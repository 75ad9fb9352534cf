"""Figures for `llmserve bench` (BENCHMARKS.md, section "Benchmark client").

    python benchmarks/bench_client.py ceiling    # the client's own ceiling, beside vLLM's benchmark client
    python benchmarks/bench_client.py sweep      # a concurrency sweep of the vLLM CPU engine, with its plot

`ceiling` drives a zero-latency scripted server (tests/fixtures/scripted_server.py, in a process of
its own) with llmserve's client and with vLLM's (`vllm.benchmarks.serve`, from the engine's
interpreter) at the same loads. `sweep` serves the tiny test model on the vLLM CPU engine and
writes benchmarks/cpu-sweep.png. Both need the environment `scripts/setup-test-env.sh` prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from script_env import env, free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.cpu_split import on_cpus, split_cpus, vllm_cpu_binding

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
VLLM_BENCH = """
import sys
from vllm.benchmarks.serve import add_cli_args, main
from vllm.utils.argparse_utils import FlexibleArgumentParser

parser = FlexibleArgumentParser()
add_cli_args(parser)
main(parser.parse_args(sys.argv[1:]))
"""
CEILING_LOADS = ((1, 200), (16, 800), (64, 1600))  # (concurrency, requests)
CEILING_TOKENS = (16, 64)  # input, output
ROUNDS = 2  # best of, for each client
SWEEP = "concurrency=1,2,4,8,16"
SWEEP_REQUESTS = 32
SWEEP_TOKENS = (32, 32)


def row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def wait_for(url: str, timeout: float, server: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            sys.exit(f"the server for {url} exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{url} did not answer in {timeout} s")


def ours(
    url: str,
    concurrency: int,
    requests: int,
    tokens: tuple[int, int],
    *extra: str,
    cpus: list[int] | None = None,
) -> dict[str, Any]:
    load = ["--concurrency", str(concurrency), "--requests", str(requests), "--warmup", str(concurrency)]
    lengths = ["--input-tokens", str(tokens[0]), "--output-tokens", str(tokens[1])]
    result = subprocess.run(
        [
            *on_cpus(cpus),
            PYTHON,
            "-m",
            "llmserve",
            "bench",
            url,
            "--endpoint",
            "completions",
            *load,
            *lengths,
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def vllms(
    url: str, model: str, tokenizer: str, concurrency: int, requests: int, tokens: tuple[int, int]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [env("LLMSERVE_TEST_VLLM_PYTHON"), "-c", VLLM_BENCH, "--backend", "openai", "--base-url", url,
             "--endpoint", "/v1/completions", "--model", model, "--tokenizer", tokenizer,
             "--dataset-name", "random", "--random-input-len", str(tokens[0]), "--random-output-len",
             str(tokens[1]), "--num-prompts", str(requests), "--max-concurrency", str(concurrency),
             "--num-warmups", str(concurrency), "--ignore-eos", "--save-result", "--result-dir", folder,
             "--result-filename", "r.json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        found: dict[str, Any] = json.loads((Path(folder) / "r.json").read_text())
        return found


def ceiling() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # TGI's dialect: no per-chunk usage, so that both clients get the same bytes to read.
    command = [PYTHON, "-m", "tests.fixtures.scripted_server", "--port", str(port), "--engine", "tgi"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_for(url, 30, server)
        tokenizer = env("LLMSERVE_TEST_TINY_MODEL")  # vLLM's client needs a tokenizer for its prompts
        print(
            f"\n## Client ceiling: zero-latency scripted server, {CEILING_TOKENS[1]} output tokens a request"
        )
        print(row("concurrency", "requests", "llmserve req/s", "vLLM req/s", "llmserve output tok/s",
                  "vLLM output tok/s", "llmserve / vLLM", "llmserve loop lag p99"))  # fmt: skip
        print(row(*["---:"] * 8))
        for concurrency, requests in CEILING_LOADS:
            mine, theirs = [], []
            for _ in range(ROUNDS):  # interleaved: a busy moment of this shared machine hits both
                mine.append(ours(url, concurrency, requests, CEILING_TOKENS))
                theirs.append(vllms(url, "scripted/model", tokenizer, concurrency, requests, CEILING_TOKENS))
            a = max(mine, key=lambda d: float(d["output_tokens_per_s"]))
            b = max(theirs, key=lambda d: float(d["output_throughput"]))
            print(row(concurrency, requests, f"{a['requests_per_s']:.0f}", f"{b['request_throughput']:.0f}",
                      f"{a['output_tokens_per_s']:.0f}", f"{b['output_throughput']:.0f}",
                      f"{a['output_tokens_per_s'] / b['output_throughput']:.2f}",
                      f"{a['client']['loop_lag_ms']['p99']:.1f} ms"))  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)


def sweep() -> None:
    model = env("LLMSERVE_TEST_TINY_MODEL")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = ["vllm", model, "--impl", "transformers", "--max-model-len", "256", "--enforce-eager",
             "--vllm-python", env("LLMSERVE_TEST_VLLM_PYTHON")]  # fmt: skip
    engine_cpus, client_cpus = split_cpus()
    engine = subprocess.Popen(
        [*on_cpus(engine_cpus), PYTHON, "-m", "llmserve", *serve, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **vllm_cpu_binding(engine_cpus)},
    )
    try:
        wait_for(url, 600, engine)
        out = Path(tempfile.mkdtemp())
        started = time.monotonic()
        document = ours(
            url, 1, SWEEP_REQUESTS, SWEEP_TOKENS, "--sweep", SWEEP, "--output", str(out), cpus=client_cpus
        )
        took = time.monotonic() - started
        shutil.copy(out / "sweep.png", ROOT / "benchmarks" / "cpu-sweep.png")
        print(f"\n## vLLM CPU sweep ({document['engine']} {document['engine_version']}, tiny model, "
              f"{SWEEP_TOKENS[0]} in / {SWEEP_TOKENS[1]} out, {SWEEP_REQUESTS} requests a level, "
              f"{took:.0f} s)")  # fmt: skip
        print(
            row(
                "concurrency",
                "req/s",
                "output tok/s",
                "TTFT p50",
                "TTFT p99",
                "TPOT p50",
                "TPOT p99",
                "ITL p99",
            )
        )
        print(row(*["---:"] * 8))
        for run in document["runs"]:
            ttft, tpot, itl = run["ttft_ms"], run["tpot_ms"], run["itl_ms"]
            print(row(run["load"]["concurrency"], f"{run['requests_per_s']:.2f}",
                      f"{run['output_tokens_per_s']:.0f}",
                      f"{ttft['p50']:.0f} ms", f"{ttft['p99']:.0f} ms", f"{tpot['p50']:.1f} ms",
                      f"{tpot['p99']:.1f} ms", f"{itl['p99']:.1f} ms"))  # fmt: skip
        print(f"plot: benchmarks/cpu-sweep.png; full report: {out}/report.html")
    finally:
        engine.terminate()
        engine.wait(60)


if __name__ == "__main__":
    os.chdir(ROOT)
    for name in sys.argv[1:] or ["ceiling", "sweep"]:
        {"ceiling": ceiling, "sweep": sweep}[name]()
