"""The spec's `deploy:` section: how a spec is laid out on Kubernetes or Compose.

Validated like the rest of the spec; command-line options override it. Only rules that need no
other spec field live here; the engine-dependent ones are in `check_engine_fits`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_QUANTITY_SCALES = {
    "": Decimal(1), "m": Decimal("0.001"),
    **{unit: Decimal(1000**power) for power, unit in enumerate("kMGTPE", start=1)},
    **{f"{unit}i": Decimal(1024**power) for power, unit in enumerate("KMGTPE", start=1)},
}  # fmt: skip
MAX_QUANTITY = 2**63 - 1  # "no quantity may represent a number greater than 2^63-1"
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")

MAX_LABEL_LENGTH = 63
MAX_INT32 = 2**31 - 1  # Kubernetes' counts (replicas, size, failureThreshold) are int32
MAX_NAME_LENGTH = 40  # LeaderWorkerSet derives StatefulSet and revision names from it: keep room
PROBE_PERIOD_SECONDS = 10
DEFAULT_STARTUP_BUDGET_SECONDS = 30 * 60
DEFAULT_CACHE_SIZE = "100Gi"
DEFAULT_HF_TOKEN_SECRET = "hf-token"
# A Service named `vllm` makes Kubernetes set VLLM_PORT=tcp://… in pods with service links,
# and vLLM reads VLLM_PORT as its own setting.
RESERVED_NAMES = frozenset({"vllm"})

ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]
SERVICE_TYPES: tuple[str, ...] = ("ClusterIP", "NodePort", "LoadBalancer")
AccessMode = Literal["ReadWriteOnce", "ReadWriteMany"]
NO_STORAGE = "none"


def _dns_name(value: str, what: str, pattern: re.Pattern[str] = DNS1123_LABEL, limit: int = 63) -> str:
    if len(value) > limit or not pattern.fullmatch(value):
        first = "a letter" if pattern is DNS1035_LABEL else "a letter or digit"
        dots = " (and '.')" if pattern is DNS1123_SUBDOMAIN else ""
        raise ValueError(
            f"{value!r} is not a valid {what}; use at most {limit} lower-case letters, digits and '-'{dots}, "
            f"starting with {first}"
        )
    return value


def is_label_value(value: str) -> bool:
    return len(value) <= MAX_LABEL_LENGTH and LABEL_VALUE.fullmatch(value) is not None


def is_label_key(key: str) -> bool:
    """`name` or `prefix/name`: a DNS subdomain of at most 253 characters, then at most 63."""
    prefix, _, name = key.rpartition("/")
    return _LABEL_KEY.fullmatch(key) is not None and len(prefix) <= 253 and len(name) <= MAX_LABEL_LENGTH


def quantity_problem(value: str) -> str | None:
    """Why `value` is no Kubernetes quantity (resources, sizes), or None."""
    match = _QUANTITY.fullmatch(value)
    if match is None:
        return f"{value!r} is not a Kubernetes quantity; write e.g. 8, 500m, 64Gi"
    if Decimal(match[1]) * _QUANTITY_SCALES[match[2] or ""] > MAX_QUANTITY:
        return f"{value} is more than a Kubernetes quantity holds (2^63-1); lower it"
    return None


def _quantity(value: str | None) -> str | None:
    problem = None if value is None else quantity_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _number_as_quantity(value: object, *, unit: str | None) -> object:
    """A YAML number as the quantity it means: cores for cpu (`cpu: 8`); for a size, whose bare number
    would be bytes, the fix with the `unit` meant."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    if unit is not None:
        raise ValueError(f"{value} has no unit, so it would be bytes; write e.g. {value}{unit}")
    return str(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class CacheStorage(_Strict):
    """The Hugging Face cache: a new PersistentVolumeClaim, or an existing claim."""

    size: str = Field(DEFAULT_CACHE_SIZE, description="Size of the new claim.")
    storage_class: str | None = Field(None, description="StorageClass of the new claim.")
    access_mode: AccessMode | None = Field(
        None,
        description="ReadWriteOnce for one pod, ReadWriteMany (shared) for more [default: by pod count].",
    )
    existing_claim: str | None = Field(None, description="Use this claim instead of creating one.")

    @field_validator("size", mode="before")
    @classmethod
    def _size_number(cls, size: object) -> object:
        return _number_as_quantity(size, unit="Gi")

    @field_validator("size")
    @classmethod
    def _size(cls, size: str) -> str | None:
        _quantity(size)
        if not any(digit in "123456789" for digit in size.rstrip("kMGTPEi")):
            raise ValueError(f"{size!r} is an empty volume; give the claim a size, e.g. {DEFAULT_CACHE_SIZE}")
        return size

    @field_validator("storage_class", "existing_claim")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return None if value is None else _dns_name(value, "name", DNS1123_SUBDOMAIN, limit=253)

    @model_validator(mode="after")
    def _existing_claim_alone(self) -> CacheStorage:
        """An existing claim has its own size, class and mode: settings for a new one would be ignored."""
        ignored = sorted(self.model_fields_set & {"size", "storage_class", "access_mode"})
        if self.existing_claim is not None and ignored:
            raise ValueError(
                f"existing_claim: the claim exists, so {', '.join(ignored)} would be ignored; remove "
                f"{'it' if len(ignored) == 1 else 'them'}, or drop existing_claim to create a new claim"
            )
        return self


class Resources(_Strict):
    """CPU and memory per pod (GPUs follow from tensor_parallel_size)."""

    cpu: str | None = Field(
        None,
        description="CPU request, e.g. 8.",
        json_schema_extra={"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
    )
    memory: str | None = Field(None, description="Memory request and limit, e.g. 64Gi.")

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _numbers(cls, value: object, info: ValidationInfo) -> object:
        return _number_as_quantity(value, unit="Gi" if info.field_name == "memory" else None)

    @field_validator("cpu", "memory")
    @classmethod
    def _quantities(cls, value: str | None) -> str | None:
        return _quantity(value)


class Toleration(_Strict):
    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, key: str | None) -> str | None:
        if key is not None and not is_label_key(key):
            raise ValueError(f"key {key!r} is not a node taint key; use e.g. nvidia.com/gpu")
        return key

    @field_validator("value")
    @classmethod
    def _value(cls, value: str | None) -> str | None:
        if value is not None and not is_label_value(value):
            raise ValueError(
                f"value {value!r} is not a taint value; use at most {MAX_LABEL_LENGTH} letters, digits, "
                "'-', '_' and '.', starting and ending with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _operator_fits(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("a toleration with operator Exists takes no value; remove the value")
        if self.key is None and self.operator == "Equal":
            raise ValueError("a toleration without a key needs operator: Exists")
        return self


class DeployOptions(_Strict):
    """How `llmserve render` lays the spec out on Kubernetes or Compose."""

    name: str | None = Field(None, description="Name of the objects [default: from engine and model].")
    namespace: str | None = Field(None, description="Kubernetes namespace [default: kubectl's].")
    replicas: int = Field(
        1, ge=1, le=MAX_INT32, description="Serving copies (pods, or pod groups with nodes > 1)."
    )
    nodes: int = Field(
        1,
        ge=1,
        le=MAX_INT32,
        description="Nodes per copy; > 1 runs vLLM across nodes (LeaderWorkerSet and Ray).",
    )
    storage: CacheStorage | Literal["none"] = Field(
        default_factory=CacheStorage, description="HF cache volume; 'none' for a scratch directory."
    )
    hf_token_secret: str = Field(
        DEFAULT_HF_TOKEN_SECRET, description="Secret whose key `token` holds the HF token (optional)."
    )
    api_key_secret: str | None = Field(
        None, description="Secret whose key `api-key` holds the API key [default: NAME-api-key]."
    )
    resources: Resources = Field(default_factory=Resources)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    startup_budget: int = Field(
        DEFAULT_STARTUP_BUDGET_SECONDS,
        ge=PROBE_PERIOD_SECONDS,
        le=MAX_INT32,
        description="Seconds a pod may take to start (download, load, warm up) before it is restarted.",
    )
    service_type: ServiceType = "ClusterIP"
    env_file: str | None = Field(None, description="Compose: file the secrets are read from.")

    @field_validator("storage", mode="before")
    @classmethod
    def _storage(cls, value: object) -> object:
        """One branch's errors only: a mapping is a CacheStorage, a string must be 'none'."""
        if isinstance(value, dict):
            try:
                return CacheStorage.model_validate(value)
            except ValidationError as error:
                first = error.errors(include_url=False)[0]
                where = ".".join(str(part) for part in first["loc"])
                cause = (first.get("ctx") or {}).get("error")
                message = str(cause) if isinstance(cause, ValueError) else first["msg"].lower()
                if first["type"] == "extra_forbidden":
                    message = "unknown key; use size, storage_class, access_mode or existing_claim"
                raise ValueError(f"{where}: {message}" if where else message) from None
        if value is None or (isinstance(value, str) and value != NO_STORAGE):
            raise ValueError(
                f"{value!r} is not a storage; use none, or a mapping of size, storage_class, "
                "access_mode and existing_claim"
            )
        return value

    @field_validator("env_file")
    @classmethod
    def _env_file(cls, env_file: str | None, info: ValidationInfo) -> str | None:
        """Relative to the spec, as every path in it is (Compose would read it relative to its own file)."""
        if env_file is None:
            return None
        base = Path((info.context or {}).get("base_dir", "."))
        return str((base / Path(env_file).expanduser()).resolve())

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        if name is None:
            return None
        _dns_name(name, "name (a Service name)", DNS1035_LABEL, MAX_NAME_LENGTH)
        if name in RESERVED_NAMES:
            raise ValueError(
                f"{name!r} would make Kubernetes set {name.upper()}_PORT in pods, which vLLM misreads; "
                "choose another name"
            )
        return name

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str | None) -> str | None:
        return None if namespace is None else _dns_name(namespace, "namespace")

    @field_validator("hf_token_secret", "api_key_secret")
    @classmethod
    def _secret_name(cls, name: str | None) -> str | None:
        return None if name is None else _dns_name(name, "Secret name", DNS1123_SUBDOMAIN, limit=253)

    @field_validator("node_selector")
    @classmethod
    def _node_selector(cls, selector: dict[str, str]) -> dict[str, str]:
        for key, value in selector.items():
            if not is_label_key(key) or not is_label_value(value):
                raise ValueError(f"{key}={value!r} is not a node label; use e.g. nvidia.com/gpu.product=H100")
        return selector

    @field_validator("service_type", mode="before")
    @classmethod
    def _service_type(cls, value: object) -> object:
        if value not in SERVICE_TYPES:
            raise ValueError(f"{value!r} is not a Service type; use one of {', '.join(SERVICE_TYPES)}")
        return value

    @field_validator("startup_budget")
    @classmethod
    def _budget(cls, seconds: int) -> int:
        if seconds % PROBE_PERIOD_SECONDS:
            raise ValueError(
                f"{seconds} is not a multiple of the {PROBE_PERIOD_SECONDS} s probe period; "
                f"use e.g. {seconds - seconds % PROBE_PERIOD_SECONDS + PROBE_PERIOD_SECONDS}"
            )
        return seconds

    @model_validator(mode="after")
    def _storage_fits(self) -> DeployOptions:
        storage = self.storage
        shared = self.pods_per_workload > 1
        explicit_rwo = (  # said so explicitly: several pods get ReadWriteMany by default
            isinstance(storage, CacheStorage)
            and storage.existing_claim is None
            and storage.access_mode == "ReadWriteOnce"
        )
        if shared and explicit_rwo:
            pods = f"{self.pods_per_workload} pods (replicas {self.replicas} x nodes {self.nodes})"
            raise ValueError(
                f"{pods} cannot share one ReadWriteOnce cache volume; set deploy.storage.access_mode: "
                "ReadWriteMany (its storage class must offer it), deploy.storage.existing_claim, "
                "or deploy.storage: none"
            )
        return self

    @property
    def cache(self) -> CacheStorage | None:
        return None if self.storage == NO_STORAGE else self.storage  # type: ignore[return-value]

    @property
    def pods_per_workload(self) -> int:
        return self.replicas * self.nodes

    @property
    def cache_access_mode(self) -> AccessMode:
        cache = self.cache
        if cache is not None and cache.access_mode is not None:
            return cache.access_mode
        return "ReadWriteMany" if self.pods_per_workload > 1 else "ReadWriteOnce"


def check_engine_fits(options: DeployOptions, engine: str, gpus: str) -> str | None:
    """Why this deployment cannot work with the engine, or None."""
    if options.nodes > 1 and engine == "tgi":
        return (
            f"{options.nodes} nodes: TGI has no multi-node mode; serve with engine: vllm "
            "(pipeline parallel across nodes), or use deploy.nodes: 1"
        )
    if options.nodes > 1 and gpus == "none":
        return f"{options.nodes} nodes need GPUs (Ray places one tensor-parallel group per node); set gpus"
    return None
