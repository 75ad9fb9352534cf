"""Image pull failures against real registries (Debian's docker-registry): stopped, an unknown tag,
and one that wants a login. Each line names the cause and the fix, with the daemon's words and
without the SDK's request URL."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmserve.errors import ExitCode
from tests.fixtures.standin_hub import model_files, populate_cache
from tests.integration.conftest import Llmserve, free_port, our_containers
from tests.integration.test_tgi_docker import tgi_args

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]

USER, PASSWORD = "llmserve", "registry-SECRET-pw"
SDK_URL = "http+docker://"


@contextmanager
def registry(work: Path, htpasswd: Path | None = None) -> Iterator[str]:
    """A real registry on 127.0.0.1 (plain http: the Docker engine allows that for loopback)."""
    port = free_port()
    config = work / f"registry-{port}.yml"
    text = f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {work / f'data-{port}'}\n"
    text += f"http:\n  addr: 127.0.0.1:{port}\n"
    if htpasswd is not None:
        text += f"auth:\n  htpasswd:\n    realm: llmserve-test\n    path: {htpasswd}\n"
    config.write_text(text)
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v2/")
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def hf_cache(tmp_path: Path) -> Path:
    cache = tmp_path / "hf-cache"
    populate_cache(cache / "hub", "gpt2", model_files())
    return cache


def pull_args(image: str, cache: Path) -> list[str]:
    return tgi_args(image, cache, free_port())


def refused_line(server: Llmserve, code: ExitCode) -> str:
    assert server.finish(timeout=60) == code, server.output
    err = "".join(server.stderr)
    assert err.count("\n") == 1, err
    assert SDK_URL not in err
    return err


def test_stopped_registry(
    llmserve: Callable[..., Llmserve], hf_cache: Path, tmp_path: Path, docker_client: Any
) -> None:
    with registry(tmp_path) as address:
        pass  # started, then stopped: nothing listens there any more
    image = f"{address}/tgi-standin:3.3.7"
    err = refused_line(llmserve(pull_args(image, hf_cache)), ExitCode.ENVIRONMENT)
    assert f"could not pull {image}: {address} is unreachable" in err
    assert "connect: connection refused" in err  # the daemon's own words
    assert "`docker load`" in err and "--pull never" in err
    assert our_containers(docker_client) == []


def test_unknown_tag(llmserve: Callable[..., Llmserve], hf_cache: Path, tmp_path: Path) -> None:
    with registry(tmp_path) as address:
        image = f"{address}/tgi-standin:9.9.9"
        err = refused_line(llmserve(pull_args(image, hf_cache)), ExitCode.USAGE)
    assert f"{address} has no {image}" in err
    assert "manifest unknown" in err
    assert "check that tag 9.9.9 exists" in err and "--image" in err


def test_registry_that_wants_a_login(
    llmserve: Callable[..., Llmserve],
    hf_cache: Path,
    tmp_path: Path,
    tgi_image: str,
    docker_client: Any,
) -> None:
    htpasswd = tmp_path / "htpasswd"
    made = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True)
    htpasswd.write_text(made.stdout)
    docker_config = tmp_path / "docker-config"  # the logins of this test only
    docker_config.mkdir()
    env = {"DOCKER_CONFIG": str(docker_config)}
    with registry(tmp_path, htpasswd) as address:
        image = f"{address}/tgi-standin:3.3.7"
        err = refused_line(llmserve(pull_args(image, hf_cache), env=env), ExitCode.ENVIRONMENT)
        assert f"{address} wants credentials" in err
        assert "no basic auth credentials" in err
        assert f"`docker login {address}`" in err

        docker = ["docker", "--config", str(docker_config)]
        subprocess.run([*docker, "login", address, "-u", USER, "--password-stdin"], input=PASSWORD,
                       capture_output=True, text=True, check=True)  # fmt: skip
        docker_client.images.get(tgi_image).tag(image)
        subprocess.run([*docker, "push", image], capture_output=True, check=True)
        docker_client.images.remove(image)
        try:
            server = llmserve(pull_args(image, hf_cache), env=env)
            server.wait_for("ready:", timeout=120)
            assert f"pulling {image}" in server.output
            server.process.send_signal(signal.SIGINT)
            assert server.finish(timeout=60) == ExitCode.INTERRUPTED
            assert PASSWORD not in server.output
        finally:
            docker_client.images.remove(image, force=True)
