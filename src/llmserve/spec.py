"""The serve spec: what the user wants served, validated before anything starts.

One strict pydantic model, shared by CLI options and spec files. Engine-neutral fields come first;
`tgi` and `vllm` hold what only one engine has.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from llmserve import grammar, redaction
from llmserve.deploy.settings import DeployOptions, check_engine_fits
from llmserve.errors import SpecError
from llmserve.vllm_tables import VLLM_VALUES

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
DEFAULT_IMAGES = {
    "tgi": DEFAULT_TGI_IMAGE,
    "vllm": DEFAULT_VLLM_IMAGE,
}  # each engine's example of a pinned tag
DEFAULT_SHM_SIZE = "1g"
NO_VOLUME = "none"

# vLLM's --dtype choices (ModelDType in its config, the same from 0.7 to 0.33); the others are a subset.
Dtype = Literal["auto", "half", "float16", "bfloat16", "float", "float32"]
VLLM_DTYPES: tuple[str, ...] = get_args(Dtype)
# TGI's launcher takes float16 and bfloat16; `auto` leaves its --dtype out.
TGI_DTYPES: tuple[str, ...] = ("float16", "bfloat16")
# vLLM's other names for a dtype.
DTYPE_SYNONYMS = {"half": "float16", "float": "float32"}
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
# Every method some vLLM version knows; engines.accepted checks the version that will run.
VLLM_QUANTIZATIONS: tuple[str, ...] = tuple(
    sorted({method for methods, _, _ in VLLM_VALUES.values() for method in methods.split()})
)
Quantization = Annotated[
    str, Field(json_schema_extra={"enum": sorted({*TGI_QUANTIZATIONS, *VLLM_QUANTIZATIONS})})
]

SECRET_FIELDS = frozenset({"api_key", "hf_token"})
MAX_SECRET_BYTES = 64 * 1024
SECRET_FROM_ENV = grammar.SECRET_REFERENCE_ENV
SECRET_FROM_FILE = grammar.SECRET_REFERENCE_FILE


def default_hf_cache() -> str:
    """The host's Hugging Face cache, where `HF_HOME` or the default puts it."""
    hf_home = os.environ.get("HF_HOME")
    return hf_home if hf_home else str(Path.home() / ".cache" / "huggingface")


def looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or model in (".", "..")


def host_path(value: str, base_dir: Path) -> Path:
    """`value` as an absolute path on this machine; ValueError names what is wrong with it."""
    try:
        return (base_dir / Path(value).expanduser()).resolve()
    except RuntimeError:  # ~user for a user this machine does not have
        raise ValueError(f"{value!r} names a home directory that does not exist; give a full path") from None
    except OSError as error:
        raise ValueError(f"{value!r} is not a usable path ({error.strerror}); give a shorter one") from None


def is_directory(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long, or a component that is not a directory
        return False


def read_secret_file(path: Path) -> str:
    """A secret kept in a file (its surrounding whitespace dropped); ValueError says what is wrong."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe would block, a device never end
            raise ValueError(f"{path} is not a regular file; put the secret in a file")
        with open(path, "rb") as file:
            raw = file.read(MAX_SECRET_BYTES + 1)
    except OSError as error:
        raise ValueError(f"cannot read {path} ({error.strerror}); check the path") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise ValueError(f"{path} is over {MAX_SECRET_BYTES // 1024} KiB; keep only the secret in it")
    try:
        secret = raw.decode().strip()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text; save the secret as UTF-8") from None
    if not secret:
        raise ValueError(f"{path} is empty; put the secret in it")
    if any(ord(char) < 32 or ord(char) == 127 for char in secret):
        raise ValueError(
            f"{path} holds more than one line or a control character; keep only the secret in it"
        )
    redaction.remember(secret)
    return secret


@dataclass(frozen=True)
class SecretOrigin:
    """Where a secret of the spec comes from (never the secret): the environment variable of an
    `env:NAME` reference, the file of a `file:PATH` one, or neither (the spec or an option held it)."""

    variable: str | None = None
    file: Path | None = None


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _whole_number(value: Any) -> Any:
    """Integers only: `true` is not 1; 8.0 is 8 (as in JSON Schema)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, Field(gt=0), BeforeValidator(_whole_number)]
