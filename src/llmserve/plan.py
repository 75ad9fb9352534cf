"""A launch plan: the exact thing a runtime will start, as a frozen value.

Rendering a spec gives a plan; a plan prints itself as a shell line a person can paste and as JSON.
The plan knows which environment values are secret; every printed form masks them (and secret
flags among the engine arguments) by llmserve's one secret policy, `redaction`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmserve.redaction import mask_args, mask_env, secret_values_in_args

LABEL_PREFIX = "llmserve."
MANAGED_LABEL = f"{LABEL_PREFIX}managed"


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = False

    def docker_flag(self) -> str:
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")


@dataclass(frozen=True)
class ProcessLaunch:
    """A local process: argv, and environment added to llmserve's own."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerLaunch:
    """A container started through the Docker engine."""

    name: str
    image: str
    command: tuple[str, ...]
    container_port: int
    env: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    gpus: str = "none"
    shm_size: str | None = None
    ipc_mode: str | None = None
    pull: str = "missing"


def endpoint_url(host: str, port: int) -> str:
    """The URL a client on this machine uses to reach a server listening on host:port."""
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in connect_host:
        connect_host = "[::1]" if connect_host == "::" else f"[{connect_host}]"
    return f"http://{connect_host}:{port}"


@dataclass(frozen=True)
class LaunchPlan:
    """Everything needed to start one server and talk to it."""

    name: str
    engine: str
    model: str
    served_model_name: str
    host: str
    port: int
    launch: ProcessLaunch | ContainerLaunch
    engine_version: str | None = None
    secret_env: frozenset[str] = frozenset()
    api_key_env: str | None = None
    # Defaults chosen for this machine: {"engine", "field", "value", "reason"} each.
    defaults: tuple[Mapping[str, str], ...] = ()
    # What the render assumed where the spec left it open, one line each.
    notes: tuple[str, ...] = ()

    @property
    def runtime(self) -> str:
        return "docker" if isinstance(self.launch, ContainerLaunch) else "process"

    @property
    def endpoint(self) -> str:
        return endpoint_url(self.host, self.port)

    @property
    def secret_values(self) -> list[str]:
        """Every secret the engine gets: in its environment, or as a secret flag's value (`-- --api-key`)."""
        in_env = [value for name, value in self.launch.env.items() if name in self.masked_names()]
        return in_env + secret_values_in_args(self.argv)

    @property
    def argv(self) -> tuple[str, ...]:
        return self.launch.command if isinstance(self.launch, ContainerLaunch) else self.launch.argv

    def masked_names(self) -> set[str]:
        return {name for name, value in self.masked_env().items() if value != self.launch.env[name]}

    @property
    def api_key(self) -> str | None:
        return self.launch.env.get(self.api_key_env) if self.api_key_env else None

    def masked_env(self) -> dict[str, str]:
        return mask_env(self.launch.env, self.secret_env)

    def shell_line(self) -> str:
        """The command a person could paste to do what this plan does (secrets masked)."""
        if isinstance(self.launch, ContainerLaunch):
            argv = docker_run_argv(self.launch, self.host, self.port, self.masked_env())
            return shlex.join(mask_args(argv))
        assignments = [f"{name}={value}" for name, value in self.masked_env().items()]
        prefix = ["env", *assignments] if assignments else []
        return shlex.join(mask_args([*prefix, *self.launch.argv]))

    def to_dict(self) -> dict[str, Any]:
        launch: dict[str, Any]
        if isinstance(self.launch, ContainerLaunch):
            container = self.launch
            launch = {
                "name": container.name,
                "image": container.image,
                "command": mask_args(container.command),
                "ports": {f"{container.container_port}/tcp": [self.host, self.port]},
                "mounts": [
                    {"source": m.source, "target": m.target, "read_only": m.read_only}
                    for m in container.mounts
                ],
                "labels": dict(container.labels),
                "gpus": container.gpus,
                "shm_size": container.shm_size,
                "ipc_mode": container.ipc_mode,
                "pull": container.pull,
            }
        else:
            launch = {"argv": mask_args(self.launch.argv)}
        launch["env"] = self.masked_env()
        return {
            "name": self.name,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "runtime": self.runtime,
            "model": self.model,
            "served_model_name": self.served_model_name,
            "endpoint": self.endpoint,
            "openai_base_url": f"{self.endpoint}/v1",
            "host": self.host,
            "port": self.port,
            "command": self.shell_line(),
            "launch": launch,
            "defaults": [dict(choice) for choice in self.defaults],
            "notes": list(self.notes),
        }


def docker_run_argv(container: ContainerLaunch, host: str, port: int, env: Mapping[str, str]) -> list[str]:
    """`docker run` arguments equivalent to what the docker runtime does through the SDK."""
    argv = ["docker", "run", "--rm", "--name", container.name]
    for key, value in container.labels.items():
        argv += ["--label", f"{key}={value}"]
    if container.gpus == "all":
        argv += ["--gpus", "all"]
    elif container.gpus != "none":
        argv += ["--gpus", f'"device={container.gpus}"']
    if container.shm_size:
        argv += ["--shm-size", container.shm_size]
    if container.ipc_mode:
        argv += [f"--ipc={container.ipc_mode}"]
    argv += ["-p", f"{host}:{port}:{container.container_port}"]
    for mount in container.mounts:
        argv += ["-v", mount.docker_flag()]
    for name, value in env.items():
        argv += ["-e", f"{name}={value}"]
    return [*argv, container.image, *container.command]
