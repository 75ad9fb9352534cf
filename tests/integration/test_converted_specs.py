"""A converted command line, served for real: TGI's stand-in on Docker, and vLLM's CPU engine."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from llmserve.errors import ExitCode
from tests.fixtures.standin_hub import model_files, populate_cache
from tests.integration.conftest import Llmserve, free_port
from tests.integration.test_vllm_engine import READY_TIMEOUT


def convert_to_file(llmserve: Callable[..., Llmserve], line: list[str], target: str, output: Path) -> str:
    done = llmserve(["convert", "--to", target, "-o", str(output), "--", *line])
    assert done.finish(60) == 0, done.output
    return output.read_text()


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftover_containers")
def test_converted_tgi_docker_line_serves(
    llmserve: Callable[..., Llmserve], tgi_image: str, tmp_path: Path
) -> None:
    cache = tmp_path / "hf"
    populate_cache(cache / "hub", "gpt2", model_files())
    port = free_port()
    line = ["docker", "run", "--rm", "--shm-size", "1g", "-p", f"127.0.0.1:{port}:80", "-v", f"{cache}:/data",
            tgi_image, "--model-id", "gpt2", "--max-concurrent-requests", "16", "--max-total-tokens", "1024"]  # fmt: skip
    text = convert_to_file(llmserve, line, "tgi", tmp_path / "spec.yaml")
    assert "max_concurrent_requests: 16" in text
    server = llmserve(["run", str(tmp_path / "spec.yaml")])
    server.wait_for("ready: tgi is serving gpt2", timeout=60)
    assert "max_concurrent_requests: '16'" in server.output  # TGI logs its arguments
    server.process.send_signal(signal.SIGINT)
    assert server.finish(60) == ExitCode.INTERRUPTED


@pytest.mark.vllm
def test_converted_vllm_line_serves(
    llmserve: Callable[..., Llmserve], tiny_model: str, vllm_python: str, tmp_path: Path
) -> None:
    port = free_port()
    line = ["vllm", "serve", tiny_model, "--model-impl", "transformers", "--max-model-len", "256",
            "--enforce-eager", "--port", str(port), "--served-model-name", "tiny"]  # fmt: skip
    text = convert_to_file(llmserve, line, "vllm", tmp_path / "spec.yaml")
    assert f"port: {port}" in text
    server = llmserve(["run", str(tmp_path / "spec.yaml"), "--vllm-python", vllm_python])
    server.wait_for("ready: vllm is serving tiny", timeout=READY_TIMEOUT)
    server.process.send_signal(signal.SIGINT)
    assert server.finish(90) == ExitCode.INTERRUPTED
