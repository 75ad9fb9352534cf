"""Reading spec files (YAML or TOML) and laying CLI overrides over them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmserve.errors import SpecError


def read_spec_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SpecError(f"spec file {path} does not exist; give the path of a .yaml or .toml file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"spec file {path} cannot be read ({error}); give a UTF-8 text file") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise SpecError(f"spec file {path} is neither .yaml, .yml nor .toml; rename it")
    except SpecError:
        raise
    except Exception as error:  # each parser has its own error classes
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpecError(f"spec file {path} cannot be parsed: {first}") from None
    if not isinstance(data, dict):
        raise SpecError(f"spec file {path} must hold a mapping of spec keys at its top level")
    return data


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` laid over `base`; nested sections merge key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
