"""What every target runs: the engine's own container render, plus what a deployment adds.

There is one renderer: the container's command is exactly what `llmserve … --runtime docker`
would run (listening on 0.0.0.0 inside the container); targets only lay it out.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from llmserve import engines
from llmserve.deploy.names import workload_name
from llmserve.deploy.settings import MAX_INT32, PROBE_PERIOD_SECONDS, DeployOptions, quantity_problem
from llmserve.engines import tgi, vllm
from llmserve.engines.common import HF_TOKEN_ENV
from llmserve.engines.flags import TGI_FLAGS, VLLM_FLAGS, lookup
from llmserve.errors import SpecError
from llmserve.plan import ContainerLaunch, LaunchPlan
from llmserve.redaction import holds_secret, is_secret_flag
from llmserve.spec import SecretOrigin, ServeSpec

HEALTH_PATH = "/health"  # both engines answer it once the model is loaded
HF_CACHE_DIRS = {"tgi": tgi.DATA_DIR, "vllm": vllm.CONTAINER_HF_CACHE}
HF_TOKEN_KEY = "token"
API_KEY_KEY = "api-key"
# Where the user keeps a secret the spec holds itself: the variables llmserve reads it from (an env
# entry's own name for the others).
SECRET_VARIABLES = {"hf_token": "HF_TOKEN", "api_key": "LLMSERVE_API_KEY"}
SHM_GIB_PER_GPU = 1  # NCCL's buffers grow with the tensor-parallel group
PRE_STOP_SECONDS = 15  # endpoints stop sending new requests before the engine hears SIGTERM
DRAIN_SECONDS = 45  # then in-flight requests finish
_DOCKER_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([bkmgBKMG]?)$")
_QUANTITY_UNITS = {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}


# Flags whose value is a secret by their name (--hf-token, --ngrok-authtoken); not --max-num-batched-tokens.
@dataclass(frozen=True)
class SecretEnv:
    """An environment variable whose value lives in a Secret (or, for Compose, the environment)."""

    env: str
    secret: str
    key: str
    optional: bool
    variable: str  # the environment variable the user keeps it in (docker-compose reads it there)
    file: Path | None = None  # or the file they keep it in (`file:PATH` in the spec)

    def shell_value(self) -> str:
        """Shell words for the value, read where the user keeps it: the secret itself is never shown."""
        if self.file is not None:
            return f'"$(cat {shlex.quote(str(self.file))})"'
        return f'"${self.variable}"'


@dataclass(frozen=True)
class Workload:
    name: str
    spec: ServeSpec
    plan: LaunchPlan
    container: ContainerLaunch
    env: dict[str, str]  # values that are not secret
    secrets: tuple[SecretEnv, ...]
    gpus: int  # per pod
    shm_size: str  # Docker's notation, e.g. 1g

    @property
    def options(self) -> DeployOptions:
        return self.spec.deploy

    @property
    def hf_cache_dir(self) -> str:
        return HF_CACHE_DIRS[self.spec.engine]

    @property
    def startup_failure_threshold(self) -> int:
        return self.options.startup_budget // PROBE_PERIOD_SECONDS

    @property
    def needs_low_port(self) -> bool:
        return self.container.container_port < 1024


def container_render(spec: ServeSpec) -> LaunchPlan:
    """The engine's render of the spec for a container (the local `--runtime docker` render)."""
    return engines.render(spec.model_copy(update={"runtime": "docker"}))


# Engine flags that decide how many GPUs (and nodes) a pod needs: the objects derive those from
# tensor_parallel_size and deploy.nodes, so these would leave pods with the wrong GPU count.
_LAYOUT_FLAGS = {
    "tgi": frozenset({"num-shard", "sharded"}),
    "vllm": frozenset(
        {
            "tensor-parallel-size",
            "pipeline-parallel-size",
            "data-parallel-size",
            "distributed-executor-backend",
        }
    ),
}


def layout_engine_argument(spec: ServeSpec) -> str | None:
    """The first engine argument that changes the GPU layout the objects were sized for, or None."""
    table = TGI_FLAGS if spec.engine == "tgi" else VLLM_FLAGS
    for word in spec.engine_args:
        if not word.startswith("-"):
            continue
        flag = lookup(table, word.replace("_", "-"))
        if flag is not None and flag.name in _LAYOUT_FLAGS[spec.engine]:
            return word.split("=", 1)[0]
    return None