PortNumber = Annotated[int, Field(ge=1, le=65535), BeforeValidator(_whole_number)]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, strict=True, regex_engine="python-re"
    )


class TgiOptions(_Strict):
    """Options only TGI has."""

    max_input_tokens: Count | None = None
    max_batch_prefill_tokens: Count | None = None
    max_batch_total_tokens: Count | None = None
    max_concurrent_requests: Count | None = None


class VllmOptions(_Strict):
    """Options only vLLM has."""

    impl: VllmImpl | None = Field(None, description="vLLM's --model-impl.")
    version: str | None = Field(
        None,
        pattern=grammar.VLLM_VERSION,
        description="Render for this vLLM version instead of the one detected.",
    )
    python: str | None = Field(
        None, pattern=grammar.ONE_LINE, description="Interpreter that has vLLM installed."
    )
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    enforce_eager: bool = False
    cpu_kvcache_space: Count | None = Field(
        None, description="GiB of KV cache on a CPU engine (VLLM_CPU_KVCACHE_SPACE)."
    )


def _engine_schema_rules(schema: dict[str, Any]) -> None:
    """What each engine allows, in the JSON Schema too (the model's after-validator checks the same)."""
    schema["allOf"] = [
        {
            "if": {"properties": {"engine": {"const": "tgi"}}},
            "then": {
                "properties": {
                    "runtime": {"enum": ["docker", None]},
                    "served_model_name": {"const": None},
                    "dtype": {"enum": [None, "auto", *TGI_DTYPES]},
                    "quantization": {"enum": [None, *TGI_QUANTIZATIONS]},
                    "vllm": {"maxProperties": 0},
                }
            },
        },
        {
            "if": {"properties": {"engine": {"const": "vllm"}}},
            "then": {
                "properties": {
                    "quantization": {"enum": [None, *VLLM_QUANTIZATIONS]},
                    "tgi": {"maxProperties": 0},
                }
            },
        },
    ]


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


EnvName = Annotated[str, Field(pattern=grammar.ENV_NAME)]
EnvValue = Annotated[str, Field(pattern=grammar.ENV_VALUE)]
Adapter = Annotated[str, Field(pattern=grammar.LORA)]
EngineArg = Annotated[str, Field(pattern=grammar.ENGINE_ARG)]
_SECRET_SCHEMA: dict[str, Any] = {"pattern": grammar.SECRET}
_HOST_SCHEMA: dict[str, Any] = {"anyOf": [{"const": "localhost"}, {"format": "ipv4"}, {"format": "ipv6"}]}


