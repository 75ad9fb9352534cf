"""Recorded machines for unit tests (tests/fixtures/machines, tests/fixtures/nvidia-h200)."""

from __future__ import annotations

from pathlib import Path

from llmserve import machine

FIXTURES = Path(__file__).parents[1] / "fixtures"
MACHINES = FIXTURES / "machines"


def recorded(name: str, gpus: str | None = None, cpu_quota: float | None = None) -> machine.Machine:
    """A recorded machine (tests/fixtures/machines/NAME), with the H200's GPU when gpus="nvidia-h200"."""
    folder = MACHINES / name
    csv = (FIXTURES / gpus / "nvidia-smi-query-noheader.csv").read_text() if gpus else ""
    return machine.recorded_machine(
        (folder / "cpuinfo").read_text(), (folder / "meminfo").read_text(), csv, cpu_quota=cpu_quota
    )


# Before the unit tests' conftest replaces it with a recorded machine.
READ_MACHINE = machine.read_machine
