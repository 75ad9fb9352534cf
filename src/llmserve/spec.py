"""The serve spec: what the user wants served, validated before anything starts.

One strict pydantic model, shared by CLI options and spec files. Engine-neutral fields come first;
`tgi` and `vllm` hold what only one engine has.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from llmserve import redaction
from llmserve.deploy.settings import DeployOptions, check_engine_fits
from llmserve.errors import SpecError

Engine = Literal["tgi", "vllm"]
RuntimeName = Literal["docker", "process"]
PullPolicy = Literal["always", "missing", "never"]
VllmImpl = Literal["auto", "vllm", "transformers", "terratorch"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORTS: dict[str, int] = {"tgi": 8080, "vllm": 8000}
DEFAULT_RUNTIMES: dict[str, RuntimeName] = {"tgi": "docker", "vllm": "process"}

# TGI is in maintenance mode; 3.3.7 is its last release. Never `latest`.
DEFAULT_TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.7"
DEFAULT_VLLM_IMAGE = "vllm/vllm-openai:v0.32.0"
DEFAULT_VLLM_CPU_IMAGE = "vllm/vllm-openai-cpu:v0.32.0-x86_64"
DEFAULT_SHM_SIZE = "1g"
NO_VOLUME = "none"

DTYPES: tuple[str, ...] = ("auto", "float16", "bfloat16", "float32")
TGI_DTYPES: tuple[str, ...] = ("float16", "bfloat16")
TGI_QUANTIZATIONS: tuple[str, ...] = (
    "awq",
    "compressed-tensors",
    "eetq",
    "exl2",
    "gptq",
    "marlin",
    "bitsandbytes",
    "bitsandbytes-nf4",
    "bitsandbytes-fp4",
    "fp8",
)

_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SIZE = re.compile(r"^[0-9]+(?:\.[0-9]+)?[bkmgBKMG]?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_FIELDS = frozenset({"api_key", "hf_token"})
SECRET_FROM_ENV = "env:"
SECRET_FROM_FILE = "file:"
MAX_SECRET_FILE_BYTES = 64 * 1024


def default_hf_cache() -> str:
    """The host's Hugging Face cache, where `HF_HOME` or the default puts it."""
    hf_home = os.environ.get("HF_HOME")
    return hf_home if hf_home else str(Path.home() / ".cache" / "huggingface")


def looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or model in (".", "..")


