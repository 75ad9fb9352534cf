"""What this machine is: CPU (model, usable cores, flags), memory, NVIDIA GPUs. One frozen description.

`read_machine()` does the reading (/proc/cpuinfo, /proc/meminfo, the CPU affinity and cgroup quota,
nvidia-smi or NVML); everything that decides from a machine takes a `Machine`, so it is tested with
recorded machines rather than the one the tests run on.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NVIDIA_SMI_QUERY = (
    "--query-gpu=index,name,memory.total,memory.free,compute_cap,driver_version",
    "--format=csv,noheader,nounits",
)
TOOL_TIMEOUT_SECONDS = 15
CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
KIB = 1024
# bfloat16 compute in hardware: AVX512-BF16 dot products, AMX tiles (x86); the BF16 extension (Arm).
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")
# First compute capability with bfloat16 arithmetic (Ampere).
BF16_MIN_COMPUTE_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_total_mib: int
    memory_free_mib: int
    compute_capability: str
    driver: str

    @property
    def capability(self) -> tuple[int, int]:
        major, _, minor = self.compute_capability.partition(".")
        try:
            return int(major), int(minor or 0)
        except ValueError:
            return (0, 0)

    @property
    def has_bfloat16(self) -> bool:
        return self.capability >= BF16_MIN_COMPUTE_CAPABILITY


@dataclass(frozen=True)
class Cpu:
    model: str
    usable_cores: int  # how many CPUs this process may keep busy: its affinity, capped by a cgroup quota
    usable_cpu_ids: tuple[int, ...]  # the CPUs its affinity allows
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def bf16_flags(self) -> tuple[str, ...]:
        return tuple(flag for flag in BF16_FLAGS if flag in self.flags)


@dataclass(frozen=True)
class Memory:
    total_bytes: int
    available_bytes: int  # MemAvailable: what can be had without swapping


@dataclass(frozen=True)
class Machine:
    cpu: Cpu
    memory: Memory
    gpus: tuple[Gpu, ...] = ()
    gpu_source: str | None = None  # "nvidia-smi" or "NVML"

    def selected_gpus(self, selection: str) -> tuple[Gpu, ...]:
        """The GPUs a spec's `gpus` (all, none, 0,1) names, of those found."""
        if selection == "none":
            return ()
        if selection == "all":
            return self.gpus
        wanted = {int(index) for index in selection.split(",")}
        return tuple(gpu for gpu in self.gpus if gpu.index in wanted)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpu"]["flags"] = sorted(self.cpu.bf16_flags)  # the flags llmserve decides by, not 100 others
        data["cpu"]["usable_cpu_ids"] = list(self.cpu.usable_cpu_ids)
        return data


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str], int]:
    """(model name, flags of the first processor, number of processors) from /proc/cpuinfo."""
    model = "unknown"
    flags: frozenset[str] = frozenset()
    processors = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            processors += 1
        elif key in ("model name", "Model name") and model == "unknown":
            model = value.strip()
        elif key in ("flags", "Features") and not flags:  # x86, Arm
            flags = frozenset(value.split())
    return model, flags, processors


def parse_meminfo(text: str) -> Memory:
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        words = value.split()
        if words and words[0].isdigit():
            values[key.strip()] = int(words[0]) * KIB
    total = values.get("MemTotal", 0)
    return Memory(total_bytes=total, available_bytes=values.get("MemAvailable", values.get("MemFree", total)))


def parse_cgroup_cpu_max(text: str) -> float | None:
    """CPUs a cgroup v2 `cpu.max` ("QUOTA PERIOD" or "max PERIOD") allows; None when unlimited."""
    words = text.split()
    if len(words) != 2 or words[0] == "max":
        return None
    try:
        return int(words[0]) / int(words[1])
    except (ValueError, ZeroDivisionError):
        return None


def parse_nvidia_smi(csv_text: str) -> list[Gpu]:
    """Rows of `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`."""
    gpus = []
    for row in csv_text.strip().splitlines():
        cells = [cell.strip() for cell in row.split(",")]
        if len(cells) != 6:
            continue
        index, name, total, free, capability, driver = cells
        try:
            gpus.append(Gpu(int(index), name, int(float(total)), int(float(free)), capability, driver))
        except ValueError:
            continue  # "[N/A]" and the like: a row that says nothing usable
    return gpus


def describe_cpu(cpuinfo: str, affinity: tuple[int, ...], quota: float | None) -> Cpu:
    model, flags, processors = parse_cpuinfo(cpuinfo)
    ids = affinity or tuple(range(max(processors, 1)))
    usable = len(ids) if quota is None else max(1, min(len(ids), math.floor(quota)))
    return Cpu(model=model, usable_cores=usable, usable_cpu_ids=ids, flags=flags)


def gpus_from_nvidia_smi() -> list[Gpu] | None:
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        result = subprocess.run(
            [tool, *NVIDIA_SMI_QUERY],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_nvidia_smi(result.stdout) if result.returncode == 0 else None


def gpus_from_nvml() -> list[Gpu] | None:
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError: no driver
        return None
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append(
                Gpu(
                    index,
                    str(pynvml.nvmlDeviceGetName(handle)),
                    int(memory.total) // 2**20,
                    int(memory.free) // 2**20,
                    f"{major}.{minor}",
                    str(driver),
                )
            )
        return gpus
    finally:
        pynvml.nvmlShutdown()


def find_gpus() -> tuple[tuple[Gpu, ...], str | None]:
    for source, probe in (("nvidia-smi", gpus_from_nvidia_smi), ("NVML", gpus_from_nvml)):
        found = probe()
        if found:
            return tuple(found), source
    return (), None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def read_machine(*, gpus: bool = True) -> Machine:
    """This machine, as it is now. `gpus=False` skips the GPU probe (known to be unneeded)."""
    affinity = tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else ()
    cpu = describe_cpu(_read(CPUINFO), affinity, parse_cgroup_cpu_max(_read(CGROUP_CPU_MAX)))
    memory = parse_meminfo(_read(MEMINFO))
    found, source = find_gpus() if gpus else ((), None)
    return Machine(cpu=cpu, memory=memory, gpus=found, gpu_source=source)


def recorded_machine(
    cpuinfo: str, meminfo: str, nvidia_smi_csv: str = "", *, cpu_quota: float | None = None
) -> Machine:
    """A machine from what it printed: /proc/cpuinfo, /proc/meminfo, and the nvidia-smi query above."""
    gpus = tuple(parse_nvidia_smi(nvidia_smi_csv))
    return Machine(
        cpu=describe_cpu(cpuinfo, (), cpu_quota),
        memory=parse_meminfo(meminfo),
        gpus=gpus,
        gpu_source="nvidia-smi" if gpus else None,
    )
