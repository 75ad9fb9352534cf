"""llmserve's benchmarks: figures side by side in one run, as ratios (this machine is shared).

    python benchmarks/run.py [startup] [readiness] [logs] [footprint]    (default: all)

Needs the environment `scripts/setup-test-env.sh` prints (the vLLM CPU engine, the tiny model,
the stand-in TGI image). Prints one block of figures per benchmark; BENCHMARKS.md records them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from script_env import env, free_port

from llmserve.ports import port_is_free

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LLMSERVE = [PYTHON, "-m", "llmserve"]


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n## {title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")


# 1. Start-up cost of the CLI -----------------------------------------------------------------


def bench_startup(runs: int = 15) -> None:
    vllm_python = env("LLMSERVE_TEST_VLLM_PYTHON")
    # An installed package has its bytecode compiled; an editable checkout may not (PYTHONDONTWRITEBYTECODE).
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    commands = {
        "python -c 'import typer'": [PYTHON, "-c", "import typer"],
        "llmserve --help": [*LLMSERVE, "--help"],
        "llmserve tgi gpt2 --dry-run": [*LLMSERVE, "tgi", "gpt2", "--dry-run"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved, so that load on the machine hits all alike
        for name, argv in commands.items():
            samples[name].append(timed(argv))
    engine_help = [vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--help"]
    engine = statistics.median(timed(engine_help) for _ in range(3))
    typer_median = statistics.median(samples["python -c 'import typer'"])
    rows = [
        (name, f"{statistics.median(times) * 1000:7.1f} ms (median of {runs})")
        for name, times in samples.items()
    ]
    rows.append(("vllm serve --help (CPU build)", f"{engine * 1000:7.1f} ms (median of 3)"))
    for name in ("llmserve --help", "llmserve tgi gpt2 --dry-run"):
        ours = statistics.median(samples[name])
        rows.append((f"{name} / import typer", f"{ours / typer_median:5.2f}x  (target <= 2.5x)"))
        rows.append((f"vllm --help / {name}", f"{engine / ours:5.1f}x faster  (target >= 40x)"))
    report("CLI start-up", rows)


# 2. Readiness detection lag, and launch-to-ready against a raw command -------------------------


class HealthWatcher:
    """Polls /health every 5 ms on its own and notes when it first answers 200."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.first_ok: float | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        with httpx.Client(timeout=1) as client:
            while not self._stop and self.first_ok is None:
                try:
                    if client.get(self.url).status_code == 200:
                        self.first_ok = time.perf_counter()
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.005)

    def stop(self) -> None:
        self._stop = True
        self._thread.join(5)


