"""Writing the files llmserve is asked to write (`-o`): whole or not at all, never a device replaced."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from llmserve.errors import SpecError


def is_stream(path: Path) -> bool:
    """A device, pipe or socket (`/dev/stdout`, `/dev/null`, a FIFO): written into, never replaced."""
    return path.exists() and not path.is_file() and not path.is_dir()


def _encoded(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


def write_atomically(
    path: Path, text: str | bytes, *, create_parent: bool = False, named_by_user: bool = True
) -> None:
    """Write the whole file or nothing: a temporary file beside it, renamed over it.

    At a path the user named, a stream is written into; a symlink's target is replaced and the link
    kept. A name llmserve chose (a file in an output directory) is replaced whatever it is: a link or
    pipe planted there is never followed nor waited on.
    """
    if named_by_user and is_stream(path):
        try:
            with path.open("wb") as stream:
                stream.write(_encoded(text))
        except OSError as error:
            raise SpecError(
                f"cannot write {path} ({error.strerror}); choose a writable path with -o"
            ) from None
        return
    if named_by_user and path.is_symlink() and path.is_file():
        path = Path(os.path.realpath(path))
    try:
        if create_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp"
        )
    except OSError as error:
        raise SpecError(
            f"cannot write in {path.parent} ({error.strerror}); choose a writable path with -o"
        ) from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(_encoded(text))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise SpecError(f"cannot write {path} ({error.strerror}); choose a writable path with -o") from None
    except BaseException:
        os.unlink(temporary)
        raise
