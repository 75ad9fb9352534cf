from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmserve import machine, redaction
from llmserve.engines import vllm_discovery
from llmserve.errors import EnvironmentMissing
from tests.unit.recorded import recorded


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No secrets, caches or vLLM of the developer's machine leak into unit tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LLMSERVE_STATE_DIR", str(tmp_path / "state"))
    for name in (
        "HF_HOME",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "LLMSERVE_API_KEY",
        "LLMSERVE_VLLM_PYTHON",
        "LLMSERVE_DEBUG",
        "HF_ENDPOINT",
        "HF_HUB_CACHE",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLMSERVE_CACHE_DIR", str(tmp_path / "cache"))
    # The one seam for the machine: unit tests run on a recorded one, whatever runs them.
    epyc = recorded("amd-epyc-avx2")
    monkeypatch.setattr(machine, "read_machine", lambda *, gpus=True: epyc)
    redaction.reset()  # each test starts as a fresh llmserve process would
    monkeypatch.setenv("LLMSERVE_CACHE_DIR", str(tmp_path / "cache"))
    # The one seam for the machine: unit tests run on a recorded one, whatever runs them.
    epyc = recorded("amd-epyc-avx2")
    monkeypatch.setattr(machine, "read_machine", lambda *, gpus=True: epyc)
    yield home


@pytest.fixture
def no_vllm(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one seam for unit tests of the CLI: vLLM discovery finds nothing."""

    def missing(python: str | None = None) -> None:
        raise EnvironmentMissing("vLLM was not found; install it")

    monkeypatch.setattr(vllm_discovery, "find_vllm", missing)
