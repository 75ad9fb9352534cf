"""What `llmserve convert` prints: the spec as YAML, headed by the command and the notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmserve.convert import convert
from llmserve.errors import SpecError
from llmserve.options import command_line
from llmserve.spec import SECRET_FIELDS, ServeSpec, build_spec
from llmserve.translate import ENGINE_NAMES, retarget


def _validation_problem(data: dict[str, Any]) -> str | None:
    """Why the spec would not validate on this machine, if it would not (secrets aside)."""
    checked = {key: value for key, value in data.items() if key not in SECRET_FIELDS}
    if isinstance(checked.get("env"), dict):  # references are resolved at launch, not here
        checked["env"] = {k: v for k, v in checked["env"].items() if not str(v).startswith("env:")}
    try:
        build_spec(checked)
    except SpecError as error:
        return error.message
    return None


def converted(words: list[str], target: str) -> tuple[str, list[str]]:
    """The YAML text of the spec for `target`, and warnings for the terminal."""
    import yaml

    conversion = convert(words)
    data, notes = retarget(conversion.data, target, lenient=True)
    notes = conversion.notes + notes
    warnings = [f"unknown flag {flag}: not converted" for flag in conversion.unknown]
    problem = _validation_problem(data)
    if problem:
        warnings.append(f"the spec does not validate on this machine: {problem}")
    order = list(ServeSpec.model_fields)
    data = dict(sorted(data.items(), key=lambda item: order.index(item[0])))
    header = [
        f"# converted from a {ENGINE_NAMES[conversion.engine]} command line",
        f"# run it: {command_line(data)}",
    ]
    header += [f"# note: {note}" for note in notes]
    header += [f"# {warning}" for warning in warnings]
    return "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False), notes + warnings


def output_file(path: Path) -> Path:
    """Where `convert -o` may write: a file name in an existing directory; one line if not."""
    from llmserve.specfile import shown_path

    name = shown_path(path)
    if not str(path) or path.name in ("", ".", ".."):
        raise SpecError(f"-o {name} names no file; give a file name such as spec.yaml")
    try:
        if path.is_dir():
            raise SpecError(f"-o {name} is a directory; give a file name in it, such as {path / 'spec.yaml'}")
        if not path.parent.is_dir():
            raise SpecError(
                f"-o {name}: the directory {shown_path(path.parent)} does not exist; create it first"
            )
    except OSError as error:
        raise SpecError(f"-o {name} is not a usable path ({error.strerror}); give another") from None
    return path
