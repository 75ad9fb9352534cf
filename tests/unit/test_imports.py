"""Every module imports on its own in a fresh interpreter: the CLI imports lazily, in any order."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import llmserve

MODULES = sorted(
    module.name
    for module in pkgutil.walk_packages(llmserve.__path__, prefix="llmserve.")
    if module.name != "llmserve.__main__"  # runs the CLI
)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
