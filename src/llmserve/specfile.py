"""Reading spec files (YAML or TOML) and laying CLI overrides over them.

A spec file is bounded before it is parsed: its size, and for YAML the number of values its
aliases expand to (a few hundred bytes of nested aliases would otherwise grow to gigabytes).
Duplicate keys are errors, as in TOML.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

from llmserve.errors import SpecError

MAX_SPEC_BYTES = 1024 * 1024
MAX_YAML_VALUES = 100_000
SUFFIXES = (".yaml", ".yml", ".toml")


def shown_path(path: Path | str) -> str:
    """A path as the user typed it, quoted when it holds spaces or control characters."""
    text = str(path)
    return text if text.isprintable() and " " not in text and text else repr(text)


def read_spec_file(path: Path) -> dict[str, Any]:
    name = shown_path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SpecError(f"spec file {name} is neither .yaml, .yml nor .toml; give such a file or rename it")
    raw = _read_bounded(path, name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(
            f"spec file {name} is not UTF-8 text (byte {raw[error.start]:#04x} at offset {error.start}); "
            "save it as UTF-8"
        ) from None
    try:
        data = _parse_toml(text) if suffix == ".toml" else _parse_yaml(text)
    except SpecError as error:
        raise SpecError(f"spec file {name} {error.message}") from None
    except RecursionError:
        raise SpecError(f"spec file {name} is nested too deeply; write a flat mapping of spec keys") from None
    except Exception as error:  # each parser has its own error classes
        first = _parse_problem(error)
        raise SpecError(f"spec file {name} cannot be parsed: {first}") from None
    if not isinstance(data, dict):
        raise SpecError(f"spec file {name} must hold a mapping of spec keys at its top level")
    return data


def _parse_problem(error: Exception) -> str:
    """The parser's complaint and where, on one line."""
    problem = getattr(error, "problem", None)  # PyYAML's errors carry a problem and its place
    mark = getattr(error, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(error).split()) or type(error).__name__


def _read_bounded(path: Path, name: str) -> bytes:
    """The file's bytes; a one-line error for what is not a readable regular file of sensible size."""
    try:
        info = os.stat(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            raise SpecError(
                f"spec file {name} does not exist; give the path of a .yaml or .toml file"
            ) from None
        raise SpecError(f"spec file {name} cannot be read ({error.strerror}); check the path") from None
    except ValueError:  # a NUL in the path
        raise SpecError(f"spec file {name} is not a usable path; check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError(f"spec file {name} is a directory; give the path of a .yaml or .toml file in it")
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(
            f"spec file {name} is not a regular file (a pipe or a device); give a .yaml or .toml file"
        )
    if info.st_size > MAX_SPEC_BYTES:
        raise SpecError(
            f"spec file {name} is larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a few lines"
        )
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise SpecError(
            f"spec file {name} cannot be read ({error.strerror}); check its permissions"
        ) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            f"spec file {name} is larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a few lines"
        )
    return raw


def _parse_toml(text: str) -> Any:
    import tomllib

    return tomllib.loads(text)


def _parse_yaml(text: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    raise SpecError("has a key that is not a plain value; keys are names") from None
                if duplicate:
                    raise SpecError(f"sets {key!r} twice (line {key_node.start_mark.line + 1}); keep one")
            return super().construct_mapping(node, deep=deep)

    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: Any) -> None:
    """Refuse documents whose aliases expand to more than MAX_YAML_VALUES values, or into themselves."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise SpecError("has an alias that refers to itself; write the values out")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_YAML_VALUES:
            raise SpecError(
                f"expands to more than {MAX_YAML_VALUES} values (through its aliases); write a plain spec"
            )
        sizes[key] = total
        return total

    size(root)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` laid over `base`; nested sections merge key by key.

    An option never replaces a malformed section of the file: that stays an error.
    """
    merged = dict(base)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = merge(current, value)
        elif isinstance(value, dict) and current is not None:
            raise SpecError(f"invalid spec: {key}: must be a mapping (got {current!r:.60}); fix the file")
        else:
            merged[key] = value
    return merged
