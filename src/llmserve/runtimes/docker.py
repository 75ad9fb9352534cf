"""The docker runtime: a plan's container started through the Docker engine's API (docker SDK)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from llmserve.console import Console
from llmserve.errors import EnvironmentMissing, ExitCode, LlmserveError
from llmserve.logstream import LogForwarder, split_lines
from llmserve.plan import MANAGED_LABEL, ContainerLaunch, LaunchPlan

STOP_GRACE_SECONDS = 15
LONG_WAIT_SECONDS = 3600
NO_GPU_RUNTIME = 'could not select device driver ""'
_ALIVE_STATES = ("created", "running", "restarting")


def connect() -> Any:
    """A docker client that has answered a ping, or EnvironmentMissing saying how to start one."""
    import docker
    from docker.errors import DockerException

    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as error:
        raise EnvironmentMissing(
            f"the Docker engine does not answer at {where} ({_first_line(error)}); start it "
            "(`sudo systemctl start docker`, or `sudo dockerd &`) or set DOCKER_HOST"
        ) from None
    return client


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:160] if text else type(error).__name__


def ensure_image(client: Any, image: str, policy: str, console: Console) -> None:
    from docker.errors import ImageNotFound

    if policy != "always":
        try:
            client.images.get(image)
            return
        except ImageNotFound:
            if policy == "never":
                raise EnvironmentMissing(
                    f"image {image} is not on this machine and --pull never forbids pulling it; "
                    "pull it first or use --pull missing"
                ) from None
    pull(client, image, console)


def pull(client: Any, image: str, console: Console) -> None:
    from docker.errors import APIError

    from llmserve.runtimes.pull_failures import classify

    repository, _, tag = image.rpartition(":")
    if "/" in tag or not repository:
        repository, tag = image, "latest"
    try:
        events = client.api.pull(repository, tag=tag, stream=True, decode=True)
        console.pull_progress(image, events)
    except APIError as error:
        # The daemon's explanation, not the SDK's request URL (that stays in the --debug traceback).
        failure = classify(error.explanation or str(error), image)
        message = f"could not pull {image}: {failure.cause}; {failure.fix}"
        raise PullFailed(message, failure.exit_code) from error


class PullFailed(LlmserveError):
    """An image pull failed; its exit code depends on why (no access: environment, no such tag: usage)."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _device_requests(gpus: str) -> list[Any]:
    from docker.types import DeviceRequest

    if gpus == "none":
        return []
    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    return [DeviceRequest(device_ids=gpus.split(","), capabilities=[["gpu"]])]


def run_kwargs(plan: LaunchPlan) -> dict[str, Any]:
    """Keyword arguments of `containers.run` for the plan."""
    container = plan.launch
    assert isinstance(container, ContainerLaunch)
    kwargs: dict[str, Any] = {
        "image": container.image,
        "command": list(container.command),
        "name": container.name,
        "detach": True,
        "environment": dict(container.env),
        "labels": dict(container.labels),
        "ports": {f"{container.container_port}/tcp": (plan.host, plan.port)},
        "volumes": {
            m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in container.mounts
        },
        "device_requests": _device_requests(container.gpus),
    }
    if container.shm_size:
        kwargs["shm_size"] = container.shm_size
    if container.ipc_mode:
        kwargs["ipc_mode"] = container.ipc_mode
    return kwargs


class ContainerServer:
    def __init__(self, container: Any) -> None:
        self._container = container

    @property
    def identity(self) -> str:
        return str(self._container.short_id)

    def exit_code(self) -> int | None:
        from docker.errors import NotFound

        try:
            self._container.reload()
        except NotFound:
            return -1
        if self._container.status in _ALIVE_STATES:
            return None
        return int(self._container.attrs["State"]["ExitCode"])

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code, or None if the container still runs after `timeout` (None: a long while)."""
        import requests

        try:
            result = self._container.wait(timeout=timeout or LONG_WAIT_SECONDS)
        except requests.exceptions.RequestException:  # read timed out
            return None
        return int(result.get("StatusCode", -1))

    def stop(self) -> int:
        from docker.errors import APIError, NotFound

        try:
            self._container.stop(timeout=STOP_GRACE_SECONDS)
            code = self.exit_code()
            self._container.remove(force=True)
        except NotFound:
            return -1
        except APIError as error:
            raise LlmserveError(f"could not stop container {self.identity}: {_first_line(error)}") from None
        return code if code is not None else -1


def remove_leftover(client: Any, name: str) -> None:
    """Remove a stopped container of ours that still holds the name we need."""
    from docker.errors import NotFound

    try:
        existing = client.containers.get(name)
    except NotFound:
        return
    if existing.labels.get(MANAGED_LABEL) != "true":
        raise LlmserveError(
            f"a container named {name} exists and is not llmserve's; remove it or choose another port"
        )
    if existing.status == "running":
        raise LlmserveError(
            f"{name} is already running; stop it with `llmserve stop {name}` or choose another port"
        )
    existing.remove(force=True)


def start(client: Any, plan: LaunchPlan, forwarder: LogForwarder | None) -> ContainerServer:
    from docker.errors import APIError

    kwargs = run_kwargs(plan)
    remove_leftover(client, kwargs["name"])
    try:
        container = client.containers.run(**kwargs)
    except APIError as error:
        # A failed start leaves the created container behind: remove it.
        _remove_quietly(client, kwargs["name"])
        if NO_GPU_RUNTIME in str(error):
            raise EnvironmentMissing(
                "this Docker engine has no NVIDIA GPU runtime (could not select device driver with "
                "capabilities [[gpu]]); install the NVIDIA Container Toolkit, "
                "or use --gpus none to run on CPU"
            ) from None
        raise LlmserveError(f"Docker could not start {kwargs['name']}: {_first_line(error)}") from None
    except BaseException:
        # Stopped (SIGINT, SIGTERM) while Docker created the container: it must not stay behind.
        _remove_quietly(client, kwargs["name"])
        raise
    if forwarder is not None:
        forwarder.follow(split_lines(container.logs(stream=True, follow=True)))
    return ContainerServer(container)


def _remove_quietly(client: Any, name: str) -> None:
    from docker.errors import APIError, NotFound

    with contextlib.suppress(NotFound, APIError):
        client.containers.get(name).remove(force=True)
