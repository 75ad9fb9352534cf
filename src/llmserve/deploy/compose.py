"""A Compose file for a spec: the engine's container as one service, on this host (one copy: Compose's
replicas would share the host's GPUs and port, so several are refused).

Pure: spec in, the Compose document out. Secrets come from the environment docker-compose runs in,
or from an env_file; no value is ever written into the file.
"""

from __future__ import annotations

import shlex
from typing import Any

from llmserve.deploy.settings import PROBE_PERIOD_SECONDS
from llmserve.deploy.workload import (
    DRAIN_SECONDS,
    HEALTH_PATH,
    PRE_STOP_SECONDS,
    SecretEnv,
    Workload,
    workload,
)
from llmserve.errors import SpecError
from llmserve.plan import LABEL_PREFIX
from llmserve.spec import ServeSpec

Document = dict[str, Any]
HEALTHCHECK_TIMEOUT_SECONDS = 5
HEALTHCHECK_RETRIES = 3


def compose_escape(value: str) -> str:
    """Compose interpolates $VAR everywhere; $$ stands for a literal $."""
    return value.replace("$", "$$")


def render(spec: ServeSpec) -> Document:
    if spec.deploy.nodes > 1:
        raise SpecError(
            f"deploy.nodes: {spec.deploy.nodes}: a Compose file runs on one host; "
            "use `render k8s` to spread the model over nodes, or set deploy.nodes: 1"
        )
    if spec.deploy.replicas > 1:  # Compose's own replicas would all reserve the same GPUs and host port
        raise SpecError(
            f"deploy.replicas: {spec.deploy.replicas}: copies on one host would share its GPUs and port "
            f"{spec.effective_port}; use `render k8s` for copies, or set deploy.replicas: 1 (--replicas 1) "
            "and render one file per copy with its own gpus and port"
        )
    work = workload(spec)
    container = work.container
    service: Document = {
        "image": container.image,
        "command": [compose_escape(argument) for argument in container.command],
        "ports": [f"{_host(spec.host)}:{spec.effective_port}:{container.container_port}"],
    }
    environment = [f"{key}={compose_escape(value)}" for key, value in work.env.items()]
    if work.options.env_file:
        service["env_file"] = [compose_escape(work.options.env_file)]
    else:
        environment += [_from_environment(secret) for secret in work.secrets]
    if environment:
        service["environment"] = environment
    if container.mounts:
        service["volumes"] = [compose_escape(mount.docker_flag()) for mount in container.mounts]
    service["shm_size"] = work.shm_size
    devices = _gpu_devices(spec.gpus)
    if devices:
        service["deploy"] = {"resources": {"reservations": {"devices": devices}}}
    service["healthcheck"] = _healthcheck(work)
    service["restart"] = "unless-stopped"
    service["stop_grace_period"] = f"{PRE_STOP_SECONDS + DRAIN_SECONDS}s"
    service["cap_drop"] = ["ALL"]
    capabilities = []
    if container.mounts:  # the host's cache and models belong to the user, not to the container's root
        capabilities.append("DAC_OVERRIDE")
    if work.needs_low_port:  # TGI listens on port 80
        capabilities.append("NET_BIND_SERVICE")
    if capabilities:
        service["cap_add"] = capabilities
    service["security_opt"] = ["no-new-privileges:true"]
    service["labels"] = {
        f"{LABEL_PREFIX}engine": spec.engine,
        f"{LABEL_PREFIX}model": compose_escape(spec.model),
        f"{LABEL_PREFIX}served-model-name": compose_escape(work.plan.served_model_name),
    }
    return {"services": {work.name: service}}


def secret_variables(spec: ServeSpec) -> list[tuple[str, bool]]:
    """The variables docker-compose reads secrets from, and whether each is required.

    With an env_file, the file's lines go to the container as they are: it must use the engine's names.
    """
    work = workload(spec)
    return [
        (secret.env if work.options.env_file else secret.variable, not secret.optional)
        for secret in work.secrets
    ]


def up_command(spec: ServeSpec, compose_file: str) -> str:
    """`docker-compose up`, with the secrets the spec reads from files put in the variables the file reads."""
    work = workload(spec)
    from_files = [] if work.options.env_file else [secret for secret in work.secrets if secret.file]
    assignments = "".join(f"{secret.variable}={secret.shell_value()} " for secret in from_files)
    return f"{assignments}docker-compose -f {shlex.quote(compose_file)} up -d"


def _from_environment(secret: SecretEnv) -> str:
    if secret.optional:  # a bare name: passed on when set, absent otherwise
        return secret.env if secret.variable == secret.env else f"{secret.env}=${{{secret.variable}:-}}"
    unset = f"set {secret.variable} in the environment or use deploy.env_file"
    return f"{secret.env}=${{{secret.variable}:?{unset}}}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _gpu_devices(gpus: str) -> list[Document]:
    if gpus == "none":
        return []
    device: Document = {"driver": "nvidia", "capabilities": ["gpu"]}
    if gpus == "all":
        device["count"] = "all"
    else:
        device["device_ids"] = gpus.split(",")
    return [device]


def _healthcheck(work: Workload) -> Document:
    # Every engine image has Python; not every one has curl.
    url = f"http://127.0.0.1:{work.container.container_port}{HEALTH_PATH}"
    probe = f"import urllib.request; urllib.request.urlopen('{url}', timeout={HEALTHCHECK_TIMEOUT_SECONDS})"
    return {
        "test": ["CMD", "python3", "-c", probe],
        "interval": f"{PROBE_PERIOD_SECONDS}s",
        "timeout": f"{HEALTHCHECK_TIMEOUT_SECONDS}s",
        "retries": HEALTHCHECK_RETRIES,
        "start_period": f"{work.options.startup_budget}s",
    }
