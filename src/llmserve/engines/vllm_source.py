"""What an installed vLLM accepts, read from its own source files (parsed, never imported: no torch).

The values llmserve owns (quantization methods, model implementations) are defined in vLLM's source
as Python literals: a list or `Literal[...]` of quantization methods, an enum or `Literal[...]` of
model implementations. They are read with `ast`, so reading them takes milliseconds, and the result is
kept per version under the user's cache directory.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

QUANTIZATION_MODULE = "model_executor/layers/quantization/__init__.py"
# Where `ModelImpl` has lived: vllm/config.py (to 0.10.0), vllm/config/__init__.py, vllm/config/model.py.
MODEL_IMPL_MODULES = ("config/model.py", "config/__init__.py", "config.py")
ARG_UTILS_MODULE = "engine/arg_utils.py"
CACHE_DIR_ENV = "LLMSERVE_CACHE_DIR"
CACHE_FORMAT = 1


@dataclass(frozen=True)
class VllmValues:
    """The values one vLLM version accepts for what llmserve owns, and where they were read."""

    version: str
    source: str  # "installed", "table" (llmserve's table for that version)
    quantizations: tuple[str, ...]
    deprecated_quantizations: tuple[str, ...]  # need --allow-deprecated-quantization
    model_impls: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def cache_dir() -> Path:
    """$LLMSERVE_CACHE_DIR, else $XDG_CACHE_HOME/llmserve, else ~/.cache/llmserve."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmserve"


def _string_list(node: ast.expr) -> list[str] | None:
    """The strings of a list/tuple literal, a dict literal's keys, or `Literal[...]`."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
        node = node.slice
    elements: list[ast.expr | None]
    if isinstance(node, ast.List | ast.Tuple):
        elements = list(node.elts)
    elif isinstance(node, ast.Dict):
        elements = list(node.keys)
    else:
        return None
    strings = [e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return strings if strings and len(strings) == len(elements) else None


def _assignments(tree: ast.Module) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _enum_values(tree: ast.Module, name: str) -> list[str] | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            values = [
                item.value.value
                for item in node.body
                if isinstance(item, ast.Assign)
                and isinstance(item.value, ast.Constant)
                and isinstance(item.value.value, str)
            ]
            return values or None
    return None


def quantization_methods(source: str) -> tuple[list[str], list[str]]:
    """(methods, deprecated methods) from vLLM's quantization package `__init__`."""
    assigned = _assignments(ast.parse(source))
    methods = None
    for name in ("QUANTIZATION_METHODS", "QuantizationMethods"):
        if name in assigned:
            methods = _string_list(assigned[name])
            if methods:
                break
    if not methods:
        raise ValueError("no quantization method list found")
    deprecated = (
        _string_list(assigned["DEPRECATED_QUANTIZATION_METHODS"])
        if ("DEPRECATED_QUANTIZATION_METHODS" in assigned)
        else None
    )
    return methods, deprecated or []


def model_impls(source: str) -> list[str] | None:
    tree = ast.parse(source)
    assigned = _assignments(tree)
    if "ModelImpl" in assigned:
        return _string_list(assigned["ModelImpl"])
    return _enum_values(tree, "ModelImpl")


def read_values(package_dir: Path, version: str) -> VllmValues:
    """Read the values from a vLLM package directory. ValueError/OSError when its source is not readable."""
    methods, deprecated = quantization_methods((package_dir / QUANTIZATION_MODULE).read_text())
    impls = None
    for module in MODEL_IMPL_MODULES:
        path = package_dir / module
        if path.is_file():
            impls = model_impls(path.read_text())
            if impls:
                break
    if not impls:
        if "model_impl" in (package_dir / ARG_UTILS_MODULE).read_text():
            raise ValueError("no ModelImpl definition found")
        impls = []  # a version before --model-impl

    return VllmValues(version, "installed", tuple(methods), tuple(deprecated), tuple(impls))


def installed_values(package_dir: str, distribution: str, version: str) -> VllmValues | None:
    """The installed vLLM's values, from the cache or its source; None when they cannot be read."""
    cache_file = cache_dir() / "vllm-values" / f"{distribution}-{version}.json"
    try:
        cached = json.loads(cache_file.read_text())
        if cached.get("format") == CACHE_FORMAT and cached.get("package_dir") == package_dir:
            values = cached["values"]
            return VllmValues(
                values["version"],
                values["source"],
                tuple(values["quantizations"]),
                tuple(values["deprecated_quantizations"]),
                tuple(values["model_impls"]),
            )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        found = read_values(Path(package_dir), version)
    except (OSError, ValueError, SyntaxError):
        return None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_name(cache_file.name + ".partial")
        record = {"format": CACHE_FORMAT, "package_dir": package_dir, "values": found.to_dict()}
        partial.write_text(json.dumps(record))
        partial.replace(cache_file)
    except OSError:
        pass  # a read-only cache costs only the milliseconds of reading again
    return found
