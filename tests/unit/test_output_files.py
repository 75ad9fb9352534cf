"""`-o` targets (convert, render): written whole, and a device or pipe is written into, never replaced."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from llmserve.errors import SpecError
from llmserve.output_files import write_atomically


def test_a_pipe_is_written_into_not_replaced(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()))
    reader.start()
    write_atomically(pipe, "spec: 1\n")
    reader.join(10)
    assert received == ["spec: 1\n"]
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_a_symlink_keeps_pointing_at_its_replaced_target(tmp_path: Path) -> None:
    target, link = tmp_path / "real.yaml", tmp_path / "link.yaml"
    target.write_text("old")
    link.symlink_to(target)
    write_atomically(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_file_is_replaced_whole_and_no_temporary_is_left(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "spec.yaml"
    path.write_text("old")
    write_atomically(path, "new")
    assert path.read_text() == "new" and sorted(p.name for p in folder.iterdir()) == ["spec.yaml"]


def test_an_unwritable_directory_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot write in"):
        write_atomically(tmp_path / "missing" / "spec.yaml", "x")
