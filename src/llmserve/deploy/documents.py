"""Rendered objects as YAML text, and writing them where the user asked, atomically."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from llmserve.errors import SpecError
from llmserve.output_files import is_stream, write_atomically

YAML_SUFFIXES = (".yaml", ".yml")
_OUR_FILE = re.compile(r"^[0-9]{2}-[a-z]+\.yaml$")
MANAGED_BY = "llmserve"
_MAX_OBJECT_BYTES = 1024 * 1024  # the value of every rendered object's app.kubernetes.io/managed-by label


class _PlainDumper(yaml.SafeDumper):
    """Block style, no anchors: each object reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=100)


def to_yaml_documents(documents: list[dict[str, Any]]) -> str:
    return "---\n".join(to_yaml(document) for document in documents)


def object_file_name(index: int, document: dict[str, Any]) -> str:
    """`NN-kind.yaml`: `kubectl apply -f DIR` takes files in name order (claim before pods)."""
    return f"{index:02d}-{str(document['kind']).lower()}.yaml"


def write_objects(output: Path, documents: list[dict[str, Any]]) -> list[Path]:
    """One multi-document file when `output` ends in .yaml/.yml (or is a stream such as /dev/stdout),
    else a directory of one file per object.

    Files an earlier render left in the directory (`NN-kind.yaml`) that this one does not write are
    removed, so that `kubectl apply -f DIR` never applies a stale object.
    """
    if output.suffix.lower() in YAML_SUFFIXES or is_stream(output):
        write_atomically(output, to_yaml_documents(documents), create_parent=True)
        return [output]
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SpecError(f"cannot create directory {output} ({error.strerror}); choose another -o") from None
    written = []
    for index, document in enumerate(documents, start=1):
        path = output / object_file_name(index, document)
        write_atomically(path, to_yaml(document), create_parent=True, named_by_user=False)
        written.append(path)
    for stale in output.iterdir():
        if _OUR_FILE.fullmatch(stale.name) and stale not in written and _rendered_by_us(stale):
            stale.unlink()
    return written


def _rendered_by_us(path: Path) -> bool:
    """A file an earlier render wrote: one object labelled managed-by llmserve, never a user's file."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > _MAX_OBJECT_BYTES:
            return False
        document = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    metadata = document.get("metadata") if isinstance(document, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return isinstance(labels, dict) and labels.get("app.kubernetes.io/managed-by") == MANAGED_BY