class ServeSpec(_Strict):
    """What to serve, with which engine, where. Unknown keys are errors."""

    model_config = ConfigDict(json_schema_extra=_engine_schema_rules)

    engine: Engine
    model: str = Field(
        pattern=grammar.MODEL, description="Hub id (org/name or name) or a local model directory."
    )
    revision: str | None = Field(None, pattern=grammar.REVISION)
    runtime: RuntimeName | None = Field(
        None, description="docker or process; TGI runs on docker, vLLM as a process by default."
    )
    host: str = Field(
        DEFAULT_HOST, description="Interface the server listens on.", json_schema_extra=_HOST_SCHEMA
    )
    port: PortNumber | None = Field(None, description="Host port; TGI 8080, vLLM 8000 by default.")
    gpus: str = Field("all", pattern=grammar.GPUS, description="all, none, or device indices such as 0,1.")
    image: str | None = Field(
        None,
        pattern=grammar.PINNED_IMAGE,
        description="Container image (docker runtime); a pinned tag, never latest.",
    )
    pull: PullPolicy = Field("missing", description="When to pull the image.")
    shm_size: str | None = Field(
        None, pattern=grammar.SIZE, description="Size of /dev/shm in the container (TGI: 1g)."
    )
    volume: str = Field(
        default_factory=default_hf_cache,
        pattern=grammar.VOLUME,
        description="Host Hugging Face cache directory mounted into the container; 'none' for no mount.",
    )
    tensor_parallel_size: Count | None = None
    dtype: Dtype | None = None
    quantization: Quantization | None = None
    max_model_len: Count | None = Field(None, description="Longest sequence (prompt plus output), in tokens.")
    trust_remote_code: bool = False
    served_model_name: str | None = Field(None, pattern=grammar.SERVED_NAME)
    api_key: SecretStr | None = Field(
        None,
        description="Key clients must send; env:NAME or file:PATH say where it comes from.",
        json_schema_extra=_SECRET_SCHEMA,
    )
    hf_token: SecretStr | None = Field(
        None,
        description="Hugging Face token; env:NAME or file:PATH say where it comes from.",
        json_schema_extra=_SECRET_SCHEMA,
    )
    env: dict[EnvName, EnvValue] = Field(  # may hold secrets
        default_factory=dict, repr=False, json_schema_extra={"propertyNames": {"pattern": grammar.ENV_NAME}}
    )
    lora_adapters: list[Adapter] = Field(default_factory=list, description="Adapter ids or name=path.")
    engine_args: list[EngineArg] = Field(
        default_factory=list,
        description="Passed to the engine as they are, after its own flags; never the flags "
        "llmserve sets itself (host, port, model, secrets).",
    )
    tgi: TgiOptions = Field(default_factory=TgiOptions)
    vllm: VllmOptions = Field(default_factory=VllmOptions)
    deploy: DeployOptions = Field(
        default_factory=DeployOptions, description="How `llmserve render` lays it out (Kubernetes, Compose)."
    )
    # The files `file:PATH` secrets were read from, by where they are (api_key, hf_token, env.NAME).
    _secret_files: dict[str, Path] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_secret_files(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """The values of `file:PATH` secrets are read during validation; where they came from is kept."""
        spec = handler(data)
        if isinstance(data, dict):
            env = data.get("env")
            given = {field: data.get(field) for field in SECRET_FIELDS}
            given |= {f"env.{name}": value for name, value in env.items()} if isinstance(env, dict) else {}
            spec._secret_files = {
                where: _secret_file(value, info)
                for where, value in given.items()
                if isinstance(value, str) and value.startswith(SECRET_FROM_FILE)
            }
        return spec

    @field_validator("api_key", "hf_token", mode="before")
    @classmethod
    def _secret_reference(cls, value: Any, info: ValidationInfo) -> Any:
        """`env:NAME` stays a reference until launch; `file:PATH` is read now; the spec never shows either."""
        if not isinstance(value, str):
            return value
        if value.startswith(SECRET_FROM_ENV):
            if not grammar.matches(grammar.ENV_NAME, value.removeprefix(SECRET_FROM_ENV)):
                raise ValueError(
                    f"{value!r} names no environment variable; write env:NAME, e.g. env:HF_TOKEN"
                )
            return value
        if value.startswith(SECRET_FROM_FILE):
            reference = value.removeprefix(SECRET_FROM_FILE)
            if not grammar.matches(grammar.ONE_LINE, reference):
                raise ValueError("file: names no usable path; write file:PATH")
            return read_secret_file(_secret_file(value, info))
        if not grammar.matches(grammar.SECRET, value):
            raise ValueError(
                "the value is empty or spans lines; give the secret on one line, or env:NAME or file:PATH"
            )
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, model: str, info: ValidationInfo) -> str:
        if not looks_like_path(model):
            candidate = _base_dir(info) / model
            return str(candidate.resolve()) if is_directory(candidate) else model
        directory = host_path(model, _base_dir(info))
        if not is_directory(directory):
            raise ValueError(
                f"{model!r} is not a directory; give an existing model directory or a Hub id like org/name"
            )
        return str(directory)

    @field_validator("volume")
    @classmethod
    def _volume(cls, volume: str, info: ValidationInfo) -> str:
        """A directory on this machine (made absolute), or none."""
        return volume if volume == NO_VOLUME else str(host_path(volume, _base_dir(info)))

    @field_validator("host")
    @classmethod
    def _host(cls, host: str) -> str:
        """An address to listen on; Docker's port mapping takes IP addresses only."""
        if host == "localhost":
            return DEFAULT_HOST
        try:
            if "%" in host:  # an IPv6 scope: Docker cannot publish a port on one
                raise ValueError
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(
                f"{host!r} is not an IP address; "
                "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
            ) from None
        return host

    @field_validator("env")
    @classmethod
    def _env(cls, env: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        """A value may name where it comes from, as convert writes secrets: `file:PATH` is read now,
        `env:NAME` stays a reference until launch (with_secrets_resolved)."""
        resolved = {}
        for name, value in env.items():
            if value.startswith(SECRET_FROM_ENV) and not grammar.matches(
                grammar.ENV_NAME, value.removeprefix(SECRET_FROM_ENV)
            ):
                raise ValueError(f"{name}: {value!r} names no environment variable; write env:NAME")
            resolved[name] = (
                read_secret_file(_secret_file(value, info)) if value.startswith(SECRET_FROM_FILE) else value
            )
        redaction.remember(*(value for name, value in resolved.items() if redaction.is_secret_name(name)))
        return resolved

    @field_validator("engine_args")
    @classmethod
    def _engine_args(cls, args: list[str]) -> list[str]:
        redaction.remember(*redaction.secret_values_in_args(args))
        return args

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
            raise _field_error("dtype", _not_a_choice("dtype", "tgi", _shown_value(self.dtype)))
        if self.quantization is not None:
            if self.quantization not in TGI_QUANTIZATIONS:
                raise _field_error(
                    "quantization", _not_a_choice("quantization", "tgi", _shown_value(self.quantization))
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
        _refuse_other_engine_section("vllm", self.vllm, "TGI")
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
        if self.quantization is not None and self.quantization not in VLLM_QUANTIZATIONS:
            raise _field_error(
                "quantization",
                f"{self.quantization!r} is not a vLLM method in any version llmserve knows; "
                "check its spelling (`llmserve schema` lists them)",
            )
        _refuse_other_engine_section("tgi", self.tgi, "vLLM")

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

    def secret_reference(self, field: str) -> str | None:
        """`env:NAME` when the secret in `field` is still a reference to the environment."""
        secret: SecretStr | None = getattr(self, field)
        value = secret.get_secret_value() if secret is not None else ""
        return value if value.startswith(SECRET_FROM_ENV) else None

    def secret_origin(self, where: str) -> SecretOrigin:
        """Where the secret at `where` (api_key, hf_token or env.NAME) comes from."""
        if where.startswith("env."):
            value = self.env.get(where.removeprefix("env."), "")
        else:
            secret: SecretStr | None = getattr(self, where)
            value = secret.get_secret_value() if secret is not None else ""
        if value.startswith(SECRET_FROM_ENV):
            return SecretOrigin(variable=value.removeprefix(SECRET_FROM_ENV))
        return SecretOrigin(file=self._secret_files.get(where))

    def with_secrets_resolved(self) -> ServeSpec:
        """The spec with each `env:NAME` secret replaced by its value: done at launch, not before."""
        updates: dict[str, SecretStr] = {}
        for field in sorted(SECRET_FIELDS):
            reference = self.secret_reference(field)
            if reference is None:
                continue
            name = reference.removeprefix(SECRET_FROM_ENV)
            if not os.environ.get(name):
                raise SpecError(
                    f"invalid spec: {field}: environment variable {name} is not set; "
                    "export it, or remove the key"
                )
            updates[field] = SecretStr(os.environ[name])
            redaction.remember(os.environ[name])
        env = {name: self._resolved_env_value(name, value) for name, value in self.env.items()}
        if env != self.env:
            updates["env"] = env  # type: ignore[assignment]
        return self.model_copy(update=updates) if updates else self

    @staticmethod
    def _resolved_env_value(name: str, value: str) -> str:
        if not value.startswith(SECRET_FROM_ENV):
            return value
        source = value.removeprefix(SECRET_FROM_ENV)
        if not os.environ.get(source):
            raise SpecError(
                f"invalid spec: env.{name}: environment variable {source} is not set; "
                "export it, or remove the entry"
            )
        redaction.remember(os.environ[source])
        return os.environ[source]


def _refuse_other_engine_section(section: str, options: BaseModel, engine_name: str) -> None:
    """A section for the other engine is an error, both ways; `run --engine` translates one."""
    for key in sorted(options.model_fields_set):
        raise _field_error(
            f"{section}.{key}",
            f"is a {ENGINE_LABELS[section]} option and this spec serves with {engine_name}; remove it, or "
            f"write the spec for {ENGINE_LABELS[section]} and serve it with `llmserve run SPEC --engine "
            f"{'tgi' if section == 'vllm' else 'vllm'}`, which translates it",
        )


ENGINE_LABELS = {"tgi": "TGI", "vllm": "vLLM"}


def _base_dir(info: ValidationInfo) -> Path:
    return Path((info.context or {}).get("base_dir", "."))


def _secret_file(reference: str, info: ValidationInfo) -> Path:
    """The file a `file:PATH` reference names, relative to the spec."""
    return host_path(reference.removeprefix(SECRET_FROM_FILE), _base_dir(info))


def _field_error(field: str, message: str) -> _FieldError:
    return _FieldError(field, message)


def build_spec(data: dict[str, Any], *, base_dir: Path | None = None) -> ServeSpec:
    """Validate raw spec data; raise SpecError with one line naming each bad field."""
    try:
        return ServeSpec.model_validate(data, context={"base_dir": str(base_dir or Path.cwd())})
    except ValidationError as error:
        engine = data.get("engine") if isinstance(data, dict) else None
        raise SpecError(describe_validation_error(error, engine=engine)) from None


def describe_validation_error(error: ValidationError, *, prefix: str = "", engine: Any = None) -> str:
    problems = []
    for item in error.errors(include_url=False):
        cause = (item.get("ctx") or {}).get("error")
        parts = [prefix] if prefix else []
        # Where in the spec: keys and list positions are named by the value the message shows.
        # An unknown key is named in full (deploy.tolerations.tolerationSeconds), however deep.
        shown = item["loc"] if item["type"] == "extra_forbidden" else item["loc"][:2]
        location = ".".join(str(part) for part in (*parts, *shown) if isinstance(part, str))
        if location.startswith("env."):
            location = "env"
        if isinstance(cause, _FieldError):
            location = cause.field
        message = str(cause) if isinstance(cause, ValueError) else _plain_message(item, engine)
        problems.append(f"{location}: {message}" if location else message)
    return "invalid spec: " + "; ".join(problems)


SECTION_FIELDS = {"tgi": "TGI's options", "vllm": "vLLM's options"}
_TYPE_NAMES = {
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list of strings",
    "dict_type": "a mapping of KEY: value",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _shown_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _pattern_problem(field: str, value: str, engine: Any = None) -> str:
    """What is wrong with a string value its field's pattern refused, and the fix."""
    shown = _shown_value(value)
    if field == "engine_args":
        option = grammar.managed_flag_option(value)
        if option is not None:  # the flag only: what follows `=` may be a secret
            flag = _shown_value(value.split("=", 1)[0])
            if option in grammar.SECRET_OPTIONS:
                return f"{flag} carries a secret, which llmserve passes only in the environment; use {option}"
            return f"{flag} is a flag llmserve sets itself; use {option} instead"
        return f"{shown} holds a NUL character; remove it"
    if field == "image":
        example = DEFAULT_IMAGES.get(engine) or " or ".join(DEFAULT_IMAGES.values())
        if grammar.matches(grammar.IMAGE_REFERENCE, value):
            return f"{shown} is not pinned; name a version tag, e.g. {example}"
        return f"{shown} is not an image reference; use [REGISTRY/]NAME:TAG, e.g. {example}"
    return f"{shown} {PATTERN_PROBLEMS.get(field, 'is not a valid value; see `llmserve schema`')}"


PATTERN_PROBLEMS = {
    "model": "is neither a Hub id (org/name or name) nor an existing local directory",
    "revision": "is not a branch, tag or commit; use letters, digits and . _ / + - (not first), "
    "with no '..', '//', part starting with '.' or ending with '.lock', and no trailing '/' or '.'",
    "gpus": "is not a GPU selection; use all, none, or distinct indices such as 0,1",
    "shm_size": "is not a size; use a number with an optional unit, e.g. 1g or 512m",
    "volume": "is not a host directory; give a path (without ':') or none",
    "served_model_name": "is not a model name; use one line that does not start with - or a space",
    "env": "is not an environment variable entry; names use letters, digits and _; values no NUL",
    "lora_adapters": "is not an adapter; use a Hub id or name=path (no spaces, not starting with -)",
    "version": "is not a vLLM version; use a form like 0.13.0",
    "python": "is not a path to an interpreter; give it on one line",
}


# What each engine takes for a field whose values differ between them: (what a value is, the values).
_ENGINE_CHOICES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "quantization": {
        "tgi": ("a TGI method", TGI_QUANTIZATIONS),
        "vllm": ("a vLLM method", VLLM_QUANTIZATIONS),
    },
    "dtype": {"tgi": ("a TGI dtype", ("auto", *TGI_DTYPES)), "vllm": ("a vLLM dtype", VLLM_DTYPES)},
}


def _not_a_choice(field: str, engine: str, shown: str) -> str:
    what, choices = _ENGINE_CHOICES[field][engine]
    return f"{shown} is not {what}; use one of {_one_of(choices)}"


def _literal_problem(field: str, value: Any, expected: str, engine: Any) -> str:
    shown = _shown_value(value)
    if field in _ENGINE_CHOICES and engine in ("tgi", "vllm"):
        return _not_a_choice(field, engine, shown)
    if field == "dtype":
        return f"{shown} is not a dtype; use one of {_one_of(VLLM_DTYPES)}"
    return f"input should be {expected} (got {shown})"


def _plain_message(item: Any, engine: Any = None) -> str:
    kind = item["type"]
    location = [str(part) for part in item["loc"] if not isinstance(part, int)]
    field = location[-1] if location else ""
    value = item.get("input")
    if kind == "extra_forbidden":
        return "unknown key; check its spelling (`llmserve schema` lists every key)"
    if kind == "missing":
        return "is required; add it"
    if SECRET_FIELDS.intersection(location):
        return "must be a string: the secret, env:NAME or file:PATH"
    if kind == "string_pattern_mismatch" and isinstance(value, str):
        if "env" in location and item["loc"][-1] == "[key]":
            return f"{_shown_value(value)} is not an environment variable name; use letters, digits and _"
        return _pattern_problem("env" if "env" in location else field, value, engine)
    if kind == "literal_error":
        return _literal_problem(field, value, (item.get("ctx") or {}).get("expected", ""), engine)
    if field == "port" and kind in ("greater_than_equal", "less_than_equal"):
        return f"{_shown_value(value)} is outside 1-65535; choose a free port such as 8080"
    if kind in _TYPE_NAMES:
        expected = _TYPE_NAMES[kind]
        if kind in ("model_type", "model_attributes_type") and field in SECTION_FIELDS:
            expected = f"a mapping of {SECTION_FIELDS[field]}"
        return f"must be {expected} (got {_shown_value(value)})"
    return f"{item['msg'].lower()} (got {_shown_value(value)})"