def launch_until_ready(args: list[str], port: int, timeout: float = 900) -> tuple[float, float]:
    """Start llmserve; return (seconds to its 'ready' report, its lag behind /health first answering)."""
    watcher = HealthWatcher(f"http://127.0.0.1:{port}/health")
    started = time.perf_counter()
    server = subprocess.Popen(
        [*LLMSERVE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert server.stderr is not None
    reported = None
    for line in server.stderr:
        if "/health answered" in line:
            reported = time.perf_counter()
            break
        if time.perf_counter() - started > timeout:
            break
    watcher.stop()
    server.send_signal(signal.SIGINT)
    server.communicate(timeout=120)
    if reported is None or watcher.first_ok is None:
        raise RuntimeError(f"llmserve {' '.join(args)} never became ready")
    return reported - started, reported - watcher.first_ok


def raw_until_ready(shell_line: str, port: int, timeout: float = 900) -> float:
    """The same engine by its raw command, and the usual shell loop polling /health."""
    script = (
        f"{shell_line} >/dev/null 2>&1 & engine=$!\n"
        f"until curl -sf -o /dev/null http://127.0.0.1:{port}/health; do sleep 0.1; done\n"
        "echo ready\n"
    )
    started = time.perf_counter()
    shell = subprocess.Popen(
        ["bash", "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert shell.stdout is not None
    shell.stdout.readline()
    elapsed = time.perf_counter() - started
    # The shell, the engine it started and the engine's children share one process group.
    os.killpg(shell.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while not port_is_free("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(shell.pid, signal.SIGKILL)
    return elapsed


def dry_run_line(args: list[str]) -> str:
    return subprocess.run(
        [*LLMSERVE, *args, "--dry-run"], capture_output=True, text=True, check=True
    ).stdout.strip()


def standin_tgi_args(port: int) -> list[str]:
    """llmserve arguments serving `gpt2` with the stand-in TGI image from a throwaway HF cache."""
    cache = Path(tempfile.mkdtemp())
    (cache / "hub" / "models--gpt2").mkdir(parents=True)
    image = env("LLMSERVE_TEST_TGI_IMAGE")
    return ["tgi", "gpt2", "--image", image, "--gpus", "none", "--volume", str(cache), "--port", str(port)]


def tiny_vllm_args(port: int) -> list[str]:
    """llmserve arguments serving the tiny test model with vLLM's CPU engine."""
    model, vllm_python = env("LLMSERVE_TEST_TINY_MODEL"), env("LLMSERVE_TEST_VLLM_PYTHON")
    return ["vllm", model, "--impl", "transformers", "--max-model-len", "256", "--enforce-eager",
            "--port", str(port), "--vllm-python", vllm_python]  # fmt: skip


def bench_readiness(rounds: int = 2) -> None:
    rows = []
    lags = []
    for _ in range(5):
        port = free_port()
        lags.append(launch_until_ready(standin_tgi_args(port), port)[1])
    rows.append(
        ("lag behind /health, stand-in TGI", f"{max(lags) * 1000:6.1f} ms worst of 5 (target < 250 ms)")
    )
    ours, raw, vllm_lags = [], [], []
    for _ in range(rounds):
        port = free_port()
        args = tiny_vllm_args(port)
        seconds, lag = launch_until_ready(args, port)
        ours.append(seconds)
        vllm_lags.append(lag)
        raw.append(raw_until_ready(dry_run_line(args), port))
    rows.append(
        (
            "lag behind /health, vLLM CPU",
            f"{max(vllm_lags) * 1000:6.1f} ms worst of {rounds} (target < 250 ms)",
        )
    )
    rows.append(("launch-to-ready, llmserve", f"{statistics.median(ours):6.1f} s median of {rounds}"))
    rows.append(("launch-to-ready, raw + curl loop", f"{statistics.median(raw):6.1f} s median of {rounds}"))
    ratio = statistics.median(o / r for o, r in zip(ours, raw, strict=True))
    rows.append(("llmserve / raw", f"{ratio:6.3f}  (target <= 1.03)"))
    report("Readiness", rows)


# 3. Log forwarding -----------------------------------------------------------------------------


def bench_logs(lines: int = 200_000) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as work:
        sink = Path(work) / "sink.log"
        result = subprocess.run(
            [PYTHON, str(ROOT / "benchmarks" / "forward_logs.py"), str(lines), str(sink)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        written = sink.read_bytes().splitlines()
        numbers = [int(re.search(rb"line (\d+) ", line).group(1)) for line in written]  # type: ignore[union-attr]
        in_order = numbers == list(range(lines))
    rows.append(("lines forwarded", f"{len(written)} of {lines}, in order: {in_order}"))
    rows.append(("throughput", f"{lines / figures['seconds']:,.0f} lines/s (target >= 100,000)"))
    rows.append(
        ("peak RSS of the forwarding process", f"{figures['peak_rss_mib']:.1f} MiB (target < 80 MiB)")
    )
    report("Log forwarding (to a file)", rows)


# 4. Footprint while a server runs ---------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def idle_footprint(
    args: list[str], seconds: float, pids: Callable[[subprocess.Popen[str]], list[int]]
) -> tuple[float, float]:
    server = subprocess.Popen(
        [*LLMSERVE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert server.stderr is not None
    for line in server.stderr:
        if "ready:" in line:
            break
    watched = pids(server)
    before = sum(cpu_seconds(pid) for pid in watched)
    time.sleep(seconds)
    used = sum(cpu_seconds(pid) for pid in watched) - before
    rss = sum(rss_mib(pid) for pid in watched)
    server.send_signal(signal.SIGINT)
    server.communicate(timeout=120)
    return used / seconds * 100, rss


def bench_footprint(seconds: float = 60) -> None:
    rows = []
    cpu, rss = idle_footprint(standin_tgi_args(free_port()), seconds, lambda server: [server.pid])
    rows.append(
        ("docker runtime: llmserve", f"{cpu:.3f}% of a core, {rss:.1f} MiB RSS (targets < 1%, < 80 MiB)")
    )

    def llmserve_and_guardian(server: subprocess.Popen[str]) -> list[int]:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        return [server.pid, *map(int, children)]

    cpu, rss = idle_footprint(tiny_vllm_args(free_port()), seconds, llmserve_and_guardian)
    rows.append(("process runtime: llmserve + guardian", f"{cpu:.3f}% of a core, {rss:.1f} MiB RSS"))
    report(f"Launcher footprint while a server runs ({seconds:.0f} s)", rows)


BENCHMARKS = {
    "startup": bench_startup,
    "readiness": bench_readiness,
    "logs": bench_logs,
    "footprint": bench_footprint,
}


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    print(f"# llmserve benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    print(f"# {shlex.join([Path(PYTHON).name, *sys.argv])}")
    for name in chosen:
        BENCHMARKS[name]()


if __name__ == "__main__":
    main()
