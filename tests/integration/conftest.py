"""Fixtures for tests against real engines: Docker with the stand-in TGI image, and vLLM's CPU build.

`scripts/test.sh` installs and builds what these need and exports where it is.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest

from llmserve.plan import MANAGED_LABEL
from tests.fixtures.cpu_split import on_cpus

SETUP_HINT = "run the suite with ./scripts/test.sh, which installs and builds what it needs"


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set; {SETUP_HINT}")
    return value


@pytest.fixture(scope="session")
def vllm_python() -> str:
    return required_env("LLMSERVE_TEST_VLLM_PYTHON")


@pytest.fixture(scope="session")
def tiny_model() -> str:
    return required_env("LLMSERVE_TEST_TINY_MODEL")


@pytest.fixture(scope="session")
def tiny16_model() -> str:
    return required_env("LLMSERVE_TEST_TINY16_MODEL")


@pytest.fixture(scope="session")
def smollm2_model() -> str:
    return required_env("LLMSERVE_TEST_SMOLLM2_MODEL")


@pytest.fixture(scope="session")
def tgi_image() -> str:
    return required_env("LLMSERVE_TEST_TGI_IMAGE")


@pytest.fixture(scope="session")
def vllm_image() -> str:
    return required_env("LLMSERVE_TEST_VLLM_IMAGE")


@pytest.fixture(scope="session")
def docker_client() -> Any:
    import docker

    client = docker.from_env()
    try:
        client.ping()
    except Exception as error:
        pytest.fail(f"the Docker engine does not answer ({error}); {SETUP_HINT}")
    return client


def our_containers(client: Any) -> list[Any]:
    return list(client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}=true"}))


@pytest.fixture
def no_leftover_containers(docker_client: Any) -> Iterator[None]:
    """Each Docker test starts and must end with no container of ours, running or not."""
    for container in our_containers(docker_client):
        container.remove(force=True)
    yield
    leftovers = our_containers(docker_client)
    for container in leftovers:
        container.remove(force=True)
    assert leftovers == [], f"containers left behind: {[c.name for c in leftovers]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Llmserve:
    """llmserve run as a user runs it: a real process, its output collected as it comes."""

    def __init__(
        self, args: list[str], env: dict[str, str] | None = None, cpus: Collection[int] | None = None
    ) -> None:
        self.args = args
        self.process = subprocess.Popen(
            [*on_cpus(cpus), sys.executable, "-m", "llmserve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.stderr):
                return
            if self.process.poll() is not None:
                time.sleep(0.5)
                if any(text in line for line in self.stderr):
                    return
                break
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"never saw {text!r}; llmserve said:\n{self.output[-6000:]}")

    def finish(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"llmserve did not end in {timeout} s:\n{self.output[-4000:]}") from None
        for reader in self._readers:
            reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        """Ask llmserve to stop as CI would (SIGTERM), so that it cleans up after itself."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def llmserve() -> Iterator[Callable[..., Llmserve]]:
    """Start llmserve processes; whatever a failed test left running is stopped afterwards."""
    started: list[Llmserve] = []

    def start(
        args: list[str], env: dict[str, str] | None = None, cpus: Collection[int] | None = None
    ) -> Llmserve:
        started.append(Llmserve(args, env, cpus))
        return started[-1]

    yield start
    for server in started:
        server.stop()
