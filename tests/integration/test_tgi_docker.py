"""TGI through llmserve on a real Docker engine, with the locally built stand-in TGI image."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmserve.errors import ExitCode
from tests.fixtures.standin_hub import model_files, populate_cache
from tests.integration.conftest import Llmserve, free_port, our_containers

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]

TOKEN = "hf_SECRET_token_value_1234"


@pytest.fixture
def hf_cache(tmp_path: Path) -> Path:
    """A host HF cache holding two models (the stand-in resolves Hub ids there, as TGI would)."""
    cache = tmp_path / "hf-cache"
    for name in ("gpt2", "org/gated-model"):
        populate_cache(cache / "hub", name, model_files())
    return cache


def tgi_args(image: str, cache: Path, port: int, model: str = "gpt2", *extra: str) -> list[str]:
    return [
        "tgi",
        model,
        "--image",
        image,
        "--gpus",
        "none",
        "--volume",
        str(cache),
        "--port",
        str(port),
        *extra,
    ]


def test_launch_ready_generate_and_stop_on_sigint(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any
) -> None:
    port = free_port()
    server = llmserve(tgi_args(tgi_image, hf_cache, port))
    server.wait_for("ready: tgi is serving gpt2", timeout=60)
    assert f"endpoint:        http://127.0.0.1:{port}" in server.output
    assert f"OpenAI base URL: http://127.0.0.1:{port}/v1" in server.output
    assert "curl http://127.0.0.1:" in server.output
    assert "Connected" in "".join(server.stdout)  # the engine's own log lines, forwarded

    generated = httpx.post(
        f"http://127.0.0.1:{port}/generate", json={"inputs": "Hi", "parameters": {"max_new_tokens": 3}}
    )
    assert generated.status_code == 200
    assert generated.json()["generated_text"]
    chat = httpx.post(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        json={"model": "gpt2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
    )
    assert chat.json()["choices"][0]["message"]["content"]
    (container,) = our_containers(docker_client)
    assert container.labels["llmserve.port"] == str(port)

    server.process.send_signal(signal.SIGINT)
    assert server.finish(timeout=60) == ExitCode.INTERRUPTED
    assert our_containers(docker_client) == []
    assert "stopped by SIGINT" in server.output


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, ExitCode.TERMINATED), (signal.SIGHUP, ExitCode.HANGUP)]
)
def test_sigterm_and_sighup_stop_and_remove(
    llmserve: Callable[..., Llmserve],
    tgi_image: str,
    hf_cache: Path,
    docker_client: Any,
    sig: signal.Signals,
    code: ExitCode,
) -> None:
    port = free_port()
    server = llmserve(tgi_args(tgi_image, hf_cache, port))
    server.wait_for("ready:", timeout=60)
    server.process.send_signal(sig)
    assert server.finish(timeout=60) == code
    assert our_containers(docker_client) == []


def test_engine_dying_after_ready_ends_llmserve_with_its_code(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any
) -> None:
    server = llmserve(tgi_args(tgi_image, hf_cache, free_port()))
    server.wait_for("ready:", timeout=60)
    (container,) = our_containers(docker_client)
    container.kill()  # as the OOM killer would
    assert server.finish(timeout=60) == ExitCode.ENGINE_EXITED
    assert "tgi exited with code 137 after it was ready" in "".join(server.stderr)
    assert our_containers(docker_client) == []


def test_model_that_cannot_be_had_is_refused_before_anything_starts(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any
) -> None:
    server = llmserve(
        tgi_args(tgi_image, hf_cache, free_port(), "org/not-in-cache"), env={"HF_HUB_OFFLINE": "1"}
    )
    assert server.finish(timeout=30) == ExitCode.ENVIRONMENT
    err = "".join(server.stderr)
    assert f"org/not-in-cache is not in the HF cache ({hf_cache / 'hub'})" in err
    assert "`hf download org/not-in-cache`" in err
    assert err.count("\n") == 1
    assert our_containers(docker_client) == []


def test_model_that_cannot_be_downloaded_by_the_engine(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path
) -> None:
    server = llmserve([*tgi_args(tgi_image, hf_cache, free_port(), "org/not-in-cache"), "--no-preflight"])
    assert server.finish(timeout=60) == ExitCode.ENGINE_EXITED
    err = "".join(server.stderr)
    assert "tgi exited with code 1 while starting" in err
    assert "hint: the model hub could not be reached" in err
    assert "| " in err and "DownloadError" in err  # the log tail


def test_gated_model_without_token_gets_the_token_hint(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path
) -> None:
    server = llmserve(tgi_args(tgi_image, hf_cache, free_port(), "org/gated-model"))
    assert server.finish(timeout=60) == ExitCode.ENGINE_EXITED
    assert "hint: the model is gated or private" in "".join(server.stderr)


def test_unknown_engine_flag_is_rejected_by_the_engine(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path
) -> None:
    server = llmserve([*tgi_args(tgi_image, hf_cache, free_port()), "--", "--no-such-flag"])
    assert server.finish(timeout=60) == ExitCode.ENGINE_EXITED
    assert "unexpected argument '--no-such-flag'" in "".join(server.stderr)


def test_token_reaches_the_container_environment_only(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    port = free_port()
    server = llmserve(
        [*tgi_args(tgi_image, hf_cache, port, "org/gated-model"), "--hf-token-file", str(token_file)]
    )
    server.wait_for("ready:", timeout=60)
    (container,) = our_containers(docker_client)
    assert f"HF_TOKEN={TOKEN}" in container.attrs["Config"]["Env"]
    assert TOKEN not in " ".join(container.attrs["Config"]["Cmd"])
    assert TOKEN not in " ".join(container.attrs["Args"])
    server.process.send_signal(signal.SIGINT)
    assert server.finish(timeout=60) == ExitCode.INTERRUPTED
    assert TOKEN not in server.output


def test_api_key_is_used_and_masked_in_the_engine_log(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, tmp_path: Path
) -> None:
    key = "sk-SECRET-api-key-987"
    key_file = tmp_path / "key"
    key_file.write_text(key)
    port = free_port()
    server = llmserve([*tgi_args(tgi_image, hf_cache, port), "--api-key-file", str(key_file)])
    server.wait_for("ready:", timeout=60)  # readiness proved generation with the key
    body = {"model": "gpt2", "prompt": "Hi", "max_tokens": 2}
    assert httpx.post(f"http://127.0.0.1:{port}/v1/completions", json=body).status_code == 401
    authorized = {"Authorization": f"Bearer {key}"}
    assert (
        httpx.post(f"http://127.0.0.1:{port}/v1/completions", json=body, headers=authorized).status_code
        == 200
    )
    assert "Authorization: Bearer $LLMSERVE_API_KEY" in server.output  # the curl example names, never shows
    server.process.send_signal(signal.SIGINT)
    assert server.finish(timeout=60) == ExitCode.INTERRUPTED
    assert "api_key: '***'" in server.output
    assert key not in server.output


def test_gpu_request_without_nvidia_runtime(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any
) -> None:
    args = tgi_args(tgi_image, hf_cache, free_port())
    args[args.index("--gpus") + 1] = "all"
    server = llmserve(args)
    assert server.finish(timeout=60) == ExitCode.ENVIRONMENT
    err = "".join(server.stderr)
    assert "no NVIDIA GPU runtime" in err
    assert "--gpus none" in err
    assert err.count("\n") == 1
    assert our_containers(docker_client) == []


def test_busy_port_is_refused_before_anything_starts(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, docker_client: Any
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        server = llmserve(tgi_args(tgi_image, hf_cache, port))
        assert server.finish(timeout=30) == ExitCode.PORT_BUSY
        assert time.monotonic() - started < 20
    assert f"port {port} on 127.0.0.1 is already in use (held by pid" in "".join(server.stderr)
    assert our_containers(docker_client) == []


def test_docker_engine_not_answering(
    llmserve: Callable[..., Llmserve], tgi_image: str, hf_cache: Path, tmp_path: Path
) -> None:
    server = llmserve(
        tgi_args(tgi_image, hf_cache, free_port()), env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    )
    assert server.finish(timeout=30) == ExitCode.ENVIRONMENT
    assert "the Docker engine does not answer" in "".join(server.stderr)


@pytest.fixture
def local_registry(tmp_path: Path) -> Any:
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: "
        f"{tmp_path / 'registry'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    registry = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield f"127.0.0.1:{port}"
    registry.terminate()
    registry.wait(10)


def push_unique_image(docker_client: Any, base: str, registry: str, work: Path, name: str) -> str:
    """An image with one layer of its own, pushed and removed here, so that a pull downloads it."""
    remote = f"{registry}/{name}:3.3.7"
    context = work / name
    context.mkdir()
    (context / "marker").write_text(str(time.time()))
    (context / "Dockerfile").write_text(f"FROM {base}\nCOPY marker /marker\n")
    docker_client.images.build(path=str(context), tag=remote)
    for line in docker_client.images.push(remote, stream=True, decode=True):
        assert "error" not in line, line
    docker_client.images.remove(remote)
    return remote


def test_missing_image_is_pulled_from_a_registry(
    llmserve: Callable[..., Llmserve],
    tgi_image: str,
    hf_cache: Path,
    docker_client: Any,
    local_registry: str,
    tmp_path: Path,
) -> None:
    remote = push_unique_image(docker_client, tgi_image, local_registry, tmp_path, "tgi-standin-pull")
    port = free_port()
    server = llmserve(tgi_args(remote, hf_cache, port))
    try:
        server.wait_for("ready:", timeout=120)
        assert f"pulling {remote}" in server.output
        assert "pull complete" in server.output
        server.process.send_signal(signal.SIGINT)
        assert server.finish(timeout=60) == ExitCode.INTERRUPTED
    finally:
        docker_client.images.remove(remote, force=True)


def test_pull_progress_and_colours_on_a_terminal(
    tgi_image: str, hf_cache: Path, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    """On a terminal, the pull shows rich per-layer progress and engine lines carry a dim prefix."""
    import os
    import pty
    import sys

    remote = push_unique_image(docker_client, tgi_image, local_registry, tmp_path, "tgi-standin-tty")
    primary, secondary = pty.openpty()
    args = tgi_args(remote, hf_cache, free_port())
    process = subprocess.Popen(
        [sys.executable, "-m", "llmserve", *args], stdin=secondary, stdout=secondary, stderr=secondary
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while b"ready: tgi" not in seen and time.monotonic() < deadline:
            try:
                seen += os.read(primary, 65536)
            except OSError:
                break
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == ExitCode.INTERRUPTED
    finally:
        os.close(primary)
        docker_client.images.remove(remote, force=True)
    assert b"ready: tgi" in seen, seen[-2000:]
    assert b"layer " in seen and b"\x1b[" in seen  # rich's progress bars
    assert b"\x1b[2mtgi | \x1b[0m" in seen  # engine lines told apart from llmserve's own


def test_pull_never_with_a_missing_image(llmserve: Callable[..., Llmserve], hf_cache: Path) -> None:
    server = llmserve(tgi_args("127.0.0.1:1/nothing:1.0", hf_cache, free_port(), "gpt2", "--pull", "never"))
    assert server.finish(timeout=30) == ExitCode.ENVIRONMENT
    assert "--pull never forbids pulling it" in "".join(server.stderr)
