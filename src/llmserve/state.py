"""Where llmserve keeps what it knows of detached local servers: one JSON file each, plus its log.

The state directory is llmserve's alone (mode 0700, files 0600). A record is trusted only after it
is parsed into `ServerRecord`: its name is llmserve's own kind of name and matches its file name, so
no record can make llmserve read, write or delete a path outside the directory. A record that does
not parse (damaged, hand-edited, a symlink, huge) is reported once, moved aside as `*.damaged`,
and skipped; every command keeps working.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, BinaryIO

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from llmserve.redaction import redact

STATE_DIR_ENV = "LLMSERVE_STATE_DIR"
RECORD_SUFFIX = ".json"
DAMAGED_SUFFIX = ".damaged"
MAX_RECORD_BYTES = 1 << 20  # a record is a few hundred bytes; this is far past any real one
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600

ServerName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


def state_dir() -> Path:
    """$LLMSERVE_STATE_DIR, else $XDG_STATE_HOME/llmserve, else ~/.local/state/llmserve."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "llmserve"


class ServerRecord(BaseModel):
    """What llmserve remembers of one detached server (no secrets: the command is masked)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: ServerName
    engine: Annotated[str, StringConstraints(max_length=20)]
    model: Annotated[str, StringConstraints(max_length=65536)]
    served_model_name: Annotated[str, StringConstraints(max_length=65536)]
    endpoint: Annotated[str, StringConstraints(max_length=1000)]
    pid: int = Field(gt=1, lt=2**22)  # 0, 1 and negative pids signal groups or everything
    started: float = Field(ge=0, allow_inf_nan=False)
    command: Annotated[str, StringConstraints(max_length=512 * 1024)]

    @property
    def log_path(self) -> Path:
        return log_path(self.name)


class DamagedRecord(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def servers_dir() -> Path:
    return state_dir() / "servers"


def _checked_name(name: str) -> str:
    """A name safe to put in a path: llmserve's pattern, so no separator, no `..`, no NUL."""
    if not re.fullmatch(NAME_PATTERN, name) or name in (".", ".."):
        raise ValueError(f"{name!r} is not a server name llmserve gives")
    return name


def record_path(name: str) -> Path:
    return servers_dir() / f"{_checked_name(name)}{RECORD_SUFFIX}"


def log_path(name: str) -> Path:
    return servers_dir() / f"{_checked_name(name)}.log"


def ensure_servers_dir() -> Path:
    directory = servers_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(directory, PRIVATE_DIR)
    return directory


def create_log(name: str) -> Path:
    """An empty log file for a detached server, readable by its owner only."""
    ensure_servers_dir()
    path = log_path(name)
    if path.is_symlink():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)
    return path


def open_log(name: str) -> BinaryIO | None:
    """A server's log file, opened for reading; None unless it is a regular file in the directory."""
    try:
        fd = os.open(log_path(name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        return None
    return handle


def save(record: ServerRecord) -> None:
    ensure_servers_dir()
    target = record_path(record.name)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(redact(json.dumps(record.model_dump(), indent=2)))
    partial.replace(target)  # never a half-written record


def _read(path: Path) -> ServerRecord:
    try:
        info = path.lstat()
    except OSError as error:
        raise DamagedRecord(path, error.strerror or "unreadable") from None
    if not stat.S_ISREG(info.st_mode):
        raise DamagedRecord(path, "not a regular file (a symlink or a device?)")
    if info.st_size > MAX_RECORD_BYTES:
        raise DamagedRecord(path, f"{info.st_size} bytes, more than a record can be")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_RECORD_BYTES + 1)
        data = json.loads(raw.decode("utf-8"))
    except OSError as error:
        raise DamagedRecord(path, error.strerror or "unreadable") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DamagedRecord(path, "not JSON") from None
    try:
        record = ServerRecord.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"])) or "record"
        raise DamagedRecord(path, f"{where}: {first['msg'].lower()}") from None
    if record_path(record.name) != path:
        raise DamagedRecord(path, f"it names another server ({record.name})")
    return record


def _set_aside(damaged: DamagedRecord, report: Callable[[str], None] | None) -> None:
    """Move a damaged record out of the way (inside the state directory), so it is reported once."""
    path = damaged.path
    aside = path.with_name(path.name + DAMAGED_SUFFIX)
    try:
        os.replace(path, aside)  # moves a symlink itself, never what it points to
        where = f"moved aside to {aside.name}"
    except OSError:
        where = "left in place"
    if report is not None:
        report(f"skipped the damaged state record {path.name} ({damaged.reason}); {where}")


def load_all(report: Callable[[str], None] | None = None) -> list[ServerRecord]:
    """Every valid record; damaged ones are reported through `report`, set aside and skipped."""
    directory = servers_dir()
    try:
        if not directory.is_dir() or directory.is_symlink():
            return []
        paths = sorted(p for p in directory.iterdir() if p.name.endswith(RECORD_SUFFIX))
    except OSError:
        return []
    records = []
    for path in paths:
        try:
            records.append(_read(path))
        except DamagedRecord as damaged:
            _set_aside(damaged, report)
    return records


def forget(name: str, *, keep_log: bool = False) -> None:
    record_path(name).unlink(missing_ok=True)
    if not keep_log:
        log_path(name).unlink(missing_ok=True)
