"""`render compose`, brought up for real: Debian's docker-compose on the test Docker engine, with the
stand-in images. The rendered service becomes healthy, generates, and `down` leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.integration.conftest import free_port

pytestmark = pytest.mark.docker

API_KEY = "sk-compose-test-7d1f0c"
HEALTHY_TIMEOUT_SECONDS = 120
GOLDEN = Path(__file__).parents[1] / "unit" / "golden" / "deploy"


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )


def render_compose(tmp_path: Path, spec: dict[str, Any]) -> Path:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    compose_file = tmp_path / "compose.yaml"
    rendered = run(
        [sys.executable, "-m", "llmserve", "render", "compose", str(spec_file), "-o", str(compose_file)],
        env={"LLMSERVE_API_KEY": API_KEY},
    )
    assert rendered.returncode == 0, rendered.stderr
    assert API_KEY not in compose_file.read_text() + rendered.stdout + rendered.stderr
    return compose_file


class Project:
    """A docker-compose project of its own name, taken down and checked for leftovers at the end."""

    def __init__(self, compose_file: Path, docker_client: Any) -> None:
        self.file = compose_file
        self.name = f"llmservetest{uuid.uuid4().hex[:8]}"
        self.client = docker_client

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = ["docker-compose", "-f", str(self.file), "-p", self.name, *args]
        return run(command, env={"LLMSERVE_API_KEY": API_KEY})

    def containers(self) -> list[Any]:
        label = f"com.docker.compose.project={self.name}"
        return list(self.client.containers.list(all=True, filters={"label": label}))

    def networks(self) -> list[Any]:
        return list(self.client.networks.list(filters={"label": f"com.docker.compose.project={self.name}"}))

    def wait_healthy(self) -> Any:
        deadline = time.monotonic() + HEALTHY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            (container,) = self.containers()
            container.reload()
            status = container.attrs["State"].get("Health", {}).get("Status")
            if status == "healthy":
                return container
            assert container.status in ("created", "running"), container.logs().decode()[-3000:]
            time.sleep(1)
        raise AssertionError(
            f"not healthy in {HEALTHY_TIMEOUT_SECONDS} s:\n{self.compose('logs').stdout[-3000:]}"
        )


@pytest.fixture
def project(docker_client: Any, tmp_path: Path) -> Iterator[Any]:
    started: list[Project] = []

    def make(compose_file: Path) -> Project:
        started.append(Project(compose_file, docker_client))
        return started[-1]

    yield make
    for each in started:
        down = each.compose("down", "--volumes", "--timeout", "10")
        assert down.returncode == 0, down.stderr
        assert each.containers() == [] and each.networks() == [], "docker-compose down left things behind"


def local_model(tmp_path: Path) -> Path:
    model = tmp_path / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    return model


def test_tgi_compose_file_comes_up_healthy_and_generates(
    tmp_path: Path, tgi_image: str, project: Any
) -> None:
    port = free_port()
    spec = {
        "engine": "tgi", "model": str(local_model(tmp_path)), "image": tgi_image, "gpus": "none",
        "port": port, "volume": str(tmp_path / "hf"), "deploy": {"startup_budget": 120},
    }  # fmt: skip
    (tmp_path / "hf").mkdir()
    compose = project(render_compose(tmp_path, spec))
    up = compose.compose("up", "-d")
    assert up.returncode == 0, up.stderr
    container = compose.wait_healthy()
    assert f"API_KEY={API_KEY}" in container.attrs["Config"]["Env"]  # from the environment, not the file
    assert container.attrs["HostConfig"]["PortBindings"]["80/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": str(port)}
    ]
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert container.attrs["HostConfig"]["CapDrop"] == ["ALL"]
    url = f"http://127.0.0.1:{port}/generate"
    body = {"inputs": "Hello", "parameters": {"max_new_tokens": 4}}
    assert httpx.post(url, json=body, timeout=10).status_code == 401
    answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["generated_text"]


def test_vllm_compose_file_comes_up_healthy_and_generates(
    tmp_path: Path, vllm_image: str, project: Any
) -> None:
    port = free_port()
    model = local_model(tmp_path)
    spec = {
        "engine": "vllm", "model": str(model), "image": vllm_image, "gpus": "none", "port": port,
        "volume": "none", "max_model_len": 256, "vllm": {"impl": "transformers"},
    }  # fmt: skip
    compose = project(render_compose(tmp_path, spec))
    up = compose.compose("up", "-d")
    assert up.returncode == 0, up.stderr
    container = compose.wait_healthy()
    assert container.attrs["HostConfig"]["ShmSize"] == 1024**3
    request = {"model": str(model), "prompt": "Hello", "max_tokens": 3}
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/completions",
        json=request,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["text"]


@pytest.mark.parametrize("engine", ["tgi", "vllm"])
def test_the_engine_can_write_a_cache_owned_by_the_user_who_runs_compose(
    tmp_path: Path, tgi_image: str, vllm_image: str, project: Any, engine: str
) -> None:
    # The host's cache belongs to the user (not root); the engine's container runs as root, as with
    # `docker run`, and must still download into it.
    cache = tmp_path / "hf"
    cache.mkdir(mode=0o755)
    os.chown(cache, 1000, 1000)
    spec = {
        "engine": engine, "model": "org/m", "image": tgi_image if engine == "tgi" else vllm_image,
        "gpus": "none", "port": free_port(), "volume": str(cache),
    }  # fmt: skip
    compose_file = render_compose(tmp_path, spec)
    (service,) = yaml.safe_load(compose_file.read_text())["services"]
    target = next(v for v in yaml.safe_load(compose_file.read_text())["services"][service]["volumes"])
    inside = target.split(":")[1]
    compose = project(compose_file)
    wrote = compose.compose(
        "run", "--rm", "--no-deps", "--entrypoint", "sh", service, "-c", f"touch {inside}/written"
    )
    assert wrote.returncode == 0, wrote.stderr
    assert (cache / "written").exists()


@pytest.mark.parametrize("golden", ["qwen.compose.yaml", "tgi-gpt2.compose.yaml"])
def test_docker_compose_accepts_the_golden_files_with_gpu_reservations(golden: str) -> None:
    checked = run(["docker-compose", "-f", str(GOLDEN / golden), "config", "--quiet"])
    assert checked.returncode == 0, checked.stderr
