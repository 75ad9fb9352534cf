"""`llmserve explain`: each spec field, its value, what it becomes in TGI and in vLLM."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from llmserve.defaults import Choice
from llmserve.engines.vllm import TASK_FLAG_DEPRECATED_IN, parse_version
from llmserve.redaction import MASK, mask_args, mask_env
from llmserve.spec import SECRET_FIELDS, ServeSpec
from llmserve.translate import MAPPINGS_BY_FIELD


@dataclass(frozen=True)
class Row:
    field: str
    value: str
    tgi: str
    vllm: str
    mapping: str
    note: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


ALWAYS_SHOWN = ("engine", "model", "host", "port", "gpus")


def _set_fields(spec: ServeSpec) -> dict[str, Any]:
    """Fields the user set (or that always matter), flattened to dotted names."""
    values: dict[str, Any] = {}
    for name in ServeSpec.model_fields:
        value = getattr(spec, name)
        if name in ("tgi", "vllm"):
            for key in value.model_fields_set:
                values[f"{name}.{key}"] = getattr(value, key)
        elif name in spec.model_fields_set or name in ALWAYS_SHOWN:
            values[name] = value
    values["port"] = spec.effective_port
    return values


def _shown(field: str, value: Any, spec: ServeSpec) -> str:
    if field in SECRET_FIELDS:  # a reference to the environment is shown; it is resolved at launch
        return spec.secret_reference(field) or (MASK if value is not None else "-")
    if isinstance(value, dict):
        return ", ".join(f"{key}={val}" for key, val in mask_env(value).items())
    if isinstance(value, list):
        return " ".join(mask_args([str(item) for item in value]))
    return str(value)


def explain(spec: ServeSpec, vllm_version: str | None, defaults: tuple[Choice, ...] = ()) -> list[Row]:
    rows = []
    for field, value in _set_fields(spec).items():
        mapping = MAPPINGS_BY_FIELD.get(field)
        if mapping is None:
            continue
        shown = _shown(field, value, spec)
        rows.append(Row(field, shown, mapping.tgi, mapping.vllm, mapping.kind, mapping.note))
    version = spec.vllm.version or vllm_version
    parsed = parse_version(version) if version else None
    task = "--task generate" if parsed is not None and parsed < TASK_FLAG_DEPRECATED_IN else "no --task flag"
    rows.append(
        Row(
            "(vLLM version)",
            version or "unknown",
            "-",
            task,
            "vllm only",
            "--task generate before 0.10.1, an error from 0.13; unknown: the portable form",
        )
    )
    for choice in defaults:  # what this machine needs, where the spec left it unset
        tgi = choice.value if choice.engine == "tgi" else "-"
        vllm = choice.value if choice.engine == "vllm" else "-"
        rows.append(Row(choice.field, choice.value, tgi, vllm, "default", choice.reason))
    return rows


COLUMN_WIDTH = 40


def _wrap(cell: str) -> list[str]:
    import textwrap

    return textwrap.wrap(cell, COLUMN_WIDTH, break_on_hyphens=False) or [""]


def table(rows: list[Row]) -> list[str]:
    """Aligned columns; a cell longer than COLUMN_WIDTH wraps onto the row's next lines."""
    header = Row("FIELD", "VALUE", "TGI", "VLLM", "MAPPING", "NOTE")
    wrapped = [[_wrap(cell) for cell in asdict(row).values()] for row in (header, *rows)]
    widths = [max(len(part) for row in wrapped for part in row[i]) for i in range(len(wrapped[0]))]
    lines = []
    for row in wrapped:
        for depth in range(max(len(cell) for cell in row)):
            parts = [cell[depth] if depth < len(cell) else "" for cell in row]
            lines.append(
                "  ".join(part.ljust(width) for part, width in zip(parts, widths, strict=True)).rstrip()
            )
    return lines
