"""vLLM's docker runtime (`--runtime docker`), on a real Docker engine with a stand-in vLLM image.

The real vllm/vllm-openai image cannot be pulled here; the stand-in parses `vllm serve` arguments
with argparse as vLLM does and serves its OpenAI routes.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmserve.errors import ExitCode
from tests.fixtures.standin_hub import model_files
from tests.integration.conftest import Llmserve, free_port, our_containers

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]


def test_local_model_served_in_a_container(
    llmserve: Callable[..., Llmserve], vllm_image: str, docker_client: Any, tmp_path: Path
) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    for name, data in model_files().items():  # what the preflight looks for; the stand-in loads nothing
        (model / name).write_bytes(data)
    port = free_port()
    args = ["vllm", str(model), "--runtime", "docker", "--image", vllm_image, "--gpus", "none",
            "--volume", str(tmp_path / "hf"), "--port", str(port), "--impl", "transformers"]  # fmt: skip
    server = llmserve(args)
    server.wait_for(f"ready: vllm is serving {model}", timeout=60)
    (container,) = our_containers(docker_client)
    host_config = container.attrs["HostConfig"]
    assert host_config["IpcMode"] == "host"
    assert f"{model}:/models/my-model:ro" in host_config["Binds"]
    assert f"{tmp_path / 'hf'}:/root/.cache/huggingface:rw" in host_config["Binds"]
    assert container.attrs["Config"]["Cmd"][:2] == ["/models/my-model", "--host"]

    # Clients name the model as the user did, not by its path inside the container.
    chat = httpx.post(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        json={"model": str(model), "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3},
    )
    assert chat.status_code == 200
    server.process.send_signal(signal.SIGINT)
    assert server.finish(60) == ExitCode.INTERRUPTED
    assert our_containers(docker_client) == []


def test_flag_the_engine_rejects(llmserve: Callable[..., Llmserve], vllm_image: str, tmp_path: Path) -> None:
    args = ["vllm", "org/model", "--runtime", "docker", "--image", vllm_image, "--gpus", "none",
            "--volume", "none", "--port", str(free_port()), "--no-preflight", "--", "--no-such-flag"]  # fmt: skip
    server = llmserve(args)
    assert server.finish(60) == ExitCode.ENGINE_EXITED
    err = "".join(server.stderr)
    assert "vllm exited with code 2 while starting" in err
    assert "hint: the engine rejected a flag" in err