def read_secret_file(path: Path) -> str:
    """A secret kept in a file (its surrounding whitespace dropped); ValueError says what is wrong."""
    try:
        if path.exists() and not path.is_file():  # a FIFO or /dev/zero would never end
            raise ValueError(f"{path} is not a regular file; put the secret in a file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_SECRET_FILE_BYTES + 1)
        if len(raw) > MAX_SECRET_FILE_BYTES:
            raise ValueError(f"{path} is larger than a secret can be; check the path")
        secret = raw.decode().strip()
    except OSError as error:
        raise ValueError(f"cannot read {path} ({error.strerror}); check the path") from None
    except UnicodeDecodeError:  # its message would quote the file's bytes
        raise ValueError(f"{path} is not UTF-8 text; save the secret as plain text") from None
    if not secret:
        raise ValueError(f"{path} is empty; put the secret in it")
    redaction.remember(secret)
    return secret


def resolve_reference(value: str, info: ValidationInfo) -> str:
    """The value an `env:NAME` or `file:PATH` reference names; any other value as it is."""
    if value.startswith(SECRET_FROM_ENV):
        name = value.removeprefix(SECRET_FROM_ENV)
        if not os.environ.get(name):
            raise ValueError(f"environment variable {name} is not set; export it, or remove the key")
        return os.environ[name]
    if value.startswith(SECRET_FROM_FILE):
        base = Path((info.context or {}).get("base_dir", "."))
        return read_secret_file(base / Path(value.removeprefix(SECRET_FROM_FILE)).expanduser())
    return value


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class TgiOptions(_Strict):
    """Options only TGI has."""

    max_input_tokens: int | None = Field(None, gt=0)
    max_batch_prefill_tokens: int | None = Field(None, gt=0)
    max_batch_total_tokens: int | None = Field(None, gt=0)
    max_concurrent_requests: int | None = Field(None, gt=0)


class VllmOptions(_Strict):
    """Options only vLLM has."""

    impl: VllmImpl | None = Field(None, description="vLLM's --model-impl.")
    version: str | None = Field(None, description="Render for this vLLM version instead of the one detected.")
    python: str | None = Field(None, description="Interpreter that has vLLM installed.")
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    enforce_eager: bool = False
    cpu_kvcache_space: int | None = Field(
        None, gt=0, description="GiB of KV cache on a CPU engine (VLLM_CPU_KVCACHE_SPACE)."
    )

    @field_validator("version")
    @classmethod
    def _version(cls, version: str | None) -> str | None:
        if version is not None and not re.match(r"^v?\d+\.\d+", version):
            raise ValueError(f"{version!r} is not a vLLM version; use a form like 0.13.0")
        return version


class ServeSpec(_Strict):
    """What to serve, with which engine, where. Unknown keys are errors."""

    engine: Engine
    model: str = Field(description="Hub id (org/name or name) or a local model directory.")
    revision: str | None = None
    runtime: RuntimeName | None = Field(
        None, description="docker or process; TGI runs on docker, vLLM as a process by default."
    )
    host: str = Field(DEFAULT_HOST, description="Interface the server listens on.")
    port: int | None = Field(None, description="Host port; TGI 8080, vLLM 8000 by default.")
    gpus: str = Field("all", description="all, none, or device indices such as 0,1.")
    image: str | None = Field(
        None, description="Container image (docker runtime); a pinned tag, never latest."
    )
    pull: PullPolicy = Field("missing", description="When to pull the image.")
    shm_size: str | None = Field(None, description="Size of /dev/shm in the container (TGI: 1g).")
    volume: str = Field(
        default_factory=default_hf_cache,
        description="Host Hugging Face cache mounted into the container; 'none' for no mount.",
    )
    tensor_parallel_size: int | None = Field(None, ge=1)
    dtype: str | None = None
    quantization: str | None = None
    max_model_len: int | None = Field(
        None, gt=0, description="Longest sequence (prompt plus output), in tokens."
    )
    trust_remote_code: bool = False
    served_model_name: str | None = None
    api_key: SecretStr | None = Field(
        None, description="Key clients must send; env:NAME or file:PATH say where it comes from."
    )
    hf_token: SecretStr | None = Field(
        None, description="Hugging Face token; env:NAME or file:PATH say where it comes from."
    )
    env: dict[str, str] = Field(default_factory=dict, repr=False)  # may hold secrets
    lora_adapters: list[str] = Field(default_factory=list, description="Adapter ids or name=path.")
    engine_args: list[str] = Field(
        default_factory=list, description="Passed to the engine as they are, after its own flags."
    )
    tgi: TgiOptions = Field(default_factory=TgiOptions)
    vllm: VllmOptions = Field(default_factory=VllmOptions)
    deploy: DeployOptions = Field(
        default_factory=DeployOptions, description="How `llmserve render` lays it out (Kubernetes, Compose)."
    )

    @field_validator("api_key", "hf_token", mode="before")
    @classmethod
    def _secret_reference(cls, value: Any, info: ValidationInfo) -> Any:
        """`env:NAME` and `file:PATH` name where a secret comes from; the spec never holds it."""
        if not isinstance(value, str):
            return value
        resolved = resolve_reference(value, info)
        redaction.remember(resolved)
        return resolved

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, image: str | None) -> str | None:
        if image is not None and (":" not in image.rpartition("/")[2] or image.endswith(":latest")):
            raise ValueError(f"{image!r} is not pinned; name a version tag, e.g. {DEFAULT_TGI_IMAGE}")
        return image

    @field_validator("shm_size")
    @classmethod
    def _size(cls, size: str | None) -> str | None:
        if size is not None and not _SIZE.match(size):
            raise ValueError(f"{size!r} is not a size; use a number with an optional unit, e.g. 1g or 512m")
        return size

    @field_validator("model")
    @classmethod
    def _model(cls, model: str, info: ValidationInfo) -> str:
        base = Path((info.context or {}).get("base_dir", "."))
        candidate = (base / Path(model).expanduser()).resolve() if model else None
        if looks_like_path(model) or (candidate is not None and candidate.is_dir()):
            assert candidate is not None
            if not candidate.is_dir():
                raise ValueError(
                    f"{model!r} is not a directory; "
                    "give an existing model directory or a Hub id like org/name"
                )
            return str(candidate)
        if not _HUB_ID.match(model) or ".." in model or "--" in model:
            raise ValueError(
                f"{model!r} is neither a Hub id (org/name or name) nor an existing local directory"
            )
        return model

    @field_validator("host")
    @classmethod
    def _host(cls, host: str) -> str:
        """An address to listen on; Docker's port mapping takes IP addresses only."""
        if host == "localhost":
            return DEFAULT_HOST
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(
                f"{host!r} is not an IP address; "
                "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
            ) from None
        return host

    @field_validator("port")
    @classmethod
    def _port(cls, port: int | None) -> int | None:
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"{port} is outside 1-65535; choose a free port such as 8080")
        return port

    @field_validator("gpus")
    @classmethod
    def _gpus(cls, gpus: str) -> str:
        gpus = gpus.strip().replace(" ", "")
        if gpus in ("all", "none") or re.fullmatch(r"\d+(,\d+)*", gpus):
            indices = gpus.split(",")
            if len(set(indices)) != len(indices):
                raise ValueError(f"{gpus!r} names a device twice; list each index once")
            return gpus
        raise ValueError(f"{gpus!r} is not a GPU selection; use all, none, or indices such as 0,1")

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, dtype: str | None) -> str | None:
        if dtype is not None and dtype not in DTYPES:
            raise ValueError(f"{dtype!r} is not a dtype; use one of {_one_of(DTYPES)}")
        return dtype

    @field_validator("env")
    @classmethod
    def _env(cls, env: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for name in env:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name; use letters, digits and _")
        # A value may name where it comes from (env:NAME, file:PATH), as convert writes secrets.
        env = {name: resolve_reference(value, info) for name, value in env.items()}
        redaction.remember(*(value for name, value in env.items() if redaction.is_secret_name(name)))
        return env

    @field_validator("engine_args")
    @classmethod
    def _engine_args(cls, args: list[str]) -> list[str]:
        redaction.remember(*redaction.secret_values_in_args(args))
        return args

    @field_validator("lora_adapters")
    @classmethod
    def _lora(cls, adapters: list[str]) -> list[str]:
        for adapter in adapters:
            name, _, source = adapter.partition("=")
            if not name or (adapter.count("=") and not source):
                raise ValueError(f"{adapter!r} is not an adapter; use a Hub id or name=path")
        return adapters

    @model_validator(mode="after")
    def _engine_rules(self) -> ServeSpec:
        if self.gpus not in ("all", "none") and self.tensor_parallel_size is not None:
            named = len(self.gpus.split(","))
            if self.tensor_parallel_size > named:
                raise _field_error(
                    "tensor_parallel_size",
                    f"{self.tensor_parallel_size} is more than the {named} GPU(s) named by gpus={self.gpus}; "
                    "name more GPUs or lower it",
                )
        if self.engine == "tgi":
            self._tgi_rules()
        else:
            self._vllm_rules()
        unfit = check_engine_fits(self.deploy, self.engine, self.gpus)
        if unfit:
            raise _field_error("deploy.nodes", unfit)
        return self

    def _tgi_rules(self) -> None:
        if self.runtime == "process":
            raise _field_error("runtime", "'process' is not available for TGI; TGI runs on docker")
        if self.served_model_name is not None:
            raise _field_error(
                "served_model_name",
                "TGI has no such option (it answers to any model name); remove it",
            )
        if self.dtype not in (None, "auto", *TGI_DTYPES):
            raise _field_error(
                "dtype", f"{self.dtype!r} is not a TGI dtype; use one of {_one_of(TGI_DTYPES)}"
            )
        if self.quantization is not None:
            if self.quantization not in TGI_QUANTIZATIONS:
                raise _field_error(
                    "quantization",
                    f"{self.quantization!r} is not a TGI method; use one of {_one_of(TGI_QUANTIZATIONS)}",
                )
            if self.dtype not in (None, "auto"):
                raise _field_error(
                    "dtype",
                    f"{self.dtype!r} cannot be combined with quantization on TGI; drop one of them",
                )
            if self.quantization == "exl2" and (self.tensor_parallel_size or 1) > 1:
                raise _field_error(
                    "quantization", "exl2 models cannot be sharded; set tensor_parallel_size to 1"
                )
        if self.gpus == "none" and (self.tensor_parallel_size or 1) > 1:
            raise _field_error("tensor_parallel_size", "TGI shards only across GPUs; with gpus=none use 1")
        self._tgi_token_limits()

    def _tgi_token_limits(self) -> None:
        total = self.max_model_len
        options = self.tgi
        if options.max_input_tokens is not None and total is not None and options.max_input_tokens >= total:
            raise _field_error(
                "tgi.max_input_tokens",
                f"{options.max_input_tokens} must be less than max_model_len ({total}); "
                "lower it or raise max_model_len",
            )
        if (
            total is not None
            and options.max_batch_total_tokens is not None
            and total > options.max_batch_total_tokens
        ):
            raise _field_error(
                "max_model_len",
                f"{total} is more than tgi.max_batch_total_tokens "
                f"({options.max_batch_total_tokens}); lower it",
            )
        if (
            options.max_batch_prefill_tokens is not None
            and options.max_input_tokens is not None
            and options.max_batch_prefill_tokens < options.max_input_tokens
        ):
            raise _field_error(
                "tgi.max_batch_prefill_tokens",
                f"{options.max_batch_prefill_tokens} is less than tgi.max_input_tokens "
                f"({options.max_input_tokens}); raise it",
            )

    def _vllm_rules(self) -> None:
        # Quantization methods and model implementations depend on the vLLM version that will run:
        # llmserve.engines.accepted checks them once that version is known.
        for field_name in (
            "max_input_tokens",
            "max_batch_prefill_tokens",
            "max_batch_total_tokens",
        ):
            if getattr(self.tgi, field_name) is not None:
                raise _field_error(f"tgi.{field_name}", "is a TGI option; remove it when serving with vLLM")

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.engine]

    @property
    def effective_image(self) -> str:
        if self.image is not None:
            return self.image
        if self.engine == "tgi":
            return DEFAULT_TGI_IMAGE
        return DEFAULT_VLLM_CPU_IMAGE if self.gpus == "none" else DEFAULT_VLLM_IMAGE

    @property
    def effective_shm_size(self) -> str | None:
        return self.shm_size or (DEFAULT_SHM_SIZE if self.engine == "tgi" else None)

    @property
    def effective_runtime(self) -> RuntimeName:
        return self.runtime if self.runtime is not None else DEFAULT_RUNTIMES[self.engine]

    @property
    def is_local_model(self) -> bool:
        return Path(self.model).is_absolute()


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _field_error(field: str, message: str) -> _FieldError:
    return _FieldError(field, message)


def build_spec(data: dict[str, Any], *, base_dir: Path | None = None) -> ServeSpec:
    """Validate raw spec data; raise SpecError with one line naming each bad field."""
    try:
        return ServeSpec.model_validate(data, context={"base_dir": str(base_dir or Path.cwd())})
    except ValidationError as error:
        raise SpecError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        cause = (item.get("ctx") or {}).get("error")
        location = ".".join(str(part) for part in item["loc"])
        if isinstance(cause, _FieldError):
            location = cause.field
        message = str(cause) if isinstance(cause, ValueError) else _plain_message(item)
        problems.append(f"{location}: {message}" if location else message)
    return "invalid spec: " + "; ".join(problems)


def _plain_message(item: Any) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        return "unknown key; check its spelling (`llmserve schema` lists every key)"
    value = item.get("input")
    hidden = SECRET_FIELDS.intersection(str(part) for part in item["loc"])
    shown = "" if hidden or isinstance(value, dict | list) else f" (got {value!r})"
    return f"{item['msg'].lower()}{shown}"