def secret_engine_argument(spec: ServeSpec) -> str | None:
    """The first engine argument that carries a secret (a rendered file would hold its value), or None:
    a secret flag, or a word holding a secret llmserve was given (named by the flag before it)."""
    table = TGI_FLAGS if spec.engine == "tgi" else VLLM_FLAGS
    previous = None
    for word in spec.engine_args:
        name = word.split("=", 1)[0]
        if not word.startswith("-"):
            if holds_secret(word):
                return previous or "(a word on its own)"
            previous = None
            continue
        flag = lookup(table, word)  # also an abbreviation the engine's parser would accept
        if (flag is not None and flag.kind == "secret") or is_secret_flag(word) or holds_secret(word):
            return name
        previous = name
    return None


def workload(spec: ServeSpec) -> Workload:
    secret_flag = secret_engine_argument(spec)
    if secret_flag is not None:
        raise SpecError(
            f"engine argument {secret_flag} carries a secret, which the rendered file would hold; "
            "set it in the spec instead (api_key, hf_token, or an env entry named like MY_TOKEN), "
            "which becomes a Secret reference"
        )
    plan = container_render(spec)
    assert isinstance(plan.launch, ContainerLaunch)
    name = workload_name(spec)
    secrets = [
        _secret(spec, "hf_token", HF_TOKEN_ENV, spec.deploy.hf_token_secret, HF_TOKEN_KEY, optional=True)
    ]
    api_key_env = tgi.API_KEY_ENV if spec.engine == "tgi" else vllm.API_KEY_ENV
    if spec.api_key is not None or spec.deploy.api_key_secret is not None:
        secret = spec.deploy.api_key_secret or f"{name}-api-key"
        secrets.append(_secret(spec, "api_key", api_key_env, secret, API_KEY_KEY, optional=False))
    referenced = {item.env for item in secrets}
    for env_name in sorted(_secret_env_names(spec, plan) - referenced):
        secrets.append(_secret(spec, f"env.{env_name}", env_name, f"{name}-env", env_name, optional=False))
    hidden = {item.env for item in secrets}
    env = {key: value for key, value in plan.launch.env.items() if key not in hidden}
    gpus = 0 if spec.gpus == "none" else (spec.tensor_parallel_size or 1)
    if gpus > MAX_INT32:
        raise SpecError(
            f"tensor_parallel_size: {gpus} GPUs per pod is more than a Kubernetes count holds "
            f"({MAX_INT32}); lower it"
        )
    shm_size = spec.shm_size or f"{SHM_GIB_PER_GPU * max(gpus, 1)}g"
    if quantity_problem(quantity(shm_size)):  # Docker's sizes are int64 bytes too
        raise SpecError(
            f"shm_size: {shm_size} is more bytes than Kubernetes and Docker hold (2^63-1); lower it"
        )
    return Workload(
        name=name,
        spec=spec,
        plan=plan,
        container=plan.launch,
        env=env,
        secrets=tuple(secrets),
        gpus=gpus,
        shm_size=shm_size,
    )


def _secret(spec: ServeSpec, where: str, env: str, secret: str, key: str, *, optional: bool) -> SecretEnv:
    """The Secret reference for the spec's secret at `where` (api_key, hf_token, env.NAME)."""
    origin = spec.secret_origin(where)
    variable = origin.variable or SECRET_VARIABLES.get(where, env)
    return SecretEnv(env, secret, key, optional, variable=variable, file=origin.file)


def _secret_env_names(spec: ServeSpec, plan: LaunchPlan) -> set[str]:
    """Variables whose values are never written: the engine's secrets, and the user's entries that look
    secret, were given by reference (`env:NAME`, `file:PATH`: resolved only where the server runs) or
    hold a secret llmserve was given."""
    given = {
        name
        for name, value in spec.env.items()
        if spec.secret_origin(f"env.{name}") != SecretOrigin() or holds_secret(value)
    }
    return set(plan.secret_env) | given


def quantity(docker_size: str) -> str:
    """Docker's size notation (1g, 512m, 2.5g: binary units) as a Kubernetes quantity (1Gi, …)."""
    match = _DOCKER_SIZE.fullmatch(docker_size)
    if match is None:  # the spec validated it; this would be a bug
        raise ValueError(f"{docker_size!r} is not a size")
    number, unit = match.groups()
    return number + _QUANTITY_UNITS[unit.lower()]
